"""Video files read with OpenCV: frame rate, frame size, and synchronised frames of several
videos (frame i of every camera together, as the demo recordings are synchronised).

FFmpeg's own log ("moov atom not found" for a truncated file) is silenced for the process
(OPENCV_FFMPEG_LOGLEVEL, read when the first capture opens) unless the caller set it: a video
that cannot be read is told by the ValueError raised here, in one line."""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")          # AV_LOG_QUIET
import cv2  # noqa: E402  (after the variable: OpenCV reads it when FFmpeg is first used)
import numpy as np  # noqa: E402

log = logging.getLogger(__name__)

# A container's frame count may be off by a few frames (an estimate from duration x rate in
# some formats): a stream that ends within this many frames of it (or this fraction) ended.
FRAME_COUNT_SLACK = 3
FRAME_COUNT_SLACK_FRACTION = 0.02


def _open(video: Path) -> cv2.VideoCapture:
    """An open capture; ValueError '<video> is not a readable video' otherwise."""
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        capture.release()
        if not Path(video).exists():
            raise ValueError(f"{video} does not exist")
        raise ValueError(f"{video} is not a readable video (truncated, damaged, or a format "
                         "OpenCV's FFmpeg cannot decode)")
    return capture


def video_fps(video: Path) -> float:
    """Frame rate of a video file, frames per second. ValueError when it cannot be read, or
    when the container has none (then the caller must be told the rate, e.g. with --fps)."""
    capture = _open(video)
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    if not fps > 0:
        raise ValueError(f"cannot read the frame rate of {video}; pass --fps")
    return float(fps)


def video_size(video: Path) -> tuple[int, int]:
    """(width, height) of a video's frames in pixels; (0, 0) when it cannot be opened."""
    capture = cv2.VideoCapture(str(video))
    try:
        if not capture.isOpened():
            return 0, 0
        return (max(int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), 0),
                max(int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)), 0))
    finally:
        capture.release()


def readable_video_size(video: Path) -> tuple[int, int]:
    """(width, height) of a video's frames in pixels; ValueError '<video> is not a readable
    video' when it cannot be opened or declares no size."""
    capture = _open(video)
    try:
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        capture.release()
    if width <= 0 or height <= 0:
        raise ValueError(f"{video} is not a readable video (its frame size is unknown)")
    return width, height


def video_frame_count(video: Path) -> int:
    """Frames a video's container says it holds (0 when unknown or unreadable)."""
    capture = cv2.VideoCapture(str(video))
    try:
        return max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
    finally:
        capture.release()


def _ended_early(read: int, declared: int) -> bool:
    """Whether a stream that gave `read` frames stopped short of the `declared` count by more
    than a container's usual error (FRAME_COUNT_SLACK frames or _FRACTION of it)."""
    return declared > 0 and declared - read > max(FRAME_COUNT_SLACK,
                                                  FRAME_COUNT_SLACK_FRACTION * declared)


def warn_unequal_lengths(videos: Sequence[Path], declared: Sequence[int]) -> None:
    """One WARN when synchronised videos declare different frame counts (by more than a
    container's usual error): frame sets stop at the shortest, and the user should know why."""
    known = [n for n in declared if n > 0]
    if len(known) > 1 and max(known) - min(known) > FRAME_COUNT_SLACK:
        counts = ", ".join(f"{Path(v).name} {n}" for v, n in zip(videos, declared, strict=True))
        log.warning("the videos have different lengths (%s frames): only the first %d frames "
                    "of each are used together", counts, min(known))


def synchronised_frames(videos: Sequence[Path], max_frames: int | None = None
                        ) -> Iterator[list[np.ndarray]]:
    """Frame i of every video together (BGR uint8 (H, W, 3)), until the shortest video ends
    (or max_frames sets). ValueError naming a video that cannot be opened, or one whose
    decoding stops before the end its container declares (damaged in the middle: frames
    would be lost silently)."""
    captures = []
    try:
        for video in videos:
            captures.append(_open(video))
        declared = [max(int(c.get(cv2.CAP_PROP_FRAME_COUNT)), 0) for c in captures]
        warn_unequal_lengths(videos, declared)
        index = 0
        while max_frames is None or index < max_frames:
            frames = []
            for video, capture, count in zip(videos, captures, declared, strict=True):
                ok, frame = capture.read()
                if not ok:
                    if _ended_early(index, count):
                        keep = (f", or pass --max-frames {index} to keep the frames before "
                                "the damage" if index else "")
                        raise ValueError(
                            f"{video}: decoding stops at frame {index} but the file declares "
                            f"{count} frames; it is damaged (re-encode what can be read, e.g. "
                            f"ffmpeg -i {video} fixed.mp4{keep})")
                    return
                frames.append(frame)
            yield frames
            index += 1
    finally:
        for capture in captures:
            capture.release()
