"""train_lifter follows the tools' rules: existing or unwritable outputs refused before any
work, the model, its .json and its .pt staged and moved in together, --debug for tracebacks."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from lifter_inputs import cache_2d, demo_2d, recording_folder

from pose3d_ros.core.lifting.model import LifterConfig, build_lifter
from pose3d_ros.core.lifting.training import export_onnx
from pose3d_ros.core.output_files import UserError, run_cli
from pose3d_ros.tools.train_lifter import main


def _run(tmp_path, out, *extra: str) -> int:
    return run_cli(main, ["--recording", "single", "--out", str(out), "--epochs", "1",
                          "--cache-dir", str(tmp_path / "cache"), "--no-progress", *extra])


def test_existing_or_unwritable_outputs_are_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "lifter.onnx"
    for existing in (out, out.with_suffix(".json"), out.with_suffix(".pt")):
        existing.write_text("keep me")
        assert _run(tmp_path, out) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"{existing} already exists" in err[0], err
        assert "--overwrite" in err[0]
        with pytest.raises(UserError, match="already exists"):
            _run(tmp_path, out, "--debug")
        assert existing.read_text() == "keep me"
        existing.unlink()
    for wrong in ("missing.json", "missing.pt"):
        assert _run(tmp_path, tmp_path / wrong) == 2
        assert "give the model another name" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert _run(tmp_path, blocker / "lifter.onnx") == 2
    assert "cannot be written" in capsys.readouterr().err
    assert _run(tmp_path, out, "--work-dir", str(blocker / "work")) == 2
    assert "work folder (--work-dir)" in capsys.readouterr().err
    assert _run(tmp_path, out, "--init-from", str(tmp_path / "nowhere.work")) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def _model():
    torch.manual_seed(0)
    return build_lifter(LifterConfig(window=27, causal=True, channels=16))


def test_export_writes_all_files_or_none(tmp_path):
    """A failure after the ONNX export started (metadata that is not JSON) leaves the
    previous model, metadata and weights untouched and no temporary file; a complete export
    replaces all three, and only with overwrite."""
    out = tmp_path / "lifter.onnx"
    written = ["lifter.json", "lifter.onnx", "lifter.pt"]

    def contents():
        return tuple(out.with_suffix(suffix).read_bytes() for suffix in (".onnx", ".json", ".pt"))
    export_onnx(_model(), out, {"trained_on": ["first"]})
    before = contents()
    with pytest.raises(TypeError):
        export_onnx(_model(), out, {"trained_on": [object()]})
    assert contents() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == written
    with pytest.raises(UserError, match="already exists"):
        export_onnx(_model(), out, {"trained_on": ["second"]}, overwrite=False)
    assert contents() == before
    export_onnx(_model(), out, {"trained_on": ["second"]}, overwrite=True)
    assert json.loads(out.with_suffix(".json").read_text())["trained_on"] == ["second"]
    assert sorted(p.name for p in tmp_path.iterdir()) == written


def test_an_interrupt_while_the_files_are_moved_in_waits_until_all_are(tmp_path, monkeypatch):
    """Found by a review: a Ctrl-C between two of the three moves left new weights beside an
    old model. It now comes after the last move: the three files are all new."""
    import os
    import signal

    import pose3d_ros.core.output_files as output_files

    out = tmp_path / "lifter.onnx"
    export_onnx(_model(), out, {"trained_on": ["first"]})
    replace = os.replace
    moves = []
    # Python's own Ctrl-C handler, whatever the runner left (a background job ignores SIGINT)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def interrupted_replace(source, destination):
        if not moves:
            os.kill(os.getpid(), signal.SIGINT)         # Ctrl-C after the first move
        moves.append(destination)
        replace(source, destination)
    monkeypatch.setattr(output_files.os, "replace", interrupted_replace)
    try:
        with pytest.raises(KeyboardInterrupt):
            export_onnx(_model(), out, {"trained_on": ["second"]}, overwrite=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    # each old file moved aside into the staging folder, then each new one moved in
    assert sum(Path(d).parent == tmp_path for d in moves) == 3 and len(moves) == 6
    assert json.loads(out.with_suffix(".json").read_text())["trained_on"] == ["second"]


def test_the_exported_weights_train_on_as_the_model_they_came_from(tmp_path, capsys):
    """<model>.pt holds the exported model's weights and training configuration (readable
    without unpickling code): the same model rebuilt from it gives the ONNX model's output,
    and --init-from the .onnx names the .pt beside it."""
    import onnxruntime as ort

    from pose3d_ros.core.lifting.training import TrainConfig

    model = _model()
    config = TrainConfig(model=model.config).to_dict()
    out = tmp_path / "lifter.onnx"
    export_onnx(model, out, train_config=config)
    saved = torch.load(out.with_suffix(".pt"), weights_only=True)
    assert saved["config"] == config
    assert (json.loads(out.with_suffix(".json").read_text())["train_config"]
            == json.loads(json.dumps(config)))
    rebuilt = build_lifter(LifterConfig(**saved["config"]["model"]))
    rebuilt.load_state_dict(saved["model"])
    rebuilt.eval()
    features = torch.randn(3, 27, rebuilt.config.num_features)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    exported = session.run(None, {"features": features.numpy()})[0]
    with torch.no_grad():
        assert abs(rebuilt(features).numpy() - exported).max() < 1e-4
    assert _run(tmp_path, tmp_path / "tuned.onnx", "--init-from", str(out)) == 2
    assert f"give its weights, {out.with_suffix('.pt')}" in capsys.readouterr().err
    # 'shipped' names the package's own weights wherever it is installed (a 16-channel model
    # is asked for here, so they are read and refused as another shape, before any work)
    assert _run(tmp_path, tmp_path / "tuned.onnx", "--init-from", "shipped", "--window",
                "27", "--causal", "--channels", "16") == 2
    assert "lifter_t27_causal.pt" in capsys.readouterr().err


class _RunsCode:
    """Unpickled, it touches a file (what a crafted checkpoint could do instead)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_checkpoint_that_does_not_fit_is_refused_before_any_work(tmp_path, capsys):
    """--init-from with a file that is no checkpoint, or with weights of another model
    shape: one line before any 2D or labels are loaded (a traceback after them, leaving a
    .work folder), and --epochs 0 or --exclude-overlap alone are usage errors."""
    model = build_lifter(LifterConfig(window=27))
    checkpoint = tmp_path / "checkpoint.pt"
    torch.save({"model": model.state_dict()}, checkpoint)
    not_one = tmp_path / "model.pt"
    not_one.write_text("not a checkpoint")
    # a causal model's checkpoint (its configuration recorded): a centred fine-tune has the
    # same shapes and trained on silently (audit)
    causal = tmp_path / "causal.pt"
    torch.save({"model": build_lifter(LifterConfig(window=27, causal=True)).state_dict(),
                "config": {"model": LifterConfig(window=27, causal=True).to_dict()}}, causal)
    onnx_lifter = tmp_path / "exported.onnx"
    onnx_lifter.write_bytes(b"")
    # a file that runs code when unpickled (a review: it ran before the error) is read as
    # weights only and refused, the code not run
    crafted = tmp_path / "crafted.pt"
    torch.save({"model": _RunsCode(str(tmp_path / "ran")), "config": {}}, crafted)
    out = tmp_path / "lifter.onnx"
    for extra, told in ((["--init-from", str(not_one)], "is not a train_lifter checkpoint"),
                        (["--init-from", str(crafted)], "is not a train_lifter checkpoint"),
                        (["--init-from", str(checkpoint), "--window", "81"],
                         "holds a model of another shape"),
                        (["--init-from", str(causal)], "causal True (asked False)"),
                        (["--init-from", str(onnx_lifter)], "cannot be trained further")):
        assert _run(tmp_path, out, *extra) == 2
        assert told in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["causal.pt", "checkpoint.pt",
                                                          "crafted.pt", "exported.onnx",
                                                          "model.pt"]
    for extra in (["--epochs", "0"], ["--exclude-overlap", "single"]):
        with pytest.raises(SystemExit) as stopped:   # argparse: usage and one line, exit 2
            _run(tmp_path, out, *extra)
        assert stopped.value.code == 2 and extra[0] in capsys.readouterr().err


def test_an_earlier_runs_checkpoint_is_kept_unless_resumed_or_overwritten(tmp_path, capsys):
    """Found by an audit: after an interrupt the checkpoint stayed, but the same command
    without --resume started over and replaced it at its first epoch, and the interrupt's line
    never named --resume. Such a checkpoint now stops the run before any work, and an
    interrupt that leaves one says how to continue, in its one line."""
    out = tmp_path / "lifter.onnx"
    work = tmp_path / "lifter.work"
    work.mkdir()
    (work / "checkpoint.pt").write_bytes(b"epoch 5")
    assert _run(tmp_path, out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds an earlier run's training" in err[0], err
    assert "--resume" in err[0] and "--overwrite" in err[0]
    assert (work / "checkpoint.pt").read_bytes() == b"epoch 5"
    # a history.json alone (a review: replaced without a word)
    (work / "checkpoint.pt").unlink()
    (work / "history.json").write_text("precious")
    assert _run(tmp_path, out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{work / 'history.json'} holds an earlier run's" in err[0], err
    assert (work / "history.json").read_text() == "precious"

    def interrupted(argv):
        raise KeyboardInterrupt(f"no output was written; the last finished epoch is kept in "
                                f"{work}: the same command with --resume continues from it")
    assert run_cli(interrupted, []) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"interrupted; no output was written; the last finished epoch is kept in "
                   f"{work}: the same command with --resume continues from it"], err


def test_inputs_of_different_lengths_train_together(tmp_path):
    """A review: a recording and a bag of other lengths failed after all their 2D detection
    ("all input arrays must have the same shape": the confidences borrowed by the virtual
    views were stacked as one array). Two recordings of 12 and 7 frames (cached 2D) train."""
    folder = recording_folder(tmp_path / "short")
    cache = tmp_path / "cache"
    cache_2d(cache, "single", demo_2d("single", 12))
    cache_2d(cache, str(folder), demo_2d("single", 12), 7)
    out = tmp_path / "lifter.onnx"
    assert _run(tmp_path, out, "--recording", str(folder), "--channels", "16",
                "--batch-size", "32", "--virtual-per-epoch", "64") == 0
    assert out.is_file()
    assert json.loads(out.with_suffix(".json").read_text())["trained_on"] == [
        "single", str(folder)]


@pytest.mark.parametrize("extra, told", [
    # bad values (a review: ZeroDivisionError tracebacks, negative counts in the metadata)
    (["--mocap", "--channels", "0"], "--channels: must be a whole number >= 1"),
    (["--channels", "-3"], "--channels: must be a whole number >= 1"),
    (["--architecture", "stformer", "--heads", "0"], "--heads: must be a whole number >= 1"),
    (["--architecture", "stformer", "--dim", "30"], "dim 30 must be a multiple of heads 4"),
    (["--architecture", "stformer", "--dim", "0"], "--dim: must be a whole number >= 1"),
    (["--virtual-per-epoch", "-5"], "--virtual-per-epoch: must be a whole number >= 0"),
    (["--synthetic-people", "-1"], "--synthetic-people: must be a whole number >= 0"),
    (["--mocap", "--mocap-per-epoch", "-1"], "--mocap-per-epoch: must be a whole number >= 0"),
    # options taken, ignored and recorded as used (a review); --calibration's rule
    (["--mocap-clips", "walk", "--arm-mix", "0.5"], "--mocap-clips, --arm-mix are used only "
     "with --mocap: give them with that, or leave them out"),
    (["--perfect-2d"], "--perfect-2d is used only with --mocap"),
    (["--sync-slop", "0.01"], "--sync-slop is used only with --bag"),
    (["--person-height", "1.8"], "--person-height is used only with --bag"),
    (["--synthetic-share", "0.3"], "--synthetic-share is used only with --synthetic-people"),
    (["--dim", "64", "--prune-after", "1"], "--dim, --prune-after are used only with "
     "--architecture stformer"),
    (["--architecture", "stformer", "--channels", "64"], "--channels is used only with "
     "--architecture tcn"),
])
def test_bad_or_unused_options_are_refused_in_one_line(tmp_path, capsys, extra, told):
    with pytest.raises(SystemExit) as stopped:
        _run(tmp_path, tmp_path / "lifter.onnx", *extra)
    err = capsys.readouterr().err.strip().splitlines()
    assert stopped.value.code == 2 and len(err) == 1 and told in err[0], err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("extra", [["--limb-angle", "10"], ["--bone-scale", "0.2"],
                                   ["--synthetic-people", "2"], ["--virtual-per-epoch", "10"]])
def test_rig_options_are_refused_for_motion_capture_alone(tmp_path, capsys, extra):
    """--mocap alone has no virtual views of a rig: --synthetic-people ended in a
    ZeroDivisionError, the other options were ignored (a review)."""
    with pytest.raises(SystemExit):
        run_cli(main, ["--mocap", "--mocap-clips", "walk", "--out", str(tmp_path / "x.onnx"),
                       *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{extra[0]} is used only with the virtual views of a " \
        "--recording or --bag" in err[0], err


def test_the_readme_fine_tuning_command_fits_the_shipped_weights():
    """A review: README.md's `train_lifter --init-from shipped` was refused as given ("trained
    as another model: causal True (asked False)"). Its command asks for the model the shipped
    weights were trained as."""
    import re
    import shlex

    from pose3d_ros.core.lifting.runtime import DEFAULT_MODEL
    from pose3d_ros.tools.train_lifter import build_parser, refuse_unused_options, train_config

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    found = re.findall(r"`train_lifter ([^`]*--init-from shipped[^`]*)`", readme)
    assert len(found) == 1, found
    parser = build_parser()
    args = parser.parse_args(shlex.split(found[0]))
    refuse_unused_options(parser, args)
    shipped = torch.load(DEFAULT_MODEL.with_suffix(".pt"), weights_only=True)["config"]
    asked = train_config(args, None).model.used()
    assert {k: shipped["model"][k] for k in asked} == asked


def test_fine_tuning_compares_only_what_the_architecture_uses(tmp_path):
    """A review: the whole model configuration was compared, so a tcn checkpoint recorded
    with another (unused) dim or prune_after, as core.lifting.model.LifterConfig's defaults
    give, was refused as "trained as another model". (12 frames of 'single', cached 2D.)"""
    config = LifterConfig(window=27, channels=16, dim=64, prune_after=1)
    checkpoint = tmp_path / "tcn.pt"
    torch.save({"model": build_lifter(config).state_dict(),
                "config": {"model": config.to_dict()}}, checkpoint)
    cache_2d(tmp_path / "cache", "single", demo_2d("single", 12))
    assert _run(tmp_path, tmp_path / "tuned.onnx", "--init-from", str(checkpoint),
                "--channels", "16", "--batch-size", "32", "--virtual-per-epoch", "64") == 0


def test_an_interrupted_run_leaves_no_folder_it_made_empty(tmp_path):
    """A review: a failed or interrupted run left an empty <out>.work/ (and the folders on
    its way) while saying "no output was written". Ctrl-C in the first epoch (no checkpoint
    yet) leaves none of them; the 2D cache, which holds something, stays. (12 frames of
    'single', cached 2D; a run of its own, interrupted as a user does.)"""
    import sys

    from interrupt import interrupt_when

    cache = tmp_path / "cache"
    cache_2d(cache, "single", demo_2d("single", 12))
    out = tmp_path / "new" / "models" / "lifter.onnx"
    code, err = interrupt_when(
        [sys.executable, "-m", "pose3d_ros.tools.train_lifter", "--recording", "single",
         "--out", str(out), "--cache-dir", str(cache), "--epochs", "1", "--channels", "16",
         "--virtual-per-epoch", "20000", "--no-progress"], "real samples",
        tmp_path / "stderr.txt", delay_s=0.2)
    assert code == 130 and "interrupted; no output was written" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "stderr.txt"]
