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
from ..camera import CameraModel, Rig
from .bag_dataset import BagRecording
from .dataset import ViewDetections

log = logging.getLogger(__name__)


def cameras_from_rig(cameras: Sequence[CameraModel], rig: Rig, where: str = "calibration"
                     ) -> list[CameraModel]:
    """Extrinsics of the rig's cameras matched by name, else by frame_id; intrinsics stay
    those of CameraInfo (they describe the images in the bag). Warns where they differ."""
    posed = []
    for cam in cameras:
        match = [c for c in rig.cameras if c.name == cam.name] or [
            c for c in rig.cameras if c.frame_id and c.frame_id == cam.frame_id]
        if not match:
            raise ValueError(f"{where} has no camera named {cam.name!r} or with frame "
                             f"{cam.frame_id!r}; it has {rig.names}")
        ref = match[0]
        if (ref.width, ref.height) != (cam.width, cam.height) or not np.allclose(
                ref.K, cam.K, rtol=0.01, atol=1.0):
            log.warning("camera %s: intrinsics in %s (%dx%d, fx %.1f) differ from the bag's "
                        "CameraInfo (%dx%d, fx %.1f); using CameraInfo's with the file's pose",
                        cam.name, where, ref.width, ref.height, ref.K[0, 0], cam.width,
                        cam.height, cam.K[0, 0])
        posed.append(cam.with_pose(ref.R, ref.t))
    return posed


def self_calibrated_cameras(cameras: Sequence[CameraModel], views: Sequence[ViewDetections],
                            person_height_m: float = 1.7) -> list[CameraModel]:
    """Extrinsics from the people seen by the cameras (core.selfcalib.self_calibrate).

    The rig frame is the first camera's optical frame; the metric scale rests on the
    person_height_m prior (anthropometric limb fractions): a person of another height scales
    every baseline and every pseudo-label by the same factor.
    """
    from ..selfcalib import self_calibrate

    n = min(v.keypoints.shape[0] for v in views)
    kp = np.stack([v.keypoints[:n] for v in views], axis=1).astype(np.float64)
    sc = np.stack([v.scores[:n] for v in views], axis=1).astype(np.float64)
    result = self_calibrate(kp, sc, list(cameras), person_height_m=person_height_m,
                            frame_id=f"{cameras[0].frame_id or cameras[0].name}")
    log.warning("extrinsics self-calibrated from the people: rig frame = %s's optical frame, "
                "metric scale from a body-height prior of %.2f m (limb-length fractions); "
                "bundle RMS %.2f px over %d observations. Pseudo-labels are only as metric as "
                "that prior", cameras[0].name, person_height_m, result.reprojection_rms_px,
                result.num_observations)
    return list(result.rig.cameras)


def posed_cameras(recording: BagRecording, calibration: str | Path | None = None,
                  use_tf: bool = True, person_height_m: float = 1.7
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
    cams = self_calibrated_cameras(recording.cameras, recording.views, person_height_m)
    return cams, "self_calibration"
