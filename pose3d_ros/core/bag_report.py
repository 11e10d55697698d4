"""A bag's skeletons judged and reported: the reference, the scores, the report files.

Shared by the evaluate tool and the run-your-own-data tool:
  triangulation_reference  multi-view triangulation from all of a bag's cameras, without
                           tracking or filtering (None for a bag with one camera)
  write_bag_report         scores (with a reference), stability (always), the HTML report, its
                           3D playback page, overlays and an overlay video, into a folder
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .bag_tracks import count_frame_sets, run_pipeline
from .evaluation import Evaluation, SkeletonTrack, Stability, evaluate_tracks, stability
from .layouts import JointLayout
from .output_files import UserError, progress
from .report import Snapshot, upright_snapshots, write_evaluation

TRIANGULATION_NOTE = ("reference: multi-view triangulation from all cameras of the bag, "
                      "without tracking or filtering (it shares the 2D detector's errors: it "
                      "measures consistency, not ground-truth accuracy)")


def triangulation_reference(bag: Path, *, detector: str, detections: list[dict] | None = None,
                            max_frames: int | None = None,
                            output_layout: str = "",
                            detector_options: Mapping[str, Any] | None = None) -> SkeletonTrack:
    """All cameras of the bag triangulated frame set by frame set (no tracking, no filter);
    detections: 2D of an earlier run on all cameras, re-used instead of detecting again;
    detector_options: create_detector options of the back-end (run_pipeline)."""
    from .pipeline import PipelineParams

    total = len(detections) if detections else count_frame_sets(bag)
    with progress(min(total, max_frames or total), "reference") as bar:
        return run_pipeline(bag, detector=detector, detections=detections,
                            detector_options=detector_options,
                            params=PipelineParams(tracking=None, filtering=None,
                                                  output_layout=output_layout),
                            max_frames=max_frames, progress=bar.update).track


def write_bag_report(out: Path, bag: Path | None, pred: SkeletonTrack,
                     ref: SkeletonTrack | None, *, title: str, notes: Sequence[str] = (),
                     per_camera: dict | None = None, latency_s: dict | None = None,
                     overlay_camera: str | None = None, viewpoint: np.ndarray | None = None,
                     viewpoint_name: str = "",
                     max_match_distance: float = 0.5, tolerance_s: float = 0.004,
                     input_stamps_ns: np.ndarray | None = None
                     ) -> tuple[Evaluation | None, Stability]:
    """Into the folder `out`: evaluation.json, report.html, playback.html and, with
    overlay_camera, overlay_<camera>.mp4. bag: the bag whose images the overlays use (None:
    no images). pred, ref: tracks in the cameras' rig frame; ref None reports stability only.
    viewpoint: (3,) centre of the camera (named viewpoint_name) the root depth is measured
    from. input_stamps_ns: (S,) the
    stamps of the frame sets that went in (bag_tracks.frame_set_stamps), so that those
    without any output count (default: pred's own stamps, which cannot show a gap)."""
    from .overlay import overlay_images, write_overlay_video
    from .playback import playback_html

    evaluation = None
    if ref is not None:
        if ref.layout is None:
            raise UserError("the reference holds no skeleton (nobody found in any frame)")
        evaluation = evaluate_tracks(pred, ref, max_match_distance=max_match_distance,
                                     tolerance_s=tolerance_s, latency_s=latency_s)
    steady = stability(pred, viewpoint=viewpoint, viewpoint_name=viewpoint_name,
                       input_stamps_ns=input_stamps_ns)
    notes = list(notes)
    if evaluation is not None and not evaluation.summary.get("people detected"):
        # found by an audit: empty error plots on dummy axes and "id switches 0" said nothing
        notes.insert(0, "no predicted person matched a reference person in any frame: the "
                        "error figures (MPJPE, PCK, PSS, id switches) could not be measured; "
                        "see the people per frame and frames without output below")
    if not any(len(f.positions) for f in pred.frames):
        # found by a review: a run that published nobody had no word on it in its report
        notes.insert(0, "nobody was published in any frame set: no 3D skeletons, so no "
                        "overlay video and no 3D playback; the 2D people each camera's "
                        "detector found are under Per camera")
    time_s = (pred.stamps_ns - pred.stamps_ns[0]) / 1e9 if len(pred.stamps_ns) else np.zeros(0)
    layout: JointLayout | None
    if evaluation is not None and ref is not None:   # reference frames
        # every predicted person of the paired frame, ghosts too (not only the matched ones)
        layout, stamps, times = evaluation.layout, ref.stamps_ns, evaluation.time_s
        shown, truth = list(evaluation.pred_all), list(evaluation.ref)
    else:
        layout, stamps, times = pred.layout, pred.stamps_ns, time_s
        shown, truth = [f.positions for f in pred.frames], None
    T = len(stamps)
    images, snapshots, playback = [], [], ""
    if layout is not None and T:
        if bag is not None:
            images = list(overlay_images(bag, stamps, times, shown, truth,
                                         layout.bones_array, [T // 2]))
        busy: np.ndarray = (np.flatnonzero([len(p) for p in shown]) if evaluation is None
                            else np.zeros(0, np.intp))
        if len(busy):                 # with a reference, write_evaluation makes them
            picks = sorted({int(busy[0]), int(busy[len(busy) // 2]), int(busy[-1])})
            snapshots = upright_snapshots(
                [Snapshot(f"t = {times[t]:.2f} s", shown[t], None, layout.bones_array)
                 for t in picks], layout)
    if evaluation is not None and len(evaluation.time_s):   # the reference beside it, grey
        playback = playback_html(evaluation.time_s, evaluation.pred_all,
                                 evaluation.pred_all_ids, evaluation.layout,
                                 ref=list(evaluation.ref), title=title)
    elif pred.layout is not None and len(pred.frames):
        playback = playback_html(time_s, [f.positions for f in pred.frames],
                                 [f.ids for f in pred.frames], pred.layout, title=title)
    write_evaluation(evaluation, out, title=title, images=images, notes=notes,
                     per_camera=per_camera, stability=steady, stability_time_s=time_s,
                     playback_html=playback, snapshots=snapshots, summary=steady.summary(),
                     latency_s=latency_s)
    if overlay_camera and bag is not None and layout is not None and T:
        fps = 1.0 / np.median(np.diff(times)) if T > 1 else 30.0
        with progress(T, "overlay video") as bar:
            write_overlay_video(bag, stamps, times, shown, truth, layout.bones_array,
                                overlay_camera, out / f"overlay_{overlay_camera}.mp4", fps,
                                progress=bar.update)
    return evaluation, steady


def summary_lines(summary: dict[str, object], outputs: dict[str, Path]) -> list[str]:
    """What a tool prints at the end: each figure (4 significant digits, as in the report)
    and the path of each output file it wrote (outputs that do not exist, such as the overlay
    of a run that published nobody, are left out)."""
    def shown(value: object) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)
    return ([f"{key:40s} {shown(value)}" for key, value in summary.items()]
            + [f"{f'{name}:':15s}{path}" for name, path in outputs.items() if path.exists()])
