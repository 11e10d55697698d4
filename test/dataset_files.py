"""Writers of the public data set formats, for the loader tests: a small scene of real motion
capture (core/mocap_scenes) seen by a ring of virtual cameras (core/mocap_views), written out
the way Campus/Shelf, CMU Panoptic, OpenPose and COCO files are (docs/datasets.md)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pose3d_ros.core import mocap_scenes as ms
from pose3d_ros.core import mocap_views as mv
from pose3d_ros.core.camera import Rig
from pose3d_ros.core.datasets import writers as w
from pose3d_ros.core.datasets.campus_shelf import HEAD_RULES
from pose3d_ros.core.layouts import BODY25, COCO17, H36M17, PANOPTIC19, convert_joints
from pose3d_ros.core.mocap import load_mocap
from pose3d_ros.core.multiperson_metrics import to_campus14


@dataclass(frozen=True)
class SyntheticShow:
    """rig; joints (F, P, 17, 3) COCO-17 world metres (z up, NaN = absent); pixels
    (F, V, P, 17, 2) true 2D, NaN where not visible; ids (P,) actor ids."""

    rig: Rig
    joints: np.ndarray
    pixels: np.ndarray
    ids: np.ndarray


def coco17_body(h36m: np.ndarray) -> np.ndarray:
    """(..., 17, 3) H36M-17 mocap joints -> COCO-17, eyes and ears placed beside the nose and
    the head joint (the mocap body has no face)."""
    j = H36M17.index
    lateral = h36m[..., j("left_shoulder"), :] - h36m[..., j("right_shoulder"), :]
    lateral /= np.linalg.norm(lateral, axis=-1, keepdims=True)
    nose, head = h36m[..., j("nose"), :], h36m[..., j("head"), :]
    out = np.full(h36m.shape[:-2] + (17, 3), np.nan)
    for name in COCO17.joint_names:
        if name in H36M17.joint_names:
            out[..., COCO17.index(name), :] = h36m[..., j(name), :]
    up = np.array([0.0, 0.0, 0.03])
    for side, sign in (("left", 1.0), ("right", -1.0)):
        out[..., COCO17.index(f"{side}_eye"), :] = nose + sign * 0.03 * lateral + up
        out[..., COCO17.index(f"{side}_ear"), :] = head + sign * 0.075 * lateral
    return out


def make_show(num_cameras: int = 4, num_people: int = 2, num_frames: int = 12,
              seed: int = 3, distortion: bool = True,
              image_size: tuple[int, int] | None = None) -> SyntheticShow:
    """A small scene (people present throughout) in a ring rig with some lens distortion;
    image_size: every camera's (default: sizes drawn from several)."""
    rng = np.random.default_rng(seed)
    sampling = mv.CameraSampling(distance_m=(4.0, 7.0), height_m=(1.0, 3.0),
                                 roll_deg=(-3.0, 3.0), aim_jitter_m=0.3,
                                 image_sizes=(image_size,) if image_size else
                                 mv.CameraSampling().image_sizes)
    rig = mv.random_ring_rig(num_cameras, rng, sampling, target=(0.0, 0.0, 1.0))
    if distortion:
        rig = Rig(rig.frame_id, [replace(c, dist=np.array([-0.05, 0.01, 1e-4, -2e-4, 0.0]))
                                 for c in rig])
    scene = ms.make_scene(load_mocap(["walk", "dance_a"]), rng, ms.SceneConfig(
        num_people=num_people, num_frames=num_frames, fps=25.0, area_radius=1.2,
        min_separation_m=0.9, enter_leave_probability=0.0))
    joints = coco17_body(scene.joints)
    views = mv.project_scene(rig, joints, occlusion=False)
    pixels = np.where(views.in_image[..., None], views.keypoints, np.nan)
    return SyntheticShow(rig, joints, np.moveaxis(pixels, 2, 1), np.arange(num_people) * 2)


def _partial(values: np.ndarray, layout) -> np.ndarray:
    """COCO-17 (..., 17, C) -> `layout`, neck and pelvis as means, other joints NaN."""
    out = np.full(values.shape[:-2] + (layout.num_joints, values.shape[-1]), np.nan)
    for name in layout.joint_names:
        if name in COCO17.joint_names:
            out[..., layout.index(name), :] = values[..., COCO17.index(name), :]
    pairs = {"neck": ("left_shoulder", "right_shoulder"), "pelvis": ("left_hip", "right_hip")}
    for name, (a, b) in pairs.items():
        if name in layout.joint_names:
            out[..., layout.index(name), :] = 0.5 * (values[..., COCO17.index(a), :]
                                                     + values[..., COCO17.index(b), :])
    return out


def campus14_truth(show: SyntheticShow, name: str = "shelf") -> np.ndarray:
    """(F, P, 14, 3) the show's ground truth in Campus/Shelf joints, its head ends derived by
    the data set's scoring rule (campus_shelf.HEAD_RULES), so that exact predictions score
    every limb (the real files annotate head ends of their own)."""
    return to_campus14(show.joints, COCO17, (0.0, 0.0, 1.0), derivation=HEAD_RULES[name])


def _scores(pixels: np.ndarray, value: float = 0.9) -> np.ndarray:
    return np.where(np.isfinite(pixels).all(-1), value, 0.0)


def write_4da(directory: Path, show: SyntheticShow) -> None:
    """The 4D-association Shelf release: calibration.json, gt.txt, detection/<cam>.txt."""
    directory.mkdir(parents=True, exist_ok=True)
    w.save_4da_calibration(show.rig, directory / "calibration.json")
    truth = campus14_truth(show)
    pelvis = 0.5 * (truth[..., 2:3, :] + truth[..., 3:4, :])
    w.save_4da_ground_truth(directory / "gt.txt", np.concatenate([truth, pelvis], -2),
                            show.ids)
    (directory / "detection").mkdir(exist_ok=True)
    body = _partial(show.pixels, BODY25)                            # (F, V, P, 25, 2)
    for v, cam in enumerate(show.rig):
        people = np.concatenate([body[:, v], _scores(body[:, v])[..., None]], -1)
        w.save_bottom_up_file(directory / "detection" / f"{cam.name}.txt", people, BODY25,
                              (cam.width, cam.height), across=0.05)


def write_voxelpose(directory: Path, show: SyntheticShow, name: str, first_frame: int) -> None:
    """actorsGT.mat (actor3D, frames 0..first_frame + F - 1) and calibration_<name>.json."""
    directory.mkdir(parents=True, exist_ok=True)
    truth = campus14_truth(show, name)
    padded = np.concatenate([np.full((first_frame,) + truth.shape[1:], np.nan), truth])
    w.save_actors_gt(directory / "actorsGT.mat", padded)
    w.save_voxelpose_calibration(show.rig, directory / f"calibration_{name}.json")


def write_panoptic(directory: Path, show: SyntheticShow, frames: np.ndarray) -> None:
    """calibration_<seq>.json and hdPose3d_stage1_coco19/body3DScene_<frame>.json."""
    directory.mkdir(parents=True, exist_ok=True)
    w.save_panoptic_calibration(show.rig, directory / f"calibration_{directory.name}.json")
    w.save_panoptic_ground_truth(directory / "hdPose3d_stage1_coco19", frames,
                                 convert_joints(show.joints, COCO17, PANOPTIC19), show.ids)


PANOPTIC_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def panoptic_show(show: SyntheticShow) -> SyntheticShow:
    """The same show in a y-down world (Panoptic's): points p -> M p, cameras R -> R M^T."""
    m = PANOPTIC_TO_Z_UP.T                                  # z-up -> y-down
    rig = Rig("world", [replace(c, name=f"00_{v + 3:02d}", R=c.R @ m.T)
                        for v, c in enumerate(show.rig)])
    return replace(show, rig=rig, joints=show.joints @ m.T)


def write_openpose(root: Path, show: SyntheticShow, frames: np.ndarray) -> list[Path]:
    """One directory per camera of BODY_25 OpenPose files; returns the directories."""
    body = _partial(show.pixels, BODY25)
    for v, cam in enumerate(show.rig):
        w.save_openpose_directory(root / cam.name, cam.name, frames, body[:, v],
                                  _scores(body[:, v]))
    return [root / cam.name for cam in show.rig]


def write_coco(root: Path, show: SyntheticShow, frames: np.ndarray,
               results: bool = True) -> list[Path]:
    """One COCO keypoint file per camera: a results list, or a data set with images."""
    root.mkdir(parents=True, exist_ok=True)
    for v, cam in enumerate(show.rig):
        w.save_coco_keypoints(root / f"{cam.name}.json", frames, show.pixels[:, v],
                              _scores(show.pixels[:, v], 0.95), dataset=not results)
    return [root / f"{cam.name}.json" for cam in show.rig]
