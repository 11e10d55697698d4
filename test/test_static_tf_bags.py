"""The /tf_static the tools write is a tree (REP-105; tf2 ignores a transform from a frame to
itself, TF_SELF_TRANSFORM): the input bag of a camera without a pose (--hfov), a calibrated
rig's, and the output bag of the node run on them, which also holds the node's upright frame
at a camera without a pose (the fixed frame README.md gives rviz users for one camera)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from rigs import in_camera_frame

from pose3d_ros.core import bagio
from pose3d_ros.core.bag_tracks import bag_cameras
from pose3d_ros.core.calibration import load_rig
from pose3d_ros.core.data_paths import calibration_path, video_paths
from pose3d_ros.core.static_tf import (
    UPRIGHT_SUFFIX,
    StaticTransform,
    TransformTree,
    camera_transforms,
    transforms_from_message,
)
from pose3d_ros.core.video_bag import video_cameras, write_bag
from pose3d_ros.tools import run

START_NS = 1_700_000_000_000_000_000


def _tf_tree(bag: Path) -> tuple[list[StaticTransform], str]:
    """The bag's /tf_static transforms, checked to form one tree (no frame its own parent, one
    parent per frame, one root), and that root."""
    transforms = [t for _, _, msg in bagio.read_bag(bag, ["/tf_static"])
                  for t in transforms_from_message(msg)]
    assert transforms, f"{bag} has no transform on /tf_static"
    assert all(t.parent != t.child for t in transforms), [(t.parent, t.child)
                                                          for t in transforms]
    children = [t.child for t in transforms]
    assert len(children) == len(set(children)), children
    tree = TransformTree(transforms)
    roots = {tree.pose_in_root(frame)[0] for frame in tree.frames}     # raises on a cycle
    assert len(roots) == 1, roots
    return transforms, roots.pop()


def test_a_camera_without_a_pose_writes_no_transform_to_itself(tmp_path):
    """--hfov (or intrinsics alone): the camera's optical frame is the fixed frame; the bag
    held `camera_optical_frame -> camera_optical_frame` before (a review)."""
    video = video_paths("single")[0]
    cameras, fixed = video_cameras([video], None, 65.0)
    bag = write_bag(tmp_path / "bag", [video], cameras, fps=30.0, start_ns=START_NS,
                    storage="mcap", fixed_frame=fixed, scale=0.25, max_frames=2).path
    assert "/tf_static" not in bagio.bag_topics(bag)
    read, root = bag_cameras(bag)            # the camera, unposed, in its own optical frame
    [camera] = read.values()
    assert root == camera.frame_id == fixed
    assert np.allclose(camera.R, np.eye(3)) and np.allclose(camera.t, 0.0)


def test_a_rig_whose_frame_is_a_cameras_optical_frame_gives_that_camera_no_transform():
    """A self-calibrated rig named after its reference camera's optical frame (the nodes'
    publish_rig_tf and make_bag write camera_transforms): the others hang under it."""
    rig = load_rig(calibration_path("single"))
    reference = rig[0]
    cameras = in_camera_frame(rig, reference)                  # reference at identity
    frame = reference.frame_id
    transforms = camera_transforms(cameras, frame)
    assert [t.child for t in transforms] == [c.frame_id for c in cameras[1:]]
    assert {t.parent for t in transforms} == {frame}


def test_a_bag_of_a_rig_named_after_its_reference_camera_gives_every_camera_back(tmp_path):
    """The reference camera of such a rig has no transform (it is the root): the bag reader
    left it out as unposed (a review); it is at identity in its own frame."""
    rig = load_rig(calibration_path("single"))
    reference = rig["cam01"]
    cameras = in_camera_frame((rig["cam01"], rig["cam02"]), reference)
    bag = write_bag(tmp_path / "bag", video_paths("single")[:2], cameras, fps=60.0,
                    start_ns=START_NS, storage="mcap", fixed_frame=reference.frame_id,
                    scale=0.25, max_frames=1, crop_to_video=True).path
    read, root = bag_cameras(bag)
    assert root == reference.frame_id and sorted(read) == ["cam01", "cam02"]
    assert np.allclose(read["cam01"].R, np.eye(3)) and np.allclose(read["cam01"].t, 0.0)
    assert np.allclose(read["cam02"].R, cameras[1].R, atol=1e-9)
    assert np.allclose(read["cam02"].t, cameras[1].t, atol=1e-9)


def test_a_calibrated_rig_bag_is_one_tree_under_its_frame(tmp_path):
    rig = load_rig(calibration_path("single"))
    cameras = [rig[name] for name in ("cam01", "cam02")]
    bag = write_bag(tmp_path / "bag", video_paths("single")[:2], cameras, fps=60.0,
                    start_ns=START_NS, storage="mcap", fixed_frame=rig.frame_id, scale=0.25,
                    max_frames=1, crop_to_video=True).path
    transforms, root = _tf_tree(bag)
    assert root == rig.frame_id
    assert sorted(t.child for t in transforms) == sorted(c.frame_id for c in cameras)


def test_the_output_bag_holds_the_nodes_upright_frame_of_a_camera_without_a_pose(tmp_path):
    """run --hfov: the output bag's /tf_static is the node's `<optical>_upright` under the
    camera's optical frame (it copied the input's self-transform and lacked the upright
    frame before); a calibrated camera's output keeps the input's rig tree."""
    video = str(video_paths("single")[0])
    out = tmp_path / "fov"
    assert run.main(["--videos", video, "--hfov", "60", "--out-dir", str(out),
                     "--max-frames", "3", "--scale", "0.5"]) == 0
    transforms, root = _tf_tree(out / "output_bag")
    assert root == "camera_optical_frame"
    assert [(t.parent, t.child) for t in transforms] == [
        ("camera_optical_frame", "camera_optical_frame" + UPRIGHT_SUFFIX)]
    out = tmp_path / "calibrated"      # the video named after its camera of the rig
    assert run.main(["--videos", video, "--calibration", str(calibration_path("single")),
                     "--out-dir", str(out), "--max-frames", "3", "--scale", "0.5"]) == 0
    transforms, root = _tf_tree(out / "output_bag")
    assert root == "world" and [t.child for t in transforms] == ["cam01_optical_frame"]
    [given], _ = _tf_tree(out / "input_bag")
    assert np.allclose(given.translation, transforms[0].translation)
    assert np.allclose(given.rotation, transforms[0].rotation)
