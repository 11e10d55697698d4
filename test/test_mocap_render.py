"""Rendered video of the real motion capture (core.mocap_render, tools.render_mocap): the
ground truth lands on the rendered bodies, the walk loops on, the detector sees the people,
and the tool writes a video, calibration and truth that the package reads back."""
from __future__ import annotations

import cv2
import numpy as np

from pose3d_ros.core.body_model import bone_lengths
from pose3d_ros.core.calibration import load_rig
from pose3d_ros.core.detection import DEFAULT_DETECTOR, convert_detections, create_detector
from pose3d_ros.core.layouts import H36M17
from pose3d_ros.core.mocap import (
    URDF_MEMBER,
    clip_member,
    h36m_joints,
    installed_pybullet_data,
    parse_humanoid_urdf,
    parse_motion,
)
from pose3d_ros.core.mocap_render import RenderConfig, looped_motion, render_scene
from pose3d_ros.tools import render_mocap

ROOT = installed_pybullet_data()      # pybullet 3.2.7 is a dependency (scripts/setup_env.sh)


def _distance_to_person(mask: np.ndarray, person: int, points: np.ndarray) -> np.ndarray:
    """Pixels (N,) from each point (N, 2) to the nearest pixel showing `person`."""
    outside = (mask != person).astype(np.uint8)
    distance = cv2.distanceTransform(outside, cv2.DIST_L2, 5)
    u = np.clip(np.rint(points).astype(int), 0, [mask.shape[1] - 1, mask.shape[0] - 1])
    return distance[u[:, 1], u[:, 0]]


def test_truth_projects_onto_the_rendered_body_in_every_frame():
    # camera model -> pybullet's matrices, and the package's kinematics -> pybullet's posing:
    # every true joint of every frame lies on (or within a few pixels of, in the gaps between
    # the mannequin's capsules) the pixels that show that person
    scene = render_scene(RenderConfig(clips=("run",), seconds=0.3, width=640, height=360,
                                      distance_m=4.0, fov_deg=50.0, azimuth_deg=75.0))
    assert len(scene.frames) == len(scene.masks) == 9 and scene.joints.shape == (9, 1, 17, 3)
    assert scene.frames[0].shape == (360, 640, 3) and scene.frames[0].dtype == np.uint8
    pixels = scene.camera.project(scene.joints)                 # (F, 1, 17, 2)
    worst = max(_distance_to_person(mask, 0, pixels[t, 0]).max()
                for t, mask in enumerate(scene.masks))
    assert worst <= 6.0
    # the person is drawn about where the truth says, not the whole image
    assert 0.01 < np.mean(scene.masks[0] == 0) < 0.2
    # moving the camera's rendering half a metre off would put the joints far off the body
    shifted = scene.camera.with_pose(scene.camera.R, scene.camera.t + [0.5, 0.0, 0.0])
    off = _distance_to_person(scene.masks[0], 0, shifted.project(scene.joints[0, 0]))
    assert np.median(off) > 20.0


def test_two_people_side_by_side_are_both_drawn_and_labelled():
    scene = render_scene(RenderConfig(clips=("walk", "walk"), seconds=0.1, width=320,
                                      height=180, distance_m=5.0, azimuth_deg=60.0))
    assert set(np.unique(scene.masks[0])) == {-1, 0, 1}
    pelvis = scene.joints[0, :, H36M17.index("pelvis")]
    assert 1.3 < np.linalg.norm(pelvis[0] - pelvis[1]) < 1.7        # separation 1.5 m


def test_looped_walk_goes_on_with_constant_bones():
    motion = parse_motion((ROOT / clip_member("walk")).read_text())
    model = parse_humanoid_urdf((ROOT / URDF_MEMBER).read_text())
    looped = looped_motion(motion, np.arange(150) / 30.0)          # 5 s: about 4 cycles
    joints = h36m_joints(model, looped)
    pelvis = joints[:, H36M17.index("pelvis")]
    assert pelvis[-1, 0] - pelvis[0, 0] > 4.5           # walked on along +x (1 m/s: 4.85 m)
    assert np.abs(np.diff(pelvis[:, 0])).max() < 0.1               # no jump at the seams
    lengths = bone_lengths(joints[None], H36M17)[0]
    assert np.ptp(lengths, axis=0).max() < 1e-3     # mm (spine: midpoints of hips, shoulders)


def test_the_default_detector_finds_the_rendered_walker():
    scene = render_scene(RenderConfig(clips=("walk",), seconds=0.2, distance_m=4.0,
                                      fov_deg=50.0, azimuth_deg=60.0))
    detector = create_detector(DEFAULT_DETECTOR)
    found = [convert_detections(detector.detect([f])[0], "h36m17") for f in scene.frames]
    truth = scene.camera.project(scene.joints)[:, 0]
    seen = [t for t, d in enumerate(found) if d.num_people == 1]
    assert len(seen) >= 4
    head = [np.linalg.norm(found[t].keypoints[0, H36M17.index("head")]
                           - truth[t, H36M17.index("head")]) for t in seen]
    assert np.median(head) < 25.0                          # px in 1280 x 720 (measured 7)


def test_tool_writes_video_calibration_and_truth_and_refuses_an_existing_folder(tmp_path,
                                                                              capsys):
    out = tmp_path / "rendered"
    args = ["--out-dir", str(out), "--clips", "walk", "--seconds", "0.2", "--width", "320",
            "--height", "180"]
    assert render_mocap.main(args) == 0
    # how much of the video shows the people whole (a review: at --seconds 60 they had walked
    # out of view in 95 % of the frames, and nothing said so)
    assert "% of the person-frames (they walk across it)" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["calibration.yaml", "camera.mp4",
                                                    "truth.npz"]
    rig = load_rig(out / "calibration.yaml")
    assert rig.names == ["camera"] and (rig["camera"].width, rig["camera"].height) == (320, 180)
    capture = cv2.VideoCapture(str(out / "camera.mp4"))
    count = 0
    while capture.read()[0]:
        count += 1
    assert count == 6
    with np.load(out / "truth.npz") as truth:
        assert truth["joints"].shape == (6, 1, 17, 3) and float(truth["fps"]) == 30.0
        np.testing.assert_allclose(truth["stamps"], np.arange(6) / 30.0)
    # an existing folder is refused before any rendering, nothing touched
    before = (out / "camera.mp4").stat().st_mtime_ns
    assert render_mocap.run_cli(render_mocap.main, args) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "camera.mp4").stat().st_mtime_ns == before
    # a clip that is not cyclic: one clear line
    assert render_mocap.run_cli(render_mocap.main, ["--out-dir", str(tmp_path / "x"),
                                                    "--clips", "getup_faceup"]) == 2
    assert "cyclic clips" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_rendering_into_a_folder_keeps_no_frames_and_writes_what_save_writes(tmp_path):
    """Found by a review (session 23): render_mocap kept every frame and mask in memory (about
    108 MB per second of 1280x720 video; 832 MB peak for 6 s). render_to_folder writes each
    frame as it comes and gives the same files as render_scene + save."""
    import cv2
    import numpy as np

    from pose3d_ros.core.mocap_render import render_to_folder

    config = RenderConfig(clips=("walk",), seconds=0.2, width=320, height=240, fps=15)
    (tmp_path / "kept").mkdir()
    (tmp_path / "streamed").mkdir()
    render_scene(config).save(tmp_path / "kept")
    streamed = render_to_folder(config, tmp_path / "streamed")
    assert not streamed.frames and not streamed.masks
    for name in ("calibration.yaml",):
        assert (tmp_path / "kept" / name).read_text() == (tmp_path / "streamed" / name).read_text()
    kept, got = (np.load(tmp_path / d / "truth.npz") for d in ("kept", "streamed"))
    np.testing.assert_array_equal(kept["joints"], got["joints"])
    np.testing.assert_array_equal(kept["stamps"], got["stamps"])
    videos = [cv2.VideoCapture(str(tmp_path / d / "camera.mp4")) for d in ("kept", "streamed")]
    frames = 0
    while True:
        (ok_a, a), (ok_b, b) = (v.read() for v in videos)
        assert ok_a == ok_b
        if not ok_a:
            break
        np.testing.assert_array_equal(a, b)
        frames += 1
    assert frames == config.num_frames


def test_whole_body_in_view_needs_every_joint_in_front_and_inside_the_image():
    from pose3d_ros.core.camera import CameraModel
    from pose3d_ros.core.mocap_render import whole_body_in_view

    k = np.array([[100.0, 0, 50], [0, 100.0, 50], [0, 0, 1]])
    camera = CameraModel("c", "c_optical_frame", 100, 100, k, np.zeros(5), "plumb_bob",
                         np.eye(3), np.zeros(3))
    body = np.zeros((1, 2, 3, 3))
    body[..., 2] = 2.0                                   # 2 m ahead, at the image's centre
    body[0, 1, 0, 0] = 5.0                               # one joint of the second far right
    behind = body.copy()
    behind[..., 2] = -2.0
    np.testing.assert_array_equal(whole_body_in_view(camera, body), [[True, False]])
    np.testing.assert_array_equal(whole_body_in_view(camera, behind), [[False, False]])
    assert render_mocap._longest_run(np.array([1, 1, 0, 1, 1, 1, 0], bool)) == 3
