"""Self-contained HTML evaluation report: one file, plots embedded as base64 PNG (matplotlib).

The report holds a table of the headline metrics, error over time, error per joint, per-camera
figures, latency histograms, the no-reference stability figures (people per frame, id
timeline, root-depth trace), an interactive 3D playback (core.playback: plotly.js inline),
upright 3D skeleton snapshots (prediction against reference) and optional camera images with
overlays. It loads nothing from the network, so it opens anywhere, including headless browsers
in CI. write_evaluation() writes it with evaluation.json beside it.
"""
from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from .output_files import json_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .evaluation import Evaluation, Stability
    from .layouts import JointLayout

PLOT_DPI = 90


@dataclass(frozen=True)
class Snapshot:
    """Skeletons at one instant. pred (P, J, 3), ref (Q, J, 3) metres, same frame; bones (B, 2);
    ids (P,): pred's person ids, which pick their colours (playback.id_colour; None: 1..P);
    turned: turned so that the bodies stand up (upright_snapshots), not in their own frame."""

    label: str
    pred: np.ndarray
    ref: np.ndarray | None
    bones: np.ndarray
    ids: np.ndarray | None = None
    turned: bool = False


@dataclass
class ReportData:
    """Everything the report shows. Errors are in metres (shown in mm), times in seconds.

    time_s: (N,) frame times; over_time: label -> (N,) per-frame values (NaN = no value).
    joint_names: (J,); per_joint: label -> (J,) per-joint values.
    per_camera: camera -> {label: value}; latency_s: stage -> (K,) samples in seconds.
    images: (caption, BGR uint8 image) pairs, e.g. overlays of 2D and reprojected 3D.
    stability: no-reference figures (evaluation.Stability) over stability_time_s (T,) s.
    playback_link: relative path of the interactive 3D playback page ("" for none).
    """

    title: str
    summary: dict[str, object]
    time_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    over_time: dict[str, np.ndarray] = field(default_factory=dict)
    joint_names: Sequence[str] = ()
    per_joint: dict[str, np.ndarray] = field(default_factory=dict)
    per_camera: dict[str, dict[str, float]] = field(default_factory=dict)
    latency_s: dict[str, np.ndarray] = field(default_factory=dict)
    snapshots: list[Snapshot] = field(default_factory=list)
    images: list[tuple[str, np.ndarray]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stability: "Stability | None" = None
    stability_time_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    playback_link: str = ""


def _pyplot() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PLOT_DPI, bbox_inches="tight")
    _pyplot().close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(png_b64: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{png_b64}">'


def plot_over_time(time_s: np.ndarray, series: dict[str, np.ndarray]) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3))
    for label, values in series.items():
        # a dot on every value: a frame between frames without output has no line to draw
        # (a review: a run with dropped sets showed empty axes), and the legend outside the
        # axes (it hid the worst frames)
        ax.plot(time_s, 1000 * np.asarray(values, dtype=float), label=label, lw=1.2,
                marker=".", ms=3)
    ax.set_xlabel("time [s]")
    ax.set_ylabel("error [mm]")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return _png(fig)


def plot_per_joint(joint_names: Sequence[str], series: dict[str, np.ndarray]) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.2))
    x = np.arange(len(joint_names))
    width = 0.8 / max(len(series), 1)
    for i, (label, values) in enumerate(series.items()):
        ax.bar(x + i * width, 1000 * np.asarray(values, dtype=float), width, label=label)
    ax.set_xticks(x + 0.4 - width / 2)
    ax.set_xticklabels(joint_names, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("error [mm]")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def plot_per_camera(per_camera: dict[str, dict[str, float]]) -> str:
    plt = _pyplot()
    labels = sorted({k for values in per_camera.values() for k in values})
    fig, axes = plt.subplots(1, len(labels), figsize=(3.2 * len(labels), 2.8), squeeze=False)
    cameras = list(per_camera)
    for ax, label in zip(axes[0], labels, strict=True):
        ax.bar(cameras, [per_camera[c].get(label, np.nan) for c in cameras], color="tab:blue")
        ax.set_title(label, fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def plot_latency(latency_s: dict[str, np.ndarray]) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3))
    cleaned = {stage: 1000 * np.asarray(v, dtype=float) for stage, v in latency_s.items()}
    cleaned = {k: v[np.isfinite(v) & (v > 0)] for k, v in cleaned.items()}
    everything = np.concatenate([v for v in cleaned.values()] + [np.zeros(0)])
    if len(everything):
        low, high = everything.min(), everything.max()
        # Log-spaced bins when the samples span decades (a slow first frame, sub-ms stages).
        log_scale = high > 20 * low
        bins = np.geomspace(low, high * 1.0001, 40) if log_scale else np.linspace(low, high, 40)
        for stage, samples in cleaned.items():
            if len(samples):
                ax.hist(samples, bins=bins, alpha=0.6,
                        label=f"{stage} (median {np.median(samples):.1f} ms)")
        if log_scale:
            from matplotlib.ticker import FuncFormatter, LogLocator

            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
            ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_xlabel("latency [ms]")
    ax.set_ylabel("count")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:      # nothing answered: no histogram to name
        ax.legend(fontsize=8)
    return _png(fig)


def plot_stability(time_s: np.ndarray, stability: "Stability") -> str:
    """People per frame, the id timeline and each id's root depth over time (T,) s, one row
    per frame set: a set without output has 0 people and no depth (a gap in its line); each id
    in its colour of every figure (playback.id_colour)."""
    from .playback import id_colour

    plt = _pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(8, 6.5), sharex=True)
    axes[0].step(time_s, stability.people_per_frame, where="mid", color="tab:blue")
    axes[0].set_ylabel("people")
    axes[0].grid(alpha=0.3)
    for k, track in enumerate(stability.ids):
        shown = stability.present[:, k]
        axes[1].plot(time_s[shown], np.full(int(shown.sum()), k), "|", ms=8,
                     color=id_colour(track))
        axes[2].plot(time_s, stability.root_depth[:, k], lw=1.2, label=f"id {track}",
                     color=id_colour(track), marker=".", ms=3)
    axes[1].set_yticks(range(len(stability.ids)))
    axes[1].set_yticklabels([f"id {i}" for i in stability.ids], fontsize=7)
    axes[1].set_ylabel("id timeline")
    axes[2].set_ylabel("root depth [m]")
    axes[2].set_title(f"distance of each person's root from {stability.depth_from}",
                      fontsize=8)
    axes[2].set_xlabel("time [s]")
    axes[2].grid(alpha=0.3)
    if 0 < len(stability.ids) <= 10:
        axes[2].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _png(fig)


def plot_snapshots(snapshots: Sequence[Snapshot]) -> str:
    """3D views, one per snapshot: prediction in colour, reference in grey dashes."""
    plt = _pyplot()
    fig = plt.figure(figsize=(4.5 * len(snapshots), 4.8))
    for i, snap in enumerate(snapshots):
        ax = fig.add_subplot(1, len(snapshots), i + 1, projection="3d")
        everything = [snap.pred.reshape(-1, 3)]
        if snap.ref is not None:
            everything.append(snap.ref.reshape(-1, 3))
            _draw_people(ax, snap.ref, snap.bones, colour="0.55", style="--")
        _draw_people(ax, snap.pred, snap.bones, colour=None, style="-", ids=snap.ids)
        points = np.concatenate(everything)
        points = points[np.isfinite(points).all(axis=1)]
        if len(points):
            centre = (points.max(0) + points.min(0)) / 2
            half = max(float((points.max(0) - points.min(0)).max()) / 2, 0.5)
            ax.set_xlim(centre[0] - half, centre[0] + half)
            ax.set_ylim(centre[1] - half, centre[1] + half)
            ax.set_zlim(centre[2] - half, centre[2] + half)
        ax.set_title(snap.label, fontsize=9)
        # the frame's own axes unless turned (a review: "along the bodies' up" on a z-up
        # world frame, where z is a height above the floor)
        ax.set_xlabel("[m]" if snap.turned else "x [m]", fontsize=7)
        ax.set_ylabel("[m]" if snap.turned else "y [m]", fontsize=7)
        ax.set_zlabel("along the bodies' up [m]" if snap.turned else "z [m]", fontsize=7)
        ax.tick_params(labelsize=6)
    return _png(fig)


def _draw_people(ax: Axes, people: np.ndarray, bones: np.ndarray, colour: str | None,
                 style: str, ids: np.ndarray | None = None) -> None:
    """(P, J, 3) people in `colour`, or (None) each in its id's colour (playback.id_colour;
    ids None: 1..P), whatever their order in the list."""
    from .playback import id_colour

    for p, joints in enumerate(np.asarray(people, dtype=float)):
        c = colour or id_colour(p + 1 if ids is None else int(ids[p]))
        segments = joints[np.asarray(bones, dtype=np.intp)]  # (B, 2, 3)
        for seg in segments:
            if np.isfinite(seg).all():
                ax.plot(seg[:, 0], seg[:, 1], seg[:, 2], style, color=c, lw=1.5)


def _encode_image(image: np.ndarray) -> str:
    import cv2

    ok, buffer = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"cannot encode an image of shape {image.shape}")
    return base64.b64encode(buffer.tobytes()).decode("ascii")


def _format(value: object) -> str:
    if isinstance(value, float):
        return "n/a" if not np.isfinite(value) else f"{value:.4g}"
    return html.escape(str(value))


_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; max-width: 1100px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
img { max-width: 100%; } .note { color: #555; font-size: 0.9em; }
.images { display: flex; flex-wrap: wrap; gap: 8px; }
.images figure { margin: 0; font-size: 0.8em; color: #555; }
.images img { max-height: 360px; }
"""


# What each summary figure means, for the report's glossary (keyed by the figure's name
# up to its unit; only the figures a report holds are explained).
_GLOSSARY = {
    "MPJPE": "mean per-joint position error: the mean distance between each predicted joint "
             "and the same joint of the reference, over matched people and frames (lower is "
             "better, as for every error below)",
    "PA-MPJPE": "MPJPE after the best rotation, translation and scale of each predicted body "
                "onto its reference (Procrustes): the error of the pose alone",
    "N-MPJPE": "MPJPE of the body about its root (pelvis) after the best scale of each "
               "predicted body: the error without the person's size or place",
    "PCK3D@150mm": "share of joints within 150 mm of the reference (higher is better)",
    "AUC 0-150mm": "mean of PCK3D over the thresholds 0-150 mm (higher is better)",
    "PSS": "pose structure score: how often a predicted pose (about its root, scaled to unit "
           "size) falls in the same cluster of poses as its reference (1 = always); the "
           "clusters are k-means of this reference's own poses ('PSS clusters' of them), so "
           "the figure compares with other runs of the same reference, not with papers' "
           "PSS@50 / PSS@100 (clusters of Human3.6M); n/a below 20 complete reference "
           "poses (one cluster would score anything 1)",
    "velocity error": "mean error of the joints' velocities against the reference, over "
                      "pairs of consecutive reference frames that both have the person "
                      "predicted: n/a when there is none (a node that skipped every other "
                      "frame set)",
    "acceleration error": "mean error of the joints' accelerations against the reference, "
                          "over three consecutive reference frames that all have the person "
                          "predicted: n/a when there is none (a node that skipped sets)",
    "jitter (prediction)": "mean acceleration of the predicted joints over three consecutive "
                           "reference frames (lower is smoother; real motion counts too): n/a "
                           "when no three have the person predicted (a node that skipped "
                           "sets)",
    "reprojection error (pipeline)": "the triangulation's own figure: the root mean square "
                                     "distance in the images between each triangulated "
                                     "joint projected into the views it was made from and "
                                     "their 2D, before smoothing (n/a with one camera: "
                                     "nothing is triangulated); not the Per camera table's, "
                                     "which projects the published, smoothed 3D into each "
                                     "camera against all of its 2D joints",
    "detection rate": "share of the reference's person-frames that a predicted person matched "
                      "(higher is better)",
    "false positives": "predicted person-frames that match no reference person (lower is "
                       "better)",
    "matching": "how predicted and reference people are paired: with several cameras by 3D "
                "position (mean joint distance up to evaluate's --max-match-distance, 0.5 m "
                "unless given); with one camera in its image "
                "(both projected into it, mean keypoint distance up to half the reference "
                "person's size there), since one camera guesses depth: a person found at the "
                "wrong depth is detected, and the error shows in MPJPE and the root distance "
                "error; only reference people in the camera's view are expected",
    "reference person-frames outside the view": "one camera: reference people not in its "
                                                "image (not expected)",
    "root distance error": "one camera: median over matched people of |predicted - reference "
                           "distance of the root (pelvis) from the camera|: the monocular "
                           "depth's error",
    "root-aligned MPJPE": "one camera: MPJPE after moving each predicted root onto the "
                          "reference's: the body's shape and labels without its depth",
    "id switches": "times a reference person's matched prediction changed id (lower is "
                   "better)",
    "root-depth jitter": "frame-to-frame change of each person's root (pelvis) distance from "
                         "the camera (with several cameras the first one: the stability "
                         "plot names it); real motion towards or away from the camera counts "
                         "too, so lower is steadier only for a person standing still",
    "bone-length CV": "coefficient of variation (std / mean) of each person's bone lengths "
                      "over time, median over people and bones: 0 for a rigid body (lower "
                      "is better)",
    "frames without output": "input frame sets that got no output message; an empty message "
                             "(nobody found) counts as output: the stability plot shows the "
                             "people of each frame",
    "person-frames from one view": "person-frames placed from one camera alone (monocular)",
    "latency": "end to end over DDS: from the replay publishing a frame set's images to the "
               "node's output arriving (a lock-step replay: no camera exposure, camera "
               "transport or queueing is in it); offline or per stage: the compute time per "
               "frame set",
}


def per_camera_note(cameras: int) -> str:
    """What the Per camera table's figures are (bag_tracks.per_camera_figures), and with one
    camera what its reprojection error can and cannot say."""
    note = ("2D people: the people the camera's 2D detector found, summed over the frames; "
            "reprojection error: the published 3D skeletons projected into the camera against "
            "those 2D joints (pixels; the mean over every joint, which the detector's own "
            "faults raise, such as a left/right swap, and the median, which they move little: "
            "a median far above the other cameras' points at the camera's calibration or "
            "timing).")
    if cameras == 1:
        note += (" With one camera the 3D was made from this camera's own 2D, so the error "
                 "says how far the lifting moved the joints from what the detector saw, not "
                 "whether the 3D is right (that needs a reference).")
    return note


def glossary_rows(keys: Sequence[str]) -> list[tuple[str, str]]:
    """(name, meaning) for the figures among `keys` that _GLOSSARY explains, in its order."""
    def explained(entry: str) -> bool:
        return any(key == entry or key.startswith(entry + " ") for key in keys)
    return [(entry, meaning) for entry, meaning in _GLOSSARY.items() if explained(entry)]


def render_report(data: ReportData) -> str:
    """The report as one HTML string (no external resources)."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
             f"{html.escape(data.title)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{html.escape(data.title)}</h1>"]
    def table(items: Iterable[tuple[str, object]]) -> str:
        rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{_format(v)}</td></tr>"
                       for k, v in items)
        return f"<table>{rows}</table>"

    latency_rows = [(k, v) for k, v in data.summary.items() if k.startswith("latency")]
    parts.append("<h2>Summary</h2>" + table(
        (k, v) for k, v in data.summary.items() if not k.startswith("latency")))
    for note in data.notes:
        parts.append(f"<p class='note'>{html.escape(note)}</p>")
    if rows := glossary_rows(list(data.summary)):
        parts.append("<details><summary>What the figures mean</summary><dl>" + "".join(
            f"<dt>{html.escape(name)}</dt><dd>{html.escape(meaning)}</dd>"
            for name, meaning in rows) + "</dl></details>")
    if len(data.time_s) and data.over_time:
        parts.append("<h2>Error over time</h2>" +
                     _img(plot_over_time(data.time_s, data.over_time), "error over time"))
    if data.per_joint:
        parts.append("<h2>Error per joint</h2>" +
                     _img(plot_per_joint(data.joint_names, data.per_joint), "error per joint"))
    if data.per_camera:         # the numbers, then the bars (a review: bars alone gave no
        labels = sorted({k for values in data.per_camera.values() for k in values})   # value)
        head = "".join(f"<th>{html.escape(label)}</th>" for label in labels)
        body = "".join(f"<tr><th>{html.escape(camera)}</th>" + "".join(
            f"<td>{_format(values[label]) if label in values else ''}</td>"
            for label in labels) + "</tr>" for camera, values in data.per_camera.items())
        parts.append(f"<h2>Per camera</h2><table><tr><th>camera</th>{head}</tr>{body}</table>"
                     f"<p class='note'>{html.escape(per_camera_note(len(data.per_camera)))}"
                     "</p>" + _img(plot_per_camera(data.per_camera), "per camera"))
    if data.latency_s or latency_rows:
        parts.append("<h2>Latency</h2>" + table(latency_rows))
        if data.latency_s:
            parts.append(_img(plot_latency(data.latency_s), "latency"))
    if data.stability is not None and len(data.stability_time_s):
        parts.append("<h2>Stability (no reference needed)</h2>" +
                     _img(plot_stability(data.stability_time_s, data.stability), "stability"))
        if bones := data.stability.bone_cv_table():
            body = "".join(f"<tr><th>{html.escape(name)}</th><td>{_format(median)}</td>"
                           f"<td>{_format(worst)}</td><td>{track}</td></tr>"
                           for name, median, worst, track in bones)
            parts.append("<h3>Bone-length CV per bone</h3><p class='note'>std / mean of each "
                         "person's bone length over its frames (people seen in at least 10), "
                         "worst bone first</p><table><tr><th>bone</th><th>median over people"
                         "</th><th>largest</th><th>its id</th></tr>" + body + "</table>")
    if data.playback_link:
        link = html.escape(data.playback_link)
        parts.append(f"<h2>3D playback</h2><p><a href='{link}'>{link}</a>: the skeletons over "
                     "time, interactive (play, drag to rotate, scroll to zoom), shown upright "
                     "(a frame that is not z-up turned to the bodies' own up direction); a "
                     "self-contained page that works offline</p>")
    if data.snapshots:
        has_ref = any(snap.ref is not None for snap in data.snapshots)
        parts.append("<h2>Skeleton snapshots</h2><p class='note'>prediction: a colour per "
                     "person id, the same in the stability plot and the 3D playback" +
                     ("; reference: grey dashes" if has_ref else "") +
                     ("; metres, turned so that the bodies stand up (the vertical axis is "
                      "the people's own up direction, not a height above a floor)"
                      if any(snap.turned for snap in data.snapshots)
                      else "; metres, in the output frame (z up)") + "</p>" +
                     _img(plot_snapshots(data.snapshots), "skeleton snapshots"))
    if data.images:
        parts.append("<h2>Images</h2><p class='note'>the 3D reprojected into the cameras: "
                     "prediction magenta, its left limbs blue and its right limbs orange "
                     "(every person, ghosts too)" +
                     ("; reference green" if any(s.ref is not None for s in data.snapshots)
                      or data.over_time else "") + "</p><div class='images'>")
        for caption, image in data.images:
            parts.append(f"<figure>{_img(_encode_image(image), caption)}"
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(data: ReportData, path: Path | str) -> Path:
    """Write the HTML report to `path` (parent folders are created). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(data), encoding="utf-8")
    return path


def write_evaluation(evaluation: "Evaluation | None", out_dir: Path, *, title: str,
                     images: Iterable[tuple[str, np.ndarray]] = (), notes: Sequence[str] = (),
                     per_camera: dict[str, dict[str, float]] | None = None,
                     stability: "Stability | None" = None,
                     stability_time_s: np.ndarray | None = None,
                     playback_html: str = "", snapshots: Sequence[Snapshot] = (),
                     summary: dict[str, object] | None = None,
                     latency_s: dict[str, np.ndarray] | None = None) -> tuple[Path, Path]:
    """evaluation.json (summary, per-frame and per-joint series, NaN as null) and report.html
    in out_dir, and playback.html (the page playback.playback_html made) when given.
    evaluation: scores against a reference, or None (no reference: the summary is `summary`,
    usually Stability.summary(), and latency_s, stage -> seconds, is reported as it is)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    headline = dict(evaluation.summary if evaluation is not None else {})
    if evaluation is None and latency_s:
        from .evaluation import latency_summary
        headline.update(latency_summary(latency_s))
    headline.update(summary or {})
    payload: dict[str, object] = {"summary": headline,
                                  "notes": list(notes)}
    if evaluation is not None:
        joint_names = list(evaluation.layout.joint_names)
        payload.update({
            "time_s": evaluation.time_s.tolist(),
            "per_frame_m": dict(evaluation.per_frame),
            "per_joint_m": {k: dict(zip(joint_names, v, strict=True))
                            for k, v in evaluation.per_joint.items()},
            "latency_s": {k: v.tolist() for k, v in evaluation.latency_s.items()}})
    elif latency_s:
        payload["latency_s"] = {k: np.asarray(v, np.float64).tolist()
                                for k, v in latency_s.items()}
    if stability is not None:
        payload["stability"] = {
            "time_s": [] if stability_time_s is None else np.asarray(stability_time_s).tolist(),
            "ids": stability.ids.tolist(),
            "people_per_frame": stability.people_per_frame.tolist(),
            "root_depth_m": stability.root_depth.T,
            # bone -> one CV per id (null: fewer than 10 frames of it)
            "bone_cv": dict(zip(stability.bone_names, stability.bone_cv.T, strict=True))}
    if per_camera:        # (they were drawn only: an audit could not read them back)
        payload["per_camera"] = per_camera
    json_path = out_dir / "evaluation.json"
    json_path.write_text(json_text(payload))
    if playback_html:
        (out_dir / "playback.html").write_text(playback_html, encoding="utf-8")
    if not snapshots and evaluation is not None and len(evaluation.time_s):
        # the first, middle and last frames with somebody in them (an empty panel says
        # nothing); all frames when nobody is anywhere
        busy = np.flatnonzero([len(p) + len(r) for p, r in zip(evaluation.pred, evaluation.ref,
                                                                 strict=True)])
        # frames with a predicted person first (a review: every snapshot of a run showed the
        # reference alone, the prediction missing at those instants)
        predicted = np.flatnonzero(np.isfinite(evaluation.pred).all(-1).any((-1, -2)))
        frames = predicted if len(predicted) else busy if len(busy) else np.arange(
            len(evaluation.time_s))
        # every predicted person with its id (its colour in every figure), as the playback
        # and the images show them; evaluation.pred (by reference identity) has no ids
        with_ids = len(evaluation.pred_all) == len(evaluation.time_s)
        snapshots = [Snapshot(f"t = {evaluation.time_s[t]:.2f} s",
                              evaluation.pred_all[t] if with_ids else evaluation.pred[t],
                              evaluation.ref[t], evaluation.layout.bones_array,
                              evaluation.pred_all_ids[t] if with_ids else None)
                     for t in sorted({int(frames[0]), int(frames[len(frames) // 2]),
                                      int(frames[-1])})]
        snapshots = upright_snapshots(snapshots, evaluation.layout)
    data = ReportData(title=title, summary=headline, per_camera=per_camera or {},
                      snapshots=list(snapshots), images=list(images), notes=list(notes),
                      stability=stability,
                      playback_link="playback.html" if playback_html else "",
                      stability_time_s=np.zeros(0) if stability_time_s is None
                      else np.asarray(stability_time_s))
    if evaluation is not None:
        data.time_s, data.over_time = evaluation.time_s, evaluation.per_frame
        data.joint_names = list(evaluation.layout.joint_names)
        data.per_joint, data.latency_s = evaluation.per_joint, evaluation.latency_s
    elif latency_s:
        data.latency_s = {k: np.asarray(v, np.float64) for k, v in latency_s.items()}
    return json_path, write_report(data, out_dir / "report.html")


def upright_snapshots(snapshots: Sequence[Snapshot], layout: "JointLayout") -> list[Snapshot]:
    """Snapshots turned so that the bodies stand up (playback.display_rotation): a camera's
    optical frame (y down) would otherwise show people lying on their side."""
    from .playback import display_rotation

    rotation = display_rotation([s.pred for s in snapshots]
                                + [s.ref for s in snapshots if s.ref is not None], layout)
    turned = not np.allclose(rotation, np.eye(3))
    return [Snapshot(s.label, s.pred @ rotation.T, None if s.ref is None else s.ref @ rotation.T,
                     s.bones, s.ids, turned) for s in snapshots]
