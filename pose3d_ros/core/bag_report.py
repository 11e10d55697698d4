"""A bag's skeletons judged and reported: the reference, the scores, the report files.

Shared by the evaluate tool and the run-your-own-data tool:
  triangulation_reference  multi-view triangulation from all of a bag's cameras, without
                           tracking or filtering (None for a bag with one camera)
  write_bag_report         scores (with a reference), stability (always), the HTML report, its
                           3D playback page, overlays and an overlay video, into a folder;
                           every input frame set is shown (one without output: nobody)
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .bag_tracks import count_frame_sets, run_pipeline
from .camera import CameraModel
from .evaluation import (
    STAMP_MATCH_NS,
    Evaluation,
    SkeletonTrack,
    Stability,
    evaluate_tracks,
    pair_frames,
    stability,
)
from .layouts import JointLayout
from .left_right import joint_sides
from .messages import seconds_to_ns
from .output_files import UserError, progress
from .report import Snapshot, upright_snapshots, write_evaluation

TRIANGULATION_NOTE = ("reference: multi-view triangulation from all calibrated cameras of the "
                      "bag, without tracking or filtering (it shares the 2D detector's errors: "
                      "it measures consistency, not ground-truth accuracy)")


def left_out_note(bag: Path | str) -> list[str]:
    """The report's note on the bag's cameras with images and no CameraInfo (left out of the
    prediction and the reference: bag_cameras.cameras_without_info), none when there are
    none."""
    from .bag_cameras import cameras_without_info

    missing = cameras_without_info(bag)
    return ([f"left out: camera(s) {', '.join(missing)}, whose images the bag holds without "
             "a CameraInfo topic (no calibration)"] if missing else [])


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
                     input_stamps_ns: np.ndarray | None = None,
                     camera: CameraModel | None = None,
                     cameras: Mapping[str, CameraModel] | None = None
                     ) -> tuple[Evaluation | None, Stability]:
    """Into the folder `out`: evaluation.json, report.html, playback.html and, with
    overlay_camera, its overlay video (overlay.overlay_video_name). bag: the bag whose images
    the overlays use (None: no images). pred, ref: tracks in the cameras' rig frame; ref None
    reports stability only. viewpoint: (3,) centre of the camera (named viewpoint_name) the
    root depth is measured from. input_stamps_ns: (S,) the stamps of the frame sets that went
    in (bag_tracks.frame_set_stamps): those without any output count, and the stability plot,
    the overlay video and the playback show them with nobody (default: pred's own stamps,
    which cannot show a gap). With a reference, the overlay video and the playback are of
    its frames (a note says so when it covers only some inputs). camera: the one camera a
    one-camera prediction saw: people are matched to the reference in its image
    (evaluate_tracks). cameras: the bag's cameras as the run took them, for the overlays
    (default: bag_tracks.bag_cameras, the bag's calibrated ones)."""
    from .overlay import overlay_images, overlay_video_name, write_overlay_video
    from .playback import playback_html

    evaluation = None
    if ref is not None:
        if ref.layout is None:
            raise UserError("the reference holds no skeleton (nobody found in any frame)")
        evaluation = evaluate_tracks(pred, ref, max_match_distance=max_match_distance,
                                     tolerance_s=tolerance_s, latency_s=latency_s,
                                     camera=camera)
    # pairs outputs with input sets within --tolerance too (a review: outputs 2 ms from their
    # sets were refused as "another run" whatever --tolerance said)
    steady = stability(pred, viewpoint=viewpoint, viewpoint_name=viewpoint_name,
                       input_stamps_ns=input_stamps_ns,
                       tolerance_ns=max(STAMP_MATCH_NS, seconds_to_ns(tolerance_s)))
    notes = list(notes)
    if evaluation is not None and not evaluation.summary.get("people detected"):
        # found by an audit: empty error plots on dummy axes and "id switches 0" said nothing
        notes.insert(0, "no predicted person matched a reference person in any frame: the "
                        "error figures (MPJPE, PCK, PSS, id switches) could not be measured; "
                        "see the people per frame and frames without output below")
    if not any(len(f.positions) for f in pred.frames):
        # found by a review: a run that published nobody had no word on it in its report;
        # another: it pointed at a Per camera section that a run without 2D does not have
        notes.insert(0, "nobody was published in any frame set: no 3D skeletons, so no "
                        "overlay video and no 3D playback" + (
                            "; the 2D people each camera's detector found are under Per camera"
                            if per_camera else ", and no camera's 2D came with the prediction "
                            "(no per-camera figures)"))
    # every input frame set, in the input's time (a set without output shows nobody: a review
    # saw the stability plot, the overlay video and the playback pass over such sets)
    inputs = np.sort(np.asarray(pred.stamps_ns if input_stamps_ns is None
                                else input_stamps_ns, np.int64))
    output_of = pair_frames(pred.stamps_ns, inputs, STAMP_MATCH_NS)      # (S,) or -1
    time_s = (inputs - inputs[0]) / 1e9 if len(inputs) else np.zeros(0)
    layout: JointLayout | None
    if evaluation is not None and ref is not None:   # reference frames
        # every predicted person of the paired frame, ghosts too (not only the matched ones)
        layout, stamps, times = evaluation.layout, ref.stamps_ns, evaluation.time_s
        shown, truth = list(evaluation.pred_all), list(evaluation.ref)
        shown_ids = list(evaluation.pred_all_ids)
        if note := reference_coverage_note(inputs, ref.stamps_ns, tolerance_s,
                                           "input frame sets" if input_stamps_ns is not None
                                           else "output frames"):
            notes.append(note)
    else:
        layout, stamps, times, truth = pred.layout, inputs, time_s, None
        J = pred.layout.num_joints if pred.layout is not None else 0
        shown = [pred.frames[k].positions if k >= 0 else np.zeros((0, J, 3))
                 for k in output_of]
        shown_ids = [np.asarray(pred.frames[k].ids, np.int64) if k >= 0
                     else np.zeros(0, np.int64) for k in output_of]
    T = len(stamps)
    images, snapshots, playback = [], [], ""
    if layout is not None and T:
        if bag is not None:
            # the still at the middle frame with a predicted person (a review: the middle
            # frame had none, and the report's one picture showed no output)
            with_people = np.flatnonzero([len(p) for p in shown])
            still = int(with_people[len(with_people) // 2]) if len(with_people) else T // 2
            images = list(overlay_images(bag, stamps, times, shown, truth,
                                         layout.bones_array, [still], pred_ids=shown_ids,
                                         sides=joint_sides(layout), cameras=cameras))
        busy: np.ndarray = (np.flatnonzero([len(p) for p in shown]) if evaluation is None
                            else np.zeros(0, np.intp))
        if len(busy):                 # with a reference, write_evaluation makes them
            picks = sorted({int(busy[0]), int(busy[len(busy) // 2]), int(busy[-1])})
            snapshots = upright_snapshots(
                [Snapshot(f"t = {times[t]:.2f} s", shown[t], None, layout.bones_array,
                          shown_ids[t]) for t in picks], layout)
        # the reference beside it, grey
        playback = playback_html(times, shown, shown_ids, layout, ref=truth, title=title)
    write_evaluation(evaluation, out, title=title, images=images, notes=notes,
                     per_camera=per_camera, stability=per_input_frame(steady, output_of),
                     stability_time_s=time_s, playback_html=playback, snapshots=snapshots,
                     summary=steady.summary(), latency_s=latency_s)
    if overlay_camera and bag is not None and layout is not None and T:
        fps = 1.0 / np.median(np.diff(times)) if T > 1 else 30.0
        with progress(T, "overlay video") as bar:
            write_overlay_video(bag, stamps, times, shown, truth, layout.bones_array,
                                overlay_camera, out / overlay_video_name(overlay_camera), fps,
                                progress=bar.update, pred_ids=shown_ids,
                                sides=joint_sides(layout), cameras=cameras)
    return evaluation, steady


def per_input_frame(steady: Stability, output_of: np.ndarray) -> Stability:
    """steady's per-output rows (people_per_frame, present, root_depth) on the input frame
    sets: output_of (S,) is each set's output row, -1 for a set without output (0 people,
    nobody present, NaN depth: a gap in the plot's lines). The rest (the summary's
    figures) as they are."""
    has = output_of >= 0
    U = len(steady.ids)
    if not has.any():
        return replace(steady, people_per_frame=np.zeros(len(has), np.int64),
                       present=np.zeros((len(has), U), bool),
                       root_depth=np.full((len(has), U), np.nan))
    row = np.where(has, output_of, 0)
    return replace(steady, people_per_frame=np.where(has, steady.people_per_frame[row], 0),
                   present=steady.present[row] & has[:, None],
                   root_depth=np.where(has[:, None], steady.root_depth[row], np.nan))


def reference_coverage_note(inputs_ns: np.ndarray, ref_ns: np.ndarray, tolerance_s: float,
                            what: str) -> str | None:
    """A note when the reference (stamps ref_ns) pairs with only some of the inputs_ns (S,)
    (a review: a 40-frame truth stopped a 90-frame run's overlay video and playback at 1.33 s
    without a word); None when it covers them all."""
    covered = pair_frames(np.asarray(ref_ns, np.int64), inputs_ns, seconds_to_ns(tolerance_s)) >= 0
    if not len(inputs_ns) or covered.all():
        return None
    seconds = (inputs_ns[covered][[0, -1]] - inputs_ns[0]) / 1e9 if covered.any() else None
    return (f"the reference covers {int(covered.sum())} of the {len(inputs_ns)} {what}"
            + (f" ({seconds[0]:.2f}-{seconds[1]:.2f} s)" if seconds is not None else "")
            + ": the scores, the overlay video and the 3D playback are of those frames only; "
            "the stability figures are of all")


def summary_lines(summary: dict[str, object], outputs: dict[str, Path]) -> list[str]:
    """What a tool prints at the end: each figure (4 significant digits, as in the report)
    and the path of each output file it wrote (outputs that do not exist, such as the overlay
    of a run that published nobody, are left out)."""
    def shown(value: object) -> str:      # as the report shows it: n/a, not nan (a review)
        if isinstance(value, float):
            return f"{value:.4g}" if np.isfinite(value) else "n/a"
        return str(value)
    return ([f"{key:40s} {shown(value)}" for key, value in summary.items()]
            + [f"{f'{name}:':15s}{path}" for name, path in outputs.items() if path.exists()])
