"""Train the temporal lifter self-supervised from multi-view recordings and export ONNX.

Inputs (any mix, each repeatable):
  --recording  a folder with videos/camXX.mp4 and calibration/Calib.qca.txt, or a demo name
               'single'/'multi';
  --bag        a rosbag2 folder or file (sqlite3 or MCAP) with an image topic (raw or
               compressed) and a camera_info per camera, found as evaluate and run find them
               (or --image-topics). Frames are grouped by header stamp as those tools group
               them (--sync-slop); extrinsics come from
               --calibration (rig YAML, Pose2Sim TOML, Qualisys .qca.txt; cameras matched by
               name or frame_id), else the bag's /tf_static, else self-calibration from the
               people (rig frame = first camera, metric scale from --person-height).
For each: BlazePose 2D per camera (cached in --cache-dir), triangulated pseudo-3D from the
cameras that agree, then training on single-view 2D -> pseudo-3D with a reprojection
consistency loss and virtual-camera augmentation (pose3d_ros.core.lifting.training).

Reproduce the shipped default weights (pose3d_ros/models/; motion capture, then the rig):
    python -m pose3d_ros.tools.train_lifter --mocap --window 27 --causal --epochs 240 \\
        --mocap-per-epoch 3000 --arm-mix 0.8 --leg-mix 0.6 --clean-share 0.3 \\
        --out lifter_mocap.onnx
    python -m pose3d_ros.tools.train_lifter --recording single --mocap \\
        --init-from lifter_mocap.work --window 27 --causal --epochs 10 --lr 5e-4 \\
        --virtual-per-epoch 2000 --mocap-per-epoch 2000 --arm-mix 0.8 --leg-mix 0.6 \\
        --clean-share 0.3 --out pose3d_ros/models/lifter_t27_causal.onnx --overwrite
The rig alone (the weights shipped before 2026-11-30):
    python -m pose3d_ros.tools.train_lifter --recording single --window 27 --causal \\
        --epochs 80 --lr 2e-3 --virtual-per-epoch 4000 --out lifter_rig_only.onnx
Every person of a multi-person recording (multi-person BlazePose, association, tracking),
leaving out footage shared with a recording used for evaluation:
    python -m pose3d_ros.tools.train_lifter --recording multi --multi-person \\
        --exclude-overlap single --out lifter.onnx
From a bag written by make_bag (or recorded with `ros2 bag record`):
    python -m pose3d_ros.tools.train_lifter --bag rig_bag --out lifter.onnx
Motion capture (the DeepMimic clips, tools.fetch_mocap) through virtual cameras with the
BlazePose 2D errors measured on the demo recordings, then fine-tuning on a rig:
    python -m pose3d_ros.tools.train_lifter --mocap --out mocap.onnx
    python -m pose3d_ros.tools.train_lifter --recording single --init-from mocap.work \\
        --out rig.onnx

The inputs and outputs are checked before any work: an existing --out (or its .json or .pt)
is refused unless --overwrite, and the three are written under temporary names and moved in
only when all are complete. <out>.pt holds the weights for further training (--init-from).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from pose3d_ros.core.body_model import DEFAULT_PERSON_HEIGHT_M
from pose3d_ros.core.data_paths import DATA_DIR_RULE, default_data_dir
from pose3d_ros.core.lifting.labels import (
    check_bag,
    check_recording,
    drop_overlapping,
    load_bag_labels,
    load_labels,
    load_multi_person_labels,
)
from pose3d_ros.core.output_files import (
    UserError,
    add_common_arguments,
    float_in,
    int_at_least,
    int_in,
    new_folders_removed_on_failure,
    non_negative_float,
    positive_float,
    refuse_existing,
    run_cli,
    standing_height,
    unwritable_folder,
)

if TYPE_CHECKING:
    from pose3d_ros.core.lifting.training import TrainConfig

log = logging.getLogger(__name__)

# --init-from this word: the shipped weights (pose3d_ros/models/lifter_t27_causal.pt wherever
# the package is installed; a file of that name is ./shipped)
SHIPPED_WEIGHTS_WORD = "shipped"
# The shipped weights' recipe (pose3d_ros/models/lifter_t27_causal.onnx, .json and .pt): motion
# capture, then the rig, as train_lifter argument lists; {pretraining} and {shipped} are the
# two models' paths without suffix. The docstring above and docs/lifter.md give these commands
# (a test checks they agree); benchmarks/reproduce_shipped_lifter.py runs them and compares
# the weights they give with the shipped ones.
SHIPPED_RECIPE: tuple[tuple[str, ...], ...] = (
    ("--mocap", "--window", "27", "--causal", "--epochs", "240", "--mocap-per-epoch", "3000",
     "--arm-mix", "0.8", "--leg-mix", "0.6", "--clean-share", "0.3",
     "--out", "{pretraining}.onnx"),
    ("--recording", "single", "--mocap", "--init-from", "{pretraining}.work", "--window", "27",
     "--causal", "--epochs", "10", "--lr", "5e-4", "--virtual-per-epoch", "2000",
     "--mocap-per-epoch", "2000", "--arm-mix", "0.8", "--leg-mix", "0.6", "--clean-share",
     "0.3", "--out", "{shipped}.onnx", "--overwrite"),
)


def check_outputs(args: argparse.Namespace) -> None:
    """The model, its .json and its .pt: refused if they exist (unless --overwrite), cannot
    be written or would replace an input; before any work."""
    if args.out.suffix in (".json", ".pt"):
        raise UserError(f"--out {args.out}: the metadata and the weights go to <out>.json and "
                        "<out>.pt; give the model another name (.onnx)")
    inputs = [*args.bag, args.calibration, args.init_from]
    for path, what in ((args.out, "model"), (args.out.with_suffix(".json"), "model metadata"),
                       (args.out.with_suffix(".pt"), "model weights")):
        refuse_existing(path, args.overwrite, what, inputs=inputs, folder=False)
    # its checkpoint folder too: a read-only one failed after the 2D step (audit)
    refuse_existing(work_dir(args), True, "work folder (--work-dir)", folder=True,
                    replaces=False)                  # written into, never replaced
    if args.cache_dir is not None:
        # (a review: a file given as --cache-dir failed after the 2D step as "[Errno 17] File
        # exists", as eval_lifter refuses it at once)
        if args.cache_dir.exists() and not args.cache_dir.is_dir():
            raise UserError(f"--cache-dir {args.cache_dir} is a file; give a folder (it is "
                            "created if missing)")
        if problem := unwritable_folder(args.cache_dir):
            raise UserError(f"--cache-dir {args.cache_dir} cannot be written: {problem}")
    if args.mocap and args.mocap_clips:
        from pose3d_ros.core.mocap import CLIP_NAMES

        # (a review: a misspelt clip was refused after BlazePose had run over the videos)
        if unknown := [name for name in args.mocap_clips if name not in CLIP_NAMES]:
            raise UserError(f"--mocap-clips: unknown clip(s) {', '.join(unknown)}; the clips "
                            f"are {', '.join(CLIP_NAMES)}")
    for name in ("checkpoint.pt", "history.json"):
        earlier = work_dir(args) / name
        if earlier.exists() and not args.resume and not args.overwrite:
            # a rerun without --resume started over and replaced the checkpoint at its first
            # epoch (audit); a history.json alone was replaced too (a review)
            raise UserError(f"{earlier} holds an earlier run's training: --resume to continue "
                            "it, or --overwrite to start over")


# TrainConfig's keys (training.config_differences) -> the options that set them
_CONFIG_OPTIONS = {
    "model.window": "--window", "model.causal": "--causal", "model.channels": "--channels",
    "model.architecture": "--architecture", "model.dim": "--dim", "model.depth": "--depth",
    "model.heads": "--heads", "model.prune_stride": "--prune-stride",
    "model.prune_after": "--prune-after", "epochs": "--epochs", "batch_size": "--batch-size",
    "learning_rate": "--lr", "virtual_per_epoch": "--virtual-per-epoch",
    "reprojection_weight": "--reprojection-weight", "limb_angle_deg": "--limb-angle",
    "bone_scale": "--bone-scale", "synthetic_people": "--synthetic-people",
    "synthetic_share": "--synthetic-share", "seed": "--seed",
    "mocap_per_epoch": "--mocap/--mocap-per-epoch", "mocap_clean_share": "--clean-share",
    "mocap_augment.arm_mix_probability": "--arm-mix",
    "mocap_augment.leg_mix_probability": "--leg-mix",
    "mocap_augment.tilt_probability": "--tilt", "bone_length_weight": "--bone-weight",
    "init_from": "--init-from"}


# training_data's keys -> the options that set them
_DATA_OPTIONS = {"recordings": "--recording", "bags": "--bag", "multi_person": "--multi-person",
                 "exclude_overlap": "--exclude-overlap", "calibration": "--calibration",
                 "image_topics": "--image-topics", "self_calibrate": "--self-calibrate",
                 "mocap_clips": "--mocap/--mocap-clips", "perfect_2d": "--perfect-2d"}
DATA_FILE = "data.json"   # in the work folder: training_data of the run its checkpoint is of


def training_data(args: argparse.Namespace) -> dict[str, Any]:
    """What a run trains on, from its options (files by their absolute paths): kept beside
    its checkpoint, so that --resume continues on the same data (a review: a resume on other
    clips went on without a word, and the model's metadata named only the last run's)."""
    from pose3d_ros.core.mocap import CLIP_NAMES

    return {"recordings": [str(r) for r in args.recording],
            "bags": [str(Path(b).resolve()) for b in args.bag],
            "multi_person": bool(args.multi_person),
            "exclude_overlap": [str(r) for r in args.exclude_overlap],
            "calibration": None if args.calibration is None else str(args.calibration.resolve()),
            "image_topics": list(args.image_topics or []),
            "self_calibrate": bool(args.self_calibrate),
            "mocap_clips": (list(args.mocap_clips or CLIP_NAMES) if args.mocap else None),
            "perfect_2d": bool(args.mocap and args.perfect_2d)}


def check_resume(args: argparse.Namespace, config: Any) -> None:
    """--resume: the work folder's checkpoint must have been written with the options given
    (UserError naming those that differ, before any work: a review found it told after the
    labels and the motion capture were loaded, naming none); without a checkpoint the
    training starts from the first epoch, and says so."""
    checkpoint = work_dir(args) / "checkpoint.pt"
    if not args.resume:
        return
    if not checkpoint.is_file():
        log.warning("--resume: %s holds no checkpoint; training from the first epoch",
                    work_dir(args))
        return
    import torch

    from pose3d_ros.core.lifting.training import config_differences
    try:
        saved = torch.load(checkpoint, weights_only=True, map_location="cpu")["config"]
    except Exception as err:  # noqa: BLE001 - torch's readers raise many kinds
        raise UserError(f"{checkpoint} cannot be read ({type(err).__name__}: damaged?); "
                        "remove it to start over") from None
    options = {_CONFIG_OPTIONS.get(key, key)
               for key in config_differences(saved, config.to_dict())}
    data_file = work_dir(args) / DATA_FILE
    if data_file.is_file():           # (runs before session 61 kept none: not comparable)
        import json

        try:
            started = json.loads(data_file.read_text())
        except (OSError, ValueError):
            raise UserError(f"{data_file} cannot be read (damaged?); remove it to resume "
                            "without the check of the training data") from None
        now = training_data(args)
        options |= {_DATA_OPTIONS.get(key, key) for key in now if started.get(key) != now[key]}
    if options:
        raise UserError(f"--resume: {checkpoint} was trained with other values of "
                        f"{', '.join(sorted(options))}; give the options it was started "
                        "with, or start over (--overwrite without --resume, or another "
                        "--work-dir)")


def initial_checkpoint(init_from: Path | None) -> Path | None:
    """The checkpoint --init-from names: a work folder (its checkpoint.pt) or a file.
    UserError for an ONNX lifter (its batch norms are folded into its convolutions: it
    cannot be trained further) or a missing file."""
    if init_from is None:
        return None
    if init_from.suffix == ".onnx":
        # found by an audit: it read as "not a train_lifter checkpoint (UnpicklingError)"
        weights = init_from.with_suffix(".pt")
        raise UserError(f"--init-from {init_from}: an exported ONNX lifter cannot be trained "
                        "further (its batch norms are folded into its convolutions); give "
                        + (f"its weights, {weights}" if weights.is_file() else
                           "its weights (the <model>.pt train_lifter writes beside it) or "
                           "its training's .work folder"))
    init = init_from / "checkpoint.pt" if init_from.is_dir() else init_from
    if not init.is_file():
        raise UserError(f"--init-from: no checkpoint at {init}")
    return init


def work_dir(args: argparse.Namespace) -> Path:
    """Where the training keeps its checkpoint: --work-dir, or <out>.work."""
    return args.work_dir or args.out.with_suffix(".work")


def train_config(args: argparse.Namespace, init: Path | None) -> TrainConfig:
    """The training configuration the arguments ask for (init: the checkpoint to start
    from); ValueError for a model that cannot be built (window, architecture)."""
    from pose3d_ros.core.lifting.mocap_training import MocapAugment
    from pose3d_ros.core.lifting.model import LifterConfig
    from pose3d_ros.core.lifting.training import TrainConfig

    model_config = LifterConfig(
        window=args.window, causal=args.causal, channels=args.channels,
        architecture=args.architecture, dim=args.dim, depth=args.depth, heads=args.heads,
        prune_stride=args.prune_stride if args.architecture == "stformer" else 0,
        prune_after=args.prune_after)
    return TrainConfig(
        model=model_config, mocap_per_epoch=args.mocap_per_epoch if args.mocap else 0,
        init_from=None if init is None else str(init),
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
        virtual_per_epoch=args.virtual_per_epoch, limb_angle_deg=args.limb_angle,
        bone_scale=args.bone_scale, synthetic_people=args.synthetic_people,
        synthetic_share=args.synthetic_share,
        reprojection_weight=args.reprojection_weight, seed=args.seed,
        bone_length_weight=args.bone_weight, mocap_clean_share=args.clean_share,
        mocap_augment=MocapAugment(arm_mix_probability=args.arm_mix,
                                   leg_mix_probability=args.leg_mix,
                                   tilt_probability=args.tilt))


# argparse types of the options that are a share of the samples or a chance
_SHARE = float_in(0.0, 1.0, what="a share in [0, 1]")
_CHANCE = float_in(0.0, 1.0, what="a chance in [0, 1]")


# Options that only some inputs or architectures use: (options, when they are used, what they
# apply to). Given (not at their default) where they are not used, they are refused: they were
# taken, ignored and written to the metadata as used (a review).
_USED_ONLY: tuple[tuple[tuple[str, ...], Callable[[argparse.Namespace], bool], str], ...] = (
    (("--mocap-clips", "--mocap-per-epoch", "--arm-mix", "--leg-mix", "--tilt", "--clean-share",
      "--perfect-2d"), lambda a: a.mocap, "--mocap"),
    (("--sync-slop", "--person-height"), lambda a: bool(a.bag), "--bag"),
    (("--virtual-per-epoch", "--limb-angle", "--bone-scale", "--synthetic-people",
      "--synthetic-share"), lambda a: bool(a.recording or a.bag),
     "the virtual views of a --recording or --bag"),
    (("--synthetic-share",), lambda a: a.synthetic_people > 0, "--synthetic-people"),
    (("--dim", "--depth", "--heads", "--prune-stride", "--prune-after"),
     lambda a: a.architecture == "stformer", "--architecture stformer"),
    (("--channels",), lambda a: a.architecture == "tcn", "--architecture tcn"),
)


def refuse_unused_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A usage error naming the options given (not at their default) that this run would not
    use (_USED_ONLY)."""
    for options, used, applies in _USED_ONLY:
        given = [o for o in options if getattr(args, o[2:].replace("-", "_"))
                 != parser.get_default(o[2:].replace("-", "_"))]
        if given and not used(args):
            one = len(given) == 1
            them = "it" if one else "them"
            parser.error(f"{', '.join(given)} {'is' if one else 'are'} used only with "
                         f"{applies}: give {them} with that, or leave {them} out")


def build_parser() -> argparse.ArgumentParser:
    """train_lifter's command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", action="append", default=[],
                        help="demo name (single, multi) or recording folder; repeatable")
    parser.add_argument("--bag", action="append", type=Path, default=[],
                        help="multi-camera rosbag2 (sqlite3 or MCAP) with images and "
                             "camera_info; repeatable")
    parser.add_argument("--calibration", type=Path, default=None,
                        help="rig file with the bags' extrinsics (rig YAML, Pose2Sim TOML, "
                             "Qualisys .qca.txt); default: /tf_static, else self-calibration")
    parser.add_argument("--multi-person", action="store_true",
                        help="recordings: label every person (multi-person BlazePose, "
                             "association, tracking) instead of one person per camera")
    parser.add_argument("--exclude-overlap", action="append", default=[],
                        help="with --multi-person: drop people whose 3D coincides with this "
                             "held-out recording's (same footage); repeatable")
    parser.add_argument("--image-topics", nargs="+", default=None,
                        help="image topics of the bags, one per camera (default: each "
                             "camera's image topic, a camera being a topic's first namespace, "
                             "as evaluate and run find them)")
    parser.add_argument("--sync-slop", type=non_negative_float, default=None,
                        help="largest header stamp difference within one synchronised frame, "
                             "seconds (default: half the median frame period)")
    parser.add_argument("--self-calibrate", action="store_true",
                        help="ignore the bags' /tf_static and estimate the extrinsics from the "
                             "people")
    parser.add_argument("--person-height", type=standing_height, default=DEFAULT_PERSON_HEIGHT_M,
                        help="body height prior of self-calibration, metres (sets its scale; "
                             f"default {DEFAULT_PERSON_HEIGHT_M:g})")
    parser.add_argument("--out", type=Path, required=True, help="output .onnx path "
                        "(its metadata goes next to it as .json, its weights for further "
                        "training as .pt); existing ones only with --overwrite")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="checkpoints and history (default: <out>.work/)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="2D detection cache (default: <data>/cache/lifter; with "
                             "--multi-person the shared detection cache, "
                             f"<data>/cache/detections; <data>: {DATA_DIR_RULE})")
    parser.add_argument("--mocap", action="store_true",
                        help="train on the motion-capture clips (fetched by tools.fetch_mocap) "
                             "through virtual cameras")
    parser.add_argument("--mocap-clips", nargs="+", default=None,
                        help="only these clips (default: all 15)")
    parser.add_argument("--mocap-per-epoch", type=int_at_least(0), default=4000,
                        help="motion-capture samples per epoch")
    parser.add_argument("--arm-mix", type=_CHANCE, default=0.0,
                        help="chance that each arm of a mocap performance moves as in another "
                             "performance (limb mixing: new poses from known motions)")
    parser.add_argument("--leg-mix", type=_CHANCE, default=0.0,
                        help="the same for each leg")
    parser.add_argument("--tilt", type=_CHANCE, default=0.0,
                        help="chance that a mocap performance is turned as a whole about a "
                             "horizontal axis (up to 90 degrees): upright motions seen leaning, "
                             "lying or upside down")
    parser.add_argument("--clean-share", type=_SHARE, default=0.0,
                        help="share of mocap performances seen with exact 2D instead of the "
                             "measured 2D errors")
    parser.add_argument("--perfect-2d", action="store_true",
                        help="mocap samples without the measured 2D error model "
                             "(core.error_model, pose3d_ros/models/error_model_blazepose.json)")
    parser.add_argument("--init-from", type=Path, default=None,
                        help="start from these weights (fine-tuning): a model's <model>.pt, "
                             "'shipped' (the package's own weights, wherever it is "
                             "installed), a checkpoint.pt or a work directory holding one")
    parser.add_argument("--architecture", default="tcn", choices=("tcn", "stformer"),
                        help="network: tcn (temporal convolutions) or stformer (spatio-temporal "
                             "transformer)")
    parser.add_argument("--dim", type=int_at_least(1), default=32, help="stformer: token width")
    parser.add_argument("--depth", type=int_at_least(1), default=3, help="stformer: blocks")
    parser.add_argument("--heads", type=int_at_least(1), default=4,
                        help="stformer: attention heads (a divisor of --dim)")
    parser.add_argument("--prune-stride", type=int_at_least(0), default=9,
                        help="stformer: merge the other frames in groups of this many (HoT-style "
                             "pruning; 0 keeps every frame)")
    parser.add_argument("--prune-after", type=int_at_least(0), default=0,
                        help="stformer: blocks before the frames are merged")
    parser.add_argument("--window", type=int, default=27,
                        help="frames T per window (tcn: 27, 81 or 243)")
    parser.add_argument("--causal", action="store_true",
                        help="predict the last frame of the window (no look-ahead)")
    parser.add_argument("--channels", type=int_at_least(1), default=128,
                        help="tcn: feature channels of each convolution")
    # --epochs 0 would write an untrained model; the training skips a batch of one sample
    # (batch norm needs two): with --batch-size 1 nothing would train
    parser.add_argument("--epochs", type=int_at_least(1), default=80,
                        help="training epochs (passes over freshly drawn samples), at least 1")
    parser.add_argument("--batch-size", type=int_at_least(2), default=128,
                        help="samples per optimiser step, at least 2")
    parser.add_argument("--lr", type=positive_float, default=2e-3,
                        help="learning rate of AdamW at the start (cosine decay to 0)")
    parser.add_argument("--virtual-per-epoch", type=int_at_least(0), default=4000,
                        help="virtual-camera samples drawn per epoch")
    parser.add_argument("--reprojection-weight", type=non_negative_float, default=0.5,
                        help="weight of the 2D reprojection term of the loss (mean error in "
                             "pixels at f = 1000 px; weight 1: 10 px count as 0.1 m of 3D "
                             "joint error)")
    parser.add_argument("--bone-weight", type=non_negative_float, default=0.0,
                        help="weight of the bone-length term of the loss (mean absolute "
                             "bone-length error, metres): keeps unusual poses from coming "
                             "out small")
    parser.add_argument("--limb-angle", type=non_negative_float, default=35.0,
                        help="largest random limb rotation of virtual poses, degrees")
    parser.add_argument("--bone-scale", type=non_negative_float, default=0.12,
                        help="relative range of random bone-length scaling")
    parser.add_argument("--synthetic-people", type=int_at_least(0), default=0,
                        help="also train on this many synthetic moving people "
                             "(core.synthetic.random_poses) through virtual cameras")
    parser.add_argument("--synthetic-share", type=_SHARE, default=0.5,
                        help="share of the virtual samples taken from synthetic people")
    parser.add_argument("--threads", type=int_at_least(1), default=1,
                        help="torch threads (1 is fastest on a loaded small CPU)")
    # (numpy's generators take 0 to 2**32 - 1, and the training draws with seed + 1: a review
    # found --seed -1 refused by numpy after the 2D, without naming the option)
    parser.add_argument("--seed", type=int_in(0, 2**32 - 2), default=0,
                        help="random seed (samples, augmentation, initial weights)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bars (log lines only)")
    add_common_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.init_from is not None and str(args.init_from) == SHIPPED_WEIGHTS_WORD:
        from pose3d_ros.core.lifting.runtime import DEFAULT_MODEL

        args.init_from = DEFAULT_MODEL.with_suffix(".pt")    # an input: never replaced
    if not args.recording and not args.bag and not args.mocap:
        parser.error("give at least one --recording, --bag or --mocap")
    if args.exclude_overlap and not args.multi_person:
        parser.error("--exclude-overlap applies to --multi-person labels")
    if not args.bag and (args.calibration or args.image_topics or args.self_calibrate):
        parser.error("--calibration, --image-topics and --self-calibrate apply to --bag "
                     "(a --recording folder brings its own calibration)")
    refuse_unused_options(parser, args)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # torch's own INFO lines (its exit hook's 'FakeTensor cache stats', printed when Ctrl-C
    # came while it was imported: a review) are not the tool's
    logging.getLogger("torch").setLevel(logging.WARNING)
    check_outputs(args)
    for recording in args.recording + args.exclude_overlap:
        check_recording(recording)           # before any 2D detection: cameras, videos
    for bag in args.bag:
        check_bag(bag, args.image_topics)
    if args.calibration is not None:
        # read and matched to each bag's cameras before any 2D detection (reviews: a missing
        # file, an unknown format, a rig without one of the bag's cameras was told after
        # BlazePose had run over the whole bag)
        from pose3d_ros.core.calibration import load_rig
        from pose3d_ros.core.lifting.bag_dataset import bag_camera_models
        from pose3d_ros.core.lifting.bag_extrinsics import rig_cameras_of
        rig = load_rig(args.calibration)
        for bag in args.bag:
            rig_cameras_of(bag_camera_models(bag, args.image_topics), rig,
                           str(args.calibration))

    import torch

    from pose3d_ros.core.lifting.training import export_onnx, train

    try:
        model_config = train_config(args, None).model
    except ValueError as err:
        parser.error(str(err))
    init = initial_checkpoint(args.init_from)
    init_config = None             # the training configuration of the weights started from
    if init is not None:                  # the weights must fit the model asked for
        from pose3d_ros.core.lifting.model import build_lifter
        try:
            # weights only: a file from elsewhere must not run code when read (a review: a
            # crafted .pt ran a shell command before the error)
            checkpoint = torch.load(init, weights_only=True, map_location="cpu")
            state = checkpoint["model"]
            if not isinstance(state, dict) or not isinstance(checkpoint.get("config", {}),
                                                             dict):
                raise TypeError("its 'model' or 'config' is no dictionary")
        except Exception as err:  # noqa: BLE001 - torch's unpickling raises many kinds
            raise UserError(f"--init-from {init} is not a train_lifter checkpoint of weights "
                            f"only ({type(err).__name__}); give a model's .pt, a .work folder "
                            "or its checkpoint.pt") from None
        init_config = checkpoint.get("config")
        trained = (init_config or {}).get("model") or {}
        asked = model_config.used()
        # same shapes, other model (causal vs centred): it trained on silently before; only
        # what the architecture uses (a review: a tcn's unused dim or prune_after blocked it)
        if differ := sorted(k for k in asked if trained and trained.get(k) != asked[k]):
            raise UserError(f"--init-from {init} was trained as another model: "
                            + ", ".join(f"{k} {trained.get(k)!r} (asked {asked[k]!r})"
                                        for k in differ) + "; give the options it was "
                            "trained with")
        try:
            build_lifter(model_config).load_state_dict(state)
        except RuntimeError:
            raise UserError(f"--init-from {init} holds a model of another shape than "
                            "--architecture/--window/--channels/--dim/--depth ask for; give "
                            "the options it was trained with") from None
    check_resume(args, train_config(args, init))
    torch.set_num_threads(args.threads)
    cache = args.cache_dir or default_data_dir() / "cache" / "lifter"
    # a failed or interrupted run leaves none of the folders it made empty (a review: an empty
    # <out>.work/ after "no output was written"); one holding a checkpoint stays
    with new_folders_removed_on_failure([work_dir(args), args.out.parent, cache]):
        if args.multi_person:
            labels = [lab for r in args.recording for lab in load_multi_person_labels(
                r, args.cache_dir, progress=not args.no_progress)]
            for held_out in args.exclude_overlap:
                labels = drop_overlapping(labels, load_labels(held_out, cache, progress=False),
                                          held_out)
        else:
            labels = [load_labels(r, cache, progress=not args.no_progress) for r in args.recording]
        labels += [load_bag_labels(bag, cache, args.calibration, args.image_topics, args.sync_slop,
                                   use_tf=not args.self_calibrate, person_height=args.person_height,
                                   progress=not args.no_progress) for bag in args.bag]
        mocap, errors = None, None
        if args.mocap:
            from pose3d_ros.core.error_model import load_error_model
            from pose3d_ros.core.mocap import load_mocap

            mocap = load_mocap(args.mocap_clips)
            errors = None if args.perfect_2d else load_error_model()
        config = train_config(args, init)
        work = work_dir(args)
        if not (args.resume and (work / DATA_FILE).is_file()):
            import json

            work.mkdir(parents=True, exist_ok=True)
            (work / DATA_FILE).write_text(json.dumps(training_data(args), indent=1) + "\n")
        try:
            model = train(labels, config, work, resume=args.resume, progress=not args.no_progress,
                          mocap=mocap, errors=errors)
        except BaseException as err:
            if not (work / "checkpoint.pt").is_file():
                # nothing to resume: the data file goes too, so that the folders this run
                # made are left empty and removed (new_folders_removed_on_failure)
                (work / DATA_FILE).unlink(missing_ok=True)
                raise
            if not isinstance(err, KeyboardInterrupt):   # (SIGTERM: its subclass Terminated)
                raise
            raise type(err)(f"no output was written; the last finished epoch is kept in "
                            f"{work}: the same command with --resume continues from it") from err
        meta = export_onnx(model, args.out, overwrite=args.overwrite, extra_metadata={
            "trained_on": [str(r) for r in args.recording] + [str(b) for b in args.bag]
            + ([f"mocap:{','.join(c.name for c in mocap)}"] if mocap else []),
            # (found by an audit: relative names and no word on the poses behind the labels)
            "bags": [{"path": str(b.resolve()), "extrinsics": lab.extrinsics}
                     for b, lab in zip(args.bag, labels[len(labels) - len(args.bag):],
                                       strict=True)],
            "error_model": None if errors is None else errors.source,
            "init_train_config": init_config,
            "command": "python -m pose3d_ros.tools.train_lifter " + " ".join(
                argv if argv is not None else sys.argv[1:])}, train_config=config.to_dict())
    log.info("wrote %s (T=%d, causal=%s)", args.out, meta["window"], meta["causal"])
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
