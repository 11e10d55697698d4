r"""Where the lifter's held-out motion-capture error comes from: a decomposition of the fold
models that `bench_lifter_mocap.py --save-dir` wrote (no training).

The same folds, seeds and virtual cameras as the benchmark, perfect 2D, the node's lift (flip
averaging, then the refinement to the 2D). Per frame, root-relative, camera optical frame
(x right, y down, z forward), mm:

  MPJPE      as scored;
  +size      the prediction scaled by the TRUE size ratio (sum of true bone lengths over the
             predicted): what knowing the person's size would give;
  N          N-MPJPE, the best scale about the root;
  R          the best rotation about the root (no scale);
  N+R        the best rotation and scale about the root (no translation);
  PA         PA-MPJPE (rotation, scale and translation);
and the size ratio (predicted / true bone sum), the angle of the best rotation about the root
split about the camera's axes (x: leaning towards / away from the camera, y: the heading
about the image's vertical, z: in the image plane), and the error along the camera's depth
axis against across it. Tables: per clip, per joint, per fold on the fold's held-out clips
against its training clips (the same cameras), and over virtual cameras of other
elevations, distances and rolls than the benchmark's (EvalCameras: 4 cameras, 4.5 m beyond
the path's reach, 1.6 m high, aimed 1 m above the floor: about 7 degrees down).

    python benchmarks/bench_lifter_mocap.py --folds 3 --epochs 240 --arm-mix 0.8 \
        --leg-mix 0.6 --clean-share 0.3 --flip --refine --save-dir folds
    python benchmarks/diagnose_lifter_mocap.py --folds 3 --epochs 240 --arm-mix 0.8 \
        --leg-mix 0.6 --clean-share 0.3 --load-dir folds
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_lifter_mocap import (  # noqa: E402
    arguments,
    load_fold,
    recipe,
    refined,
    torch_lift,
)

from pose3d_ros.core.array_ops import masked_rigid_fit  # noqa: E402
from pose3d_ros.core.camera import look_at_rotation  # noqa: E402
from pose3d_ros.core.layouts import H36M17  # noqa: E402
from pose3d_ros.core.lifting.mocap_eval import clip_views, observe  # noqa: E402
from pose3d_ros.core.lifting.training import window_indices  # noqa: E402


def views(joints: np.ndarray, elevation_deg: float, distance_m: float, roll_deg: float,
          num_cameras: int = 4, first_azimuth_deg: float = 30.0) -> np.ndarray:
    """(F, J, 3) WORLD joints -> (C, F, J, 3) in the optical frames of cameras around the
    path's centre, aimed 1 m above the floor from `elevation_deg` above that aim point's
    horizon, `distance_m` beyond the path's reach (horizontally), rolled by `roll_deg`."""
    centre = np.nanmean(joints[:, 0], axis=0)
    aim = np.array([centre[0], centre[1], 1.0])
    az = np.radians(first_azimuth_deg) + 2 * np.pi * np.arange(num_cameras) / num_cameras
    reach = np.nanmax(np.linalg.norm(joints[:, 0, :2] - centre[:2], axis=-1))
    flat = distance_m + reach
    height = 1.0 + flat * np.tan(np.radians(elevation_deg))
    position = np.stack([aim[0] + flat * np.cos(az), aim[1] + flat * np.sin(az),
                         np.full_like(az, height)], -1)
    R = look_at_rotation(position, np.broadcast_to(aim, position.shape), np.array([0, 0, 1.0]),
                         np.full(num_cameras, np.radians(roll_deg)))
    return np.einsum("cij,cfkj->cfki", R, joints[None] - position[:, None, None])


def lift_views(lift, cam: np.ndarray, fps: float, window: int, causal: bool
               ) -> tuple[np.ndarray, np.ndarray]:
    """(C, F, J, 3) camera-frame joints -> predictions and references (C*F, J, 3), root-relative
    metres, through perfect 2D (as mocap_eval.evaluate_clip)."""
    norm, scores = observe(cam, None, np.random.default_rng(0), fps)
    c, f = norm.shape[:2]
    idx = window_indices(f, window, causal)
    pred = lift(norm[:, idx].reshape(c * f, window, *norm.shape[2:]),
                scores[:, idx].reshape(c * f, window, -1))
    return pred, (cam - cam[:, :, :1]).reshape(c * f, *cam.shape[2:])


def rotation_about_root(pred: np.ndarray, ref: np.ndarray, scale: bool) -> tuple[np.ndarray,
                                                                                  np.ndarray]:
    """The rotation (and with scale the factor) about the root that best moves each (N, J, 3)
    root-relative pred onto ref: (moved (N, J, 3), rotations (N, 3, 3))."""
    u, s, vt = np.linalg.svd(np.einsum("nji,njk->nik", ref, pred))
    sign = np.where(np.linalg.det(u @ vt) < 0, -1.0, 1.0)
    u[:, :, 2] *= sign[:, None]
    s[:, 2] *= sign
    rot = u @ vt
    moved = np.einsum("nik,njk->nji", rot, pred)
    if scale:
        moved *= (s.sum(1) / (pred ** 2).sum((1, 2)))[:, None, None]
    return moved, rot


def bone_sum(poses: np.ndarray) -> np.ndarray:
    """(N, J, 3) -> (N,) the summed H36M-17 bone lengths."""
    bones = H36M17.bones_array
    return np.linalg.norm(poses[:, bones[:, 0]] - poses[:, bones[:, 1]], axis=-1).sum(-1)


def decompose(pred: np.ndarray, ref: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame figures (N,) of (N, J, 3) root-relative pred and ref (module docstring)."""
    def err(p: np.ndarray) -> np.ndarray:
        return 1000 * np.linalg.norm(p - ref, axis=-1).mean(-1)

    size = bone_sum(ref) / bone_sum(pred)
    n_scale = (pred * ref).sum((1, 2)) / (pred ** 2).sum((1, 2))
    rotated, rot = rotation_about_root(pred, ref, scale=False)
    both, _ = rotation_about_root(pred, ref, scale=True)
    mask = np.ones(pred.shape[:2], bool)
    from scipy.spatial.transform import Rotation

    angles = np.degrees(Rotation.from_matrix(rot).as_rotvec())
    gap = pred - ref
    return {"MPJPE": err(pred), "+size": err(pred * size[:, None, None]),
            "N": err(pred * n_scale[:, None, None]), "R": err(rotated), "N+R": err(both),
            "PA": err(masked_rigid_fit(pred, ref, mask, scale=True)),
            "size": 1 / size, "turn": np.linalg.norm(angles, axis=-1),
            "turn x": np.abs(angles[:, 0]), "turn y": np.abs(angles[:, 1]),
            "turn z": np.abs(angles[:, 2]),
            "depth": 1000 * np.abs(gap[..., 2]).mean(-1),
            "across": 1000 * np.linalg.norm(gap[..., :2], axis=-1).mean(-1)}


COLUMNS = ("MPJPE", "+size", "N", "R", "N+R", "PA", "size", "turn", "turn x", "turn y",
           "turn z", "depth", "across")


def row(name: str, figures: dict[str, np.ndarray], frames: int | None = None) -> str:
    cells = [f"{np.median(figures[k]):.3f}" if k == "size" else f"{np.mean(figures[k]):.1f}"
             for k in COLUMNS]
    return f"| {name} | {frames if frames is not None else len(figures['MPJPE'])} | " + \
        " | ".join(cells) + " |"


def header(first: str) -> str:
    names = [c + (" (median)" if c == "size" else " deg" if c.startswith("turn") else "")
             for c in COLUMNS]
    return f"| {first} | frames | " + " | ".join(names) + " |\n|" + "---|" * (len(COLUMNS) + 2)


def joined(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def main(argv: list[str] | None = None) -> int:
    import torch

    from pose3d_ros.core.mocap import load_mocap

    parser = arguments()
    parser.description = __doc__.split("\n\n")[0]
    parser.add_argument("--no-cameras", action="store_true",
                        help="skip the sweep over camera elevation, distance and roll")
    args = parser.parse_args(argv)
    if args.load_dir is None:
        parser.error("--load-dir: the folds that bench_lifter_mocap.py --save-dir wrote")
    if len(args.models) != 1:
        parser.error("--models: one model (its folds are decomposed)")
    model_name = args.models[0]
    torch.set_num_threads(1)
    clips = load_mocap()
    names = [c.name for c in clips]
    held: dict[str, dict] = {}
    per_joint: list[np.ndarray] = []
    folds = []
    sweep = {f"elevation {e:+d}": (e, 4.5, 0) for e in (-15, 0, 7, 20, 35, 50, 65)}
    sweep |= {f"distance {d:g} m": (7, d, 0) for d in (1.5, 3.0, 9.0)}
    sweep |= {f"roll {r:d}": (7, 4.5, r) for r in (10, 20, 30)}
    swept: dict[str, list] = {k: [] for k in sweep}
    for fold in args.only_folds if args.only_folds is not None else range(args.folds):
        config = recipe(model_name, args, seed=fold)
        model = load_fold(args.load_dir / f"fold{fold}_{model_name}.pt", config)
        window, causal = config.model.window, config.model.causal
        lift = refined(torch_lift(model, flip_average=True),
                       window - 1 if causal else window // 2)
        test = names[fold::args.folds]
        train_parts, test_parts = [], []
        for clip in clips:
            pred, ref = lift_views(lift, clip_views(clip.joints), clip.fps, window, causal)
            figures = decompose(pred, ref)
            if clip.name in test:
                held[clip.name] = figures
                test_parts.append(figures)
                per_joint.append(1000 * np.linalg.norm(pred - ref, axis=-1))
                if not args.no_cameras:
                    for key, (elev, dist, roll) in sweep.items():
                        swept[key].append(decompose(*lift_views(
                            lift, views(clip.joints, elev, dist, roll), clip.fps, window,
                            causal)))
            else:
                train_parts.append(figures)
        folds.append((fold, test, joined(test_parts), joined(train_parts)))
    print("\n### Per held-out clip (perfect 2D, flip + refine), mm; size: predicted / true "
          "bone sum")
    print(header("clip"))
    for name in sorted(held, key=lambda n: -np.mean(held[n]["MPJPE"])):
        print(row(name, held[name]))
    print(row("ALL", joined(list(held.values()))))
    print("\n### Held-out against training clips, per fold (the same cameras)")
    print(header("fold: clips"))
    for fold, test, test_fig, train_fig in folds:
        print(row(f"{fold} held out: {', '.join(test)}", test_fig))
        print(row(f"{fold} its training clips", train_fig))
    print("\n### Per joint, all held-out clips: MPJPE mm")
    joints = np.concatenate(per_joint).mean(0)
    print("| " + " | ".join(H36M17.joint_names) + " |\n|" + "---|" * len(joints))
    print("| " + " | ".join(f"{v:.1f}" for v in joints) + " |")
    if not args.no_cameras:
        print("\n### Other virtual cameras (all held-out clips; the benchmark's: elevation "
              "about +7, distance 4.5 m, roll 0)")
        print(header("cameras"))
        for key, parts in swept.items():
            print(row(key, joined(parts)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
