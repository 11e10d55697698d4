"""The shipped lifter is what its recipe says: the commands in the docs are the recipe's, word
for word; the training configurations the shipped model records (its own and that of the
motion-capture weights it started from) are the ones train_lifter makes of the recipe today,
so a changed default shows here; and its weights file (for fine-tuning) is the ONNX model.
Whether the recipe gives these weights bit for bit takes 6 minutes of training:
benchmarks/reproduce_shipped_lifter.py."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import torch

from pose3d_ros.core.lifting.model import LifterConfig, build_lifter
from pose3d_ros.core.lifting.runtime import DEFAULT_MODEL, OnnxLifter
from pose3d_ros.tools import train_lifter
from pose3d_ros.tools.train_lifter import SHIPPED_RECIPE, build_parser, train_config

REPO = Path(__file__).resolve().parents[1]
DOCUMENTED_PATHS = {"pretraining": "lifter_mocap", "shipped": "pose3d_ros/models/lifter_t27_causal"}
METADATA = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())


def _command_lines(text: str) -> set[str]:
    """Each line of `text` with shell continuations joined and runs of spaces made one."""
    return {" ".join(line.split()) for line in text.replace("\\\n", " ").splitlines()}


def test_the_docs_give_the_recipe_word_for_word():
    for where, text in (("docs/lifter.md", (REPO / "docs" / "lifter.md").read_text()),
                        ("train_lifter's docstring", train_lifter.__doc__ or "")):
        lines = _command_lines(text)
        for step in SHIPPED_RECIPE:
            command = "python -m pose3d_ros.tools.train_lifter " + " ".join(
                a.format(**DOCUMENTED_PATHS) for a in step)
            assert command in lines, f"{where} lacks, as a whole line: {command}"


def _comparable(config: dict) -> dict:
    """A training configuration as JSON has it, without the path it started from."""
    return {k: v for k, v in json.loads(json.dumps(config)).items() if k != "init_from"}


def test_the_shipped_training_configurations_are_the_recipes():
    recorded = (METADATA["init_train_config"], METADATA["train_config"])
    for step, shipped in zip(SHIPPED_RECIPE, recorded, strict=True):
        args = build_parser().parse_args([a.format(pretraining="p", shipped="s") for a in step])
        assert _comparable(train_config(args, None).to_dict()) == _comparable(shipped)
    assert METADATA["train_config"]["init_from"] and not METADATA["init_train_config"][
        "init_from"]


def test_the_shipped_metadata_records_the_recipes_last_command():
    recorded = shlex.split(METADATA["command"])
    assert recorded[:3] == ["python", "-m", "pose3d_ros.tools.train_lifter"]
    ran = [a for a in recorded[3:] if a != "--no-progress"]
    recipe = list(SHIPPED_RECIPE[-1])
    assert len(ran) == len(recipe)
    # the paths were scratch folders: every other argument as in the recipe
    paths = {i + 1 for i, a in enumerate(recipe) if a in ("--init-from", "--out")}
    assert [a for i, a in enumerate(ran) if i not in paths] == [
        a for i, a in enumerate(recipe) if i not in paths]


def test_the_shipped_weights_file_is_the_shipped_model():
    saved = torch.load(DEFAULT_MODEL.with_suffix(".pt"), weights_only=True)
    assert json.loads(json.dumps(saved["config"])) == METADATA["train_config"]
    model = build_lifter(LifterConfig(**saved["config"]["model"]))
    model.load_state_dict(saved["model"])
    model.eval()
    lifter = OnnxLifter()
    features = np.random.default_rng(0).normal(
        size=(64, lifter.window, model.config.num_features)).astype(np.float32)
    (exported,) = lifter.session.run(None, {"features": features})
    with torch.no_grad():
        rebuilt = model(torch.from_numpy(features)).numpy()
    assert np.abs(rebuilt - exported).max() < 1e-4
