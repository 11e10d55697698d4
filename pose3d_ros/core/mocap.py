"""Real motion capture as H36M-17 joint sequences: the DeepMimic clips of the pybullet wheel.

The pybullet 3.2.7 wheel (PyPI) ships 15 motion-capture clips retargeted to one humanoid
(`pybullet_data/data/motions/humanoid3d_<name>.txt`) and the humanoid's body model
(`pybullet_data/humanoid/humanoid.urdf`). This module parses both and runs the forward
kinematics itself (numpy + scipy Rotation, no pybullet at run time; test_mocap.py checks it
against pybullet's own forward kinematics). `fetch_mocap` (command line:
`python -m pose3d_ros.tools.fetch_mocap`) takes the clips from the installed pybullet 3.2.7 or
`pip download`s the wheel (about 100 MB; no other network), and writes one npz per clip.

API
    clips = load_mocap(["walk", "run"])         # list[MocapClip], fetched on first use
    out_dir = fetch_mocap(data_dir)             # <data_dir>/mocap/<clip>.npz for all 15
    clip = load_clip(path)                      # MocapClip from an npz written by save_clip
    clips = load_clips(directory, names=None)   # list[MocapClip], sorted by name
    clip.joints (F, 17, 3) metres, H36M17 order, WORLD frame below; clip.fps; clip.name
    model = parse_humanoid_urdf(urdf_text)      # HumanoidModel (metres, URDF scale 0.25)
    motion = parse_motion(clip_text)            # MotionFrames (durations, root, joint states)
    joints = h36m_joints(model, motion)         # (F, 17, 3) metres, WORLD frame
    bottom, top = head_ends(joints)             # (..., 3) each: the head sphere's chin / crown
    clip = clip_from_files(motion_path, urdf_path)
    save_clip(clip, path)                       # atomic (temporary file, then rename)

WORLD frame (REP-103, z up): x forward (the direction the clips' body faces at rest), y to
the body's left, z up, floor at z = 0, metres. The clips are y-up (floor y = 0, body facing
+x, right side towards +z); WORLD = CLIP_TO_WORLD @ clip, a +90 degree rotation about x:
(x, y, z)_world = (x, -z, y)_clip. A standing person facing +x has the right hip at -y.

Joints (H36M17 order of core/layouts.py), defined as the package derives them from a
detector's COCO/BlazePose joints, so that mocap and detections mean the same thing:
  pelvis         = mean of the hips (the humanoid's root joint lies exactly there);
  hips, knees, ankles, shoulders, elbows, wrists = the humanoid's joint centres
                   (link frame origins; the wrists are fixed links 0.259 m past the elbows);
  thorax         = mean of the shoulders; spine = mean of hips and shoulders;
  head           = APPROXIMATION of the mean of the ears (there are no face joints):
                   HEAD_OFFSET_M in the neck link's frame from the neck joint (0.16 m up
                   along the neck, 1.5 cm below the centre of the humanoid's head sphere);
  nose           = APPROXIMATION: NOSE_OFFSET_M in the neck link's frame (0.10 m forward,
                   0.15 m up: on the front of the 0.1025 m head sphere, below ear height).
The model's stature (sole to top of head, standing) is STATURE_M = 1.62 m; the top of the
head is HEAD_TOP_ABOVE_HEAD_M above the head joint. All clips share this one body size.

The head itself (ground truth for the Campus/Shelf head limb, not an H36M joint): the neck
link's collision sphere (HEAD_SPHERE_CENTRE_M, HEAD_SPHERE_RADIUS_M; the head joint lies on
its axis). `head_ends(joints)` gives its bottom (chin level, where head and neck meet: what
Campus/Shelf annotate as "head bottom") and its top (crown, "head top") from the H36M-17
joints alone, so it also holds for the scaled, mirrored, re-proportioned people of
core/mocap_scenes.py.

Clip format (44 numbers per frame): duration of the frame in seconds (0 on the last frame),
root position (3), root orientation quaternion stored w, x, y, z, then per joint a w, x, y, z
quaternion (spherical joints) or an angle in radians about the joint's z axis (knees, elbows),
in MOTION_JOINTS order. Quaternions are normalised on parsing (some clips hold non-unit
ones); a zero quaternion is an error. The frame rate is 1 / median duration.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from .data_paths import check_writable, default_data_dir, download_wheel, open_wheel
from .layouts import H36M17
from .output_files import DamagedFileError, UserError, npz_file, write_atomically

log = logging.getLogger(__name__)

CLIP_NAMES = (
    "backflip", "cartwheel", "crawl", "dance_a", "dance_b", "getup_facedown", "getup_faceup",
    "jump", "kick", "punch", "roll", "run", "spin", "spinkick", "walk",
)
URDF_SCALE = 0.25  # the humanoid URDF is in units of 0.25 m (pybullet loads it with globalScaling)
MOTION_JOINTS = (
    "chest", "neck", "right_hip", "right_knee", "right_ankle", "right_shoulder", "right_elbow",
    "left_hip", "left_knee", "left_ankle", "left_shoulder", "left_elbow",
)
# y-up clip world -> z-up WORLD (x forward, y left, z up): rotation of +90 degrees about x.
CLIP_TO_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
# Face approximations in the neck link's frame (x forward, y up along the neck, z right), m.
HEAD_OFFSET_M = np.array([0.0, 0.16, 0.0])
NOSE_OFFSET_M = np.array([0.10, 0.15, 0.0])
STATURE_M = 1.62
# The head: the neck link's collision sphere (URDF: centre 0.7 up the neck, radius 0.41, in
# units of 0.25 m), neck link frame, metres. The head joint (HEAD_OFFSET_M) is on its axis.
HEAD_SPHERE_CENTRE_M = np.array([0.0, 0.175, 0.0])
HEAD_SPHERE_RADIUS_M = 0.1025
# head sphere top (0.175 + 0.1025 m) minus HEAD_OFFSET_M: 0.1175 m
HEAD_TOP_ABOVE_HEAD_M = float(HEAD_SPHERE_CENTRE_M[1] + HEAD_SPHERE_RADIUS_M - HEAD_OFFSET_M[1])
# H36M joints that are humanoid joint centres of the same name.
_DIRECT_JOINTS = tuple(f"{side}_{part}" for side in ("left", "right")
                       for part in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist"))


@dataclass(frozen=True)
class HumanoidModel:
    """Kinematic tree of the humanoid URDF, in metres.

    links: link names in tree order (a parent precedes its children), the base first.
    parents: index of each link's parent link (-1 for the base).
    origins: (L, 3) joint origin of each link in its parent's frame, metres (rpy is zero
        for every joint of this URDF; a non-zero rpy is rejected on parsing).
    kinds: URDF joint type per link ("base", "fixed", "spherical", "revolute").
    axes: (L, 3) unit rotation axis of revolute joints (zeros otherwise).
    """

    links: tuple[str, ...]
    parents: tuple[int, ...]
    origins: np.ndarray
    kinds: tuple[str, ...]
    axes: np.ndarray

    def index(self, link: str) -> int:
        return self.links.index(link)


@dataclass(frozen=True)
class MotionFrames:
    """One clip as stored: F frames in the y-up clip world.

    durations: (F,) seconds per frame (last one 0). root_position: (F, 3) metres.
    root_quat_wxyz: (F, 4) unit quaternions. joint_quat_wxyz: name -> (F, 4) unit quaternions
    of the spherical joints; joint_angle: name -> (F,) radians of the revolute joints.
    """

    durations: np.ndarray
    root_position: np.ndarray
    root_quat_wxyz: np.ndarray
    joint_quat_wxyz: dict[str, np.ndarray]
    joint_angle: dict[str, np.ndarray]

    @property
    def num_frames(self) -> int:
        return int(self.durations.shape[0])

    @property
    def fps(self) -> float:
        return clip_fps(self.durations)


@dataclass(frozen=True)
class MocapClip:
    """A motion-capture sequence: joints (F, 17, 3) metres, H36M17 order, WORLD frame."""

    name: str
    fps: float
    joints: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.joints.shape[0])

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps


def clip_fps(durations: np.ndarray) -> float:
    """Frame rate (Hz) of a clip from its per-frame durations (the last frame's 0 ignored)."""
    d = np.asarray(durations, dtype=float)
    d = d[d > 0]
    if d.size == 0:
        raise ValueError("clip has no positive frame duration")
    return float(1.0 / np.median(d))


def normalize_quaternions(quat: np.ndarray) -> np.ndarray:
    """Unit quaternions from (..., 4) ones of any non-zero length; ValueError on a zero one."""
    quat = np.asarray(quat, dtype=float)
    norm = np.linalg.norm(quat, axis=-1, keepdims=True)
    if not np.all(np.isfinite(quat)) or np.any(norm < 1e-6):
        raise ValueError("clip holds a zero-length or non-finite quaternion")
    return quat / norm


def _wxyz_to_matrix(quat_wxyz: np.ndarray) -> np.ndarray:
    """(F, 4) w, x, y, z quaternions -> (F, 3, 3) rotation matrices."""
    return Rotation.from_quat(quat_wxyz[..., [1, 2, 3, 0]]).as_matrix()


def _vector(element: ET.Element | None, attribute: str) -> np.ndarray:
    """(3,) floats of an XML attribute such as xyz="0 1 0"; zeros when absent."""
    text = None if element is None else element.get(attribute)
    return np.zeros(3) if text is None else np.array([float(v) for v in text.split()])


def _link_of(joint: ET.Element, tag: str) -> str:
    """The link named by a joint's <parent> or <child> element."""
    element = joint.find(tag)
    name = None if element is None else element.get("link")
    if name is None:
        raise ValueError(f"URDF joint {joint.get('name')!r} has no <{tag} link=...>")
    return name


def parse_humanoid_urdf(text: str, scale: float = URDF_SCALE) -> HumanoidModel:
    """The kinematic tree of the DeepMimic humanoid URDF (text), lengths times `scale`."""
    # The wheel's file ends with a NUL byte after </robot>, which XML parsers refuse.
    root = ET.fromstring(text.replace("\x00", "").strip())
    joints = root.findall("joint")
    children = {_link_of(j, "child") for j in joints}
    base = [ln.get("name") for ln in root.findall("link") if ln.get("name") not in children]
    if len(base) != 1:
        raise ValueError(f"URDF must have one base link, found {base}")
    links: list[str] = [str(base[0])]
    parents, kinds = [-1], ["base"]
    origins, axes = [np.zeros(3)], [np.zeros(3)]
    for joint in joints:  # URDF joints of this model are listed parent first
        parent = _link_of(joint, "parent")
        if parent not in links:
            raise ValueError(f"URDF joint {joint.get('name')!r} precedes its parent {parent!r}")
        origin = joint.find("origin")
        if np.any(np.abs(_vector(origin, "rpy")) > 1e-9):
            raise ValueError(f"URDF joint {joint.get('name')!r} has a rotated origin (unsupported)")
        axis = _vector(joint.find("axis"), "xyz")
        norm = float(np.linalg.norm(axis))
        links.append(_link_of(joint, "child"))
        parents.append(links.index(parent))
        kinds.append(str(joint.get("type")))
        origins.append(_vector(origin, "xyz") * scale)
        axes.append(axis / norm if norm > 0 else axis)
    return HumanoidModel(tuple(links), tuple(parents), np.array(origins), tuple(kinds),
                         np.array(axes))


def parse_motion(text: str) -> MotionFrames:
    """A DeepMimic clip (JSON text with key "Frames", 44 numbers per frame)."""
    try:
        frames = np.asarray(json.loads(text)["Frames"], dtype=float)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a DeepMimic clip (JSON with 'Frames'): {exc}") from None
    if frames.ndim != 2 or frames.shape[1] != 44 or frames.shape[0] < 2:
        raise ValueError(f"clip frames must be (F >= 2, 44), got {frames.shape}")
    quats: dict[str, np.ndarray] = {}
    angles: dict[str, np.ndarray] = {}
    col = 8
    for name in MOTION_JOINTS:
        if name.endswith(("knee", "elbow")):
            angles[name] = frames[:, col].copy()
            col += 1
        else:
            quats[name] = normalize_quaternions(frames[:, col:col + 4])
            col += 4
    return MotionFrames(frames[:, 0].copy(), frames[:, 1:4].copy(),
                        normalize_quaternions(frames[:, 4:8]), quats, angles)


def link_frames(model: HumanoidModel, motion: MotionFrames) -> tuple[np.ndarray, np.ndarray]:
    """Forward kinematics in the clip world (y up).

    Returns positions (F, L, 3) metres of each link frame origin (= its joint centre) and
    rotations (F, L, 3, 3) of each link frame, in model.links order. The loop runs over the
    kinematic chain (links), each step vectorised over all frames.
    """
    n = motion.num_frames
    pos = np.zeros((n, len(model.links), 3))
    rot = np.zeros((n, len(model.links), 3, 3))
    chain = zip(model.links, model.parents, model.kinds, strict=True)
    for i, (name, parent, kind) in enumerate(chain):
        if parent < 0:
            pos[:, i] = motion.root_position
            rot[:, i] = _wxyz_to_matrix(motion.root_quat_wxyz)
            continue
        pos[:, i] = pos[:, parent] + rot[:, parent] @ model.origins[i]
        if kind == "fixed":
            local = np.broadcast_to(np.eye(3), (n, 3, 3))
        elif kind == "spherical":
            local = _wxyz_to_matrix(motion.joint_quat_wxyz[name])
        elif kind == "revolute":
            local = Rotation.from_rotvec(motion.joint_angle[name][:, None] * model.axes[i]
                                         ).as_matrix()
        else:
            raise ValueError(f"unsupported URDF joint type {kind!r} ({name})")
        rot[:, i] = rot[:, parent] @ local
    return pos, rot


def h36m_joints(model: HumanoidModel, motion: MotionFrames) -> np.ndarray:
    """H36M-17 joints (F, 17, 3) metres in the WORLD frame (z up) of a clip."""
    pos, rot = link_frames(model, motion)
    at = {name: pos[:, model.index(name)] for name in model.links}
    neck_rot = rot[:, model.index("neck")]
    out = np.zeros((motion.num_frames, H36M17.num_joints, 3))
    for name in _DIRECT_JOINTS:
        out[:, H36M17.index(name)] = at[name]
    hips = 0.5 * (at["left_hip"] + at["right_hip"])
    shoulders = 0.5 * (at["left_shoulder"] + at["right_shoulder"])
    out[:, H36M17.index("pelvis")] = hips
    out[:, H36M17.index("thorax")] = shoulders
    out[:, H36M17.index("spine")] = 0.5 * (hips + shoulders)
    out[:, H36M17.index("head")] = at["neck"] + neck_rot @ HEAD_OFFSET_M
    out[:, H36M17.index("nose")] = at["neck"] + neck_rot @ NOSE_OFFSET_M
    return out @ CLIP_TO_WORLD.T


def head_ends(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bottom and top of the humanoid's head sphere, (..., 3) each, from its H36M-17 joints.

    joints: (..., 17, 3) metres, H36M17 order, any frame (WORLD or a rig's), of the mocap body
    in any pose, also scaled, mirrored or with bones re-proportioned (core/mocap_scenes.py).
    Returns head bottom (the sphere's lowest point along the neck: chin level, where head and
    neck meet) and head top (its crown), both on the neck link's axis through the head joint:
    HEAD_TOP_ABOVE_HEAD_M above it and (HEAD_OFFSET_M - sphere bottom) = 0.0875 m below it for
    the 1.62 m body, times the head's own size, |nose - head| over the model's 0.1005 m.

    The neck axis is rebuilt from three joints: the face direction (nose - head) is fixed in
    the neck link (NOSE_OFFSET_M - HEAD_OFFSET_M, 5.7 degrees below the link's forward axis),
    and the axis lies in the plane of that direction and thorax -> head, at the model's angle
    to it. Exact while the neck bends only forwards/backwards relative to the chest (the thorax
    then lies in that plane); over all 1,620 clip frames 0-13 mm from the sphere the forward
    kinematics give (test_mocap). NaN propagates.
    """
    joints = np.asarray(joints, np.float64)
    if joints.ndim < 2 or joints.shape[-2:] != (H36M17.num_joints, 3):
        raise ValueError(f"expected (..., {H36M17.num_joints}, 3) H36M-17 joints, "
                         f"got {joints.shape}")
    head = joints[..., H36M17.index("head"), :]
    face = joints[..., H36M17.index("nose"), :] - head
    up = head - joints[..., H36M17.index("thorax"), :]
    face_model = NOSE_OFFSET_M - HEAD_OFFSET_M
    face_len = np.linalg.norm(face, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        face_dir = face / face_len
        across = up - np.sum(up * face_dir, axis=-1, keepdims=True) * face_dir
        across /= np.linalg.norm(across, axis=-1, keepdims=True)
    cos_axis = face_model[1] / np.linalg.norm(face_model)   # neck axis . face direction
    axis = cos_axis * face_dir + np.sqrt(1.0 - cos_axis ** 2) * across
    size = face_len / np.linalg.norm(face_model)
    bottom = HEAD_SPHERE_CENTRE_M[1] - HEAD_SPHERE_RADIUS_M - HEAD_OFFSET_M[1]
    return head + size * bottom * axis, head + size * HEAD_TOP_ABOVE_HEAD_M * axis


def clip_from_files(motion_path: Path, urdf_path: Path, name: str | None = None) -> MocapClip:
    """A MocapClip from a clip file and the humanoid URDF (name from 'humanoid3d_<name>.txt')."""
    motion_path = Path(motion_path)
    model = parse_humanoid_urdf(Path(urdf_path).read_text())
    motion = parse_motion(motion_path.read_text())
    if name is None:
        name = motion_path.stem.removeprefix("humanoid3d_")
    return MocapClip(name, motion.fps, h36m_joints(model, motion))


def save_clip(clip: MocapClip, path: Path) -> None:
    """Write a clip as npz (joints, fps, name) atomically: a temporary file, then a rename."""
    write_atomically(Path(path), lambda file: np.savez(
        file, joints=clip.joints.astype(np.float64), fps=np.float64(clip.fps),
        name=np.str_(clip.name), joint_names=np.array(H36M17.joint_names)))


def load_clip(path: Path) -> MocapClip:
    """A clip written by save_clip; ValueError naming the file if it is not one."""
    try:
        with npz_file(path, "a mocap clip npz") as data:
            joints, fps, name = data["joints"], float(data["fps"]), str(data["name"])
    except DamagedFileError as exc:
        raise DamagedFileError(f"{exc}; run `python -m pose3d_ros.tools.fetch_mocap` to write "
                               "it again") from None
    if joints.ndim != 3 or joints.shape[1:] != (H36M17.num_joints, 3) or not fps > 0:
        raise ValueError(f"{path}: joints {joints.shape} / fps {fps} are not a H36M-17 clip")
    return MocapClip(name, fps, joints)


def clip_path(directory: Path, name: str) -> Path:
    """Where clip `name` lives in a clips folder: <directory>/<name>.npz."""
    return Path(directory) / f"{name}.npz"


def load_clips(directory: Path, names: list[str] | tuple[str, ...] | None = None
               ) -> list[MocapClip]:
    """Clips `<directory>/<name>.npz` (all CLIP_NAMES by default), in the order of `names`.

    FileNotFoundError (saying to run fetch_mocap) if one is missing.
    """
    names = tuple(CLIP_NAMES if names is None else names)
    unknown = [n for n in names if n not in CLIP_NAMES]
    if unknown:
        raise ValueError(f"unknown mocap clip(s) {unknown}; the clips are {list(CLIP_NAMES)}")
    missing = [n for n in names if not clip_path(directory, n).is_file()]
    if missing:
        raise FileNotFoundError(f"mocap clips {missing} not in {directory}: run "
                                "`python -m pose3d_ros.tools.fetch_mocap`")
    return [load_clip(clip_path(directory, n)) for n in names]


# ---------------------------------------------------------------- fetching the clips
PYBULLET_VERSION = "3.2.7"
PYBULLET_WHEEL = f"pybullet=={PYBULLET_VERSION}"
URDF_MEMBER = "pybullet_data/humanoid/humanoid.urdf"


def clip_member(name: str) -> str:
    """Path of a clip inside the pybullet wheel (and under site-packages)."""
    return f"pybullet_data/data/motions/humanoid3d_{name}.txt"


def installed_pybullet_data() -> Path | None:
    """Folder holding pybullet_data/ of an installed pybullet 3.2.7 with every clip, else None."""
    try:
        if importlib.metadata.version("pybullet") != PYBULLET_VERSION:
            return None
    except importlib.metadata.PackageNotFoundError:
        return None
    spec = importlib.util.find_spec("pybullet_data")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0]).parent
    members = [URDF_MEMBER] + [clip_member(n) for n in CLIP_NAMES]
    return root if all((root / m).is_file() for m in members) else None


def _download_wheel_files(tmp: Path) -> Path:
    """pip download the wheel into tmp and extract the URDF and clips; returns their root."""
    log.info("downloading %s from the package index (about 100 MB)", PYBULLET_WHEEL)
    wheel_path = download_wheel(PYBULLET_WHEEL, tmp, "--platform", "manylinux2014_x86_64",
                                "--python-version", "3.11")
    members = [URDF_MEMBER] + [clip_member(n) for n in CLIP_NAMES]
    with open_wheel(wheel_path) as wheel:
        missing = sorted(set(members) - set(wheel.namelist()))
        if missing:
            raise UserError(f"{wheel_path.name} lacks {missing}")
        for member in members:
            wheel.extract(member, tmp / "extracted")
    return tmp / "extracted"


def _readable_clip(path: Path) -> bool:
    """Whether `path` is a whole clip (a file cut short by a full disk or a copy is written
    again by fetch_mocap rather than trusted)."""
    try:
        load_clip(path)
    except (ValueError, FileNotFoundError):
        return False
    return True


def fetch_mocap(data_dir: Path | None = None) -> Path:
    """Write <data_dir>/mocap/<clip>.npz for every clip (nothing to do if all exist and
    load); returns the folder. data_dir defaults to data_paths.default_data_dir()."""
    out_dir = (data_dir or default_data_dir()) / "mocap"
    if all(_readable_clip(clip_path(out_dir, n)) for n in CLIP_NAMES):
        return out_dir
    # one line before any work, as fetch_demo says it (a review: a raw "[Errno 20] Not a
    # directory")
    check_writable(out_dir, "the motion capture")
    with tempfile.TemporaryDirectory() as tmp:
        source = installed_pybullet_data()
        if source is None:
            source = _download_wheel_files(Path(tmp))
        else:
            log.info("reading the clips of the installed pybullet %s", PYBULLET_VERSION)
        for name in CLIP_NAMES:
            save_clip(clip_from_files(source / clip_member(name), source / URDF_MEMBER, name),
                      clip_path(out_dir, name))
    log.info("%d mocap clips in %s", len(CLIP_NAMES), out_dir)
    return out_dir


def load_mocap(names: list[str] | tuple[str, ...] | None = None,
               data_dir: Path | None = None) -> list[MocapClip]:
    """The clips `names` (default: all 15) as MocapClip, fetching them on first use."""
    return load_clips(fetch_mocap(data_dir), names)
