"""Bad inputs to the monocular lifter (issue 11.6): NaN joints, a person half out of frame,
a window shorter than T, zero confidence, no 2D at all. The result is finite, or NaN for the
person without evidence; never an exception."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pose3d_ros.core.layouts import H36M17
from pose3d_ros.core.lifting.model import LifterConfig, build_lifter
from pose3d_ros.core.lifting.normalization import pixels_to_normalised
from pose3d_ros.core.lifting.refine import refine_relative_to_2d
from pose3d_ros.core.lifting.runtime import OnnxLifter, fit_window, to_camera_frame
from pose3d_ros.core.lifting.training import export_onnx

K = np.array([[1000.0, 0, 640], [0, 1000.0, 360], [0, 0, 1]])


@pytest.fixture(scope="module", params=["tcn", "stformer"])
def lifter(request, tmp_path_factory):
    torch.manual_seed(0)
    kw = dict(channels=16) if request.param == "tcn" else dict(dim=16, depth=1, heads=2,
                                                                 prune_stride=9, prune_after=0)
    model = build_lifter(LifterConfig(architecture=request.param, window=27, causal=True, **kw))
    path = tmp_path_factory.mktemp(request.param) / "lifter.onnx"
    export_onnx(model, path)
    return OnnxLifter(path)


def _people(n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Standing-ish 2D people (n, 27, 17, 2) pixels with scores 0.9."""
    rng = np.random.default_rng(0)
    base = np.array([[0, 0], [-20, 0], [-20, 90], [-20, 180], [20, 0], [20, 90], [20, 180],
                     [0, -60], [0, -120], [0, -150], [0, -170], [30, -115], [45, -60],
                     [50, -10], [-30, -115], [-45, -60], [-50, -10]], float)
    kp = base[None, None] + np.array([640.0, 400.0]) + rng.normal(0, 2, (n, 27, 17, 2))
    return kp, np.full((n, 27, 17), 0.9)


def test_bad_inputs_give_finite_people_or_nan_people(lifter):
    kp, sc = _people()
    kp[0, :, H36M17.index("left_wrist")] = np.nan            # a joint never seen
    kp[1, :, H36M17.indices(("left_knee", "left_ankle", "right_knee", "right_ankle"))] = np.nan
    kp[1, :, :, 1] = np.where(kp[1, :, :, 1] > 400, np.nan, kp[1, :, :, 1])  # half out of frame
    sc[2] = 0.0                                              # zero confidence everywhere
    kp[3] = np.nan                                           # no 2D at all
    kp[4, :20] = np.inf                                      # garbage in the older frames
    out = lifter.lift(kp, sc, K)
    assert out.shape == (5, 17, 3)
    assert np.isfinite(out[[0, 1, 4]]).all()
    assert np.isnan(out[[2, 3]]).all()
    placed = to_camera_frame(out, kp[:, -1], sc[:, -1], K, "cam")
    assert np.isfinite(placed.positions[[0, 1, 4]]).all()
    assert np.isnan(placed.positions[[2, 3]]).all()
    # the nodes' refinement to the 2D (monocular_refine_to_2d) keeps that split
    refined = refine_relative_to_2d(out, pixels_to_normalised(kp[:, -1], K), sc[:, -1])
    assert np.isfinite(refined[[0, 1, 4]]).all()
    assert np.isnan(refined[[2, 3]]).all()


@pytest.mark.parametrize("frames", [1, 5, 27, 40])
def test_any_window_length(lifter, frames):
    kp, sc = _people(2)
    kp = np.concatenate([kp, kp[:, :13]], 1)[:, :frames]
    sc = np.concatenate([sc, sc[:, :13]], 1)[:, :frames]
    out = lifter.lift(kp, sc, K, flip_average=True)
    assert out.shape == (2, 17, 3) and np.isfinite(out).all()


def test_fit_window_pads_old_end_and_keeps_newest():
    kp = np.arange(4, dtype=float)[None, :, None, None] * np.ones((1, 4, 17, 2))
    sc = np.ones((1, 4, 17))
    padded, _ = fit_window(kp, sc, 6)
    assert padded[0, :, 0, 0].tolist() == [0, 0, 0, 1, 2, 3]
    cut, _ = fit_window(kp, sc, 2)
    assert cut[0, :, 0, 0].tolist() == [2, 3]
    with pytest.raises(ValueError, match="at least one frame"):
        fit_window(kp[:, :0], sc[:, :0], 3)


def test_a_model_file_from_elsewhere_is_checked_when_loaded(tmp_path):
    """The lifter's metadata comes from its .json or, when that is missing, from the copy
    inside the ONNX file; a file that is not ONNX, or an ONNX model that is not a lifter,
    gives a ValueError naming it (it was an onnxruntime error at the first frame, or a
    protobuf error the tools printed as a traceback)."""
    import shutil

    import onnx
    from onnx import TensorProto, helper

    from pose3d_ros.core.lifting.runtime import DEFAULT_MODEL
    shutil.copy(DEFAULT_MODEL, tmp_path / "alone.onnx")               # no .json beside it
    alone = OnnxLifter(tmp_path / "alone.onnx")
    assert alone.metadata == OnnxLifter(DEFAULT_MODEL).metadata
    text = tmp_path / "lifter.json"
    text.write_text("{}")
    with pytest.raises(ValueError, match="is not an ONNX model"):
        OnnxLifter(text)
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "other",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
              tmp_path / "other.onnx")
    with pytest.raises(ValueError, match="not a pose3d_ros lifter"):
        OnnxLifter(tmp_path / "other.onnx")
    shutil.copy(DEFAULT_MODEL.with_suffix(".json"), tmp_path / "other.json")
    with pytest.raises(ValueError, match="not a pose3d_ros lifter: inputs"):
        OnnxLifter(tmp_path / "other.onnx")
    # a .json that is not the model's (a review: a new .onnx copied over an old one beside
    # the old .json ran as the .json said: a causal model read as centred)
    import json
    stale = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    stale["causal"] = not stale["causal"]
    (tmp_path / "alone.json").write_text(json.dumps(stale))
    with pytest.raises(ValueError, match="alone.json does not describe .*alone.onnx"):
        OnnxLifter(tmp_path / "alone.onnx")


def test_malformed_calls_are_refused_not_scrambled_or_warned():
    """A review's finds through the public API: scores of another shape and a track id given
    twice were taken by PersonWindows (one person's window took the other's frame), a K
    with zero focal length divided by zero (RuntimeWarning, inf out), and the filters took an
    infinite stamp (inf - inf warned)."""
    from pose3d_ros.core.filtering import DepthFilterParams, RootDepthFilter, SkeletonFilter
    from pose3d_ros.core.lifting.runtime import PersonWindows

    windows = PersonWindows(window=4)
    keypoints = np.zeros((2, 17, 2))
    with pytest.raises(ValueError, match="scores"):
        windows.push(np.array([1, 2]), keypoints, np.ones((1, 3)))
    with pytest.raises(ValueError, match="unique"):
        windows.push(np.array([1, 1]), keypoints, np.ones((2, 17)))
    assert windows.push(np.array([1, 2]), keypoints, np.ones((2, 17)))[0].shape == (2, 4, 17, 2)
    with np.errstate(all="raise"), pytest.raises(ValueError, match="finite focal lengths"):
        pixels_to_normalised(np.ones((17, 2)), np.zeros((3, 3)))
    positions, ids = np.ones((1, 17, 3)), np.array([1])
    for smoother in (SkeletonFilter(), RootDepthFilter(DepthFilterParams())):
        smoother.filter(positions, ids, 1.0)
        with np.errstate(all="raise"), pytest.raises(ValueError, match="finite time"):
            smoother.filter(positions, ids, float("inf"))


def test_recording_folders_of_one_name_do_not_share_a_2d_cache(tmp_path):
    """A review: the 2D cache of a recording folder was named after the folder alone, so a
    second folder of the same name (or one named like a demo) trained and was scored on the
    first one's 2D without a word."""
    from pose3d_ros.core.data_paths import calibration_path, recording_inputs, video_paths

    names = []
    for parent, recording in (("a", "single"), ("b", "multi"), ("c", "single")):
        root = tmp_path / parent / "multi"
        (root / "videos").mkdir(parents=True)
        (root / "calibration").mkdir()
        for video in video_paths(recording)[:2]:
            (root / "videos" / video.name).symlink_to(video)
        (root / "calibration" / "Calib.qca.txt").symlink_to(calibration_path(recording))
        names.append(recording_inputs(str(root))[2])
    assert len(set(names)) == 3 and all(n.startswith("multi_") for n in names)
    assert recording_inputs("multi")[2] == "multi"                      # the demo's own
    assert recording_inputs(str(tmp_path / "a" / "multi"))[2] == names[0]   # stable


def test_videos_of_different_lengths_are_told_when_cut_to_the_shortest(tmp_path, caplog):
    """A review: a recording whose one camera has fewer frames gave pseudo-labels of the
    shortest's frames ("40 of 40 frames usable") without a word. Told in one WARN naming the
    counts, from the 2D cache too (its detection of 12, 12, 12 and 7 frames)."""
    import logging

    from lifter_inputs import cache_2d, demo_2d, recording_folder

    from pose3d_ros.core.lifting.labels import load_labels

    folder = recording_folder(tmp_path / "rec")
    cache_2d(tmp_path / "cache", str(folder), demo_2d("single", 12), [12, 12, 12, 7])
    with caplog.at_level(logging.WARNING):
        labels = load_labels(str(folder), tmp_path / "cache", progress=False)
    assert labels.keypoints.shape[1] == 7
    told = [r.getMessage() for r in caplog.records if "different lengths" in r.getMessage()]
    assert len(told) == 1 and "cam04.mp4 7" in told[0] and "only the first 7 frames" in told[0]



def _hand_made_lifter(path, *, dtype="float", output=(17, 3), metadata=None):
    """A lifter-shaped ONNX graph: features (batch, 27, 53) of `dtype` -> the window's mean
    of the first 51 features reshaped to (batch, *output), float32; with the shipped model's
    metadata in the file, or `metadata`."""
    import json

    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from pose3d_ros.core.lifting.runtime import DEFAULT_MODEL
    kind = {"float": TensorProto.FLOAT, "float16": TensorProto.FLOAT16,
            "double": TensorProto.DOUBLE}[dtype]
    consts = [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in
              (("time", [1]), ("start", [0]), ("stop", [51]), ("feature", [1]),
               ("shape", [0, *output]))]
    nodes = [helper.make_node("ReduceMean", ["features", "time"], ["mean"], keepdims=0),
             helper.make_node("Slice", ["mean", "start", "stop", "feature"], ["first"]),
             helper.make_node("Reshape", ["first", "shape"], ["shaped"]),
             helper.make_node("Cast", ["shaped"], ["joints"], to=TensorProto.FLOAT)]
    graph = helper.make_graph(
        nodes, "hand_made", [helper.make_tensor_value_info("features", kind, ["batch", 27, 53])],
        [helper.make_tensor_value_info("joints", TensorProto.FLOAT, None)], consts)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    shipped = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    for key, value in (metadata or shipped).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.save(model, path)
    return path


def test_a_users_lifter_is_checked_for_what_it_returns_and_fed_its_input_type(tmp_path):
    """Found by a review: a user's lifter whose output is not (batch, 17, 3) (a flat output,
    one with a time axis) loaded, then failed at the first person with numpy's broadcasting
    error or went on with (P, 1, 51); one exported in float16 or float64 (for a GPU box)
    loaded, then failed at the first person with onnxruntime's 'Unexpected input data
    type'. Now the first is refused at load naming the file, the second fed its own type."""
    kp, sc = _people(2)
    for dtype in ("float", "float16", "double"):
        out = OnnxLifter(_hand_made_lifter(tmp_path / f"{dtype}.onnx", dtype=dtype)).lift(
            kp, sc, K)
        assert out.shape == (2, 17, 3) and np.isfinite(out).all(), dtype
    for name, output, got in (("flat", (51,), r"\(1, 51\)"),
                              ("with_time", (1, 17, 3), r"\(1, 1, 17, 3\)")):
        path = _hand_made_lifter(tmp_path / f"{name}.onnx", output=output)
        with pytest.raises(ValueError, match=f"{name}.onnx is not a pose3d_ros lifter: "
                           rf"outputs of shapes \[{got}\] for one window, expected one "
                           r"\(batch, 17, 3\)"):
            OnnxLifter(path)


def test_a_users_lifter_exported_without_a_dynamic_batch_runs_or_is_refused(tmp_path):
    """Found by a review: a lifter exported with a fixed batch (torch.onnx.export without
    dynamic_axes) loaded and failed at the first person with onnxruntime's 'Got invalid
    dimensions for input' (flip averaging runs two windows at once). A batch of 1 now runs a
    window at a time, giving what the dynamic model gives (to float32's rounding); another
    fixed batch is refused at load naming the file."""
    import onnx

    kp, sc = _people(3)
    dynamic = OnnxLifter(_hand_made_lifter(tmp_path / "dynamic.onnx"))
    for batch in (1, 4):
        path = _hand_made_lifter(tmp_path / f"batch{batch}.onnx")
        model = onnx.load(path)
        model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = batch
        onnx.save(model, path)
        if batch == 4:
            with pytest.raises(ValueError, match="batch4.onnx: input 'features' has a fixed "
                               "batch of 4; export it with a dynamic batch axis"):
                OnnxLifter(path)
            continue
        fixed = OnnxLifter(path)
        for flip in (False, True):
            np.testing.assert_allclose(fixed.lift(kp, sc, K, flip_average=flip),   # float32
                                       dynamic.lift(kp, sc, K, flip_average=flip), atol=1e-6)


def test_a_users_lifter_metadata_of_the_wrong_types_is_refused_naming_the_file(tmp_path):
    """Found by a review: a hand-written metadata's "causal": "false" was read as causal
    (bool of a non-empty string), so a centred model's 3D went out as the newest frame's;
    "window": null ended in int()'s TypeError naming no file (all the node's configure
    said)."""
    import json

    from pose3d_ros.core.lifting.runtime import DEFAULT_MODEL, LifterMetadata
    shipped = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    for key, value, told in (("causal", "false", "'causal' must be true or false"),
                             ("window", None, "'window' must be a whole number >= 1"),
                             ("window", 0, "'window' must be a whole number >= 1"),
                             ("num_joints", "17", "'num_joints' must be a whole number")):
        (tmp_path / "m.json").write_text(json.dumps({**shipped, key: value}))
        with pytest.raises(ValueError, match=f"m.json: lifter metadata {told}"):
            LifterMetadata.from_json(tmp_path / "m.json")
        path = _hand_made_lifter(tmp_path / f"{key}.onnx", metadata={**shipped, key: value})
        with pytest.raises(ValueError, match=f"{key}.onnx: lifter metadata {told}"):
            OnnxLifter(path)
    # a model of T = 27 without metadata inside, beside a .json of another T: the refusal
    # says whose window it expected (it read as if the model were no lifter at all)
    import onnx
    path = _hand_made_lifter(tmp_path / "t27.onnx")
    model = onnx.load(path)
    del model.metadata_props[:]
    onnx.save(model, path)
    (tmp_path / "t27.json").write_text(json.dumps({**shipped, "window": 81}))
    with pytest.raises(ValueError, match=r"expected 'features' \(batch, 81, 53\), the window "
                       "of t27.json"):
        OnnxLifter(path)


def test_a_gpu_provider_that_does_not_start_is_left_out_quietly(capfd):
    """Found by a review: OnnxLifter(providers=["CUDAExecutionProvider", ...]), as its
    docstring suggests for a GPU machine, on one where CUDA does not start (onnxruntime-gpu
    without its CUDA libraries) printed onnxruntime's red ERROR and a WARN for every model and
    went on on the CPU. Now the providers are chosen as the detectors' are (probed once,
    quietly; onnx_session.select_providers) and told as one Python warning."""
    from pose3d_ros.core.detection.onnx_session import ProviderUnusableWarning, usable_providers
    if "CUDAExecutionProvider" in usable_providers():
        pytest.skip("CUDA starts here")
    capfd.readouterr()
    with pytest.warns(ProviderUnusableWarning,
                      match=r"\['CUDAExecutionProvider'\] are not usable here") as told_once:
        lifter = OnnxLifter(providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert len(told_once) == 1
    assert lifter.session.get_providers() == ["CPUExecutionProvider"]
    told = capfd.readouterr()
    assert "CUDAExecutionProvider" not in told.out + told.err, told


def test_an_unknown_provider_name_is_told_as_such_not_as_a_bad_model_file():
    """A review (session 64): OnnxLifter(providers=["CUDA"]) said the model file 'is not an
    ONNX model onnxruntime can load', naming the provider error inside it."""
    with pytest.raises(ValueError, match="no onnxruntime provider names") as told:
        OnnxLifter(providers=["CUDA"])
    assert "is not an ONNX model" not in str(told.value)
