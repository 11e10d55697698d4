"""The shipped lifter is what its recipe says: the commands in the docs are the recipe's, the
model's metadata records them, and its weights file (for fine-tuning) is the ONNX model.
Whether the recipe gives these weights bit for bit takes 5 minutes of training:
benchmarks/reproduce_shipped_lifter.py."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import torch

from pose3d_ros.core.lifting.model import LifterConfig, build_lifter
from pose3d_ros.core.lifting.runtime import DEFAULT_MODEL, OnnxLifter
from pose3d_ros.tools import train_lifter
from pose3d_ros.tools.train_lifter import SHIPPED_RECIPE

REPO = Path(__file__).resolve().parents[1]
DOCUMENTED_PATHS = {"pretraining": "lifter_mocap", "shipped": "pose3d_ros/models/lifter_t27_causal"}


def _commands_in(text: str) -> str:
    """The text with shell line continuations joined and runs of spaces made one."""
    return re.sub(r"\s+", " ", text.replace("\\\n", " "))


def test_the_docs_give_the_recipe_as_it_is_run():
    for where, text in (("docs/lifter.md", (REPO / "docs" / "lifter.md").read_text()),
                        ("train_lifter's docstring", train_lifter.__doc__ or "")):
        for step in SHIPPED_RECIPE:
            command = "python -m pose3d_ros.tools.train_lifter " + " ".join(
                a.format(**DOCUMENTED_PATHS) for a in step)
            assert command in _commands_in(text), f"{where} lacks: {command}"


def test_the_shipped_metadata_records_the_recipes_last_command():
    recorded = shlex.split(json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())["command"])
    assert recorded[:3] == ["python", "-m", "pose3d_ros.tools.train_lifter"]
    ran = [a for a in recorded[3:] if a not in ("--no-progress", "--overwrite")]
    # the paths were scratch folders: every other argument as in the recipe
    paths = {i + 1 for i, a in enumerate(ran) if a in ("--init-from", "--out")}
    recipe = SHIPPED_RECIPE[-1]
    assert len(ran) == len(recipe)
    assert [a for i, a in enumerate(ran) if i not in paths] == [
        a for i, a in enumerate(recipe) if i not in paths]


def test_the_shipped_weights_file_is_the_shipped_model():
    saved = torch.load(DEFAULT_MODEL.with_suffix(".pt"), weights_only=True)
    metadata = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    assert json.loads(json.dumps(saved["config"])) == metadata["train_config"]
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
