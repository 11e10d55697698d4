"""Self-contained HTML evaluation report: one file, plots embedded as base64 PNG (matplotlib).

The report holds a table of the headline metrics, error over time, error per joint, per-camera
figures, latency histograms, 3D skeleton snapshots (prediction against reference) and optional
camera images with overlays. It loads nothing from the network, so it opens anywhere, including
headless browsers in CI.
"""
from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PLOT_DPI = 90


@dataclass
class Snapshot:
    """Skeletons at one instant. pred (P, J, 3), ref (Q, J, 3) metres, same frame; bones (B, 2)."""

    label: str
    pred: np.ndarray
    ref: np.ndarray | None
    bones: np.ndarray


@dataclass
class ReportData:
    """Everything the report shows. Errors are in metres (shown in mm), times in seconds.

    time_s: (N,) frame times; over_time: label -> (N,) per-frame values (NaN = no value).
    joint_names: (J,); per_joint: label -> (J,) per-joint values.
    per_camera: camera -> {label: value}; latency_s: stage -> (K,) samples in seconds.
    images: (caption, BGR uint8 image) pairs, e.g. overlays of 2D and reprojected 3D.
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


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> str:
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
        ax.plot(time_s, 1000 * np.asarray(values, dtype=float), label=label, lw=1.2)
    ax.set_xlabel("time [s]")
    ax.set_ylabel("error [mm]")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
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
    ax.legend(fontsize=8)
    return _png(fig)


def plot_snapshots(snapshots: Sequence[Snapshot]) -> str:
    """3D views, one per snapshot: prediction in colour, reference in grey dashes."""
    plt = _pyplot()
    fig = plt.figure(figsize=(3.2 * len(snapshots), 3.4))
    for i, snap in enumerate(snapshots):
        ax = fig.add_subplot(1, len(snapshots), i + 1, projection="3d")
        everything = [snap.pred.reshape(-1, 3)]
        if snap.ref is not None:
            everything.append(snap.ref.reshape(-1, 3))
            _draw_people(ax, snap.ref, snap.bones, colour="0.55", style="--")
        _draw_people(ax, snap.pred, snap.bones, colour=None, style="-")
        points = np.concatenate(everything)
        points = points[np.isfinite(points).all(axis=1)]
        if len(points):
            centre = (points.max(0) + points.min(0)) / 2
            half = max(float((points.max(0) - points.min(0)).max()) / 2, 0.5)
            ax.set_xlim(centre[0] - half, centre[0] + half)
            ax.set_ylim(centre[1] - half, centre[1] + half)
            ax.set_zlim(centre[2] - half, centre[2] + half)
        ax.set_title(snap.label, fontsize=8)
        ax.tick_params(labelsize=6)
    return _png(fig)


def _draw_people(ax, people: np.ndarray, bones: np.ndarray, colour: str | None,
                 style: str) -> None:
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]
    for p, joints in enumerate(np.asarray(people, dtype=float)):
        c = colour or colours[p % len(colours)]
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


def render_report(data: ReportData) -> str:
    """The report as one HTML string (no external resources)."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
             f"{html.escape(data.title)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{html.escape(data.title)}</h1>"]
    def table(items) -> str:
        rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{_format(v)}</td></tr>"
                       for k, v in items)
        return f"<table>{rows}</table>"

    latency_rows = [(k, v) for k, v in data.summary.items() if k.startswith("latency")]
    parts.append("<h2>Summary</h2>" + table(
        (k, v) for k, v in data.summary.items() if not k.startswith("latency")))
    for note in data.notes:
        parts.append(f"<p class='note'>{html.escape(note)}</p>")
    if len(data.time_s) and data.over_time:
        parts.append("<h2>Error over time</h2>" +
                     _img(plot_over_time(data.time_s, data.over_time), "error over time"))
    if data.per_joint:
        parts.append("<h2>Error per joint</h2>" +
                     _img(plot_per_joint(data.joint_names, data.per_joint), "error per joint"))
    if data.per_camera:
        parts.append("<h2>Per camera</h2>" +
                     _img(plot_per_camera(data.per_camera), "per camera"))
    if data.latency_s or latency_rows:
        parts.append("<h2>Latency</h2>" + table(latency_rows))
        if data.latency_s:
            parts.append(_img(plot_latency(data.latency_s), "latency"))
    if data.snapshots:
        parts.append("<h2>Skeleton snapshots</h2><p class='note'>prediction: colour, "
                     "reference: grey dashes; metres</p>" +
                     _img(plot_snapshots(data.snapshots), "skeleton snapshots"))
    if data.images:
        parts.append("<h2>Images</h2><div class='images'>")
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
