"""Pseudo-labels of whole recordings for the lifter's training and evaluation: a demo name or a
recording folder (videos + Qualisys calibration), one person or every person, or a
multi-camera rosbag2. The tools (train_lifter, eval_lifter) call these; the heavy modules
(BlazePose, torch-free dataset code) are imported on first use.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..body_model import DEFAULT_PERSON_HEIGHT_M
from ..data_paths import DEMO_SHARED_FOOTAGE, recording_inputs

if TYPE_CHECKING:
    from ..camera import CameraModel
    from .dataset import PseudoLabels

log = logging.getLogger(__name__)


def check_recording(recording: str) -> tuple[list[Path], Path, str, list[CameraModel]]:
    """(videos, calibration path, name, cameras) of a recording, checked before any 2D
    detection runs: the videos exist and can be read, the calibration has one camera per
    video whose image size is the video's (video_bag.sized_cameras, the other tools' check:
    the calibrated image or its top-left crop within the encoder's padding), and there are
    at least two (pseudo-labels are triangulated). ValueError / FileNotFoundError saying what
    is wrong (found by a review: a 640x480 calibration for 1080p videos, an empty video
    refused only after another camera's 2D had run)."""
    from ..video_bag import cameras_for_videos, frame_rate, sized_cameras
    from .dataset import load_cameras

    videos, calib, name = recording_inputs(recording)
    missing = [str(v) for v in videos if not Path(v).is_file()]
    if missing:
        raise FileNotFoundError(f"recording {recording}: missing video(s) {', '.join(missing)}")
    cameras = load_cameras(calib)
    if len(cameras) != len(videos):
        raise ValueError(f"{calib} has {len(cameras)} cameras but {len(videos)} videos")
    if len(cameras) < 2:
        raise ValueError(f"recording {recording} has {len(cameras)} camera: pseudo-labels are "
                         "triangulated and need two or more synchronised, calibrated cameras")
    # the cameras the videos are named after, as the other tools match them (sorted names
    # put cam10 before cam2, against the calibration's order: a review); a folder's videos
    # must be named so (paired by their sorted names, a_cam01 b_cam02 c_cam04 d_cam03 were
    # scored as the wrong cameras without a word: a review)
    cameras = cameras_for_videos(videos, calib, by_name_only=True)[0]
    sized_cameras(videos, cameras, crop_padding=True, scale_option=False, crop_option=False)
    # one rate, frame by frame (a 30 fps camera beside 60 fps ones was paired frame by frame
    # into pseudo-labels of different moments without a word: a review)
    frame_rate(videos, fps_option=False)
    return videos, calib, name, cameras


def check_bag(bag: Path, image_topics: list[str] | None = None) -> int:
    """Number of cameras of a bag (bag_dataset.training_cameras: the tools' discovery), read
    from its topic list before any image is decoded; FileNotFoundError / ValueError when the
    bag is missing, a camera has no CameraInfo or the bag holds fewer than two cameras
    (pseudo-labels are triangulated)."""
    from .bag_dataset import training_cameras

    if not Path(bag).exists():
        raise FileNotFoundError(f"no bag at {bag}")
    cams = training_cameras(Path(bag), image_topics)
    if len(cams) < 2:
        found = ", ".join(c.image_topic for c in cams)
        raise ValueError(f"bag {bag} has {len(cams)} camera ({found}): pseudo-labels are "
                         "triangulated and need two or more cameras")
    return len(cams)


def load_labels(recording: str, cache_dir: Path, progress: bool = True) -> PseudoLabels:
    """PseudoLabels of a recording (2D detections cached in cache_dir)."""
    from .dataset import detect_recording, make_pseudo_labels

    videos, _, name, cameras = check_recording(recording)
    views = detect_recording(videos, cache_dir / f"{name}_blazepose.npz", progress=progress)
    return make_pseudo_labels(cameras, views)


def load_multi_person_labels(recording: str, cache_dir: Path | None = None,
                             progress: bool = True) -> list:
    """PseudoLabels of every person of a recording: the multi-person BlazePose back-end
    (cached in cache_dir, default core.detection.cache's folder), association, 3D tracking,
    then per-person labels."""
    from ..detection.cache import detect_video_set
    from ..video import video_fps
    from .dataset import multi_person_pseudo_labels

    videos, _, _, cameras = check_recording(recording)
    # (the lifter tools have no --max-frames: a damaged video's advice is an ffmpeg command)
    per_camera = detect_video_set(videos, "blazepose_multi", cache_folder=cache_dir,
                                  progress=progress, keep=None)
    return multi_person_pseudo_labels(cameras, per_camera, fps=video_fps(videos[0]))


def trained_on_scored_footage(model: Path, recording: str, excluded: Sequence[str]) -> str:
    """The recording named in `model`'s metadata (trained_on, of its .json, else of the copy
    inside the ONNX file, as runtime.OnnxLifter reads its metadata) whose footage an
    evaluation on `recording` scores ('' when none; people of `excluded` recordings are left
    out of the scores; DEMO_SHARED_FOOTAGE). A model without metadata says
    nothing."""
    sidecar = model.with_suffix(".json")
    try:
        if sidecar.is_file():
            trained = json.loads(sidecar.read_text()).get("trained_on") or []
        else:       # (found by a review: a model without its .json was never said)
            from .runtime import OnnxLifter

            properties = OnnxLifter(model).session.get_modelmeta().custom_metadata_map
            trained = json.loads(properties.get("trained_on", "[]")) or []
    except (OSError, ValueError, AttributeError):
        return ""
    names = {Path(str(r)).name for r in trained}
    scored = Path(recording).name
    for footage in (scored, *DEMO_SHARED_FOOTAGE.get(scored, ())):
        if footage in names and footage not in excluded:
            return repr(footage)
    return ""


def drop_overlapping(labels: list, held_out: PseudoLabels, name: str,
                     max_distance_m: float = 0.2, *, purpose: str = "used for training") -> list:
    """Labels of people whose 3D coincides, frame by frame (same frame index, rig frame),
    with the held-out recording's person: the same footage, which must not train a model
    evaluated on that recording. The demo's 'multi' recording is the 'single' one with a
    second person composited in, so its man moves exactly as the 'single' person does."""
    kept = []
    for k, label in enumerate(labels):
        frames = min(label.points_world.shape[0], held_out.points_world.shape[0])
        gap = np.linalg.norm(label.points_world[:frames] - held_out.points_world[:frames],
                             axis=-1)
        common = np.isfinite(gap).sum()
        median = float(np.nanmedian(gap)) if common else float("inf")
        if median < max_distance_m:
            # (a review: the list index here, the tracker's id in the log before and in
            # eval_lifter's rows: 'person 0 not scored', then a row p0)
            log.warning("person %d: same motion as the held-out recording %s (median %.0f mm "
                        "apart over %d joints): not %s",
                        k if label.person is None else label.person, name, median * 1000,
                        common, purpose)
        else:
            kept.append(label)
    return kept


def load_bag_labels(bag: Path, cache_dir: Path, calibration: Path | None = None,
                    image_topics: list[str] | None = None, sync_slop: float | None = None,
                    use_tf: bool = True, person_height: float = DEFAULT_PERSON_HEIGHT_M,
                    progress: bool = True) -> PseudoLabels:
    """PseudoLabels of a multi-camera rosbag2 (2D detections cached in cache_dir)."""
    from .bag_dataset import read_bag_recording
    from .bag_extrinsics import posed_cameras
    from .dataset import make_pseudo_labels

    recording = read_bag_recording(bag, image_topics, sync_slop, cache_dir, progress=progress)
    cameras, source = posed_cameras(recording, calibration, use_tf=use_tf,
                                    person_height_m=person_height)
    said = {"calibration": f"calibration {calibration}", "tf_static": "the bag's /tf_static",
            "self_calibration": f"self-calibrated from the people, assumed {person_height} m "
                                "tall"}.get(source, source)
    return replace(make_pseudo_labels(cameras, recording.views), extrinsics=said)
