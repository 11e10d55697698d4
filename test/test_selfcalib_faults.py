"""Self-calibration refuses cameras out of step in time (selfcalib_checks.sync_scan) and
focal lengths given too long or too short, and warns about smaller disagreements of the
people's 2D with a focal length either way (selfcalib.focal_scales), on the demo recordings'
real 2D with one camera's video moved by whole frames or its focal length changed.

Before, one camera 2-10 frames out of step, or given 0.6-2x its focal length, gave rigs up to
15 degrees off that passed every check and were written without a word
(benchmarks/bench_selfcalib_faults.py, results_multiview.md sections 3g, 3l and 3m)."""
from __future__ import annotations

import re

import numpy as np
import pytest

from pose3d_ros.core.data_paths import DEMO_FPS
from pose3d_ros.core.selfcalib import calibrate_from_detections, focal_scales
from pose3d_ros.core.selfcalib_checks import (
    CalibrationRefusedError,
    CheckLimits,
    SyncScan,
    sync_scan,
)
from pose3d_ros.core.synthetic import camera_out_of_step


def _demo(name: str, cameras: list[int] | None = None):
    """Demo 2D (F, V, P, 33, 2), scores and the shipped cameras (all, or `cameras`)."""
    from pose3d_ros.core.calibration import load_rig
    from pose3d_ros.core.data_paths import calibration_path
    from pose3d_ros.core.demo_2d import load_demo_2d

    demo, rig = load_demo_2d(name), load_rig(calibration_path(name))
    pick = list(range(len(rig))) if cameras is None else cameras
    return (demo.keypoints[:, pick].astype(np.float64),
            demo.scores[:, pick].astype(np.float64), [rig.cameras[i] for i in pick])


# (multi cam04 10 frames ahead is the calibrate tool's test below; cameras behind are the
# three-camera test's: multi cam04 5 behind, 15 s, was left out for the suite's time)
@pytest.mark.parametrize("name, camera, frames", [
    ("multi", 1, 2), ("single", 1, 5), ("multi", 2, 5), ("single", 2, 4), ("multi", 1, 3)])
def test_a_camera_out_of_step_is_refused_and_named(name, camera, frames):
    """(a review: cam02 or cam04 5-15 frames out of step gave rigs 3.4-9.4 degrees off that
    passed every check and were written; judged under the solution's own pose of the camera,
    the scan still wrote cam03 5 frames ahead (multi, 3.88 degrees off) and 4 frames ahead
    (single, 4.21 degrees): each shift's pose refitted finds them). Only the moved camera is
    named: e.g. `single` cam03 4 ahead named cam01 too, `multi` cam02 3 ahead cam04, before the
    others were scanned again without the clearest camera (sync_scan)."""
    kp, sc, cameras = _demo(name)
    kp, sc = camera_out_of_step(kp, sc, camera, frames)
    with pytest.raises(CalibrationRefusedError, match="out of step in time") as refused:
        calibrate_from_detections(kp, sc, cameras, fps=DEMO_FPS)
    where = "ahead" if frames > 0 else "behind"
    named = re.search(rf"{cameras[camera].name} (\d+) frames {where}", str(refused.value))
    # the shift within a frame (each shift's refitted pose: exact on 28 of 42 demo cases)
    assert named is not None and abs(int(named.group(1)) - abs(frames)) <= 1, refused.value
    assert re.findall(r"(cam\d+) \d+ frames (?:ahead|behind)", str(refused.value)) == [
        cameras[camera].name], refused.value
    sync = refused.value.result.checks.sync
    shift, best_px, at_zero = sync.best()
    assert abs(shift[camera] + frames) <= 1 and best_px[camera] < 0.9 * at_zero[camera]


@pytest.mark.parametrize("name", ["single", "multi"])
def test_the_real_demo_recordings_are_in_step_and_agree_with_their_intrinsics(name):
    kp, sc, cameras = _demo(name)
    steps: list[str] = []                  # the stages a progress bar names, as they start
    checks = calibrate_from_detections(kp, sc, cameras, fps=DEMO_FPS,
                                       step=steps.append).calibration.checks
    assert steps == ["people across the views", "camera poses", "checks"]
    assert checks is not None and checks.sync is not None and checks.focal_scale is not None
    shift, best_px, at_zero = checks.sync.best()
    # measured: 0 or -1, multi cam01 -2 with each shift's pose refitted, where its residual
    # is 0.98 of that at 0 (a flat minimum, not a shift)
    assert np.all(np.abs(shift) <= 2), shift
    assert np.all(best_px > 0.95 * at_zero)
    assert np.all(np.isnan(checks.sync.out_of_step(CheckLimits())))
    # measured 0.95-1.06 until session 56; with the landmark crop repeating the image edge
    # (MediaPipe's) multi's cam03 / cam04 read 1.14 / 1.12: still under the warning's 1.25
    assert np.all(np.abs(np.log(checks.focal_scale)) < np.log(1.2))
    assert not checks.focal_warnings(CheckLimits())
    assert "in step in time" in checks.checked()


def test_a_pair_out_of_step_is_refused_and_a_synchronised_pair_is_not():
    """Two cameras: the epipolar distance; the synchronised pair cam03-cam04 of `single` has
    its lowest residual 2 frames away (a pair's geometry absorbs that), which must not refuse
    it (CheckLimits.min_pair_sync_shift_frames)."""
    kp, sc, cameras = _demo("multi", [1, 2])
    kp, sc = camera_out_of_step(kp, sc, 1, 10)
    with pytest.raises(CalibrationRefusedError, match="out of step in time"):
        calibrate_from_detections(kp, sc, cameras, fps=DEMO_FPS)
    # written 3.95 degrees off before (the pair's own geometry, bent to fit the shift, had
    # its lowest residual 1 frame away); each shift's geometry refitted finds 4 frames.
    # Where floating point rounds otherwise (an AMD EPYC VM, 2026-12-06) one of its held-out
    # splits fails the mirrored-bodies check at its limit (89.6 % of 90 %) first: refused all
    # the same.
    # (The scan of such a refused solution would find the true 5 frames, but on refused
    # solutions of 11 of 76 good demo stretches it found 4-7 frames too: not told.)
    kp, sc, cameras = _demo("multi", [0, 2])
    kp, sc = camera_out_of_step(kp, sc, 1, 5)
    # (a pair's shift is named from either camera: with the body's joints only, from cam01)
    with pytest.raises(CalibrationRefusedError,
                       match="cam03 4 frames ahead of cam01 |cam01 4 frames behind cam03 "
                             "|mirrored bodies: only 89"):
        calibrate_from_detections(kp, sc, cameras, fps=DEMO_FPS)
    # good 50-60-frame stretches the refitted pair scans called out of step, one camera's
    # best shift not mirrored by the other's (+3 / -5, +3 / +1): not refused for it
    kp, sc, cameras = _demo("multi", [0, 1])
    checks = calibrate_from_detections(kp[20:70], sc[20:70], cameras,
                                       fps=DEMO_FPS).calibration.checks
    assert checks is not None and checks.sync is not None        # the scan ran
    assert np.isnan(checks.sync.out_of_step(CheckLimits())).all()
    # `single` cam01-cam02 over frames 0-60 was written 8.7 degrees off when the face joints
    # were fitted; on the body's joints its held-out splits disagree (7.1 degrees; the one
    # chosen 11.2 off): refused, and not for the synchronisation
    kp, sc, cameras = _demo("single", [0, 1])
    with pytest.raises(CalibrationRefusedError, match="must agree within 5 degrees") as refused:
        calibrate_from_detections(kp[:60], sc[:60], cameras, fps=DEMO_FPS)
    assert "out of step" not in str(refused.value)
    # a review: cam02 7 frames ahead on a 60-frame stretch, best shifts +8 / -6, was let
    # through by a one-frame mirror rule (20 degrees off; refused before the pair scan; on
    # the body's joints 3 of its 4 held-out splits fail the scale check first, at its limit)
    kp, sc, cameras = _demo("multi", [0, 1])
    kp, sc = camera_out_of_step(kp[:60], sc[:60], 1, 7)
    with pytest.raises(CalibrationRefusedError,
                       match="out of step in time|inconsistent scale: limb lengths vary by 30"):
        calibrate_from_detections(kp, sc, cameras, fps=DEMO_FPS)
    kp, sc, cameras = _demo("single", [2, 3])
    checks = calibrate_from_detections(kp, sc, cameras, fps=DEMO_FPS).calibration.checks
    assert checks is not None and checks.sync is not None
    assert np.all(np.abs(checks.sync.best()[0]) < CheckLimits().min_pair_sync_shift_frames)
    # two views leave the focal lengths undetermined (0.41-2.03 measured on good pairs)
    assert checks.focal_scale is None


@pytest.mark.parametrize("name, subset, camera, frames, scanned", [
    ("multi", [0, 1, 2], 2, 5, True), ("single", [1, 2, 3], 1, -5, False),
    ("multi", [0, 2, 3], 1, -5, True)])
def test_three_cameras_one_out_of_step_is_refused_and_named(name, subset, camera, frames,
                                                            scanned):
    """(written 3.7 / 7.2 / 3.2 degrees off before: the three-camera scan judged each camera
    under the solution's geometry, which bends to fit the camera out of step; now each
    camera pair's geometry is refitted per shift). scanned False: refused before the scan,
    which runs on a reproducible solution only; the camera is named by the held-out check
    (`single` cam03 5 frames behind, fitted on the body's joints: 31-33 px in 3 of the 4
    held-out splits against the others)."""
    kp, sc, cameras = _demo(name, subset)
    kp, sc = camera_out_of_step(kp, sc, camera, frames)
    with pytest.raises(CalibrationRefusedError) as refused:
        calibrate_from_detections(kp, sc, cameras, fps=DEMO_FPS)
    message = str(refused.value)
    if not scanned:
        assert "not reproducible" in message, message
        named = message.split("disagree with the others on held-out frames: ")[1]
        assert named.startswith(f"{cameras[camera].name} ("), message
        return
    assert "out of step in time" in message, message
    named = message.split("show at t + N): ")[1]
    assert named.startswith(cameras[camera].name), message      # the one camera named
    shift = refused.value.result.checks.sync.best()[0][camera]
    assert abs(shift + frames) <= 2, shift                        # measured: 0 / 2 / 0 off
    assert f"{'ahead' if frames > 0 else 'behind'} (" in named.split(")")[0] + ")"
    assert message.count(" frames ahead (") + message.count(" frames behind (") == 1


@pytest.mark.parametrize("name, subset", [("single", [1, 2, 3]), ("multi", [0, 1, 2])])
def test_synchronised_three_camera_subsets_are_not_refused(name, subset):
    """(single cam02-cam04 has its lowest residual 2 frames away, 0.92 of that at 0: under
    CheckLimits.min_pair_sync_shift_frames)"""
    kp, sc, cameras = _demo(name, subset)
    checks = calibrate_from_detections(kp, sc, cameras, fps=DEMO_FPS).calibration.checks
    assert checks is not None and checks.sync is not None
    assert np.all(np.abs(checks.sync.best()[0]) <= 2)
    assert np.all(np.isnan(checks.sync.out_of_step(CheckLimits())))


def test_calibrate_tool_refuses_a_camera_out_of_step_in_one_line(tmp_path, capsys):
    from pose3d_ros.core.data_paths import calibration_path
    from pose3d_ros.core.output_files import run_cli
    from pose3d_ros.tools.calibrate import main

    kp, sc, _ = _demo("multi")
    kp, sc = camera_out_of_step(kp, sc, 3, 10)
    source = tmp_path / "2d.npz"
    np.savez(source, keypoints=kp, scores=sc)
    out = tmp_path / "rig.yaml"
    assert run_cli(main, ["--keypoints", str(source), "--intrinsics",
                          str(calibration_path("multi")), "--fps", "60", "--out",
                          str(out)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "cam04 10 frames ahead" in err[0], err
    assert "--cameras-in-step skips the check for cameras out of step" in err[0]
    assert "--trust-intrinsics" not in err[0]
    assert list(tmp_path.iterdir()) == [source]
    # the user who knows the cameras are triggered together can skip the check (a short
    # stretch of one slow person can show a shift the videos do not have): written, and the
    # tool does not claim it checked them
    assert run_cli(main, ["--keypoints", str(source), "--intrinsics",
                          str(calibration_path("multi")), "--fps", "60", "--out", str(out),
                          "--cameras-in-step"]) == 0
    checked = [line for line in capsys.readouterr().out.splitlines() if "checked" in line]
    assert out.is_file() and len(checked) == 1 and "in step" not in checked[0], checked


# one way through the tool (the too-short way's refusal, its message and the warning with the
# check off are test_a_focal_length_given_too_short_is_refused_and_named's; the tool's run
# of it, 38 s, was left out for the suite's time)
@pytest.mark.parametrize("camera, factor, named, way", [
    (1, 2.0, "cam02 (0.", "given too long")])      # e.g. a camera_info for a 2x zoom
def test_calibrate_tool_refuses_a_wrong_focal_length_in_one_line(tmp_path, capsys, camera,
                                                                  factor, named, way):
    from pose3d_ros.core.calibration import load_rig, save_rig_yaml
    from pose3d_ros.core.camera import Rig
    from pose3d_ros.core.data_paths import calibration_path
    from pose3d_ros.core.output_files import run_cli
    from pose3d_ros.tools.calibrate import main

    kp, sc, _ = _demo("single")
    source = tmp_path / "2d.npz"
    np.savez(source, keypoints=kp, scores=sc)
    shipped = load_rig(calibration_path("single"))
    cameras = list(shipped.cameras)
    cameras[camera] = _with_focal(cameras[camera], factor)
    intrinsics = tmp_path / "intrinsics.yaml"
    save_rig_yaml(Rig(shipped.frame_id, cameras), intrinsics)
    out = tmp_path / "rig.yaml"
    args = ["--keypoints", str(source), "--intrinsics", str(intrinsics), "--fps", "60",
            "--out", str(out)]
    assert run_cli(main, args) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and named in err[0] and way in err[0], err
    assert "--trust-intrinsics skips the check for focal lengths" in err[0]
    assert "--cameras-in-step" not in err[0]
    assert sorted(tmp_path.iterdir()) == sorted([source, intrinsics])
    # the user whose intrinsics are checkerboard-calibrated for these videos can skip it:
    # written, with the warning naming the camera, and no claim that focal lengths were checked
    assert run_cli(main, args + ["--trust-intrinsics"]) == 0
    captured = capsys.readouterr()
    checked = [line for line in captured.out.splitlines() if "checked" in line]
    assert out.is_file() and len(checked) == 1 and "focal" not in checked[0], checked
    assert f"focal length of {named.split()[0]}" in captured.err


def test_sync_scan_and_its_limits_refuse_malformed_input():
    kp, sc, cameras = _demo("single")
    from pose3d_ros.core.camera import Rig

    rig = Rig("rig", cameras)
    samples, sample_scores = kp[:, :, 0], sc[:, :, 0]
    with pytest.raises(ValueError, match="detections must be"):
        sync_scan(rig, samples, sample_scores, np.arange(len(kp)), kp[:, :3], sc[:, :3],
                  max_shift=3)
    with pytest.raises(ValueError, match="sample frames must index"):
        sync_scan(rig, samples, sample_scores, np.arange(len(kp)) + 1, kp, sc, max_shift=3)
    with pytest.raises(ValueError, match="no samples to scan"):
        sync_scan(rig, samples[:0], sample_scores[:0], np.arange(0), kp, sc, max_shift=3)
    with pytest.raises(ValueError, match="min_pair_sync_shift_frames"):
        CheckLimits(min_pair_sync_shift_frames=0)
    scan = sync_scan(rig, samples, sample_scores, np.arange(len(kp)), kp, sc, max_shift=3)
    assert scan.residual_px.shape == (4, 7) and list(scan.shifts) == list(range(-3, 4))
    moved, moved_scores = camera_out_of_step(kp, sc, 2, -3)     # cam03 3 frames behind
    assert moved.shape == (len(kp) - 3,) + kp.shape[1:] and moved_scores.shape[0] == len(kp) - 3
    assert np.array_equal(moved[5, 2], kp[5, 2], equal_nan=True)
    assert np.array_equal(moved[5, 0], kp[8, 0], equal_nan=True)
    with pytest.raises(ValueError, match="cannot move"):
        camera_out_of_step(kp[:3], sc[:3], 1, 5)


def _with_focal(camera, factor: float):
    import dataclasses

    k = camera.K.copy()
    k[0, 0] *= factor
    k[1, 1] *= factor
    return dataclasses.replace(camera, K=k)


@pytest.mark.parametrize("name, subset, camera, factor", [
    ("single", None, 1, 2.0), ("single", None, 0, 1.5), ("multi", None, 3, 1.7),
    ("multi", [0, 1, 3], 2, 2.0), ("single", [1, 2, 3], 1, 1.5),
    ("multi", None, 1, 1.7), ("single", None, 0, 1.3)])
def test_a_focal_length_given_too_long_is_refused_and_named(name, subset, camera, factor):
    """(before session 40: written, with a warning, 4.9-17 degrees off; measured factors
    0.61, 0.65, 0.66, 0.57, 0.64 for the camera given the wrong focal length. The last two,
    with the limit at 0.7 and the landmark crop of session 56 (multi's 2D): written 5.9 /
    5.7 degrees off with the warning alone, factors 0.71 / 0.74; refused since the limit was
    re-measured at 0.8: benchmarks/results_multiview.md 3n. multi cam04 x1.5, 0.75, alike:
    left out for the suite's time)"""
    kp, sc, cameras = _demo(name, subset)
    given = list(cameras)
    given[camera] = _with_focal(cameras[camera], factor)
    with pytest.raises(CalibrationRefusedError, match="focal lengths given too long") as refused:
        calibrate_from_detections(kp, sc, given, fps=DEMO_FPS)
    message = str(refused.value)
    assert re.findall(r"(cam\d+) \(0\.\d\dx\)", message) == [cameras[camera].name], message
    assert "check the intrinsics of that camera" in message
    checks = refused.value.result.checks
    others = np.delete(checks.focal_scale, camera)
    assert np.all(others >= CheckLimits().min_focal_scale), checks.focal_scale
    # with the check off the same solution passes every check (the rig the refusal saved the
    # user from; the focal limits act only on this last verdict, so the refused solution is
    # the one that would be written: the calibrate tool's test writes it, --trust-intrinsics)
    loose = CheckLimits(min_focal_scale=0.0)
    assert checks.failures(loose) == [], checks.failures(loose)


# the warning with the check off is asked of one of them (its calibration runs again: 8 s)
@pytest.mark.parametrize("camera, factor, warned_too", [(3, 0.6, True), (1, 0.5, False)])
def test_a_focal_length_given_too_short_is_refused_and_named(camera, factor, warned_too,
                                                            caplog):
    """(before: written with a warning, 6.7 / 5.6 degrees off; a review had found cam02's
    focal length given 0.6x its own written 5.7 degrees off without a word)"""
    import logging

    kp, sc, cameras = _demo("single")
    given = list(cameras)
    given[camera] = _with_focal(cameras[camera], factor)
    with pytest.raises(CalibrationRefusedError, match="focal lengths given too short") as refused:
        calibrate_from_detections(kp, sc, given, fps=DEMO_FPS)
    message = str(refused.value)
    # only that camera named, its factor pointing the right way (measured 1.47 / 1.41)
    assert re.findall(r"(cam\d+) \(1\.\d\dx\)", message) == [cameras[camera].name], message
    assert "check the intrinsics of that camera, or record longer" in message
    scale = refused.value.result.checks.focal_scale
    others = np.delete(scale, camera)
    assert np.all(np.abs(np.log(others)) < np.log(CheckLimits().warn_focal_factor)), scale
    if not warned_too:
        return
    # with the check off the same input is written, and its warning names the camera
    loose = CheckLimits(max_focal_scale=0.0)
    with caplog.at_level(logging.WARNING, logger="pose3d_ros.core.selfcalib"):
        result = calibrate_from_detections(kp, sc, given, fps=DEMO_FPS,
                                           limits=loose).calibration
    assert result.checks.focal_failure(loose) is None
    warned = [r.getMessage() for r in caplog.records if "focal length of" in r.getMessage()]
    assert len(warned) == 1 and f"{cameras[camera].name} (" in warned[0], warned
    assert "that camera" in warned[0]


def test_good_short_recordings_are_not_refused_for_their_focal_factors():
    """Good stretches with the shipped intrinsics (results_multiview.md 3l, 3m): cam02-cam04
    of `single` over frames 50-100 (factor 1.30, the highest of the demo's good stretches
    written within 3 degrees: 2.0 degrees) and the four cameras over frames 70-100 (0.82,
    among the lowest) are written; over frames 0-60 the same three cameras give 1.37 and a rig
    4.1 degrees off, which is refused (two reviews had seen it refused by limits of 1.12x and
    1.3x either way, before the rotation errors were measured)."""
    kp, sc, cameras = _demo("single")
    # (good 60-frame stretches of all four cameras, not refused: bench_selfcalib_faults.py
    # --stretches measures them; two such runs here, 10 s, were left out for the suite's time)
    result = calibrate_from_detections(kp[50:, 1:], sc[50:, 1:], cameras[1:],
                                       fps=DEMO_FPS).calibration
    assert result.checks is not None and "no focal length given too long or too short" in (
        result.checks.checked())
    assert 1.25 < max(result.checks.focal_scale) < CheckLimits().max_focal_scale
    with pytest.raises(CalibrationRefusedError, match="people in too few places"):
        calibrate_from_detections(kp[:60, 1:], sc[:60, 1:], cameras[1:], fps=DEMO_FPS)
    result = calibrate_from_detections(kp[70:], sc[70:], cameras, fps=DEMO_FPS).calibration
    assert result.checks is not None and min(result.checks.focal_scale) < 0.85


def test_focal_scales_of_an_exact_synthetic_rig_are_one():
    from pose3d_ros.core.synthetic import observe, random_poses, random_rig

    rng = np.random.default_rng(3)
    rig = random_rig(4, rng)
    obs = observe(rig, random_poses(40, 1, rng), rng, noise_px=0.5)
    scale = focal_scales(rig, obs.keypoints[:, 0], obs.scores[:, 0])
    assert scale == pytest.approx(np.ones(4), abs=0.02)
    with pytest.raises(ValueError, match="warn_focal_factor"):
        CheckLimits(warn_focal_factor=0.9)
    for wrong in (1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="min_focal_scale"):
            CheckLimits(min_focal_scale=wrong)
    for wrong in (1.0, 0.5, float("nan")):
        with pytest.raises(ValueError, match="max_focal_scale"):
            CheckLimits(max_focal_scale=wrong)
    with pytest.raises(ValueError, match="max_sync_residual_ratio"):
        CheckLimits(max_sync_residual_ratio=0)
    with pytest.raises(ValueError, match="must reach the smallest shift"):
        CheckLimits(sync_search_frames=1)


def test_a_lone_dip_far_from_shift_zero_is_not_a_shift():
    """A good stretch of one walker (`single` cam01-02-04, frames 20-80): cam02's residual dips
    to 0.76 of that at shift 0 at -19 frames, past a ridge up to 1.19 times it (the motion
    repeating); it was refused as "cam02 19 frames ahead" (its rig 2.27 degrees off). The best
    shift is looked for in the valley around 0 (SyncScan.valley)."""
    kp, sc, cameras = _demo("single", [0, 1, 3])
    checks = calibrate_from_detections(kp[20:80], sc[20:80], cameras,
                                       fps=DEMO_FPS).calibration.checks
    assert checks is not None and checks.sync is not None
    curve = checks.sync.residual_px[1] / checks.sync.residual_px[1, checks.sync.shifts == 0]
    assert curve[checks.sync.shifts == -19] < 0.9          # the dip is there, measured 0.76
    assert abs(checks.sync.best()[0][1]) <= 1       # measured -1 (and cam01 +3 at 0.99)
    assert np.all(np.isnan(checks.sync.out_of_step(CheckLimits())))
    # a camera out of step descends from 0 to its shift without such a ridge: still found
    scan = SyncScan(np.arange(-3, 4), np.array([[1.2, 0.7, 0.8, 1.0, 1.1, 1.3, 0.5]]))
    assert scan.best()[0].tolist() == [-2] and np.isnan(scan.valley()[0, -1])
