"""Videos rendered from the real motion capture: people whose 3D, depth and identity are known,
seen by one camera, so the one-camera product can be tested on pixels through the real 2D
detector rather than on projected joints.

pybullet's CPU renderer (TinyRenderer) draws the humanoid the DeepMimic clips were retargeted
to (pybullet_data/humanoid/humanoid.urdf, 1.62 m, loaded at 0.25 scale) on a checkered floor,
posed frame by frame from the clips; the ground truth is the package's own forward kinematics
of the same frames (core.mocap.h36m_joints, which test_mocap checks against pybullet's). Each
person walks a cyclic clip (walk, run, ...) looped for the video's length: every cycle starts
where the last one ended (the clip's root displacement added, its heading kept), turned by the
person's heading and placed beside the others. The camera is a pinhole camera (no
distortion) at a given distance and height, looking at the middle of the people's paths.

Frames: the clips' y-up "clip world" is what pybullet draws in; the camera and the ground
truth are given in the package's WORLD frame (z up, core.mocap.CLIP_TO_WORLD), like the rest of
the mocap code.

API
    scene = render_scene(RenderConfig(clips=("walk", "walk")))   # frames, camera, truth
    scene.frames: list of (H, W, 3) uint8 BGR; scene.camera: CameraModel (WORLD);
    scene.joints (F, P, 17, 3) WORLD metres, H36M17
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from .camera import CameraModel, look_at
from .layouts import H36M17
from .mocap import (
    CLIP_TO_WORLD,
    MOTION_JOINTS,
    URDF_MEMBER,
    MotionFrames,
    clip_member,
    h36m_joints,
    installed_pybullet_data,
    parse_humanoid_urdf,
    parse_motion,
)
from .mocap_scenes import CYCLIC_CLIPS
from .output_files import npz_file
from .silence import fd_silenced

RENDER_CAMERA = "camera"   # the rendered camera's name (its video: <name>.mp4)
# OpenCV optical frame (x right, y down, z forward) -> OpenGL eye frame (y up, looking along -z)
_CV_TO_GL = np.diag([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class RenderConfig:
    """What to render.

    clips: one cyclic clip name per person (core.mocap_scenes.CYCLIC_CLIPS).
    seconds, fps: video length (s) and rate (Hz); clip frames are taken at the nearest time.
    width, height: image size (px); fov_deg: horizontal field of view (degrees).
    distance_m, camera_height_m: camera distance from the middle of the paths and height
        above the floor (m); azimuth_deg: the camera's direction from that middle, about the
        vertical, relative to the walking direction (0: straight ahead, people walk to it).
    heading_deg: walking direction of the people about the vertical (0 = WORLD +x).
    separation_m: sideways distance between neighbouring people (m).
    """

    clips: tuple[str, ...] = ("walk",)
    seconds: float = 4.0
    fps: float = 30.0
    width: int = 1280
    height: int = 720
    fov_deg: float = 60.0
    distance_m: float = 6.0
    camera_height_m: float = 1.5
    azimuth_deg: float = 60.0
    heading_deg: float = 0.0
    separation_m: float = 1.5

    def __post_init__(self) -> None:
        unknown = [c for c in self.clips if c not in CYCLIC_CLIPS]
        if not self.clips or unknown:
            raise ValueError(f"clips must be cyclic clips {sorted(CYCLIC_CLIPS)}, got "
                             f"{list(self.clips)}")
        limits = (("seconds", self.seconds, "> 0 (video length, s)", self.seconds > 0),
                  ("fps", self.fps, "> 0 (frames per second)", self.fps > 0),
                  ("width", self.width, ">= 1 (pixels)", self.width >= 1),
                  ("height", self.height, ">= 1 (pixels)", self.height >= 1),
                  ("fov_deg", self.fov_deg, "in (0, 170) degrees", 0 < self.fov_deg < 170),
                  ("distance_m", self.distance_m, "> 0 (metres)", self.distance_m > 0),
                  ("camera_height_m", self.camera_height_m, "finite (metres)", True),
                  ("azimuth_deg", self.azimuth_deg, "finite (degrees)", True),
                  ("heading_deg", self.heading_deg, "finite (degrees)", True),
                  ("separation_m", self.separation_m, "finite (metres)", True))
        for name, value, allowed, ok in limits:
            if not (ok and math.isfinite(value)):
                raise ValueError(f"render {name} must be {allowed}, got {value}")
        if self.num_frames < 1:
            raise ValueError(f"render seconds x fps = {self.seconds} x {self.fps} makes no "
                             "frame; ask for at least one")

    @property
    def num_frames(self) -> int:
        return int(round(self.seconds * self.fps))


@dataclass(frozen=True)
class RenderedScene:
    """frames: F BGR uint8 images (H, W, 3); masks: F (H, W) int8, the person each pixel
    shows (index into clips) or -1; camera: the pinhole camera in WORLD; joints: (F, P, 17, 3)
    H36M17 metres in WORLD; fps: frame rate (Hz); clips: per person."""

    frames: list[np.ndarray]
    masks: list[np.ndarray]
    camera: CameraModel
    joints: np.ndarray
    fps: float
    clips: tuple[str, ...]

    def save(self, folder: Path) -> None:
        """Write <camera name>.mp4 (the frames), calibration.yaml (the camera in this
        package's rig format, WORLD frame) and truth.npz (joints (F, P, 17, 3) WORLD metres,
        stamps (F,) s, fps, clips) into an existing folder."""
        folder = Path(folder)
        height, width = self.frames[0].shape[:2]
        with _video_writer(folder / f"{self.camera.name}.mp4", self.fps, width, height) as write:
            for frame in self.frames:
                write(frame)
        self.save_camera_and_truth(folder)

    def save_camera_and_truth(self, folder: Path) -> None:
        """save()'s calibration.yaml and truth.npz (the video written elsewhere)."""
        from .calibration import save_rig_yaml
        from .camera import Rig

        save_rig_yaml(Rig("world", [self.camera]), Path(folder) / "calibration.yaml")
        np.savez_compressed(Path(folder) / "truth.npz", joints=self.joints,
                            stamps=np.arange(len(self.joints)) / self.fps, fps=self.fps,
                            clips=np.array(self.clips))


@contextlib.contextmanager
def _video_writer(path: Path, fps: float, width: int, height: int
                  ) -> Iterator[Callable[[np.ndarray], None]]:
    """A function writing BGR frames to an mp4 file at `path`, released at the end."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        # an OSError: the tools tell it in one line (a review: a RuntimeError traceback)
        raise OSError(f"{path}: OpenCV cannot write an mp4 video there (a full disk, a folder "
                      "it cannot write, or a frame size its encoder refuses)")
    def write(frame: np.ndarray) -> None:
        writer.write(frame)

    try:
        yield write
    finally:
        writer.release()


def render_to_folder(config: RenderConfig, folder: Path, progress: Any = None
                     ) -> RenderedScene:
    """render_scene(config) written straight into an existing folder as RenderedScene.save
    writes it, one frame at a time: memory stays that of one frame (keeping them cost about
    108 MB per second of 1280x720 video, found by a review). The returned scene holds no
    frames or masks."""
    folder = Path(folder)
    with _video_writer(folder / f"{RENDER_CAMERA}.mp4", config.fps, config.width,
                       config.height) as write:
        scene = render_scene(config, progress, on_frame=lambda frame, mask: write(frame))
    scene.save_camera_and_truth(folder)
    return scene


def whole_body_in_view(camera: CameraModel, joints: np.ndarray) -> np.ndarray:
    """(F, P) bool: the people whose every joint (F, P, J, 3 in the camera's world) lies in
    front of `camera` and inside its image."""
    pixels = camera.project(joints)                                       # (F, P, J, 2)
    depth = camera.to_camera_frame(joints)[..., 2]
    inside = ((pixels[..., 0] >= 0) & (pixels[..., 0] <= camera.width - 1)
              & (pixels[..., 1] >= 0) & (pixels[..., 1] <= camera.height - 1) & (depth > 0))
    return np.all(inside, axis=-1)


def load_truth_joints(path: Path) -> np.ndarray:
    """The (F, P, 17, 3) H36M-17 joints (metres, the calibration's frame) of a truth.npz that
    RenderedScene.save wrote; ValueError naming the file if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} does not exist")
    with npz_file(path, "a render_mocap truth.npz") as data:
        joints = np.asarray(data["joints"], np.float64)
    if joints.ndim != 4 or joints.shape[2:] != (H36M17.num_joints, 3):
        raise ValueError(f"{path}: joints of shape {joints.shape}, expected (frames, people, "
                         f"{H36M17.num_joints}, 3)")
    return joints


def looped_motion(motion: MotionFrames, times_s: np.ndarray) -> MotionFrames:
    """The clip at `times_s` (F,) seconds, looped: cycle c is the clip shifted by c times its
    root displacement over one cycle (the last frame is the next cycle's first), orientations
    as recorded; each time takes the nearest clip frame."""
    period = motion.num_frames - 1                    # frames per cycle
    index = np.rint(np.asarray(times_s, float) * motion.fps).astype(int)
    cycle, phase = np.divmod(index, period)
    step = motion.root_position[-1] - motion.root_position[0]
    step[1] = 0.0                                     # clip world is y up: no vertical drift
    return MotionFrames(
        durations=np.full(index.shape, 1.0 / motion.fps),
        root_position=motion.root_position[phase] + cycle[:, None] * step,
        root_quat_wxyz=motion.root_quat_wxyz[phase],
        joint_quat_wxyz={k: v[phase] for k, v in motion.joint_quat_wxyz.items()},
        joint_angle={k: v[phase] for k, v in motion.joint_angle.items()})


def turned_motion(motion: MotionFrames, heading_rad: float) -> MotionFrames:
    """The motion turned by heading_rad about the clip world's vertical (y) through the origin;
    joint rotations are relative to their parents: kept."""
    turn = Rotation.from_rotvec([0.0, heading_rad, 0.0])
    root = Rotation.from_quat(motion.root_quat_wxyz[:, [1, 2, 3, 0]])
    quat = (turn * root).as_quat()[:, [3, 0, 1, 2]]
    return replace(motion, root_position=turn.apply(motion.root_position), root_quat_wxyz=quat)


def scene_motions(config: RenderConfig, data_root: Path) -> list[MotionFrames]:
    """Each person's looped, placed motion (clip world): people side by side, walking along
    `heading_deg`, the middle of their paths at the origin."""
    times = np.arange(config.num_frames) / config.fps
    heading = np.deg2rad(config.heading_deg)
    # WORLD heading theta about z is clip-world theta about y (CLIP_TO_WORLD maps y to z)
    motions = []
    for k, name in enumerate(config.clips):
        motion = looped_motion(parse_motion((data_root / clip_member(name)).read_text()), times)
        travel = motion.root_position[-1] - motion.root_position[0]
        sideways = (k - (len(config.clips) - 1) / 2) * config.separation_m
        offset = np.array([-travel[0] / 2, 0.0, sideways])   # centre the path, side by side
        start = motion.root_position[0] * np.array([1.0, 0.0, 1.0])
        motions.append(turned_motion(replace(
            motion, root_position=motion.root_position - start + offset), heading))
    return motions


def scene_camera(config: RenderConfig, target: np.ndarray, name: str = RENDER_CAMERA
                 ) -> CameraModel:
    """The pinhole camera of `config` looking at target (3,) WORLD metres."""
    azimuth = np.deg2rad(config.azimuth_deg + config.heading_deg)
    center = np.array([target[0] + config.distance_m * np.cos(azimuth),
                       target[1] + config.distance_m * np.sin(azimuth), config.camera_height_m])
    rotation, translation = look_at(center, target)
    focal = 0.5 * config.width / np.tan(0.5 * np.deg2rad(config.fov_deg))
    K = np.array([[focal, 0.0, (config.width - 1) / 2],
                  [0.0, focal, (config.height - 1) / 2], [0.0, 0.0, 1.0]])
    return CameraModel(name, f"{name}_optical_frame", config.width, config.height, K,
                       np.zeros(5), "plumb_bob", rotation, translation).validate()


def gl_matrices(camera: CameraModel, near_m: float = 0.1, far_m: float = 100.0
                ) -> tuple[list[float], list[float]]:
    """pybullet's view and projection matrices (column-major, 16 each) drawing in the clip
    world what `camera` (WORLD, principal point at the image centre, square pixels) sees."""
    rotation = _CV_TO_GL @ camera.R @ CLIP_TO_WORLD
    view = np.eye(4)
    view[:3, :3], view[:3, 3] = rotation, _CV_TO_GL @ camera.t
    fy, w, h = camera.K[1, 1], camera.width, camera.height
    projection = np.zeros((4, 4))
    projection[0, 0], projection[1, 1] = 2 * camera.K[0, 0] / w, 2 * fy / h
    projection[2, 2] = -(far_m + near_m) / (far_m - near_m)
    projection[2, 3] = -2 * far_m * near_m / (far_m - near_m)
    projection[3, 2] = -1.0
    return view.T.reshape(-1).tolist(), projection.T.reshape(-1).tolist()


def _pose(pb: Any, body: int, joints: dict[str, int], motion: MotionFrames, t: int) -> None:
    """Set one humanoid to frame t of a (clip-world) motion."""
    w, x, y, z = motion.root_quat_wxyz[t]
    pb.resetBasePositionAndOrientation(body, motion.root_position[t].tolist(), [x, y, z, w])
    for name in MOTION_JOINTS:
        if name in motion.joint_angle:
            pb.resetJointStateMultiDof(body, joints[name], [float(motion.joint_angle[name][t])])
        else:
            w, x, y, z = motion.joint_quat_wxyz[name][t]
            pb.resetJointStateMultiDof(body, joints[name], [x, y, z, w])


def render_scene(config: RenderConfig = RenderConfig(), progress: Any = None,
                 on_frame: Callable[[np.ndarray, np.ndarray], None] | None = None
                 ) -> RenderedScene:
    """Render `config` (see module doc). Needs pybullet 3.2.7 installed (scripts/setup_env.sh);
    progress: optional callable(frames done) for a progress bar. About 0.3 s per 1280x720
    frame on one core of the 2-core VM. on_frame(frame, mask): given each frame as it is
    rendered, which is then not kept (the scene's frames and masks stay empty)."""
    import cv2
    import pybullet
    import pybullet_data
    from pybullet_utils.bullet_client import BulletClient

    root = installed_pybullet_data()
    if root is None:
        raise RuntimeError("rendering needs pybullet 3.2.7 with its motion capture installed "
                           "(scripts/setup_env.sh installs it)")
    model = parse_humanoid_urdf((root / URDF_MEMBER).read_text())
    motions = scene_motions(config, root)
    joints = np.stack([h36m_joints(model, m) for m in motions], axis=1)   # (F, P, 17, 3)
    middle = np.nanmean(joints[:, :, 0], axis=(0, 1))
    camera = scene_camera(config, np.array([middle[0], middle[1], 1.0]))
    view, projection = gl_matrices(camera)
    with fd_silenced(1):
        pb = BulletClient(connection_mode=pybullet.DIRECT)   # its calls bound to this client
    try:
        data = Path(pybullet_data.getDataPath())
        with fd_silenced(1):
            pb.loadURDF(str(data / "plane.urdf"), [0, 0, 0],
                        pybullet.getQuaternionFromEuler([-np.pi / 2, 0, 0]))
            bodies = [pb.loadURDF(str(root / URDF_MEMBER), [0, 0, 0], globalScaling=0.25,
                                  flags=pybullet.URDF_MAINTAIN_LINK_ORDER) for _ in motions]
        names = {pb.getJointInfo(bodies[0], j)[1].decode(): j
                 for j in range(pb.getNumJoints(bodies[0]))}
        person_of_body = np.full(max(bodies) + 2, -1, np.int8)   # pybullet body id -> person
        person_of_body[bodies] = np.arange(len(bodies))
        frames, masks = [], []
        for t in range(config.num_frames):
            for body, motion in zip(bodies, motions, strict=True):
                _pose(pb, body, names, motion, t)
            _, _, image, _, segmentation = pb.getCameraImage(
                config.width, config.height, view, projection,
                renderer=pybullet.ER_TINY_RENDERER, lightDirection=[1.0, 2.0, 1.0], shadow=1)
            rgba = np.reshape(np.asarray(image, np.uint8), (config.height, config.width, 4))
            frame = cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGR)
            # segmentation: the body's unique id per pixel, -1 for nothing (-> the last entry)
            body = np.reshape(np.asarray(segmentation, np.int64), (config.height, config.width))
            if on_frame is not None:
                on_frame(frame, person_of_body[body])
            else:
                frames.append(frame)
                masks.append(person_of_body[body])
            if progress is not None:
                progress(t + 1)
    finally:
        pb.disconnect()
    return RenderedScene(frames, masks, camera, joints, config.fps, config.clips)


__all__ = ["RENDER_CAMERA", "RenderConfig", "RenderedScene", "gl_matrices", "looped_motion",
           "render_scene", "render_to_folder", "scene_camera", "scene_motions", "turned_motion"]
