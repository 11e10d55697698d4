"""Synchronised videos plus a calibration -> a rosbag2 the nodes can replay.

Per camera k (named after its calibration entry, e.g. cam01):
  /cam01/image_raw             sensor_msgs/Image (bgr8)            or, compressed,
  /cam01/image_raw/compressed  sensor_msgs/CompressedImage (JPEG)
  /cam01/camera_info           sensor_msgs/CameraInfo (K, D, P = [K | 0], distortion model)
and once, latched:
  /tf_static                   tf2_msgs/TFMessage: <fixed frame> -> cam01_optical_frame, ...

Frame i of every video is stamped start + i / fps (the videos are synchronised by frame index).
Camera frames follow REP-103 optical axes (z forward, x right, y down). The command line is
pose3d_ros.tools.make_bag; the run-your-own-data tool (pose3d_ros.tools.run) uses it too.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2

from . import bagio
from .bag_cameras import camera_name_problem
from .calibration import load_rig
from .camera import CameraModel, pinhole_from_fov
from .messages import seconds_to_ns
from .once import first_time
from .static_tf import camera_transforms
from .video import (
    FrameClock,
    first_frame_off_rate,
    off_rate,
    readable_video_size,
    timed_frames,
    video_fps,
)

log = logging.getLogger(__name__)

DEFAULT_FIXED_FRAME = "rig"
# Videos whose frame rates differ by more than this fraction are not paired frame by frame.
FPS_TOLERANCE = 0.01

# A video at most this many pixels smaller than its calibrated image (in each direction) is
# the calibrated image stored without the encoder's padding (1080 of 1088 rows): its top-left
# part. Anything smaller is another size (a resized video), not a crop.
ENCODER_PADDING_PX = 16
# Bytes per pixel of a bag's JPEG frames (quality 90) of camera video, with margin: measured
# 0.17-0.21 (the demo's cameras at half size, the sports2d phone video at 1768x994; the
# long-input audit, benchmarks/results_nodes.md session 19). Raw frames take 3.
JPEG_BYTES_PER_PIXEL = 0.3


def bag_bytes_estimate(cameras: Sequence[CameraModel], frames: int, scale: float = 1.0,
                       compressed: bool = True) -> int:
    """About how many bytes write_bag needs for `frames` frame sets of these cameras' images
    (each camera's calibrated size times `scale`), JPEG or raw: an upper estimate."""
    pixels = sum(round(c.width * scale) * round(c.height * scale) for c in cameras)
    return int(frames * pixels * (JPEG_BYTES_PER_PIXEL if compressed else 3.0))


def disk_problem(needed_bytes: int, free_bytes: int, where: Path) -> str:
    """One line when a bag of needed_bytes will not fit in where's free_bytes (with a 10 %
    margin), else ""."""
    if needed_bytes * 1.1 <= free_bytes:
        return ""
    return (f"the input bag of these videos needs about {byte_size(needed_bytes)} in {where}, "
            f"which has {byte_size(free_bytes)} free: free some space, choose another "
            "--out-dir, or shorten (--max-frames) or shrink (--scale) the input")


def byte_size(count: int) -> str:
    """A byte count for people: '3.1 MB', '1.2 GB' (a small bag was told as '0.0 GB in a
    folder which has 0.0 GB free')."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def cameras_from_calibration(path: Path) -> tuple[list[CameraModel], str]:
    """Load a rig calibration (our YAML, Pose2Sim .toml, Qualisys .qca.txt) with
    core.calibration.load_rig: its cameras (optical frame <name>_optical_frame where the file
    names none) and the rig's frame id."""
    rig = load_rig(path)
    cameras = [replace(cam, frame_id=cam.frame_id or f"{cam.name}_optical_frame")
               for cam in rig.cameras]
    return cameras, rig.frame_id or DEFAULT_FIXED_FRAME


def cameras_for_videos(videos: Sequence[Path], path: Path, *, by_name_only: bool = False
                       ) -> tuple[list[CameraModel], str]:
    """The calibrated cameras (cameras_from_calibration) that `videos` show, in video order,
    and the rig's frame id. A video names a camera by its file name (`cam02.mp4` -> camera
    `cam02`, case-insensitive) or by its folder's (`front_left/video.mp4`; refused when the
    two name different cameras). Whenever every video names a camera, each is that camera's,
    in any order and any number (one camera of a rig runs alone); otherwise, with one video
    per camera, every camera of the file in its order, unless a video names another camera
    than the one its place gives (a review: one misspelt name paired `front_left.mp4` with
    camera `rear_right` and every video after it with the next camera, without a word; the
    same with a misspelt folder). by_name_only: every video must name its camera (a recording
    folder, whose order is the file names' sort, not one the user chose). ValueError saying
    what to do when none fits. (Videos named after cameras were once matched by position when
    there was one per camera: cam02.mp4 given first became cam01.)"""
    refuse_repeated_videos(videos)
    cameras, rig_frame = cameras_from_calibration(path)
    named = _named_cameras(videos, cameras)          # (refuses two naming one camera)
    by_name = {camera.name.lower(): camera for camera in cameras}
    if all(name is not None for name in named):
        return [by_name[name] for name in named if name is not None], rig_frame
    names = ", ".join(camera.name for camera in cameras)
    shown = _shown_names(videos)
    unnamed = ", ".join(video for video, name in zip(shown, named, strict=True) if name is None)
    if by_name_only:
        raise ValueError(f"{unnamed} named after no camera of {path} ({names}): name each "
                         "video of a recording folder after its camera (e.g. "
                         f"{cameras[0].name}.mp4)")
    if len(videos) == len(cameras):
        crossed = [f"{video} would be camera {camera.name}"
                   for video, name, camera in zip(shown, named, cameras, strict=True)
                   if name is not None and by_name[name] is not camera]
        if crossed:
            raise ValueError(f"{unnamed} named after no camera of {path} ({names}), so the "
                             f"videos would go by their places, but {', '.join(crossed)}: "
                             "name every video (or its folder) after its camera, or give "
                             "them in the cameras' order")
        return cameras, rig_frame
    if any(name is not None for name in named):   # some name cameras: say which do not
        raise ValueError(f"{unnamed} named after no camera of {path} ({names}): name each "
                         "video after its camera to run some of them, or give one video per "
                         "camera in that order")
    raise ValueError(f"{len(videos)} video(s) but {path} has {len(cameras)} cameras ({names}); "
                     "give one video per camera in that order, or name each video after its "
                     "camera (e.g. cam02.mp4) to run some of them")


def _named_cameras(videos: Sequence[Path], cameras: Sequence[CameraModel]
                   ) -> list[str | None]:
    """The camera (lower-case name) each video names, by its file name or else its folder's,
    None where neither is a camera's; ValueError when a video's name and folder name two
    different cameras (`cam01/cam02.mp4`), or two videos name one camera."""
    known = {camera.name.lower(): camera.name for camera in cameras}
    named: list[str | None] = []
    for video in videos:
        stem, folder = Path(video).stem.lower(), Path(video).parent.name.lower()
        if stem in known and folder in known and stem != folder:
            raise ValueError(f"{video} is named after camera {known[stem]} but lies in the "
                             f"folder of camera {known[folder]}: rename the video or move it")
        named.append(stem if stem in known else folder if folder in known else None)
    for i, name in enumerate(named):
        if name is not None and name in named[:i]:
            raise ValueError(f"{videos[named.index(name)]} and {videos[i]} are both named "
                             f"after camera {known[name]}: each camera needs its own video, named "
                             "after it (by its file or folder name), or give the videos in the "
                             "cameras' order, named otherwise")
    return named


def _shown_names(videos: Sequence[Path]) -> list[str]:
    """Each video by its file name, or by its path as given where two share one (one folder
    per camera, `front/video.mp4`)."""
    names = [Path(video).name for video in videos]
    return [name if names.count(name) == 1 else str(video)
            for name, video in zip(names, videos, strict=True)]


def video_camera_pairs(videos: Sequence[Path], cameras: Sequence[CameraModel]) -> str:
    """'front.mp4 -> cam01, ...': which video each camera gets, for the tools to say (each
    video by its file name, or by its path as given where two share one: one folder per
    camera, `front/video.mp4`)."""
    return ", ".join(f"{name} -> {camera.name}"
                     for name, camera in zip(_shown_names(videos), cameras, strict=True))


def camera_for_fov(video: Path, hfov_deg: float, name: str = "camera"
                   ) -> tuple[list[CameraModel], str]:
    """One uncalibrated video as ([camera], its optical frame): a pinhole camera of the
    video's frame size and the given horizontal field of view (core.camera.pinhole_from_fov).
    Its output stays in that optical frame: no rig, no pose. ValueError when the video cannot
    be read or the angle is out of range."""
    width, height = readable_video_size(video)
    camera = pinhole_from_fov(name, width, height, hfov_deg)
    if height > width and first_time("portrait fov", str(video), hfov_deg):
        # (a review: a phone's 60-75 degrees is along its long side; taken across a portrait
        # video's width it halved the focal length, and every distance with it)
        along_width = math.degrees(2 * math.atan(math.tan(math.radians(hfov_deg) / 2)
                                                 * width / height))
        log.warning("%s: portrait video (%dx%d as it plays): --hfov %g is taken across its "
                    "%d-px width; if %g degrees is the field of view along the long side (as "
                    "phones state it), give --hfov %.0f", video, width, height, hfov_deg, width,
                    hfov_deg, along_width)
    return [camera], camera.frame_id


def video_cameras(videos: Sequence[Path], calibration: Path | None,
                  hfov_deg: float | None) -> tuple[list[CameraModel], str]:
    """The cameras that `videos` show and their rig's frame: from a calibration file
    (cameras_for_videos) or, for one video nobody calibrated, from its horizontal field of
    view (camera_for_fov). ValueError saying what to give otherwise; the combination is
    checked before any file is read, and every video is opened ('<video> is not a readable
    video' before any frame is written)."""
    if (calibration is None) == (hfov_deg is None):
        raise ValueError("videos need --calibration (for one camera its intrinsics are enough) "
                         "or, for one uncalibrated video, --hfov DEGREES (not both)")
    if hfov_deg is not None:
        if len(videos) != 1:
            raise ValueError(f"--hfov describes one camera; {len(videos)} videos need a "
                             "--calibration with the cameras' poses")
        return camera_for_fov(videos[0], hfov_deg)
    assert calibration is not None
    cameras, rig_frame = cameras_for_videos(videos, calibration)
    for camera in cameras:      # (refused by the node after the input bag was written)
        if problem := camera_name_problem(camera.name):
            raise ValueError(f"{calibration}: {problem}")
    for video in videos:
        readable_video_size(video)
    return cameras, rig_frame


def refuse_videos_sharing_a_camera(videos: Sequence[Path], cameras: Sequence[CameraModel]
                                   ) -> None:
    """ValueError when two of `videos` name one camera (`a/cam01.mp4`, `b/cam01.mp4`, or
    `cam01/a.mp4`, `cam01/b.mp4`): either would be that camera's (a review: calibrate gave
    both camera cam01, or one of them cam02 by the videos' order, without a word), or when a
    video's name and folder name two different cameras."""
    _named_cameras(videos, cameras)


def refuse_repeated_videos(videos: Sequence[Path]) -> None:
    """ValueError when one of `videos` names the same file as an earlier one (the same device
    and inode: through a symbolic or hard link too): one file as several cameras makes people
    out of one image (a review: four copies of one camera gave four 'people' and a report
    scoring 1.0)."""
    seen: set[tuple[int, int] | Path] = set()
    for video in videos:
        try:                    # device and inode: the same file through any link, hard too
            status = Path(video).stat()
            key: tuple[int, int] | Path = (status.st_dev, status.st_ino)
        except OSError:         # not there: told by the checks that open it
            key = Path(video).resolve()
        if key in seen:
            raise ValueError(f"{video} is given more than once: each camera needs its own "
                             "video")
        seen.add(key)


def unpaired(video: Path, index: int, time_s: float, fps: float, fps_option: bool = True
             ) -> str:
    """Why videos cannot be paired frame by frame at `fps` (video.FrameClock found `video`'s
    frame `index` at time_s s), and what to do."""
    return (off_rate(video, index, time_s, fps) + " (a variable frame rate, or a rate other "
            "than the other videos'); a frame set pairs frame i of every video, so re-encode "
            f"them at one constant rate (e.g. ffmpeg -i {video} -fps_mode cfr -r {fps:g} "
            "out.mp4)" + (", or pass --fps to pair them frame by frame anyway"
                          if fps_option else ""))


def frame_rate(videos: Sequence[Path], fps: float | None = None, *,
               max_frames: int | None = None, frame_times: bool = True,
               fps_option: bool = True) -> float:
    """The rate to stamp synchronised videos at, frames per second: `fps` when given (> 0;
    videos of different rates are then paired frame by frame as asked), else the videos' own
    rate. ValueError naming the rates when they differ by more than FPS_TOLERANCE: frame i of
    a 60 fps and of a 25 fps video are i/60 s and i/25 s into their recordings, so pairing
    them would put views of different moments together; ValueError too when a video cannot
    be read or has no rate. frame_times, several videos and no `fps`: also their first
    max_frames frames' times (video.first_frame_off_rate: a variable rate, or rates within the
    tolerance that drift apart), ValueError `unpaired` for the first frame off the rate (the
    tools check once, before any work, and pass False when they ask again). fps_option: the
    tool has --fps, which the advice names."""
    if fps is not None:
        if not (fps > 0 and math.isfinite(fps)):
            raise ValueError(f"--fps must be a positive number of frames per second, got {fps}")
        return float(fps)
    rates = [video_fps(video) for video in videos]
    if max(rates) > min(rates) * (1.0 + FPS_TOLERANCE):
        said = ", ".join(f"{video} {rate:g} fps" for video, rate in
                         zip(videos, rates, strict=True))
        raise ValueError(f"the videos have different frame rates ({said}); frame i of each is "
                         "paired with frame i of the others, so re-encode them to one rate"
                         + (", or pass --fps to pair them frame by frame anyway"
                            if fps_option else ""))
    off = (first_frame_off_rate(videos, rates[0], max_frames)
           if frame_times and len(videos) > 1 else None)
    if off is not None:
        raise ValueError(unpaired(*off, rates[0], fps_option))
    return rates[0]


def _cropped(camera: CameraModel, video: Path, width: int, height: int
             ) -> CameraModel:
    """The camera of a video of width x height that is the top-left part of its calibrated
    image; ValueError when the video is larger. Said once per camera and video (the tools
    check before writing, and write_bag checks again)."""
    if width > camera.width or height > camera.height:
        raise ValueError(f"{camera.name}: video {video} is {width}x{height}, larger than the "
                         f"calibrated {camera.width}x{camera.height}; it cannot be a crop")
    if first_time("crop", camera.name, str(video), width, height):
        log.warning("%s: video is %dx%d, calibration %dx%d: using the video as the top-left "
                    "crop", camera.name, width, height, camera.width, camera.height)
    return replace(camera, width=width, height=height)


def sized_cameras(videos: Sequence[Path], cameras: Sequence[CameraModel],
                  crop_to_video: bool = False, scale: float = 1.0,
                  crop_padding: bool = False, scale_option: bool = True,
                  crop_option: bool = True) -> list[CameraModel]:
    """The cameras (at the calibrated scale) with each video's frame size checked (write_bag's
    crop_to_video says what a smaller video may be; crop_padding: only one within
    ENCODER_PADDING_PX of the calibrated size): ValueError naming the camera, both sizes and
    what to give (--crop-to-video where a crop could explain the difference and the tool has
    it, crop_option; --scale where the video is the calibrated image resized and the tool has
    it, scale_option); or naming a video that cannot be read.

    With a scale other than 1 (write_bag resizes the frames to the scaled calibration), a video
    nearer the scaled size than the calibrated one is taken as: the calibrated image resized
    (within a pixel); with a crop flag and no larger than the scaled size, the resized top-left
    crop (the crop made at the calibrated scale, so the scaled intrinsics stay right); within
    the scaled padding of the scaled size, stretched to it (as before session 23); else refused.
    A video nearer the calibrated size is taken as at scale 1 (a crop with a crop flag; within
    the padding, stretched, without one). A video of any other shape (a portrait video for a
    landscape calibration) is refused, not squashed."""
    sizes = [readable_video_size(video) for video in videos]        # each video opened once
    sized = []
    for cam, video, (width, height) in zip(cameras, videos, sizes, strict=True):
        crop = crop_to_video or crop_padding
        if scale != 1.0:
            judged = _sized_at_scale(cam, video, width, height, scale, crop_to_video, crop,
                                     scale_option)
            if judged is not None:
                sized.append(judged)
                continue
        if (width, height) != (cam.width, cam.height) and crop and \
                _within_padding(cam, width, height, crop_to_video):
            cam = _cropped(cam, video, width, height)
        if (width, height) != (cam.width, cam.height):
            raise ValueError(f"{cam.name}: video frames are {width}x{height} but the "
                             f"calibration says {cam.width}x{cam.height}"
                             + _size_hint(cam, width, height, scale_option, crop_option))
        sized.append(cam)
    return sized


def _sized_at_scale(cam: CameraModel, video: Path, width: int, height: int, scale: float,
                    crop_to_video: bool, crop: bool, scale_option: bool) -> CameraModel | None:
    """sized_cameras' rules for a scale other than 1 (see there): the camera, or None when
    the video is to be judged at the calibrated scale; ValueError for a video nearer the scaled
    size that none of the rules takes."""
    scaled = cam.scaled(scale)
    if abs(width - cam.width) + abs(height - cam.height) <= \
            abs(width - scaled.width) + abs(height - scaled.height):
        near = (abs(cam.width - width) <= ENCODER_PADDING_PX
                and abs(cam.height - height) <= ENCODER_PADDING_PX)
        # as before: resized to the scaled calibration, a stretch of at most the padding
        return cam if near and not crop else None
    full = (round(width / scale), round(height / scale))
    slack = max(1.0, ENCODER_PADDING_PX * scale)
    if abs(width - scaled.width) <= 1 and abs(height - scaled.height) <= 1:
        return cam                                     # the calibrated image, resized
    if crop and width <= scaled.width and height <= scaled.height and \
            _within_padding(cam, *full, crop_to_video):
        return _cropped(cam, video, *full)             # the crop, resized (a review)
    if abs(width - scaled.width) <= slack and abs(height - scaled.height) <= slack:
        return cam                   # as before: stretched by at most the scaled padding
    raise ValueError(f"{cam.name}: video frames are {width}x{height} but the calibration says "
                     f"{cam.width}x{cam.height} ({scaled.width}x{scaled.height} at --scale "
                     f"{scale:g})" + _size_hint(cam, width, height, scale_option, False))


def _within_padding(camera: CameraModel, width: int, height: int, any_crop: bool) -> bool:
    """Whether a width x height image can be the top-left crop of the camera's calibrated
    image: any smaller size with any_crop (--crop-to-video), else within ENCODER_PADDING_PX."""
    if any_crop:
        return width <= camera.width and height <= camera.height
    return (0 <= camera.width - width <= ENCODER_PADDING_PX
            and 0 <= camera.height - height <= ENCODER_PADDING_PX)


def _resize_ratio(camera: CameraModel, width: int, height: int) -> float | None:
    """The factor by which the calibrated image, with or without up to ENCODER_PADDING_PX of
    encoder padding on each side, is resized into width x height (the same both ways, within
    half a pixel), or None. (A review: 1080x1920 frames of a 1088x1920 calibration, resized to
    540x960, were told to pass --crop-to-video, which wrote the full-size intrinsics.)"""
    def factors(size: int, calibrated: int) -> tuple[float, float]:
        # padding of at most ENCODER_PADDING_PX, and of at most 2 % of a small calibration's
        # side (a review: a 64x48 calibration "resized" into 40x24)
        padding = min(ENCODER_PADDING_PX, int(0.02 * calibrated))
        return (size - 0.5) / calibrated, (size + 0.5) / max(calibrated - padding, 1)
    low_w, high_w = factors(width, camera.width)
    low_h, high_h = factors(height, camera.height)
    low, high = max(low_w, low_h), min(high_w, high_h)
    if low > high:
        return None
    # the larger of the two sides' own factors: padding only makes a calibrated side longer
    return max(width / camera.width, height / camera.height)


def _size_hint(camera: CameraModel, width: int, height: int, scale_option: bool,
               crop_option: bool = True) -> str:
    """What to give for a video of another size than its calibration (sized_cameras), naming
    only options the tool has."""
    turned = (width, height) != (height, width) and (
        abs(width - camera.height) <= ENCODER_PADDING_PX
        and abs(height - camera.width) <= ENCODER_PADDING_PX)
    if turned:       # a review's portrait phone video: its metadata turns it when read
        return ("; the video is the calibrated picture turned a quarter (a portrait video, or "
                "one whose rotation metadata turns it when read, as a player shows it): give "
                f"intrinsics of the picture as it is shown ({width}x{height})")
    ratio = _resize_ratio(camera, width, height)
    if ratio is not None and abs(ratio - 1) > 0.01:
        return (f"; if the video is the calibrated image resized, give --scale {ratio:.4g}"
                if scale_option else f"; the video looks like the calibrated image resized by "
                f"{ratio:.4g}: give intrinsics of the videos' size")
    if width <= camera.width and height <= camera.height and crop_option:
        return ("; if the video is the top-left part of the calibrated image (stored without "
                "the encoder's padding), pass --crop-to-video")
    return ""


@dataclass(frozen=True)
class BagSummary:
    """What write_bag wrote: frame sets, messages, first and last stamp (ns), topics."""

    path: Path
    frames: int
    messages: int
    start_ns: int
    end_ns: int
    topics: dict[str, str]


def write_bag(out: Path, videos: Sequence[Path], cameras: Sequence[CameraModel], *, fps: float,
              start_ns: int, compressed: bool = True, storage: str = "sqlite3",
              fixed_frame: str = DEFAULT_FIXED_FRAME, scale: float = 1.0,
              max_frames: int | None = None, jpeg_quality: int = 90,
              crop_to_video: bool = False, crop_padding: bool = False,
              progress: Callable[[int], None] | None = None,
              own_times: bool = False) -> BagSummary:
    """Write the bag. videos[k] is seen by cameras[k]; stamps are start_ns + i / fps.

    own_times: check each frame's time in its video against i / fps. A frame more than half
    a frame period off (a variable frame rate: phones lower the rate in low light; or a rate
    that differs from the others' by less than frame_rate notices and drifts, e.g. 59.94 beside
    60 fps) means frame i is not at i / fps: one video is then stamped with its frames' own
    times (told once), several are refused, since a frame set pairs frame i of each (ValueError
    saying what to do). False (the default; the tools' --fps): i / fps whatever the videos
    say. The tools pass True when the rate is the videos' own.

    crop_to_video: when a video is smaller than its calibrated image size, treat it as the
    top-left part of the calibrated image (intrinsics unchanged, CameraInfo gets the video's
    size). Some recordings are stored without the encoder padding the calibration saw (the
    demo's "single" recording: 1080 of 1088 columns). crop_padding: the same only for a video
    within ENCODER_PADDING_PX of the calibrated size. Otherwise a size mismatch is an error.
    progress: called with 1 per frame set written.
    """
    if len(videos) != len(cameras):
        raise ValueError(f"{len(videos)} videos but {len(cameras)} calibrated cameras")
    for cam in cameras:
        cam.validate()
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    if start_ns <= 0:   # (a benchmark's bags lost their first frame set to the replayer)
        raise ValueError(f"start_ns must be > 0 (a stamp of 0 is an unset one, which the "
                         f"nodes and the replayer leave out), got {start_ns}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    cameras = sized_cameras(videos, cameras, crop_to_video, scale,   # told before writing
                            crop_padding=crop_padding)
    cameras = [cam.scaled(scale) if scale != 1.0 else cam for cam in cameras]
    cameras = [replace(cam, frame_id=cam.frame_id or f"{cam.name}_optical_frame")
               for cam in cameras]
    names = [cam.name for cam in cameras]
    if len(set(names)) != len(names):
        raise ValueError(f"camera names must be unique, got {names}")
    period_ns = 1e9 / fps
    frames = 0
    stamp = start_ns
    # one camera without a pose (its optical frame is the fixed frame) has no transform: the
    # bag then has no /tf_static, as a driver's recording of such a camera
    transforms = camera_transforms(cameras, fixed_frame)
    with bagio.BagWriter(out, storage=storage) as bag:
        if transforms:
            bag.write("/tf_static", start_ns, bagio.ROSBAGS.tf_message(transforms, start_ns))
        own_clock = False            # one video of variable frame rate: its own frame times
        clock = FrameClock(len(videos), fps)
        for index, (images, times) in enumerate(timed_frames(videos, max_frames)):
            previous, stamp = stamp, start_ns + int(round(index * period_ns))
            if own_times:
                stopped, off = clock.step(index, times)
                for k in stopped.tolist():
                    log.info("%s: frame %d is %.3f s into it, not after frame %d: the video has "
                             "no usable frame times from there on; stamped at i / %g fps",
                             videos[k], index, times[k], index - 1, fps)
                if len(off) and len(videos) > 1:
                    raise ValueError(unpaired(videos[off[0]], index, times[off[0]], fps))
                if len(off) and not own_clock:
                    own_clock = True
                    log.info("%s (a variable frame rate): its frames are stamped with their "
                             "own times from frame %d on",
                             off_rate(videos[0], index, times[0], fps), index)
                if own_clock:          # strictly increasing, as a driver's stamps
                    stamp = max(start_ns + seconds_to_ns(times[0]) if clock.timed[0]
                                else previous + int(round(period_ns)), previous + 1)
            for cam, image in zip(cameras, images, strict=True):
                if scale != 1.0:
                    image = cv2.resize(image, (cam.width, cam.height),
                                       interpolation=cv2.INTER_AREA)
                if image.shape[:2] != (cam.height, cam.width):
                    raise ValueError(f"{cam.name}: video frames are {image.shape[1]}x"
                                     f"{image.shape[0]} but the calibration says "
                                     f"{cam.width}x{cam.height}")
                # CameraInfo first: a replayed node knows the camera before its image arrives.
                bag.write(f"/{cam.name}/camera_info", stamp,
                          bagio.ROSBAGS.camera_info(cam, stamp))
                if compressed:
                    bag.write(f"/{cam.name}/image_raw/compressed", stamp,
                              bagio.compressed_image_message(image, stamp, cam.frame_id,
                                                             jpeg_quality))
                else:
                    bag.write(f"/{cam.name}/image_raw", stamp,
                              bagio.image_message(image, stamp, cam.frame_id))
            frames += 1
            if progress is not None:
                progress(1)
        messages = bag.count
    if frames == 0:
        raise ValueError(f"no frame could be read from {[str(v) for v in videos]}")
    return BagSummary(out, frames, messages, start_ns, stamp, bagio.bag_topics(out))
