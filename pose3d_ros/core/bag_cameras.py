"""The calibrated cameras of a rosbag2: intrinsics from each camera's CameraInfo, extrinsics
from the bag's /tf_static (read with core.static_tf, the tree the nodes use too).

Camera names are the CameraInfo topics' namespaces (/cam01/camera_info -> cam01). A camera's
extrinsics are the pose of its optical frame (CameraInfo's header frame) in the root of the
transform tree it hangs under: x_cam = R x_root + t.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from . import bagio
from .camera import CameraModel, camera_model_from_info_msg
from .static_tf import StaticTransform, StaticTransformTree, transforms_from_message

log = logging.getLogger(__name__)

TF_STATIC = "/tf_static"


def cameras_from_tf(cameras: Sequence[CameraModel], transforms: Sequence[StaticTransform]
                    ) -> tuple[list[CameraModel], str]:
    """Cameras posed by static transforms, and the common root frame.

    Each camera's optical frame (its frame_id) is followed up the transform tree to its root;
    all cameras must reach the same root. ValueError when a frame is missing or roots differ.
    """
    tree = StaticTransformTree(transforms)
    children = {t.child for t in transforms}
    posed, roots = [], []
    for cam in cameras:
        if cam.frame_id not in children:
            raise ValueError(f"camera {cam.name!r}: frame {cam.frame_id!r} is not on "
                             f"{TF_STATIC} (children there: {sorted(children)})")
        root, R, t = tree.pose_in_root(cam.frame_id)   # p_root = R p_cam + t
        roots.append(root)
        posed.append(cam.with_pose(R.T, -R.T @ t))  # x_cam = R^T (x_root - t)
    if len(set(roots)) > 1:
        raise ValueError(f"the cameras' frames hang under different roots on {TF_STATIC}: "
                         f"{dict(zip([c.name for c in cameras], roots, strict=True))}")
    return posed, roots[0] if roots else ""


def read_bag_cameras(path: Path | str) -> tuple[dict[str, CameraModel], str]:
    """The bag's cameras that have both a valid CameraInfo and a pose on /tf_static, keyed by
    camera name, and the fixed frame their extrinsics refer to (the tree's root).

    The first valid CameraInfo of each camera counts; a camera without a pose is left out
    (logged). ValueError when no camera is left or the posed cameras have different roots.
    """
    topics = bagio.bag_topics(path)
    infos = [t for t, ty in topics.items() if ty == bagio.CAMERA_INFO]
    wanted = infos + ([TF_STATIC] if TF_STATIC in topics else [])
    intrinsics: dict[str, CameraModel] = {}
    transforms: list[StaticTransform] = []
    for topic, _, msg in bagio.read_bag(path, wanted):
        if topic == TF_STATIC:
            transforms += transforms_from_message(msg)
            continue
        name = topic.strip("/").split("/")[0]
        if name in intrinsics:
            continue
        try:
            intrinsics[name] = camera_model_from_info_msg(msg, name)
        except ValueError as err:
            log.warning("bag %s: %s: %s", path, topic, err)
    children = {t.child for t in transforms}
    unposed = sorted(n for n, c in intrinsics.items() if c.frame_id not in children)
    if unposed:
        log.warning("bag %s: cameras %s have no pose on %s; left out", path, unposed, TF_STATIC)
    named = [c for n, c in intrinsics.items() if n not in unposed]
    if not named:
        raise ValueError(f"bag {path} has no camera with both CameraInfo and {TF_STATIC}")
    posed, root = cameras_from_tf(named, transforms)
    return {c.name: c for c in posed}, root
