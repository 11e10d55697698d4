"""The calibrated cameras of a rosbag2: intrinsics from each camera's CameraInfo, extrinsics
from the bag's /tf_static (read with core.static_tf, the tree the nodes use too).

Camera names are the topics' first namespaces (/cam01/camera_info -> cam01); one image
topic and one CameraInfo topic per camera are read (image_topics, camera_info_topics). A camera's
extrinsics are the pose of its optical frame (CameraInfo's header frame) in the root of the
transform tree it hangs under: x_cam = R x_root + t.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from . import bagio
from .camera import CameraModel, camera_model_from_info_msg
from .once import first_time
from .static_tf import StaticTransform, StaticTransformTree, transforms_from_message

log = logging.getLogger(__name__)

TF_STATIC = "/tf_static"
def camera_name(topic: str) -> str:
    """/cam01/image_raw/compressed -> cam01 (the topic's first namespace)."""
    return topic.strip("/").split("/")[0]


def image_topics(path: Path | str, cameras: Sequence[str] | None = None) -> dict[str, str]:
    """The image topic (Image or CompressedImage) read for each camera of the bag, optionally
    of some cameras: topic -> type. A camera is a topic's first namespace (camera_name). Depth
    topics (a name part with 'depth') are left out; of a camera with several image topics
    (raw beside compressed, color beside infra) the raw Image one with the shortest name is
    read, and the log says so."""
    by_camera: dict[str, list[tuple[str, str]]] = {}
    for topic, kind in sorted(bagio.bag_topics(path).items()):
        if kind not in (bagio.IMAGE, bagio.COMPRESSED_IMAGE):
            continue
        if cameras is not None and camera_name(topic) not in cameras:
            continue
        if _is_depth(topic):
            if first_time("depth left out", str(Path(path).resolve()), topic):
                log.info("bag %s: %s left out (a depth image, not a camera image)", path,
                         topic)
            continue
        by_camera.setdefault(camera_name(topic), []).append((topic, kind))
    if not by_camera:
        raise ValueError(f"bag {path} has no image topic" +
                         (f" for cameras {list(cameras)}" if cameras else ""))
    chosen: dict[str, str] = {}
    for camera, candidates in sorted(by_camera.items()):
        topic, kind = min(candidates, key=lambda c: (c[1] != bagio.IMAGE, len(c[0]), c[0]))
        if len(candidates) > 1 and first_time("image topic", str(Path(path).resolve()),
                                                   camera, topic):
            log.info("bag %s: camera %r has image topics %s; reading %s", path, camera,
                     [c[0] for c in candidates], topic)
        chosen[topic] = kind
    return chosen


def camera_info_topics(path: Path | str) -> dict[str, str]:
    """Camera name -> the CameraInfo topic of its images (image_topics): the one beside the
    image topic (/camera1/color/camera_info for /camera1/color/image_raw), else the camera's
    only one that is not a depth camera's."""
    topics = bagio.bag_topics(path)
    infos = [t for t, ty in topics.items() if ty == bagio.CAMERA_INFO and not _is_depth(t)]
    try:
        images = image_topics(path)
    except ValueError:                    # no image topic: the CameraInfos alone
        images = {}
    folders = {camera_name(t): t.removesuffix("/compressed").rsplit("/", 1)[0] for t in images}
    chosen: dict[str, str] = {}
    for camera in sorted({camera_name(t) for t in infos}):
        mine = sorted(t for t in infos if camera_name(t) == camera)
        beside = [t for t in mine if t.rsplit("/", 1)[0] == folders.get(camera)]
        chosen[camera] = (beside or mine)[0]
    return chosen


def _is_depth(topic: str) -> bool:
    return any("depth" in part.lower() for part in topic.strip("/").split("/"))


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
    info_topic = camera_info_topics(path)
    infos = list(info_topic.values())
    wanted = infos + ([TF_STATIC] if TF_STATIC in topics else [])
    intrinsics: dict[str, CameraModel] = {}
    transforms: list[StaticTransform] = []
    for topic, _, msg in bagio.read_bag(path, wanted):
        if topic == TF_STATIC:
            transforms += transforms_from_message(msg)
            continue
        name = camera_name(topic)
        if name in intrinsics:
            continue
        try:
            intrinsics[name] = camera_model_from_info_msg(msg, name)
        except ValueError as err:
            log.warning("bag %s: %s: %s", path, topic, err)
    children = {t.child for t in transforms}
    unposed = sorted(n for n, c in intrinsics.items() if c.frame_id not in children)
    moving = (" (the bag has /tf: the tools read camera poses from /tf_static only, a rig "
              "that does not move; republish them there)" if "/tf" in topics else "")
    named = [c for n, c in intrinsics.items() if n not in unposed]
    if not named:
        raise ValueError(f"bag {path} has no camera with both CameraInfo and {TF_STATIC}"
                         + moving)
    if unposed:
        log.warning("bag %s: cameras %s have no pose on %s; left out%s", path, unposed,
                    TF_STATIC, moving)
    posed, root = cameras_from_tf(named, transforms)
    return {c.name: c for c in posed}, root
