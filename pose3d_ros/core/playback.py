"""Interactive 3D playback of skeleton tracks for the HTML report (plotly, works offline).

playback_html() gives a whole HTML page with plotly.js embedded inline (no network; about
5 MB, so the report links to it as playback.html instead of carrying it): the
prediction's people coloured by id, the reference grey, a play button and a time slider;
drag to rotate, scroll to zoom. Skeletons are shown upright whatever frame they are in (a
camera's optical frame has y down): where the bodies' own median pelvis-to-thorax direction
lies more than body_frame.UPRIGHT_FRAME_DEG from +z, display_rotation() turns it to +z; a
frame whose z is already up (a world or rig frame) is shown as it is, axes and all, so that
people who lean or bend are shown leaning (an audit saw the single demo's world-frame scene
turned by 24 degrees, an upright man shown at 28).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .body_frame import frame_up
from .layouts import JointLayout

# One colour per id for every figure (the playback, the report's stability plot and its
# snapshots: a review saw one person red, blue and orange in the three); no grey, which is
# the reference's.
_PALETTE = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
            "#17becf", "#bcbd22", "#393b79")
# The most frames a playback page animates (6 MB of page); longer runs show frames evenly
# spread over the run, and the page's title says how many of how many.
MAX_FRAMES = 300


def id_colour(track_id: int) -> str:
    """The colour ("#rrggbb") of a person id in every figure: by the id's value, not its rank
    among the ids a figure shows (ids count from 1: the first is red; they repeat every 10).
    rviz2's markers take the same (id_rgb)."""
    return _PALETTE[(int(track_id) - 1) % len(_PALETTE)]


def id_rgb(track_id: int) -> tuple[float, float, float]:
    """id_colour as red, green, blue in 0..1 (rviz2's ColorRGBA): one person is one colour in
    rviz2 and in the report (a review: the markers had colours of their own)."""
    code = id_colour(track_id)
    return (int(code[1:3], 16) / 255.0, int(code[3:5], 16) / 255.0, int(code[5:7], 16) / 255.0)


def display_rotation(people: Sequence[np.ndarray], layout: JointLayout) -> np.ndarray:
    """(3, 3) rotation taking the frame's up axis (body_frame.frame_up: +z for a z-up frame,
    else the people's median body-up direction) to +z; identity when no body shows it or the
    frame is z-up already."""
    stacked = [np.asarray(p, np.float64) for p in people if len(p)]
    if not stacked:
        return np.eye(3)
    up = frame_up(np.concatenate(stacked), layout)
    axis = np.cross(up, [0.0, 0.0, 1.0])
    s, c = np.linalg.norm(axis), float(up[2])
    if s < 1e-9:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = axis / s
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * K + (1 - c) * K @ K


def _lines(people: np.ndarray, bones: np.ndarray) -> np.ndarray:
    """(P, J, 3) -> (P * B * 3, 3) bone segments separated by NaN rows (plotly line breaks)."""
    if len(people) == 0:
        return np.full((1, 3), np.nan)
    ends = people[:, bones]                                       # (P, B, 2, 3)
    gaps = np.full(ends.shape[:2] + (1, 3), np.nan)
    return np.concatenate([ends, gaps], axis=2).reshape(-1, 3)


def playback_html(time_s: np.ndarray, pred: Sequence[np.ndarray], pred_ids: Sequence[np.ndarray],
                  layout: JointLayout, ref: Sequence[np.ndarray] | None = None,
                  title: str = "3D playback") -> str:
    """HTML page (plotly.js inline) animating pred[t] (P_t, J, 3) metres with ids
    pred_ids[t] (P_t,), and optionally ref[t] (Q_t, J, 3) in the same frame, at time_s[t]."""
    import plotly.graph_objects as go

    T = len(time_s)
    picks = np.unique(np.linspace(0, T - 1, min(T, MAX_FRAMES)).round().astype(int)) if T \
        else np.zeros(0, int)
    if len(picks) < T:          # found by the long-input audit: it subsampled silently
        title = (f"{title}: {len(picks)} of {T} frames shown, about one in "
                 f"{T / len(picks):.1f} (the report's figures use every frame)")
    rotation = display_rotation(list(pred) + list(ref or []), layout)
    turned = not np.allclose(rotation, np.eye(3))
    bones = layout.bones_array
    ids = np.unique(np.concatenate([np.asarray(i, np.int64) for i in pred_ids]
                                   + [np.zeros(0, np.int64)]))
    every = [np.asarray(p, np.float64) @ rotation.T for p in list(pred) + list(ref or [])
             if len(p)]
    points = np.concatenate(every).reshape(-1, 3) if every else np.zeros((1, 3))
    points = points[np.isfinite(points).all(-1)]
    low, high = (points.min(0), points.max(0)) if len(points) else (-np.ones(3), np.ones(3))
    pad = 0.2 + 0.05 * (high - low)

    # Invisible corners of the shown volume, in every frame: a frame whose traces hold only
    # gaps (nobody there, e.g. a one-camera run's first two frames) keeps its scene.
    corners = np.array(np.meshgrid(*zip(low - pad, high + pad, strict=True))).reshape(3, -1)

    def traces(t: int) -> list:
        out = [go.Scatter3d(x=corners[0], y=corners[1], z=corners[2], mode="markers",
                            marker=dict(size=1, opacity=0), hoverinfo="skip",
                            showlegend=False)]
        if ref is not None:
            line = _lines(np.asarray(ref[t], np.float64) @ rotation.T, bones)
            out.append(go.Scatter3d(x=line[:, 0], y=line[:, 1], z=line[:, 2], mode="lines",
                                    line=dict(color="#999999", width=6), name="reference"))
        people = np.asarray(pred[t], np.float64) @ rotation.T
        frame_ids = np.asarray(pred_ids[t], np.int64)
        for track in ids:
            mine = people[frame_ids == track]
            line = _lines(mine, bones)
            out.append(go.Scatter3d(x=line[:, 0], y=line[:, 1], z=line[:, 2], mode="lines",
                                    line=dict(color=id_colour(track), width=4),
                                    name=f"id {track}"))
        return out

    busy = [int(t) for t in picks if len(pred[int(t)])]
    first = busy[0] if busy else int(picks[0]) if len(picks) else 0    # open on people
    figure = go.Figure(data=traces(first) if T else [], frames=[
        go.Frame(data=traces(int(t)), name=str(int(t))) for t in picks])
    steps = [dict(method="animate", label=f"{time_s[t]:.2f}",
                  args=[[str(int(t))], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                            transition=dict(duration=0))]) for t in picks]
    dt_ms = int(1000 * np.median(np.diff(time_s[picks]))) if len(picks) > 1 else 100
    figure.update_layout(
        title=title, height=700, margin=dict(l=0, r=0, t=40, b=0),
        # the 3D box above the play buttons and the time slider, not under them
        # and far enough that the whole box shows (plotly's default eye cut its near corner)
        scene=dict(aspectmode="data", domain=dict(x=[0.0, 1.0], y=[0.2, 1.0]),
                   camera=dict(eye=dict(x=1.9, y=1.9, z=1.3)),
                   xaxis=dict(range=[low[0] - pad[0], high[0] + pad[0]],
                              title="[m] (turned)" if turned else "x [m]"),
                   yaxis=dict(range=[low[1] - pad[1], high[1] + pad[1]],
                              title="[m] (turned)" if turned else "y [m]"),
                   zaxis=dict(range=[low[2] - pad[2], high[2] + pad[2]],
                              title="up [m] (the people's own up direction)" if turned
                              else "z [m]")),
        updatemenus=[dict(type="buttons", showactive=False, x=0.05, y=0.05, buttons=[
            dict(label="play", method="animate",
                 args=[None, dict(frame=dict(duration=max(dt_ms, 20), redraw=True),
                                  fromcurrent=True, transition=dict(duration=0))]),
            dict(label="pause", method="animate",
                 args=[[None], dict(mode="immediate", frame=dict(duration=0, redraw=False))])])],
        sliders=[dict(steps=steps, active=int(np.searchsorted(picks, first)),
                      currentvalue=dict(prefix="t [s] = "), x=0.15, len=0.85)])
    # no auto_play: plotly's animation on load (3D frames not redrawn) left the page as
    # frame 0 drew it: blank when nobody was there yet
    return figure.to_html(full_html=True, include_plotlyjs=True, auto_play=False)
