"""The calibrated cameras of a rosbag2: intrinsics from each camera's CameraInfo, extrinsics
from the bag's /tf_static (read with core.static_tf, the tree the nodes use too).

Camera names are the image topics' first namespaces (/cam01/image_raw -> cam01), or, where
several cameras share one (/rig/cam01/image_raw, /rig/cam02/image_raw; realsense2_camera's
/camera/<name>/color/image_raw), the namespace that tells them apart (cam01, cam02); one
image topic and one CameraInfo topic per camera are read (camera_topics: the one camera
discovery of the tools and of train_lifter's bag reader; image_cameras, camera_info_topics).
A camera's extrinsics are the pose of its optical frame (CameraInfo's header frame) in the
root of the transform tree it hangs under: x_cam = R x_root + t.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import bagio
from .camera import CameraModel, camera_model_from_info_msg
from .once import first_time
from .static_tf import StaticTransform, TransformTree, transforms_from_message

log = logging.getLogger(__name__)

TF_STATIC = "/tf_static"
def camera_name(topic: str) -> str:
    """/cam01/image_raw/compressed -> cam01 (the topic's first namespace)."""
    return topic.strip("/").split("/")[0]


_NAME_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def camera_name_problem(name: str) -> str:
    """Why `name` cannot name a camera whose topics are <name>/image_raw and
    <name>/camera_info ("" when it can): it must be one ROS name token (letters, digits and
    underscores, not starting with a digit), as camera_name reads it back."""
    if _NAME_TOKEN.fullmatch(name):
        return ""
    if not name:
        return "a camera's name is empty"
    return (f"camera name {name!r} cannot name ROS topics ({name}/image_raw): use letters, "
            "digits and underscores, not starting with a digit")


@dataclass(frozen=True)
class CameraTopics:
    """The topics read of one camera of a bag (camera_topics): its name (camera_name), its
    image topic and that topic's type (Image or CompressedImage), and the CameraInfo topic of
    those images ("" when the bag has none for the camera)."""

    name: str
    image_topic: str
    image_type: str
    info_topic: str


IMAGE_TYPES = (bagio.IMAGE, bagio.COMPRESSED_IMAGE)
# Namespaces that name one device's streams, not cameras (realsense2_camera's color / infra1,
# a stereo camera's left / right, ...): image topics that differ only there are one camera's.
_STREAM = re.compile(r"color|rgb|infra\d*|ir\d*|left|right|stereo|mono|gr[ae]y|fisheye\d*|"
                     r".*depth.*", re.IGNORECASE)


def _camera_namespaces(images: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Image topic -> (camera name, the camera's namespace): its first namespace (camera_name:
    /camera1/color/image_raw -> camera1, /camera1), unless topics of one first namespace lie
    in folders that part at a namespace that is no stream name (_STREAM): then that one
    (/rig/cam01/image_raw, /rig/cam02/image_raw -> cam01 in /rig/cam01, cam02 in /rig/cam02;
    /camera/camera/color/image_raw beside .../infra1/image_rect_raw stay camera 'camera'),
    prefixed with the first namespace ('rig_cam01') where the name is another camera's."""
    out = {t: (camera_name(t), "/" + camera_name(t)) for t in images}
    groups: dict[str, list[str]] = {}
    for topic in images:
        groups.setdefault(camera_name(topic), []).append(topic)
    split: dict[str, dict[str, tuple[str, str]]] = {}
    for first, members in groups.items():
        parts = {t: _folder(t).strip("/").split("/") for t in members}
        folders = {tuple(p) for p in parts.values()}
        if len(folders) < 2:
            continue
        depth, parting = _parting(folders)
        if not parting or all(_STREAM.fullmatch(n) for n in parting) or any(
                map(camera_name_problem, parting)):
            continue
        split[first] = {t: (parts[t][depth], "/" + "/".join(parts[t][:depth + 1]))
                        for t in members}
    for first, named in split.items():
        others = {out[t][0] for t in images if camera_name(t) != first}
        clash = {name for name, _ in named.values()} & others
        out |= {t: (f"{first}_{name}" if clash else name, space)
                for t, (name, space) in named.items()}
    return out


def camera_topics(topics: Mapping[str, str], cameras: Sequence[str] | None = None,
                  chosen: Sequence[str] | None = None, where: str = "bag"
                  ) -> list[CameraTopics]:
    """The cameras of a bag from its topic -> type map (bagio.bag_topics), sorted by name:
    the one camera discovery of the offline readers (the tools, train_lifter --bag).

    A camera is an image topic's first namespace (camera_name: /camera1/color/image_raw ->
    camera1), as the node's camera_names are, or where cameras share it, the namespace that
    tells them apart (_camera_namespaces: /rig/cam01/image_raw -> cam01). Any Image or
    CompressedImage topic is a camera's, raw or compressed and of any name, but depth topics
    (a name part with 'depth'); of a camera with several (raw beside compressed, color beside
    infra) the raw Image one with the shortest name is read, as the node subscribes to
    <camera>/image_raw, and the log says so once (per `where`: bag_where; at WARNING when
    they lie in namespaces that are not one device's streams). Its CameraInfo topic is the
    one beside the image topic (/camera1/color/camera_info for /camera1/color/image_raw),
    else the first in the camera's namespace that is not a depth camera's. cameras: only
    these; chosen: exactly these image topics (any image topics, one per camera, named the
    same way) instead of the choice above. ValueError naming `where` when no image topic is
    left, a chosen topic is missing or no image, or two chosen topics are one camera's."""
    images = sorted(t for t, kind in topics.items() if kind in IMAGE_TYPES)
    for topic in chosen or ():
        if topic not in topics:
            raise ValueError(f"{where} has no topic {topic!r}; its image topics: {images}")
        if topics[topic] not in IMAGE_TYPES:
            raise ValueError(f"{where}: {topic} is {topics[topic]}, not an Image or "
                             "CompressedImage")
    if not chosen:
        for topic in images:
            if _is_depth(topic) and first_time("depth left out", where, topic):
                log.info("%s: %s left out (a depth image, not a camera image)", where, topic)
    read = list(chosen) if chosen else [t for t in images if not _is_depth(t)]
    named = _camera_namespaces(read)
    by_camera: dict[str, list[tuple[str, str]]] = {}
    space: dict[str, str] = {}                         # camera -> its namespace
    for topic in read:
        name = named[topic][0]
        if chosen and name in by_camera:
            raise ValueError(f"{where}: {by_camera[name][0][0]} and {topic} are both camera "
                             f"{name!r}'s (a camera is a topic's first namespace, or the one "
                             "that tells cameras apart); choose one image topic per camera")
        by_camera.setdefault(name, []).append((topic, topics[topic]))
        space[name] = named[topic][1]
    if cameras is not None:
        by_camera = {name: found for name, found in by_camera.items() if name in cameras}
    if not by_camera:
        raise ValueError(f"{where} has no image topic" +
                         (f" for cameras {list(cameras)}" if cameras else "") +
                         f"; its image topics: {images}")
    infos = sorted(t for t, kind in topics.items() if kind == bagio.CAMERA_INFO)
    found = []
    for camera, candidates in sorted(by_camera.items()):
        topic, kind = min(candidates, key=lambda c: (c[1] != bagio.IMAGE, len(c[0]), c[0]))
        folders = sorted({_folder(c[0]) for c in candidates})
        if not _streams_of_one_device(folders) and first_time("image topic", where, camera,
                                                              topic):
            # images of cameras that cannot be told apart by namespace are read as one: at
            # INFO that went unseen (a rig's cameras scored as one camera)
            log.warning("%s: images in %d namespaces under %s (%s) are read as ONE camera "
                        "%r, from %s only; if they are different cameras, give each a "
                        "namespace of its own (/<camera>/image_raw, e.g. with `ros2 bag play "
                        "--remap` and `ros2 bag record`)", where, len(folders), space[camera],
                        ", ".join(folders), camera, topic)
        elif len(candidates) > 1 and first_time("image topic", where, camera, topic):
            log.info("%s: camera %r has image topics %s; reading %s", where, camera,
                     [c[0] for c in candidates], topic)
        found.append(CameraTopics(camera, topic, kind, _info_topic(space[camera], topic,
                                                                   infos)))
    return found


def bag_where(path: Path | str) -> str:
    """'bag <resolved path>': how camera_topics names a bag, in its messages and in what it
    tells once per bag (whatever path the bag was named by)."""
    return f"bag {Path(path).resolve()}"


def _folder(topic: str) -> str:
    """/rig/cam01/image_raw/compressed -> /rig/cam01: the namespace an image topic is in."""
    return topic.removesuffix("/compressed").rsplit("/", 1)[0]


def _parting(folders: Collection[Sequence[str]]) -> tuple[int, set[str]]:
    """(depth, names): the namespace depth at which the folders (each its namespace parts,
    two or more folders) part, and their names there; names empty when one folder holds
    another (/rig beside /rig/cam02: nothing there tells them apart)."""
    depth = 0
    while all(len(f) > depth for f in folders) and len({f[depth] for f in folders}) == 1:
        depth += 1
    if any(len(f) <= depth for f in folders):
        return depth, set()
    return depth, {f[depth] for f in folders}


def _streams_of_one_device(folders: Sequence[str]) -> bool:
    """Whether image folders of one camera are one device's (one folder, or folders that
    part only at stream names: /camera/color and /camera/infra1)."""
    if len(folders) < 2:
        return True
    parting = _parting([f.strip("/").split("/") for f in folders])[1]
    return bool(parting) and all(_STREAM.fullmatch(n) for n in parting)


def _info_topic(space: str, image_topic: str, infos: Sequence[str]) -> str:
    """The CameraInfo topic (of `infos`) of a camera's image topic: the one beside it, else
    the first in the camera's namespace `space` (/cam01) that is not a depth camera's; ""
    when none."""
    folder = _folder(image_topic)
    mine = [t for t in infos if t.startswith(space + "/")]
    beside = [t for t in mine if t.rsplit("/", 1)[0] == folder]
    return (beside or [t for t in mine if not _is_depth(t)] or [""])[0]


def image_cameras(path: Path | str, topics: Mapping[str, str] | None = None) -> list[str]:
    """The names of the bag's cameras that have images (camera_topics), sorted (topics: its
    topic -> type map when the caller has read it, bagio.bag_topics)."""
    topics = bagio.bag_topics(path) if topics is None else topics
    return [c.name for c in camera_topics(topics, where=bag_where(path))]


def camera_info_topics(path: Path | str, topics: Mapping[str, str] | None = None
                       ) -> dict[str, str]:
    """Camera name -> the CameraInfo topic of its images (camera_topics), and of a camera
    without images its first that is not a depth camera's (a lone camera's intrinsics),
    named by its first namespace (topics: the bag's topic -> type map when the caller has
    read it)."""
    topics = bagio.bag_topics(path) if topics is None else topics
    try:
        chosen = {c.name: c.info_topic
                  for c in camera_topics(topics, where=bag_where(path)) if c.info_topic}
    except ValueError:                    # no image topic: the CameraInfos alone
        chosen = {}
    infos = sorted(t for t, kind in topics.items()
                   if kind == bagio.CAMERA_INFO and not _is_depth(t))
    taken = set(chosen.values())
    for topic in infos:
        if topic not in taken:
            chosen.setdefault(camera_name(topic), topic)
    return dict(sorted(chosen.items()))


def cameras_without_info(path: Path | str, topics: Mapping[str, str] | None = None
                         ) -> list[str]:
    """The bag's cameras that have images but no CameraInfo topic (a recording that missed
    it): no calibration, so the tools leave them out (a review: without a word, the report
    saying "all cameras of the bag"), sorted (topics: the bag's topic -> type map when the
    caller has read it)."""
    topics = bagio.bag_topics(path) if topics is None else topics
    try:
        with_images = image_cameras(path, topics)
    except ValueError:                    # no image topic
        return []
    return sorted(set(with_images) - set(camera_info_topics(path, topics)))


def _is_depth(topic: str) -> bool:
    return any("depth" in part.lower() for part in topic.strip("/").split("/"))


def cameras_from_tf(cameras: Sequence[CameraModel], transforms: Sequence[StaticTransform]
                    ) -> tuple[list[CameraModel], str]:
    """Cameras posed by static transforms, and the common root frame.

    Each camera's optical frame (its frame_id) is followed up the transform tree to its root;
    a camera whose frame is the root itself (a rig named after its reference camera's optical
    frame: static_tf.camera_transforms writes it no transform) is at identity. All cameras
    must reach the same root. ValueError when a frame is missing or roots differ.
    """
    tree = TransformTree(transforms)
    children = {t.child for t in transforms}
    tops = {t.parent for t in transforms} - children
    posed, roots = [], []
    for cam in cameras:
        if cam.frame_id in tops:
            roots.append(cam.frame_id)
            posed.append(cam.with_pose(np.eye(3), np.zeros(3)))
            continue
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

    The first valid CameraInfo of each camera counts; a camera without a valid one, or
    without a pose, is left out (logged once). ValueError when no camera is left (naming the
    CameraInfo's fault, not logged apart) or the posed cameras have different roots.
    """
    topics = bagio.bag_topics(path)
    info_topic = camera_info_topics(path, topics)
    infos = list(info_topic.values())
    wanted = infos + ([TF_STATIC] if TF_STATIC in topics else [])
    intrinsics: dict[str, CameraModel] = {}
    faults: dict[str, str] = {}        # topic -> its first invalid CameraInfo's fault
    transforms: list[StaticTransform] = []
    name_of = {topic: name for name, topic in info_topic.items()}
    for topic, _, msg in bagio.read_bag(path, wanted):
        if topic == TF_STATIC:
            transforms += transforms_from_message(msg)
            continue
        name = name_of[topic]
        if name in intrinsics:
            continue
        try:
            intrinsics[name] = camera_model_from_info_msg(msg, name)
        except ValueError as err:      # every message of the topic: one line (a review: 100)
            faults.setdefault(topic, str(err))
    if (missing := cameras_without_info(path, topics)) and first_time("no camera_info", str(path)):
        log.warning("bag %s: camera(s) %s have images but no CameraInfo topic: no "
                    "calibration, left out (record <camera>/camera_info with the images)",
                    path, ", ".join(missing))
    if faults and not intrinsics:
        raise ValueError(f"bag {path}: no valid CameraInfo: " + "; ".join(
            f"{topic}: {fault}" for topic, fault in faults.items()))
    for topic, fault in faults.items():
        log.warning("bag %s: %s: %s%s", path, topic, fault, "" if name_of[topic] in
                    intrinsics else " (left out)")
    on_tree = {t.child for t in transforms} | {t.parent for t in transforms}
    unposed = sorted(n for n, c in intrinsics.items() if c.frame_id not in on_tree)
    moving = (" (the bag has /tf: the tools read camera poses from /tf_static only, a rig "
              "that does not move; republish them there)" if "/tf" in topics else "")
    named = [c for n, c in intrinsics.items() if n not in unposed]
    if not named:
        raise ValueError(f"bag {path} has no camera with both CameraInfo and {TF_STATIC}"
                         + moving)
    if unposed:
        log.warning("bag %s: cameras %s have no pose on %s; left out%s", path, unposed,
                    TF_STATIC, moving)
    try:
        posed, root = cameras_from_tf(named, transforms)
    except ValueError as err:     # (a review: the /tf hint was given only without any pose)
        raise ValueError(f"bag {path}: {err}{moving}") from None
    return {c.name: c for c in posed}, root
