"""Lifter accuracy on held-out motion capture: k-fold over the 15 DeepMimic clips.

Each fold trains a lifter on the other clips (core.lifting.training.train with mocap clips
only: time warp, stature, proportions, mirroring, virtual cameras, the measured BlazePose
2D errors of core.error_model), then lifts the held-out clips through 4 fixed virtual
cameras (core.lifting.mocap_eval) with perfect 2D and with the measured 2D errors. Every
clip is held out exactly once. Prints per-clip and overall MPJPE / PA-MPJPE / N-MPJPE (mm),
PSS, and the pelvis depth error of the metric placement, beside the constant-mean-pose
baseline, per model.

    python benchmarks/bench_lifter_mocap.py --folds 3 --epochs 20 --models tcn-t27-causal
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

MODELS = {
    "tcn-t27-causal": dict(architecture="tcn", window=27, causal=True),
    "tcn-t27-centred": dict(architecture="tcn", window=27, causal=False),
    "tcn-t81-causal": dict(architecture="tcn", window=81, causal=True),
    "stformer-t27-causal": dict(architecture="stformer", window=27, causal=True, dim=32,
                                depth=3, heads=4, prune_stride=9, prune_after=0),
    "stformer-t27-centred": dict(architecture="stformer", window=27, causal=False, dim=32,
                                 depth=3, heads=4, prune_stride=9, prune_after=0),
}


def torch_lift(model, flip_average: bool = False):
    """(P, T, J, 2) normalised windows, (P, T, J) scores -> (P, J, 3) root-relative metres;
    flip_average: also lift the mirrored input and average (as OnnxLifter.lift does)."""
    from pose3d_ros.core.lifting.normalization import lifter_features
    from pose3d_ros.core.lifting.runtime import lift_with_flip

    def run(norm, scores):
        with torch.inference_mode():
            return model(torch.from_numpy(lifter_features(norm, scores))).numpy().astype(
                np.float64)

    if not flip_average:
        return run
    return lambda norm, scores: lift_with_flip(run, norm, scores)


def refined(lift, frame: int):
    """The lift followed by the node's test-time refinement against the 2D of the window's
    output frame (core.lifting.refine.refine_relative_to_2d; monocular_refine_to_2d)."""
    from pose3d_ros.core.lifting.refine import refine_relative_to_2d

    return lambda norm, scores: refine_relative_to_2d(lift(norm, scores), norm[:, frame],
                                                      scores[:, frame])


def recipe(model_name: str, args: argparse.Namespace, seed: int):
    """The TrainConfig of one fold from the command line."""
    from pose3d_ros.core.lifting.mocap_training import MocapAugment
    from pose3d_ros.core.lifting.model import LifterConfig
    from pose3d_ros.core.lifting.training import TrainConfig

    widths = {k: v for k, v in (("channels", args.channels), ("dropout", args.dropout))
              if v is not None}
    return TrainConfig(model=LifterConfig(**{**MODELS[model_name], **widths}),
                       epochs=args.epochs,
                       mocap_per_epoch=args.samples, seed=seed,
                       mocap_clean_share=args.clean_share,
                       bone_length_weight=args.bone_weight,
                       mocap_augment=MocapAugment(performances=args.performances,
                                                  arm_mix_probability=args.arm_mix,
                                                  leg_mix_probability=args.leg_mix,
                                                  tilt_probability=args.tilt,
                                                  definition_probability=args.definitions))


def load_fold(path: Path, config):
    """A fold's model from a --save-dir file, checked against this run's recipe."""
    from pose3d_ros.core.lifting.model import build_lifter
    from pose3d_ros.core.lifting.training import TrainConfig

    saved = torch.load(path)
    # a field added to TrainConfig (or to one of its parts) after the file was written had its
    # default then
    then = TrainConfig().to_dict()
    for key, value in saved["config"].items():
        then[key] = {**then[key], **value} if isinstance(value, dict) and \
            isinstance(then.get(key), dict) else value
    if then != config.to_dict():
        raise SystemExit(f"{path} was trained with another recipe than this command's")
    model = build_lifter(config.model)
    model.load_state_dict(saved["model"])
    return model.eval()


def arguments() -> argparse.ArgumentParser:
    """The benchmark's command line (the recipe's options; diagnose_lifter_mocap.py reads
    the same folds with it)."""
    from pose3d_ros.core.lifting.mocap_training import MocapAugment

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["tcn-t27-causal"], choices=list(MODELS))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--only-folds", type=int, nargs="+", default=None,
                        help="run these folds only (fold k holds out clips k, k+folds, ...)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--samples", type=int, default=3000, help="mocap samples per epoch")
    parser.add_argument("--performances", type=int, default=MocapAugment().performances,
                        help="MocapAugment.performances: fresh performances per epoch (the "
                             "samples are shared among them)")
    parser.add_argument("--channels", type=int, default=None,
                        help="LifterConfig.channels of a TCN (default: the model's)")
    parser.add_argument("--dropout", type=float, default=None,
                        help="LifterConfig.dropout (default: the model's)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--arm-mix", type=float, default=0.0,
                        help="MocapAugment.arm_mix_probability (limb mixing)")
    parser.add_argument("--leg-mix", type=float, default=0.0,
                        help="MocapAugment.leg_mix_probability")
    parser.add_argument("--tilt", type=float, default=0.0,
                        help="MocapAugment.tilt_probability (performances turned as a whole)")
    parser.add_argument("--definitions", type=float, default=0.0,
                        help="share of mocap performances whose hips, thorax and head are "
                             "placed by another definition (MocapAugment.definition_probability)")
    parser.add_argument("--bone-weight", type=float, default=0.0,
                        help="TrainConfig.bone_length_weight (bone-length term of the loss)")
    parser.add_argument("--clean-share", type=float, default=0.0,
                        help="TrainConfig.mocap_clean_share (performances seen with exact 2D)")
    parser.add_argument("--save-dir", type=Path, default=None,
                        help="also write each fold's weights there (fold<k>_<model>.pt)")
    parser.add_argument("--load-dir", type=Path, default=None,
                        help="score the weights a --save-dir run wrote there instead of "
                             "training (the same folds, recipe and seeds)")
    parser.add_argument("--flip", action="store_true",
                        help="score with test-time flip averaging too")
    parser.add_argument("--refine", action="store_true",
                        help="score with the node's test-time refinement to the 2D too "
                             "(monocular_refine_to_2d; with --flip: on the flip average)")
    parser.add_argument("--json", type=Path, default=None, help="write all figures here")
    return parser


def main(argv: list[str] | None = None) -> int:
    from pose3d_ros.core import metrics
    from pose3d_ros.core.error_model import load_error_model
    from pose3d_ros.core.lifting.mocap_eval import evaluate_clip
    from pose3d_ros.core.lifting.training import train
    from pose3d_ros.core.mocap import load_mocap

    parser = arguments()
    args = parser.parse_args(argv)
    if args.channels is not None and any(not name.startswith("tcn") for name in args.models):
        parser.error("--channels: TCN models only (a transformer has no channels setting)")
    torch.set_num_threads(args.threads)
    clips = load_mocap()
    bank = load_error_model()
    names = [c.name for c in clips]
    print(f"{len(clips)} clips, {sum(c.num_frames for c in clips)} frames; {args.folds} folds; "
          f"load average {os.getloadavg()[0]:.2f}")
    results: dict = {}
    for model_name in args.models:
        rows = []
        start = time.time()
        for fold in args.only_folds if args.only_folds is not None else range(args.folds):
            test = names[fold::args.folds]
            config = recipe(model_name, args, seed=fold)
            if args.load_dir is not None:
                model = load_fold(args.load_dir / f"fold{fold}_{model_name}.pt", config)
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    model = train([], config, Path(tmp), progress=False, errors=bank,
                                  mocap=[c for c in clips if c.name not in test]).eval()
            if args.save_dir is not None:
                args.save_dir.mkdir(parents=True, exist_ok=True)
                torch.save({"config": config.to_dict(), "model": model.state_dict()},
                           args.save_dir / f"fold{fold}_{model_name}.pt")
            lifts = {"": torch_lift(model)}
            if args.flip:
                lifts[" +flip"] = torch_lift(model, flip_average=True)
            if args.refine:
                frame = config.model.window - 1 if config.model.causal \
                    else config.model.window // 2
                for suffix in list(lifts):
                    lifts[suffix + " +refine"] = refined(lifts[suffix], frame)
            for clip in (c for c in clips if c.name in test):
                for kind, errors in (("perfect 2D", None), ("measured 2D errors", bank)):
                    for suffix, lift in lifts.items():
                        out = evaluate_clip(lift, clip.joints, clip.fps, config.model.window,
                                            config.model.causal, errors,
                                            np.random.default_rng(names.index(clip.name)))
                        rows.append({"clip": clip.name, "2D": kind + suffix, **out})
        train_s = time.time() - start
        refs = np.concatenate([r["ref"] for r in rows if r["2D"] == "perfect 2D"])
        centres = metrics.pose_clusters(refs, 10)
        table = []
        for r in rows:
            entry = {"clip": r["clip"], "2D": r["2D"], "frames": len(r["ref"])}
            entry["lifter"] = metrics.pose_scores(r["pred"], r["ref"], centres)
            entry["mean pose"] = metrics.pose_scores(r["mean_pose"], r["ref"], centres)
            entry["depth err m"] = {k: float(np.nanmedian(v)) for k, v in
                                    r["depth_error_m"].items()}
            table.append(entry)
        for kind in dict.fromkeys(r["2D"] for r in rows):
            sel = [r for r in rows if r["2D"] == kind]
            pred = np.concatenate([r["pred"] for r in sel])
            ref = np.concatenate([r["ref"] for r in sel])
            mean_pose = np.concatenate([r["mean_pose"] for r in sel])
            depth = {k: float(np.nanmedian(np.concatenate([r["depth_error_m"][k] for r in sel])))
                     for k in sel[0]["depth_error_m"]}
            table.append({"clip": "ALL", "2D": kind, "frames": len(ref),
                          "lifter": metrics.pose_scores(pred, ref, centres),
                          "mean pose": metrics.pose_scores(mean_pose, ref, centres),
                          "depth err m": depth})
        results[model_name] = {"rows": table, "train_and_eval_s": train_s,
                               "config": recipe(model_name, args, seed=0).to_dict()}
        print(f"\n### {model_name}: {args.folds} folds, {args.epochs} epochs x {args.samples} "
              f"samples, {train_s / 60:.1f} min, load average {os.getloadavg()[0]:.2f}")
        print("| clip | 2D | frames | MPJPE | PA-MPJPE | N-MPJPE | PSS@10 | mean pose MPJPE | "
              "mean pose PA-MPJPE | depth err m (own size) | depth err m (prior 1.70 m) | "
              "depth err m (fused) |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for e in table:
            lf, mp, d = e["lifter"], e["mean pose"], list(e["depth err m"].values())
            print(f"| {e['clip']} | {e['2D']} | {e['frames']} | {lf['MPJPE']:.1f} | "
                  f"{lf['PA-MPJPE']:.1f} | {lf['N-MPJPE']:.1f} | {lf['PSS']:.2f} | "
                  f"{mp['MPJPE']:.1f} | {mp['PA-MPJPE']:.1f} | {d[0]:.3f} | {d[1]:.3f} | "
                  f"{d[2]:.3f} |",
                  flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
