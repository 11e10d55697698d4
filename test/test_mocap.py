"""The motion capture: forward kinematics (against pybullet's), frames, sizes, rates, files."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from pose3d_ros.core import mocap
from pose3d_ros.core.layouts import H36M17
from pose3d_ros.tools import fetch_mocap

# Bones between joints fixed on one humanoid link (all but pelvis-spine, spine-thorax and
# thorax-nose, which span the bending torso or the turning neck).
_RIGID = [i for i, (a, b) in enumerate(H36M17.bones)
          if {H36M17.joint_names[a], H36M17.joint_names[b]} not in
          ({"pelvis", "spine"}, {"spine", "thorax"}, {"thorax", "nose"})]
J = H36M17.index


@pytest.fixture(scope="module")
def source():
    """pybullet_data of the installed pybullet 3.2.7 (a dependency in setup_env.sh)."""
    root = mocap.installed_pybullet_data()
    assert root is not None, "pybullet==3.2.7 is not installed (scripts/setup_env.sh installs it)"
    return root


@pytest.fixture(scope="module")
def clips():
    return {c.name: c for c in mocap.load_mocap(["walk", "roll", "backflip", "run"])}


def _bone_lengths(joints):
    bones = H36M17.bones_array
    return np.linalg.norm(joints[:, bones[:, 0]] - joints[:, bones[:, 1]], axis=-1)


def test_forward_kinematics_matches_pybullet(source):
    import pybullet as pb
    urdf = source / mocap.URDF_MEMBER
    model = mocap.parse_humanoid_urdf(urdf.read_text())
    client = pb.connect(pb.DIRECT)
    try:
        body = pb.loadURDF(str(urdf), globalScaling=mocap.URDF_SCALE, physicsClientId=client)
        joints = range(pb.getNumJoints(body, physicsClientId=client))
        info = [pb.getJointInfo(body, j, physicsClientId=client) for j in joints]
        ours = [model.index(i[12].decode()) for i in info]  # pybullet orders links its own way
        for name in ("roll", "walk"):  # roll holds non-unit quaternions
            motion = mocap.parse_motion((source / mocap.clip_member(name)).read_text())
            pos, rot = mocap.link_frames(model, motion)
            for f in range(0, motion.num_frames, 5):
                w, x, y, z = motion.root_quat_wxyz[f]
                pb.resetBasePositionAndOrientation(body, motion.root_position[f], [x, y, z, w],
                                                   physicsClientId=client)
                for j, i in zip(joints, info, strict=True):
                    joint = i[1].decode()
                    if i[2] == pb.JOINT_SPHERICAL:
                        w, x, y, z = motion.joint_quat_wxyz[joint][f]
                        pb.resetJointStateMultiDof(body, j, [x, y, z, w], physicsClientId=client)
                    elif i[2] == pb.JOINT_REVOLUTE:
                        pb.resetJointState(body, j, motion.joint_angle[joint][f],
                                           physicsClientId=client)
                states = pb.getLinkStates(body, list(joints), computeForwardKinematics=True,
                                          physicsClientId=client)
                link_pos = np.array([s[4] for s in states])  # link frame, not centre of mass
                link_rot = np.array([pb.getMatrixFromQuaternion(s[5]) for s in states])
                np.testing.assert_allclose(pos[f, ours], link_pos, atol=1e-5)
                np.testing.assert_allclose(rot[f, ours].reshape(-1, 9), link_rot, atol=1e-5)
    finally:
        pb.disconnect(client)


def test_rigid_bones_are_constant_and_sized(clips):
    for clip in clips.values():
        lengths = _bone_lengths(clip.joints)
        assert lengths[:, _RIGID].std(axis=0).max() < 1e-3, clip.name
    walk = _bone_lengths(clips["walk"].joints)[0]
    bone = {(H36M17.joint_names[a], H36M17.joint_names[b]): walk[k]
            for k, (a, b) in enumerate(H36M17.bones)}
    assert bone[("right_hip", "right_knee")] == pytest.approx(0.4215, abs=1e-3)  # 1.686 x 0.25
    assert bone[("left_knee", "left_ankle")] == pytest.approx(0.4099, abs=1e-3)
    assert bone[("right_elbow", "right_wrist")] == pytest.approx(0.2589, abs=1e-3)


def test_body_height_and_up_axis(clips):
    walk = clips["walk"].joints
    z = walk[..., 2]
    # Standing and walking: head above thorax above pelvis above knees above ankles.
    order = [J("head"), J("thorax"), J("pelvis"), J("right_knee"), J("right_ankle")]
    assert np.all(np.diff(z[:, order], axis=1) < 0)
    assert 0.0 < z[:, [J("left_ankle"), J("right_ankle")]].min() < 0.12  # floor at z = 0
    stature = (z[:, J("head")] + mocap.HEAD_TOP_ABOVE_HEAD_M).max()
    assert stature == pytest.approx(mocap.STATURE_M, abs=0.05)
    assert 1.55 < mocap.STATURE_M < 1.7


def test_left_right_and_facing(clips):
    walk = clips["walk"].joints
    left = walk[:, J("left_hip")] - walk[:, J("right_hip")]
    forward = np.cross(left, [0.0, 0.0, 1.0])
    forward /= np.linalg.norm(forward, axis=1, keepdims=True)
    travel = walk[-1, J("pelvis")] - walk[0, J("pelvis")]
    assert travel[0] > 1.0 and abs(travel[1]) < 0.1  # walks along +x
    assert np.all(forward @ (travel / np.linalg.norm(travel)) > 0.9)  # faces where it walks
    assert np.all(walk[:, J("right_hip"), 1] < walk[:, J("left_hip"), 1])  # right at -y
    assert np.all(walk[:, J("right_shoulder"), 1] < walk[:, J("left_shoulder"), 1])
    nose_ahead = np.einsum("fc,fc->f", walk[:, J("nose")] - walk[:, J("head")], forward)
    assert np.all(nose_ahead > 0.05)


def test_urdf_faults_are_named():
    good = '<robot><link name="a"/><link name="b"/><joint name="j" type="fixed">' \
           '<parent link="a"/><child link="b"/><origin xyz="0 4 0"/></joint></robot>\x00'
    model = mocap.parse_humanoid_urdf(good)
    assert model.links == ("a", "b") and np.allclose(model.origins[1], [0, 1, 0])
    with pytest.raises(ValueError, match="rotated origin"):
        mocap.parse_humanoid_urdf(good.replace('xyz="0 4 0"', 'xyz="0 4 0" rpy="0 0 1"'))
    with pytest.raises(ValueError, match="no <child"):
        mocap.parse_humanoid_urdf(good.replace('<child link="b"/>', ""))


def test_frame_rates_come_from_the_durations(clips):
    assert clips["walk"].fps == pytest.approx(30.0, abs=0.01)
    assert clips["backflip"].fps == pytest.approx(16.0, abs=0.01)
    assert clips["roll"].fps == pytest.approx(60.0, abs=0.01)
    assert mocap.clip_fps(np.array([1 / 24] * 5 + [0.0])) == pytest.approx(24.0)
    with pytest.raises(ValueError, match="duration"):
        mocap.clip_fps(np.zeros(3))


def test_non_unit_quaternions_give_the_same_body(source):
    text = (source / mocap.clip_member("walk")).read_text()
    model = mocap.parse_humanoid_urdf((source / mocap.URDF_MEMBER).read_text())
    frames = np.array(json.loads(text)["Frames"])
    scaled = frames.copy()
    scale = np.random.default_rng(0).uniform(0.7, 1.4, size=(len(frames), 1))
    for start in (4, 8, 12, 16, 21, 25, 30, 35, 39):  # root and every spherical joint
        scaled[:, start:start + 4] *= scale
    assert np.abs(np.linalg.norm(scaled[:, 4:8], axis=1) - 1).max() > 0.1
    reference = mocap.h36m_joints(model, mocap.parse_motion(text))
    rescaled = mocap.h36m_joints(model, mocap.parse_motion(json.dumps({"Frames": scaled.tolist()})))
    np.testing.assert_allclose(rescaled, reference, atol=1e-9)
    scaled[3, 8:12] = 0.0
    with pytest.raises(ValueError, match="zero-length"):
        mocap.parse_motion(json.dumps({"Frames": scaled.tolist()}))
    with pytest.raises(ValueError, match="44"):
        mocap.parse_motion(json.dumps({"Frames": [[0.1] * 43] * 3}))


def test_clip_files_round_trip_and_refuse_garbage(tmp_path, clips):
    path = tmp_path / "walk.npz"
    mocap.save_clip(clips["walk"], path)
    back = mocap.load_clip(path)
    assert back.name == "walk" and back.fps == clips["walk"].fps
    np.testing.assert_array_equal(back.joints, clips["walk"].joints)
    assert sorted(os.listdir(tmp_path)) == ["walk.npz"]  # no temporary file left
    (tmp_path / "run.npz").write_bytes(b"not a clip")
    with pytest.raises(ValueError, match="run.npz"):
        mocap.load_clip(tmp_path / "run.npz")
    with pytest.raises(FileNotFoundError, match="fetch_mocap"):
        mocap.load_clips(tmp_path, ["walk", "jump"])


def test_fetch_tool_writes_every_clip_once(tmp_path, capsys):
    assert fetch_mocap.main(["--data-dir", str(tmp_path)]) == 0
    files = sorted((tmp_path / "mocap").glob("*.npz"))
    assert [f.stem for f in files] == sorted(mocap.CLIP_NAMES)
    assert sum(mocap.load_clip(f).num_frames for f in files) == 1620
    stamps = [f.stat().st_mtime_ns for f in files]
    assert fetch_mocap.main(["--data-dir", str(tmp_path)]) == 0  # idempotent: nothing rewritten
    assert [f.stat().st_mtime_ns for f in files] == stamps
    # a clip cut short (a full disk, a copy) is written again, not trusted and then failing
    walk = tmp_path / "mocap" / "walk.npz"
    walk.write_bytes(walk.read_bytes()[:100])
    with pytest.raises(ValueError, match="cut short"):
        mocap.load_clip(walk)
    assert fetch_mocap.main(["--data-dir", str(tmp_path)]) == 0
    assert mocap.load_clip(walk).num_frames > 0
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert fetch_mocap.main(["--data-dir", str(blocked)]) == 2     # run_cli's, as every tool's
    assert capsys.readouterr().err.strip().startswith("error:")


def test_head_ends_are_the_head_sphere_of_the_forward_kinematics(source):
    """head_ends, from the H36M-17 joints alone, against the neck link's sphere itself."""
    model = mocap.parse_humanoid_urdf((source / mocap.URDF_MEMBER).read_text())
    neck = model.index("neck")
    radius = np.array([0.0, mocap.HEAD_SPHERE_RADIUS_M, 0.0])
    for name in ("walk", "kick", "crawl"):     # upright; largest neck twist; on all fours
        motion = mocap.parse_motion((source / mocap.clip_member(name)).read_text())
        pos, rot = mocap.link_frames(model, motion)
        ends = [(pos[:, neck] + rot[:, neck] @ (mocap.HEAD_SPHERE_CENTRE_M + sign * radius))
                @ mocap.CLIP_TO_WORLD.T for sign in (-1.0, 1.0)]
        bottom, top = mocap.head_ends(mocap.h36m_joints(model, motion))
        assert np.linalg.norm(bottom - ends[0], axis=-1).max() < 0.015, name
        assert np.linalg.norm(top - ends[1], axis=-1).max() < 0.015, name
    assert mocap.HEAD_TOP_ABOVE_HEAD_M == pytest.approx(0.1175)


def test_head_ends_have_human_proportions(clips):
    walk = clips["walk"].joints
    bottom, top = mocap.head_ends(walk)
    length = np.linalg.norm(top - bottom, axis=-1)
    np.testing.assert_allclose(length, 2 * mocap.HEAD_SPHERE_RADIUS_M, atol=1e-9)
    assert 0.19 < length[0] < 0.26            # chin to crown of an adult
    thorax, nose = walk[:, J("thorax"), 2], walk[:, J("nose"), 2]
    assert np.all((bottom[:, 2] > thorax + 0.02) & (bottom[:, 2] < nose))   # chin level
    assert np.all((top[:, 2] > thorax + 0.2) & (top[:, 2] < thorax + 0.3))  # crown
    assert np.abs(top[:, 2] - mocap.STATURE_M).max() < 0.05                 # stature
    twice = mocap.head_ends(np.stack([walk[:3], 2.0 * walk[:3]]))
    np.testing.assert_allclose(twice[1][1], 2.0 * top[:3], atol=1e-12)    # scales with body
    nan = walk[:2].copy()
    nan[0, J("nose")] = np.nan
    assert np.isnan(mocap.head_ends(nan)[1][0]).all()
    assert np.isfinite(mocap.head_ends(nan)[1][1]).all()
    with pytest.raises(ValueError, match="H36M-17"):
        mocap.head_ends(walk[:, :14])
