"""Why `blazepose_multi` loses the man of the `multi` demo in cam03 (issues #13/#14,
results_multiview.md 6z21): each stage of the back-end on his frames.

`multi` is `single` with a woman composited in (data_paths.DEMO_SHARED_FOOTAGE), so the man's
2D in `single` (the same back-end, which finds him in every frame there), mapped into the
`multi` video's pixels by the two videos' affine (selfcalib_disagreement.footage_affine), says
where he is. A person is "him" when the median of its 33 joints is within --radius px of that
(6z20's 25 px) and its presence reaches the back-end's min_presence_score. Per block of 10
frames of one camera:
  detector    the person detector's best score for him on the whole image (the detection of
              its weighted NMS whose ROI centre is nearest his hip centre), median;
  shipped     frames the back-end as shipped (ROI tracking, this camera alone) outputs him;
  his ROI     the landmark model on the ROI that tracks him in `single`, mapped into `multi`:
              frames it gives him / presence below the threshold / a skeleton off him (median
              joints past 50 px);
  det ROI     the same on the whole-image detection's own ROI for him;
  mediapipe   MediaPipe's own graph (the `blazepose` back-end: detector + tracked landmark
              model) outputs him.
If "his ROI" misses him where "shipped" does, no choice of ROI, search or merge rule of the
back-end can find him there: the landmark model, given his crop, answers someone else.

    python benchmarks/diagnose_lost_person.py [--camera 2] [--radius 25]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from selfcalib_disagreement import footage_affine  # noqa: E402

from pose3d_ros.core.data_paths import video_paths  # noqa: E402
from pose3d_ros.core.detection import create_detector  # noqa: E402
from pose3d_ros.core.detection.blazepose_multi import (  # noqa: E402
    DETECTOR_SIZE,
    TwoStageBlazePose,
    letterbox_square,
    roi_from_detection,
)
from pose3d_ros.core.detection.ssd_anchors import decode_pose_detector  # noqa: E402

HIPS = [23, 24]
BLOCK = 10  # frames per table row


def _read(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames


def _his_2d_and_rois(frames: list[np.ndarray], camera: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The man in `single`: keypoints (F, 33, 2) px and the ROI (F, 4) the tracking crops him
    with (NaN where it holds not exactly one ROI: the first frame, a search's extra)."""
    detector = create_detector("blazepose_multi")
    points = np.full((len(frames), 33, 2), np.nan)
    rois = np.full((len(frames), 4), np.nan)
    for t, image in enumerate(frames):
        state = detector._tracks.get(camera)
        tracked = None if state is None else state.rois
        found = detector.detect([image], cameras=[camera])[0]
        if found.num_people != 1:
            raise RuntimeError(f"`single` frame {t}: {found.num_people} people, expected 1")
        points[t] = found.keypoints[0]
        if tracked is not None and len(tracked) == 1:
            rois[t] = tracked[0]
    detector.close()
    return points, rois


def _error_px(points: np.ndarray, his: np.ndarray) -> np.ndarray:
    """Median over joints of |points - his| px: points (N, 33, 2), his (33, 2) -> (N,)."""
    return np.nanmedian(np.linalg.norm(points - his, axis=-1), axis=-1)


def _whole_image_detection(detector: TwoStageBlazePose, image: np.ndarray, hip: np.ndarray
                           ) -> tuple[float, np.ndarray]:
    """The person detector on the whole image: (score, ROI (4,)) of the detection whose ROI
    centre is nearest hip (2,) px; (0, NaN) if it finds nobody."""
    square, scale, pad = letterbox_square(image, DETECTOR_SIZE)
    raw_boxes, raw_scores = detector._detector((square * 2.0 - 1.0)[None])[:2]
    people = decode_pose_detector(raw_boxes[0], raw_scores[0],
                                  min_score=detector.min_detection_score)
    if not len(people.scores):
        return 0.0, np.full(4, np.nan)
    roi = roi_from_detection((people.keypoints * DETECTOR_SIZE - pad) / scale)
    nearest = int(np.argmin(np.linalg.norm(roi[:, :2] - hip, axis=1)))
    return float(people.scores[nearest]), roi[nearest]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--camera", type=int, default=2, help="camera index (2: cam03)")
    parser.add_argument("--radius", type=float, default=25.0,
                        help="px: a person within this median joint distance is him")
    args = parser.parse_args()
    single_path, multi_path = video_paths("single")[args.camera], video_paths("multi")[args.camera]
    affine = footage_affine(single_path, multi_path)[0]
    scale = float(np.sqrt(abs(np.linalg.det(affine[:, :2]))))
    single, multi = _read(single_path), _read(multi_path)
    count = min(len(single), len(multi))
    his_single, his_rois = _his_2d_and_rois(single[:count], args.camera)
    his = his_single @ affine[:, :2].T + affine[:, 2]                   # (F, 33, 2) multi px
    rois = his_rois.copy()
    rois[:, :2] = his_rois[:, :2] @ affine[:, :2].T + affine[:, 2]
    rois[:, 2] *= scale

    shipped = create_detector("blazepose_multi")
    probe = create_detector("blazepose_multi", track=False)
    mediapipe = create_detector("blazepose")
    threshold = probe.min_presence_score
    rows = []  # per frame: detector score, shipped, his-ROI (error, presence), det-ROI, mp
    for t in range(count):
        image = multi[t]
        found = shipped.detect([image], cameras=[args.camera])[0]
        shipped_error = _error_px(found.keypoints, his[t]).min(initial=np.inf)
        score, det_roi = _whole_image_detection(probe, image, his[t][HIPS].mean(axis=0))
        probes = []
        for roi in (rois[t], det_roi):
            if np.isnan(roi).any():
                probes.append((np.nan, np.nan))
                continue
            points, _, presence = probe._landmarks([image], roi[None], np.zeros(1, int))[:3]
            probes.append((float(_error_px(points, his[t])[0]), float(presence[0])))
        own = mediapipe.detect([image])[0]
        mp_error = _error_px(own.keypoints, his[t]).min(initial=np.inf)
        rows.append((score, shipped_error, *probes[0], *probes[1], mp_error))
    for detector in (shipped, probe, mediapipe):
        detector.close()
    table = np.array(rows)

    def him(error: np.ndarray, presence: np.ndarray | None = None) -> int:
        ok = error < args.radius
        return int((ok & (presence >= threshold)).sum() if presence is not None else ok.sum())

    print(f"multi {multi_path.stem}: the man (within {args.radius:g} px of his `single` 2D, "
          f"affine scale {scale:.4f}, shift {affine[0, 2]:+.1f} / {affine[1, 2]:+.1f} px); "
          f"per block, frames that give him")
    print("| frames | detector score (median) | shipped | his ROI: him / presence < "
          f"{threshold:g} / off him | det ROI: him / presence < {threshold:g} / off him | "
          "mediapipe |")
    print("|---|---|---|---|---|---|")
    for start in range(0, count, BLOCK):
        part = table[start:start + BLOCK]
        cells = []
        for error, presence in ((part[:, 2], part[:, 3]), (part[:, 4], part[:, 5])):
            known = ~np.isnan(presence)
            cells.append(f"{him(error, presence)} / {int((presence[known] < threshold).sum())}"
                         f" / {int(((error >= args.radius) & (presence >= threshold)).sum())}"
                         + (f" ({int((~known).sum())} n/a)" if (~known).any() else ""))
        print(f"| {start}-{start + len(part) - 1} | {np.median(part[:, 0]):.2f} | "
              f"{him(part[:, 1])} | {cells[0]} | {cells[1]} | {him(part[:, 6])} |")
    print(f"| all {count} | {np.median(table[:, 0]):.2f} | {him(table[:, 1])} | "
          f"{him(table[:, 2], table[:, 3])} | {him(table[:, 4], table[:, 5])} | "
          f"{him(table[:, 6])} |")


if __name__ == "__main__":
    main()
