"""Temporal lifter network, training loop (checkpoint/resume), ONNX export and runtime."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pose3d_ros.core.camera import CameraModel, look_at_rotation
from pose3d_ros.core.layouts import BLAZEPOSE33, H36M17
from pose3d_ros.core.lifting.dataset import PseudoLabels
from pose3d_ros.core.lifting.model import LifterConfig, TemporalLifter
from pose3d_ros.core.lifting.normalization import NORMALISATION_NAME
from pose3d_ros.core.lifting.runtime import (
    BlazePoseWorldLifter,
    LifterMetadata,
    OnnxLifter,
    PersonWindows,
    to_camera_frame,
)
from pose3d_ros.core.lifting.training import (
    RealWindows,
    TrainConfig,
    export_onnx,
    mirror,
    sequences_from_labels,
    train,
    window_indices,
)
from pose3d_ros.core.types import METHOD_LIFTER


@pytest.mark.parametrize("window", [27, 81, 243])
@pytest.mark.parametrize("causal", [False, True])
def test_output_shape_root_relative_and_receptive_field(window, causal):
    torch.manual_seed(0)
    model = TemporalLifter(LifterConfig(window=window, causal=causal, channels=16)).eval()
    x = torch.randn(3, window, 53)
    y = model(x)
    assert y.shape == (3, 17, 3)
    assert torch.all(y[:, 0] == 0)
    # every frame of the window matters (first and last), nothing outside it exists
    for frame in (0, window - 1):
        x2 = x.clone()
        x2[:, frame] += 1.0
        assert not torch.allclose(model(x2), y)
    with pytest.raises(ValueError, match="window"):
        model(torch.randn(1, window - 1, 53))


def test_window_indices_causal_and_centred():
    causal = window_indices(10, 5, True)
    assert causal.shape == (10, 5) and (causal[:, -1] == np.arange(10)).all()
    assert (causal[0] == 0).all()  # edge replicated, no look-ahead
    centred = window_indices(10, 5, False)
    assert (centred[:, 2] == np.arange(10)).all() and centred[-1, -1] == 9


def test_bad_window_rejected():
    with pytest.raises(ValueError, match="window"):
        LifterConfig(window=30)


def test_virtual_camera_rotation_is_a_rotation_looking_at_the_target():
    pos = np.array([[3.0, 0.0, 1.5], [0.0, -4.0, 2.0]])
    tgt = np.array([[0.0, 0.0, 1.0], [0.5, 0.0, 1.0]])
    R = look_at_rotation(pos, tgt, np.array([0.0, 0.0, 1.0]), np.zeros(2))
    np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape),
                               atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0)
    in_cam = np.einsum("nij,nj->ni", R, tgt - pos)
    np.testing.assert_allclose(in_cam[:, :2], 0, atol=1e-12)
    assert (in_cam[:, 2] > 0).all()
    # world up (z) appears as image up (negative y, optical frame)
    assert (np.einsum("nij,j->ni", R, [0, 0, 1.0])[:, 1] < 0).all()


def _synthetic_labels(rng, frames=40):
    """Pseudo-labels of a walking skeleton seen by 2 cameras (geometry exact, no detector)."""
    from test_lifter_geometry import _skeleton  # noqa: PLC0415 - shared fixture skeleton

    K = np.array([[1200.0, 0, 540], [0, 1200.0, 960], [0, 0, 1]])
    up = np.array([0.0, 0.0, 1.0])
    # world: z up; skeleton's y-down axis becomes -z
    base = _skeleton() @ np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]]).T + [0, 0, 1.0]
    walk = np.linspace(-1, 1, frames)[:, None, None] * np.array([1.0, 0.3, 0])
    sway = 0.05 * np.sin(np.linspace(0, 6, frames))[:, None, None] * rng.normal(size=(1, 17, 3))
    world = base[None] + walk + sway
    cams = []
    for pos in ([4.0, -3.0, 1.6], [-4.0, -3.0, 1.8]):
        R = look_at_rotation(np.array([pos]), np.array([[0.0, 0.0, 1.0]]), up, np.zeros(1))[0]
        cams.append(CameraModel(f"c{len(cams)}", f"c{len(cams)}_optical", 1080, 1920, K,
                                np.zeros(5), R=R, t=-R @ np.array(pos)))
    cam_pts = np.stack([world @ c.R.T + c.t for c in cams])
    px = cam_pts[..., :2] / cam_pts[..., 2:3] * 1200 + [540, 960]
    return PseudoLabels(cams, px, np.full(px.shape[:-1], 0.9), world, cam_pts,
                        cam_pts - cam_pts[..., :1, :], np.ones((2, frames), bool),
                        np.zeros((frames, 17)))


def test_real_windows_are_every_window_whose_target_frame_shows_the_root():
    """Real samples are taken by reference and made when a batch takes them (every window
    materialised, copied each epoch, held 0.57 MB per frame of a recording: a review); taken
    in any order they are the windows the whole recording gives."""
    from pose3d_ros.core.lifting.normalization import lifter_features

    labels = _synthetic_labels(np.random.default_rng(0))
    seqs = sequences_from_labels(labels)
    seqs[1].keypoints_norm[5:9, 0] = np.nan            # no root in 2D: frames 5-8 of camera 1
    windows = RealWindows.of(seqs, 27, True)
    frames = len(seqs[0].keypoints_norm)
    assert len(windows) == 2 * frames - 4
    rows = np.random.default_rng(1).permutation(len(windows))
    feats, kps, scs, tgts = windows.take(rows)
    for row, f, k, t in zip(rows, feats, kps, tgts, strict=True):
        s, frame = seqs[windows.sequence[row]], windows.frame[row]
        idx = window_indices(frames, 27, True, centres=np.array([frame]))[0]
        np.testing.assert_array_equal(f, lifter_features(s.keypoints_norm[idx],
                                                         s.scores[idx]))
        np.testing.assert_array_equal(k, s.keypoints_norm[frame])
        np.testing.assert_array_equal(t, s.target[frame])
    assert not ((windows.sequence == 1) & np.isin(windows.frame, [5, 6, 7, 8])).any()


def test_virtual_views_borrow_score_windows_without_copying_whole_sequences():
    """Each virtual view borrows the confidences of a window of a real sequence; the whole
    sequences were taken first (count x frames x joints: 7 GB per epoch for a 12,800-frame
    recording, a review). The borrowed windows are the real ones, frame for frame."""
    import tracemalloc

    from pose3d_ros.core.lifting.training import virtual_views

    frames, count = 5000, 500
    rng = np.random.default_rng(0)
    points = rng.normal(0, 0.3, (frames, 17, 3)) + [0, 0, 1]
    # scores that say where they come from: sequence s, frame f -> (s * frames + f) / 1e5
    scores_like = ((np.arange(2)[:, None] * frames + np.arange(frames)) / 1e5)[..., None] \
        * np.ones(17)
    tracemalloc.start()
    _, _, scores, _ = virtual_views(points, scores_like, count, 27, True, rng, 0.0, 1000.0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 60e6, peak                   # 340 MB taking whole sequences (session 38)
    seen = scores[scores > 0]                  # the target frame's, where the joint is seen
    assert len(seen) > count and np.all(np.isin(np.round(seen * 1e5), np.arange(2 * frames)))


def test_mirror_swaps_sides_and_is_an_involution():
    labels = _synthetic_labels(np.random.default_rng(0))
    windows = RealWindows.of(sequences_from_labels(labels), 27, True)
    data = windows.take(np.arange(len(windows)))
    flip = np.ones(data[0].shape[0], bool)
    once = mirror(*data, flip)
    lw, rw = H36M17.index("left_wrist"), H36M17.index("right_wrist")
    np.testing.assert_allclose(once[3][:, lw], data[3][:, rw] * [-1, 1, 1])
    twice = mirror(*once, flip)
    for a, b in zip(twice, data, strict=True):
        np.testing.assert_allclose(a, b)


def test_training_learns_checkpoints_resumes_and_exports(tmp_path):
    labels = _synthetic_labels(np.random.default_rng(0))
    config = TrainConfig(model=LifterConfig(window=27, causal=True, channels=32),
                         epochs=2, virtual_per_epoch=256, batch_size=64, seed=3)
    model = train([labels], config, tmp_path / "run", progress=False)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    # resume for 2 more epochs from the checkpoint: the loss keeps falling
    config4 = TrainConfig(model=config.model, epochs=4, virtual_per_epoch=256, batch_size=64,
                          seed=3)
    with pytest.raises(ValueError, match="another configuration"):
        train([labels], config4, tmp_path / "run", resume=True, progress=False)
    import shutil

    shutil.copytree(tmp_path / "run", tmp_path / "run4")
    ckpt = torch.load(tmp_path / "run4" / "checkpoint.pt", weights_only=False)
    ckpt["config"] = config4.to_dict()
    torch.save(ckpt, tmp_path / "run4" / "checkpoint.pt")
    model = train([labels], config4, tmp_path / "run4", resume=True, progress=False)
    history = json.loads((tmp_path / "run4" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert history[-1]["loss"] < history[0]["loss"]

    onnx_path = tmp_path / "lifter.onnx"
    meta = export_onnx(model, onnx_path, {"trained_on": ["synthetic"]})
    assert meta["window"] == 27 and meta["causal"] is True and meta["layout"] == "h36m17"
    import onnx

    props = {p.key: json.loads(p.value) for p in onnx.load(str(onnx_path)).metadata_props}
    assert props["normalisation"] == meta["normalisation"] and props["window"] == 27
    assert LifterMetadata.from_json(onnx_path.with_suffix(".json")).latency_frames == 0

    # onnxruntime agrees with torch on the same windows, for several people at once
    lifter = OnnxLifter(onnx_path)
    cam = labels.cameras[0]
    idx = window_indices(labels.keypoints.shape[1], 27, True)[[5, 20, 39]]
    kp, sc = labels.keypoints[0][idx], labels.scores[0][idx]
    out = lifter.lift(kp, sc, cam.K)
    from pose3d_ros.core.lifting.normalization import lifter_features, pixels_to_normalised

    with torch.no_grad():
        ref = model(torch.from_numpy(lifter_features(pixels_to_normalised(kp, cam.K), sc)))
    np.testing.assert_allclose(out, ref.numpy(), atol=1e-4)
    # a window shorter than T (a track that just started; issue 11.6: no crash) is padded
    # with its first frame; wrongly shaped keypoints are still refused
    padded = np.r_[np.zeros(17, int), np.arange(10)]
    np.testing.assert_allclose(lifter.lift(kp[:, -10:], sc[:, -10:], cam.K),
                               lifter.lift(kp[:, -10:][:, padded], sc[:, -10:][:, padded], cam.K))
    with pytest.raises(ValueError, match="expected keypoints"):
        lifter.lift(kp[:, :, :5], sc[:, :, :5], cam.K)
    # placing it in the camera frame gives a Skeletons3D of the right frame and method
    sk = to_camera_frame(out, kp[:, -1], sc[:, -1], cam.K, "cam0_optical")
    assert sk.positions.shape == (3, 17, 3) and sk.method == METHOD_LIFTER
    assert sk.frame_id == "cam0_optical" and (sk.positions[..., 2] > 0).all()


def test_onnx_metadata_mismatch_is_rejected(tmp_path):
    (tmp_path / "m.json").write_text(json.dumps({"layout": "h36m17", "window": 27,
                                                 "causal": True, "normalisation": "other",
                                                 "num_joints": 17}))
    with pytest.raises(ValueError, match="normalisation"):
        LifterMetadata.from_json(tmp_path / "m.json")
    with pytest.raises(FileNotFoundError, match="train_lifter"):
        OnnxLifter(tmp_path / "missing.onnx")
    # found by an audit: a lifter of another layout was taken (its output read as H36M-17),
    # and metadata that is no JSON gave json's own message, naming no file
    (tmp_path / "coco.json").write_text(json.dumps({"layout": "coco17", "window": 27,
                                                    "causal": True, "num_joints": 17,
                                                    "normalisation": NORMALISATION_NAME}))
    with pytest.raises(ValueError, match="coco.json: a lifter of layout 'coco17'"):
        LifterMetadata.from_json(tmp_path / "coco.json")
    (tmp_path / "broken.json").write_text("{layout: h36m17")
    with pytest.raises(ValueError, match="broken.json: the lifter's metadata is not JSON"):
        LifterMetadata.from_json(tmp_path / "broken.json")


def test_blazepose_world_baseline_and_person_windows():
    rng = np.random.default_rng(0)
    world = rng.normal(0, 0.3, (2, 33, 3))
    rel = BlazePoseWorldLifter().lift_world(world, BLAZEPOSE33)
    assert rel.shape == (2, 17, 3) and np.allclose(rel[:, 0], 0)
    hips = world[:, [23, 24]].mean(1)
    np.testing.assert_allclose(rel[:, H36M17.index("left_knee")], world[:, 25] - hips)
    with pytest.raises(ValueError, match="world landmarks"):
        BlazePoseWorldLifter().lift_world(world[0], BLAZEPOSE33)

    buf = PersonWindows(window=4, max_age=1)
    kp = rng.normal(size=(2, 17, 2))
    w_kp, w_sc = buf.push(np.array([7, 9]), kp, np.ones((2, 17)))
    assert w_kp.shape == (2, 4, 17, 2) and np.allclose(w_kp[:, 0], kp)  # replicated edge
    kp2 = kp + 1
    w_kp, _ = buf.push(np.array([9]), kp2[1:], np.ones((1, 17)))
    np.testing.assert_allclose(w_kp[0, -1], kp2[1])
    np.testing.assert_allclose(w_kp[0, -2], kp[1])
    buf.push(np.array([9]), kp2[1:], np.ones((1, 17)))
    assert 7 not in buf._keypoints  # aged out
    with pytest.raises(ValueError, match="expected keypoints"):
        buf.push(np.array([1]), np.zeros((1, 16, 2)), np.ones((1, 16)))
    # stamps: a track whose last frame is more than max_gap_s old starts its window again
    timed = PersonWindows(window=3, max_gap_s=0.25)
    for k, stamp in enumerate([1.0, 1.1, 1.3]):              # gaps of 0.1 and 0.2 s: slide
        w_kp, _ = timed.push(np.array([4]), kp[:1] + k, np.ones((1, 17)), stamp)
    np.testing.assert_allclose(w_kp[0], kp[0] + np.arange(3)[:, None, None])
    w_kp, _ = timed.push(np.array([4]), kp[:1] + 9, np.ones((1, 17)), 1.6)   # 0.3 s: again
    np.testing.assert_allclose(w_kp[0], np.repeat(kp[:1] + 9, 3, 0))
    with pytest.raises(ValueError, match="max_gap_s"):
        PersonWindows(window=3, max_gap_s=0.0)
    # values pushed with each frame follow it through the window, a restart included
    flagged = PersonWindows(window=3, max_gap_s=0.25)
    marks = rng.random((4, 2, 17)) < 0.5
    for k, stamp in enumerate([1.0, 1.1, 1.2, 1.6]):         # the last one after a stall
        flagged.push(np.array([4, 5]), kp, np.ones((2, 17)), stamp, extra={"marks": marks[k]})
        if k == 2:
            assert np.array_equal(flagged.window_of("marks", np.array([5, 4])),
                                  marks[:3, ::-1].transpose(1, 0, 2))
    assert np.array_equal(flagged.window_of("marks", np.array([4, 5])),
                          np.repeat(marks[3][:, None], 3, 1))
    assert flagged.window_of("marks", np.array([], np.int64)).shape == (0, 3)


def test_pose_variation_keeps_bones_without_scaling_and_keeps_nan():
    from pose3d_ros.core.body_model import bone_lengths
    from pose3d_ros.core.lifting.training import vary_poses

    labels = _synthetic_labels(np.random.default_rng(1))
    seq = np.repeat(labels.points_world[None, :27], 8, axis=0)  # (8, 27, 17, 3)
    seq[0, :, H36M17.index("left_wrist")] = np.nan
    varied = vary_poses(seq, np.random.default_rng(2), np.radians(40), 0.0)
    np.testing.assert_allclose(bone_lengths(varied[1:]), bone_lengths(seq[1:]), atol=1e-9)
    assert np.isnan(varied[0, :, H36M17.index("left_wrist")]).all()
    assert np.abs(varied[1:] - seq[1:]).max() > 0.05  # limbs really moved
    scaled = vary_poses(seq[1:], np.random.default_rng(3), 0.0, 0.2)
    ratio = bone_lengths(scaled) / bone_lengths(seq[1:])
    # global size 1 +- 0.2, times 1 +- 0.1 for each of up to two chains a bone belongs to
    assert 0.8 * 0.9 ** 2 - 1e-9 <= ratio.min() and ratio.max() <= 1.2 * 1.1 ** 2 + 1e-9
    assert ratio.std() > 0.01


def test_training_with_synthetic_people(tmp_path):
    labels = _synthetic_labels(np.random.default_rng(0))
    config = TrainConfig(model=LifterConfig(window=27, causal=True, channels=16), epochs=1,
                         virtual_per_epoch=128, batch_size=64, synthetic_people=2,
                         synthetic_frames=60)
    train([labels], config, tmp_path, progress=False)
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history) == 1 and np.isfinite(history[0]["loss"])


def test_bone_length_term_penalises_a_shrunken_skeleton_only():
    """lifter_loss(bone_weight > 0) adds the mean absolute bone-length error: nothing for a
    prediction with the target's bones (even a wrong pose), more for the same pose shrunk, and
    its own gradient grows the shrunken skeleton."""
    from pose3d_ros.core.lifting.training import lifter_loss

    rng = np.random.default_rng(3)
    target = torch.from_numpy(rng.normal(0, 0.3, (4, 17, 3)))
    target = target - target[:, :1]
    kps = torch.zeros(4, 17, 2, dtype=torch.float64)
    scs = torch.zeros(4, 17, dtype=torch.float64)          # no 2D: reprojection term 0
    turned = target @ torch.tensor([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]], dtype=torch.float64)
    base, _ = lifter_loss(turned, kps, scs, target, 0.5)
    same_bones, _ = lifter_loss(turned, kps, scs, target, 0.5, bone_weight=1.0)
    assert float(same_bones - base) == pytest.approx(0.0, abs=1e-9)
    small = (0.9 * target).requires_grad_(True)
    plain, _ = lifter_loss(small, kps, scs, target, 0.5)
    with_bones, _ = lifter_loss(small, kps, scs, target, 0.5, bone_weight=1.0)
    lengths = torch.linalg.norm(target[:, H36M17.bones_array[:, 0]]
                                - target[:, H36M17.bones_array[:, 1]], dim=-1)
    assert float(with_bones - plain) == pytest.approx(0.1 * float(lengths.mean()), rel=1e-6)
    # the bone term's own gradient points outwards (a descent step enlarges the skeleton)
    bone_grad, = torch.autograd.grad(with_bones - plain, small)
    assert float((bone_grad * small.detach()).sum()) < 0


def test_a_training_that_diverges_or_meets_no_number_writes_no_model(tmp_path):
    """Found by an audit of learning from one's own recording: NaN confidences in the 2D
    (a damaged cache) made every loss NaN, and a learning rate of 1000 a loss of 65 million,
    yet both wrote a model and ended 0; the node then found nobody with it, without a word.
    NaN confidences now count as 0, a loss that is no number or a last epoch off by more than
    DIVERGED_MPJPE_M stops the training with one message, the export refuses weights that are
    not numbers, and OnnxLifter refuses such a file."""
    import dataclasses

    import onnx
    from onnx import numpy_helper

    from pose3d_ros.core.lifting.training import DIVERGED_MPJPE_M

    labels = _synthetic_labels(np.random.default_rng(0))
    scores = labels.scores.copy()
    scores[:, ::10] = np.nan                                   # every tenth frame
    config = TrainConfig(model=LifterConfig(window=27, causal=True, channels=16),
                         epochs=1, virtual_per_epoch=128, batch_size=64, seed=3)
    model = train([dataclasses.replace(labels, scores=scores)], config, tmp_path / "nan",
                  progress=False)
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters())
    diverging = dataclasses.replace(config, learning_rate=1e6)
    with pytest.raises(ValueError, match="not a number|did not converge"):
        train([labels], diverging, tmp_path / "diverged", progress=False)
    assert DIVERGED_MPJPE_M == 10.0
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    with pytest.raises(ValueError, match="not all numbers"):
        export_onnx(model, tmp_path / "nan.onnx")
    assert not (tmp_path / "nan.onnx").exists()
    # a file of NaN weights made elsewhere: refused by the runtime, naming it
    good = tmp_path / "good.onnx"
    export_onnx(train([labels], config, tmp_path / "ok", progress=False), good)
    graph = onnx.load(str(good))
    weight = next(i for i in graph.graph.initializer
                  if i.data_type == onnx.TensorProto.FLOAT and numpy_helper.to_array(i).size > 1)
    weight.CopyFrom(numpy_helper.from_array(
        np.full(numpy_helper.to_array(weight).shape, np.nan, np.float32), weight.name))
    onnx.save(graph, str(good))
    with pytest.raises(ValueError, match="not numbers"):
        OnnxLifter(good)


def test_a_checkpoint_written_whole_and_a_damaged_one_refused_in_one_line(tmp_path):
    """A kill during torch.save left a checkpoint that --resume read into a traceback: it is
    written under a temporary name and moved in, and an unreadable one is one message."""
    labels = _synthetic_labels(np.random.default_rng(0))
    config = TrainConfig(model=LifterConfig(window=27, causal=True, channels=16),
                         epochs=1, virtual_per_epoch=128, batch_size=64, seed=3)
    train([labels], config, tmp_path / "run", progress=False)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["checkpoint.pt",
                                                                    "history.json"]
    checkpoint = tmp_path / "run" / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    with pytest.raises(ValueError, match="cannot be read"):
        train([labels], config, tmp_path / "run", resume=True, progress=False)


def test_training_circles_the_labels_own_up(tmp_path, monkeypatch):
    """The virtual cameras of a training on labels in a self-calibrated rig's frame (its
    reference camera's optical frame, y down) circle the people's own up, not +z (found by an
    audit: +12 mm N-MPJPE); z-up labels keep +z exactly. virtual_views is spied on (called
    through), its `up` recorded."""
    import dataclasses

    from pose3d_ros.core.lifting import training as training_module

    labels = _synthetic_labels(np.random.default_rng(0))
    # (the fixture's walker stands on its head in z: mirrored upright, z up)
    upright = dataclasses.replace(labels, points_world=labels.points_world * [1.0, 1.0, -1.0])
    optical = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])       # world z -> -y
    turned = dataclasses.replace(labels, points_world=upright.points_world @ optical.T)
    seen: list = []
    real = training_module.virtual_views

    def spy(*args, **kwargs):
        seen.append(kwargs.get("up"))
        return real(*args, **kwargs)
    monkeypatch.setattr(training_module, "virtual_views", spy)
    config = TrainConfig(model=LifterConfig(window=27, causal=True, channels=16),
                         epochs=1, virtual_per_epoch=128, batch_size=64, seed=3)
    train([upright], config, tmp_path / "z", progress=False)
    assert np.array_equal(seen[-1], [0.0, 0.0, 1.0])
    train([turned], config, tmp_path / "optical", progress=False)
    assert seen[-1] @ np.array([0.0, -1.0, 0.0]) > np.cos(np.radians(15))


def test_a_recording_without_any_3d_label_is_refused_before_any_folder(tmp_path):
    """A bag in which nobody was seen by two cameras at once failed after the 2D step with
    "no labelled frame to build virtual views from" and left an empty work folder (audit)."""
    import dataclasses

    labels = _synthetic_labels(np.random.default_rng(0))
    nobody = dataclasses.replace(labels, points_world=np.full_like(labels.points_world, np.nan))
    config = TrainConfig(model=LifterConfig(window=27, causal=True, channels=16), epochs=1)
    with pytest.raises(ValueError, match=r"recording\(s\) \[1\] .* no frame with a person"):
        train([labels, nobody], config, tmp_path / "work", progress=False)
    assert not (tmp_path / "work").exists()


def test_configurations_that_cannot_train_are_refused_when_made(tmp_path):
    """A review: heads 0 or channels 0 failed deep in torch (ZeroDivisionError), negative
    sample counts were taken, and synthetic people without recordings divided by zero."""
    from pose3d_ros.core.lifting.training import TrainConfig, train

    for bad in ({"channels": 0}, {"architecture": "stformer", "heads": 0},
                {"architecture": "stformer", "dim": 30}, {"prune_after": -1},
                {"dropout": 1.0}):
        with pytest.raises(ValueError):
            LifterConfig(**bad)
    for bad in ({"virtual_per_epoch": -1}, {"synthetic_people": -2}, {"mocap_per_epoch": -1},
                {"epochs": 0}, {"synthetic_share": 1.5}, {"mocap_clean_share": -0.1}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            TrainConfig(**bad)
    with pytest.raises(ValueError, match="synthetic people are a share"):
        train([], TrainConfig(synthetic_people=2, mocap_per_epoch=10), tmp_path / "work",
              mocap=[object()])               # (refused before the clips are looked at)
    assert not (tmp_path / "work").exists()
