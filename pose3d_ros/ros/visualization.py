"""visualization_msgs/MarkerArray of 3D skeletons for rviz2: joints, bones and id labels.

One DELETEALL marker first (so people who left disappear), then per person: a SPHERE_LIST of
its joints (namespace "joints"), a LINE_LIST of its bones ("bones") and a TEXT_VIEW_FACING
label "id <n>" above the head ("ids": 0.25 m past the highest joint along the body's up axis,
the z axis of its body frame, so that it stands above the head in any output frame, the
camera's optical frame included, whose z is depth). Marker ids are the person ids; the colour
is a fixed function of the person id (golden-ratio hues), so a person keeps their colour.
Missing joints (NaN) and bones touching them are left out. In a rig (several cameras), people
placed from one camera's view are drawn half transparent and labelled "id <n> (one view)":
their depth is a monocular estimate. That is a set's lone people (Skeletons3D.person_methods)
and every person of a set that one camera alone made (sync.min_views 1: a review found them
drawn as triangulated ones); a one-camera node's people are all one view and drawn plainly.
"""
from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Duration, Time
from geometry_msgs.msg import Point, Vector3
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from pose3d_ros.core.body_frame import BodyFrames, body_frames, frame_up, people_up
from pose3d_ros.core.messages import seconds_to_ns
from pose3d_ros.core.playback import id_rgb
from pose3d_ros.core.types import ONE_VIEW_METHODS, Skeletons3D


def person_colour(person_id: int, alpha: float = 1.0) -> ColorRGBA:
    """A person id's colour, the one of the report and the playback (playback.id_rgb)."""
    r, g, b = id_rgb(person_id)
    return ColorRGBA(r=r, g=g, b=b, a=alpha)


def _points(xyz: np.ndarray) -> list[Point]:
    return [Point(x=x, y=y, z=z) for x, y, z in xyz.tolist()]


# Markers last this many output periods (each message also deletes the ones before), between
# these bounds (s): a fixed 0.5 s made people blink out between the outputs of a node slower
# than 2 Hz (a throttled camera, a slow machine: found by a review).
MARKER_PERIODS = 3.0
MARKER_LIFETIME_BOUNDS_S = (0.5, 5.0)


def marker_lifetime_s(previous: float | None, now: float) -> float:
    """The lifetime (s) of markers published at `now`, the previous ones at `previous`
    (s of the ROS clock rviz2 expires them on; None: the first; a clock gone back gives the
    shortest)."""
    low, high = MARKER_LIFETIME_BOUNDS_S
    return low if previous is None else min(max(MARKER_PERIODS * (now - previous), low), high)


def skeleton_markers(skeletons: Skeletons3D, stamp: Time, *, joint_radius_m: float = 0.04,
                     bone_width_m: float = 0.02, lifetime_s: float = 0.5,
                     frames: BodyFrames | None = None, rig: bool = True) -> MarkerArray:
    """Skeletons3D -> MarkerArray in skeletons.frame_id. frames: the people's body_frames()
    if already computed (the node shares them with TF and the 3D message); rig: the node has
    several cameras, so people placed from one view are told apart (module docstring)."""
    header = Header(stamp=stamp, frame_id=skeletons.frame_id)
    if frames is None:
        frames = body_frames(skeletons.positions, skeletons.layout)
    # (P, 3) where each id label goes above the person: the body's z axis; where a hip or
    # shoulder is missing (identity, whose z is the depth in a camera's optical frame: a
    # review found the label 0.33 m behind the head there), the person's own head-over-legs
    # direction, else the frame's up (frame_up)
    up = frames.rotations[..., 2]
    if not frames.known.all():
        own = people_up(skeletons.positions, skeletons.layout)
        own = np.where(np.isfinite(own).all(-1, keepdims=True), own,
                       frame_up(skeletons.positions, skeletons.layout))
        up = np.where(frames.known[:, None], up, own)
    sec, nanosec = divmod(seconds_to_ns(lifetime_s), 1_000_000_000)
    lifetime = Duration(sec=sec, nanosec=nanosec)
    markers = [Marker(header=header, action=Marker.DELETEALL)]
    bones = skeletons.layout.bones_array
    one_view = (np.isin(skeletons.methods(), ONE_VIEW_METHODS) if rig
                else np.zeros(skeletons.num_people, bool)).tolist()
    for k in range(skeletons.num_people):
        person_id = int(skeletons.ids[k])
        joints = skeletons.positions[k]
        seen = np.isfinite(joints).all(-1)
        if not seen.any():
            continue
        colour = person_colour(person_id, 0.5 if one_view[k] else 1.0)
        # one Point per visible joint, shared by the joint list and the bone ends (a message
        # may refer to the same object several times; it is serialised by value)
        points = dict(zip(np.flatnonzero(seen).tolist(), _points(joints[seen]), strict=True))
        markers.append(Marker(
            header=header, ns="joints", id=person_id, type=Marker.SPHERE_LIST,
            action=Marker.ADD, lifetime=lifetime, color=colour,
            scale=_vector(joint_radius_m * 2), points=list(points.values())))
        both = seen[bones[:, 0]] & seen[bones[:, 1]]
        if both.any():
            ends = bones[both].reshape(-1).tolist()   # a0, b0, a1, b1, ...
            line = Marker(header=header, ns="bones", id=person_id, type=Marker.LINE_LIST,
                          action=Marker.ADD, lifetime=lifetime, color=colour,
                          points=[points[j] for j in ends])
            line.scale.x = bone_width_m
            markers.append(line)
        top = joints[seen][np.argmax(joints[seen] @ up[k])] + 0.25 * up[k]
        label = Marker(header=header, ns="ids", id=person_id, type=Marker.TEXT_VIEW_FACING,
                       action=Marker.ADD, lifetime=lifetime, color=colour,
                       text=f"id {person_id}" + (" (one view)" if one_view[k] else ""))
        label.pose.position = Point(x=float(top[0]), y=float(top[1]), z=float(top[2]))
        label.pose.orientation.w = 1.0
        label.scale.z = 0.15
        markers.append(label)
    return MarkerArray(markers=markers)


def _vector(size: float) -> Vector3:
    return Vector3(x=size, y=size, z=size)
