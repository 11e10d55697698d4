"""Self-calibrate camera extrinsics from a person moving in synchronised videos; write a rig YAML.

Intrinsics must be known (one calibration file holding every camera: rig YAML, Pose2Sim TOML or
Qualisys QCA, whose extrinsics are ignored; or one camera_info YAML per video). 2D skeletons
come from mediapipe BlazePose (one person per video, the weights ship in the mediapipe wheel).
The rig frame of the result is the optical frame of the reference camera; metric scale comes
from --height (the person's height) via anthropometric limb fractions.

Examples:
  python -m pose3d_ros.tools.calibrate --videos a.mp4 b.mp4 c.mp4 \
      --intrinsics a.yaml b.yaml c.yaml --height 1.75 --out rig.yaml
  python -m pose3d_ros.tools.calibrate --demo single --out demo_rig.yaml
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from pose3d_ros.core.calibration import load_camera_info_yaml, load_rig, save_rig_yaml
from pose3d_ros.core.camera import CameraModel
from pose3d_ros.core.selfcalib import compare_rigs, self_calibrate

log = logging.getLogger(__name__)


def load_intrinsics(paths: list[Path], num_videos: int) -> list[CameraModel]:
    """Cameras (intrinsics) for the videos, in video order."""
    if len(paths) == 1:
        rig = load_rig(paths[0])
        if len(rig) != num_videos:
            raise ValueError(f"{paths[0]} holds {len(rig)} cameras for {num_videos} videos")
        return list(rig.cameras)
    if len(paths) != num_videos:
        raise ValueError(f"{len(paths)} intrinsics files for {num_videos} videos; give one file "
                         "with all cameras or one camera_info YAML per video")
    return [load_camera_info_yaml(p) for p in paths]


def detect(videos: list[Path], frames: int | None) -> tuple[np.ndarray, np.ndarray]:
    """BlazePose (mediapipe, one person per camera, cached) on each video ->
    keypoints (N, V, 33, 2) raw pixels, scores (N, V, 33)."""
    from pose3d_ros.core.demo_2d import detect_videos

    found = detect_videos(videos, "blazepose", frames=frames, smooth_landmarks=True)
    return found.keypoints[:, :, 0], found.scores[:, :, 0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--videos", nargs="+", type=Path, default=[],
                        help="synchronised videos, one per camera")
    parser.add_argument("--intrinsics", nargs="+", type=Path, default=[],
                        help="one calibration file with all cameras, or one camera_info YAML "
                             "per video")
    parser.add_argument("--demo", choices=["single", "multi"], default=None,
                        help="use a demo recording (its Qualisys intrinsics, cached 2D) and "
                             "report the error against its shipped extrinsics")
    parser.add_argument("--height", type=float, default=1.7,
                        help="height of the person in metres (scale prior, default 1.7)")
    parser.add_argument("--reference", type=int, default=0,
                        help="index of the camera that defines the rig frame")
    parser.add_argument("--frame-id", default="rig", help="frame_id written to the rig file")
    parser.add_argument("--frames", type=int, default=None, help="use the first N frames")
    parser.add_argument("--min-score", type=float, default=0.5)
    parser.add_argument("--out", type=Path, required=True, help="rig YAML to write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    reference_rig = None
    if args.demo:
        from pose3d_ros.core.data_paths import calibration_path
        from pose3d_ros.core.demo_2d import load_demo_2d

        reference_rig = load_rig(calibration_path(args.demo))
        cameras = list(reference_rig.cameras)
        demo = load_demo_2d(args.demo, frames=args.frames)
        kp, sc = demo.keypoints[:, :, 0], demo.scores[:, :, 0]
    else:
        if not args.videos or not args.intrinsics:
            parser.error("give --videos and --intrinsics, or --demo")
        cameras = load_intrinsics(args.intrinsics, len(args.videos))
        kp, sc = detect(args.videos, args.frames)

    result = self_calibrate(kp.astype(np.float64), sc.astype(np.float64), cameras,
                            person_height_m=args.height, min_score=args.min_score,
                            reference=args.reference, frame_id=args.frame_id)
    save_rig_yaml(result.rig, args.out)
    print(f"wrote {args.out}: {len(result.rig)} cameras, bundle RMS "
          f"{result.reprojection_rms_px:.2f} px over {result.num_observations} observations, "
          f"scale {result.scale:.4f} m/unit")
    if reference_rig is not None:
        cmp = compare_rigs(result.rig, reference_rig, args.reference)
        for i, name in enumerate(cmp.names):
            print(f"  {name}: rotation error {cmp.rotation_error_deg[i]:.2f} deg, translation "
                  f"direction error {cmp.translation_direction_error_deg[i]:.2f} deg, baseline "
                  f"ratio {cmp.scale_ratio[i]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
