"""The HTML report: self-contained, every section with a real PNG plot, opens in Chromium."""
from __future__ import annotations

import base64
import dataclasses
import re
import subprocess

import cv2
import numpy as np

from pose3d_ros.core.layouts import COCO17
from pose3d_ros.core.report import ReportData, Snapshot, render_report, write_report


def _data() -> ReportData:
    rng = np.random.default_rng(0)
    pose = rng.normal(scale=0.3, size=(1, 17, 3)) + [0, 0, 1]
    t = np.arange(50) / 60
    image = np.full((120, 80, 3), 200, np.uint8)
    return ReportData(
        title="run <1> & co", summary={"MPJPE [m]": 0.0421, "PSS (own clusters)": float("nan"),
                                       "id switches": 3, "latency total median [s]": 0.02},
        time_s=t, over_time={"MPJPE": 0.04 + 0.01 * np.sin(t), "PA-MPJPE": np.full(50, np.nan)},
        joint_names=COCO17.joint_names, per_joint={"MPJPE": rng.uniform(0, 0.1, 17)},
        per_camera={"cam01": {"reprojection error [px]": 4.0}, "cam02": {
            "reprojection error [px]": 6.5}},
        latency_s={"detect": rng.uniform(0.01, 0.03, 100), "total": np.r_[
            rng.uniform(0.02, 0.04, 99), 2.5]},
        snapshots=[Snapshot("t = 0", pose, pose + 0.02, COCO17.bones_array),
                   Snapshot("no reference", pose, None, COCO17.bones_array)],
        images=[("cam01 overlay", image)], notes=["reference: synthetic test data"])


def _pngs(html: str) -> list[np.ndarray]:
    found = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    return [cv2.imdecode(np.frombuffer(base64.b64decode(b), np.uint8), cv2.IMREAD_COLOR)
            for b in found]


def test_report_has_every_section_with_decodable_plots(tmp_path):
    html = render_report(_data())
    for heading in ("Summary", "Error over time", "Error per joint", "Per camera", "Latency",
                    "Skeleton snapshots", "Images"):
        assert f"<h2>{heading}</h2>" in html, heading
    images = _pngs(html)
    assert len(images) == 6 and all(im is not None and im.shape[0] > 50 for im in images)
    assert images[-1].shape == (120, 80, 3)
    assert "run &lt;1&gt; &amp; co" in html  # escaped
    assert "<th>PSS (own clusters)</th><td>n/a</td>" in html  # NaN is missing, never 0
    assert "<th>MPJPE [m]</th><td>0.0421</td>" in html
    # the figures it shows are explained, those it does not are not
    assert "What the figures mean" in html and "<dt>MPJPE</dt>" in html
    assert "<dt>PSS</dt>" in html and "<dt>bone-length CV</dt>" not in html
    # the per-camera figures are explained under their table; with one camera, what its
    # reprojection error cannot say (it was unexplained: a review of the one-camera report)
    assert "reprojection error: the published 3D skeletons projected" in html
    assert "With one camera" not in html
    one = render_report(dataclasses.replace(_data(), per_camera={"cam01": {
        "2D people (detector, all frames)": 10.0, "reprojection error [px]": 4.0}}))
    assert "With one camera the 3D was made from this camera&#x27;s own 2D" in one
    assert "http://" not in html and "https://" not in html and "<script" not in html
    path = write_report(_data(), tmp_path / "sub" / "report.html")
    assert path.read_text() == html


def test_sections_without_data_are_left_out():
    html = render_report(ReportData(title="empty", summary={"frames": 0}))
    assert "<h2>Summary</h2>" in html and "<img" not in html
    assert "Error over time" not in html and "Latency" not in html


def test_report_renders_in_headless_chromium(tmp_path):
    """Needs Debian's chromium (scripts/test.sh installs it), as the playback test does."""
    report = write_report(_data(), tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--no-first-run", "--hide-scrollbars",
                    "--window-size=1000,2400", f"--screenshot={shot}", report.as_uri()],
                   check=True, capture_output=True, timeout=120)
    image = cv2.imread(str(shot))
    assert image.shape[:2] == (2400, 1000)
    # The plots are drawn: the page is not blank and holds the blues/oranges of the bars.
    assert image.std() > 20
    blue = (image[..., 0] > 150) & (image[..., 2] < 100)
    assert blue.sum() > 1000


def test_3d_playback_shows_people_when_the_first_frames_have_none(tmp_path):
    """One-camera runs publish a person from their third frame: the playback page opened
    blank (plotly draws no scene for a first frame of gaps). It now opens on the first frame
    with people, inside a scene that every frame keeps."""
    from pose3d_ros.core.body_model import canonical_pose
    from pose3d_ros.core.layouts import H36M17
    from pose3d_ros.core.playback import playback_html
    body = canonical_pose(H36M17)[None]                                     # (1, 17, 3)
    frames = [np.zeros((0, 17, 3))] * 2 + [body + [0.02 * k, 0, 0] for k in range(8)]
    ids = [np.zeros(0, np.int64)] * 2 + [np.ones(1, np.int64)] * 8
    page = tmp_path / "playback.html"
    page.write_text(playback_html(np.arange(10) / 30, frames, ids, H36M17))
    assert "frames shown" not in page.read_text()
    # a long run is shown at MAX_FRAMES frames, and the page says so
    from pose3d_ros.core.playback import MAX_FRAMES
    long = 3 * MAX_FRAMES
    many = playback_html(np.arange(long) / 30, [body] * long, [np.ones(1, np.int64)] * long,
                         H36M17)
    assert f"{MAX_FRAMES} of {long} frames shown, about one in 3.0" in many
    shot = tmp_path / "shot.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--use-gl=swiftshader",
                    "--enable-unsafe-swiftshader", "--disable-background-networking",
                    "--no-first-run", "--hide-scrollbars", "--window-size=900,700",
                    "--virtual-time-budget=5000", f"--screenshot={shot}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    image = cv2.imread(str(shot)).astype(int)
    red = (image[..., 2] > 150) & (image[..., 1] < 90) & (image[..., 0] < 90)  # id 1: #d62728
    assert red.sum() > 200, "the person is not drawn"


def test_snapshots_say_turned_only_when_they_were():
    """Found by a review: the snapshots' text and axes said "turned so that the bodies stand
    up" and "along the bodies' up" for a z-up world frame, where nothing was turned and z is
    a height above the floor."""
    from pose3d_ros.core.layouts import H36M17
    from pose3d_ros.core.mocap import load_mocap
    from pose3d_ros.core.report import upright_snapshots

    walker = load_mocap(["walk"])[0].joints[:1]        # (1, 17, 3) metres, z up
    z_up = Snapshot("t", walker, None, H36M17.bones_array)
    # as a camera's optical frame holds it: y down
    y_down = Snapshot("t", walker[..., [0, 2, 1]] * np.array([1.0, -1.0, 1.0]), None,
                      H36M17.bones_array)
    (turned,), (kept,) = (upright_snapshots([y_down], H36M17),
                          upright_snapshots([z_up], H36M17))
    assert turned.turned and not kept.turned
    np.testing.assert_allclose(kept.pred, z_up.pred)
    page = {name: render_report(ReportData(title="t", summary={}, snapshots=[snap]))
            for name, snap in (("turned", turned), ("kept", kept))}
    assert "turned so that the bodies stand up" in page["turned"]
    assert "in the output frame (z up)" in page["kept"] and "turned so" not in page["kept"]
