"""Extrinsics of the cameras of a bag for the lifter's pseudo-labels: from a rig file, else
from the bag's /tf_static, else self-calibrated from the people in its images (the choice
posed_cameras makes; the reading and synchronising of the bag is bag_dataset's).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..bag_cameras import TF_STATIC, cameras_from_tf
from ..body_model import DEFAULT_PERSON_HEIGHT_M
from ..camera import CameraModel, Rig
from .bag_dataset import BagRecording
from .dataset import ViewDetections

log = logging.getLogger(__name__)


def rig_cameras_of(cameras: Sequence[CameraModel], rig: Rig, where: str = "calibration"
                   ) -> list[CameraModel]:
    """The rig's camera of each of `cameras` (a bag's, from its CameraInfo): by name, else by
    frame_id. ValueError naming a camera the rig does not have."""
    found = []
    for cam in cameras:
        match = [c for c in rig.cameras if c.name == cam.name] or [
            c for c in rig.cameras if c.frame_id and c.frame_id == cam.frame_id]
        if not match:
            raise ValueError(f"{where} has no camera named {cam.name!r} or with frame "
                             f"{cam.frame_id!r}; it has {rig.names}")
        found.append(match[0])
    return found


def cameras_from_rig(cameras: Sequence[CameraModel], rig: Rig, where: str = "calibration"
                     ) -> list[CameraModel]:
    """Extrinsics of the rig's cameras matched by name, else by frame_id (rig_cameras_of);
    intrinsics stay those of CameraInfo (they describe the images in the bag). Warns where
    they differ."""
    posed = []
    for cam, ref in zip(cameras, rig_cameras_of(cameras, rig, where), strict=True):
        if (ref.width, ref.height) != (cam.width, cam.height) or not np.allclose(
                ref.K, cam.K, rtol=0.01, atol=1.0):
            log.warning("camera %s: intrinsics in %s (%dx%d, fx %.1f) differ from the bag's "
                        "CameraInfo (%dx%d, fx %.1f); using CameraInfo's with the file's pose",
                        cam.name, where, ref.width, ref.height, ref.K[0, 0], cam.width,
                        cam.height, cam.K[0, 0])
        posed.append(cam.with_pose(ref.R, ref.t))
    return posed


def self_calibrated_cameras(cameras: Sequence[CameraModel], views: Sequence[ViewDetections],
                            stamps_ns: np.ndarray, person_height_m: float = DEFAULT_PERSON_HEIGHT_M
                            ) -> list[CameraModel]:
    """Extrinsics from the people seen by the cameras, as `calibrate` finds them
    (core.selfcalib.calibrate_from_detections: the person associated across the views by
    epipolar consistency, fitted on held-out splits and checked; a solution that fails its
    checks raises CalibrationRefusedError).

    views: per camera (F, 33, ...) BlazePose detections, one person per frame; stamps_ns: (F,)
    the frames' stamps (the 2D tracker's frame rate). The rig frame is the first camera's
    optical frame; the metric scale rests on the person_height_m prior (the limb proportions
    of core/body_model.py): a person of another height scales every baseline and every
    pseudo-label by the same factor.
    """
    from ..selfcalib import calibrate_from_detections

    n = min(v.keypoints.shape[0] for v in views)
    kp = np.stack([v.keypoints[:n] for v in views], axis=1).astype(np.float64)[:, :, None]
    sc = np.stack([v.scores[:n] for v in views], axis=1).astype(np.float64)[:, :, None]
    solved = calibrate_from_detections(kp, sc, list(cameras), fps=_frame_rate_hz(stamps_ns[:n]),
                                       person_height_m=person_height_m,
                                       frame_id=f"{cameras[0].frame_id or cameras[0].name}")
    result = solved.calibration
    held_out = result.checks.heldout_px if result.checks is not None else float("nan")
    log.warning("extrinsics self-calibrated from the people: rig frame = %s's optical frame, "
                "metric scale from a body-height prior of %.2f m (limb-length fractions); "
                "bundle RMS %.2f px over %d observations, held-out frames %.1f px. "
                "Pseudo-labels are only as metric as that prior", cameras[0].name,
                person_height_m, result.reprojection_rms_px, result.num_observations, held_out)
    return list(result.rig.cameras)


def _frame_rate_hz(stamps_ns: np.ndarray, default_hz: float = 30.0) -> float:
    """Frames per second from (F,) frame stamps in ns (the median interval); default_hz when
    fewer than two distinct stamps are given."""
    steps = np.diff(np.asarray(stamps_ns, np.int64)).astype(np.float64)
    steps = steps[steps > 0]
    return 1e9 / float(np.median(steps)) if steps.size else default_hz


def posed_cameras(recording: BagRecording, calibration: str | Path | None = None,
                  use_tf: bool = True, person_height_m: float = DEFAULT_PERSON_HEIGHT_M
                  ) -> tuple[list[CameraModel], str]:
    """Cameras with extrinsics and where they came from ("calibration", "tf_static",
    "self_calibration"): the calibration file if given, else /tf_static (unless use_tf is
    False), else self-calibration (self_calibrated_cameras)."""
    if calibration is not None:
        from ..calibration import load_rig

        cams = cameras_from_rig(recording.cameras, load_rig(calibration), str(calibration))
        log.info("bag %s: extrinsics from %s", recording.path, calibration)
        return cams, "calibration"
    if not use_tf:
        log.info("bag %s: self-calibration requested (%s ignored)", recording.path, TF_STATIC)
    elif not recording.transforms:
        log.info("bag %s: no calibration file and no %s; self-calibrating", recording.path,
                 TF_STATIC)
    else:
        try:
            cams, root = cameras_from_tf(recording.cameras, recording.transforms)
            log.info("bag %s: extrinsics from %s (fixed frame %r)", recording.path, TF_STATIC,
                     root)
            return cams, "tf_static"
        except ValueError as err:
            log.warning("bag %s: cannot use %s (%s); self-calibrating instead", recording.path,
                        TF_STATIC, err)
    from ..selfcalib_checks import CalibrationRefusedError

    try:
        cams = self_calibrated_cameras(recording.cameras, recording.views, recording.stamps_ns,
                                       person_height_m)
    except CalibrationRefusedError as err:
        raise CalibrationRefusedError(
            f"bag {recording.path}: {err}; nothing was trained. Give the cameras' poses: a "
            f"calibration file (train_lifter --calibration) or {TF_STATIC} in the bag",
            err.result) from err
    return cams, "self_calibration"
