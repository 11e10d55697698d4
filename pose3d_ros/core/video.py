"""Video files read with OpenCV: frame rate, frame size, and synchronised frames of several
videos (frame i of every camera together, as the demo recordings are synchronised).

FFmpeg's own log ("moov atom not found" for a truncated file) is silenced for the process
(OPENCV_FFMPEG_LOGLEVEL, read when the first capture opens) unless the caller set it: a video
that cannot be read is told by the ValueError raised here, in one line."""
from __future__ import annotations

import logging
import os
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")          # AV_LOG_QUIET
import cv2  # noqa: E402  (after the variable: OpenCV reads it when FFmpeg is first used)
import numpy as np  # noqa: E402

log = logging.getLogger(__name__)

# A container's frame count may be off by a few frames (an estimate from duration x rate in
# some formats): a stream that ends within this many frames of it (or this fraction) ended.
FRAME_COUNT_SLACK = 3
FRAME_COUNT_SLACK_FRACTION = 0.02


# FFmpeg's "tty" demuxer opens text files (.txt, .nfo, .ans, ...) as a video of the text drawn
# in 640x400 frames at 25 fps, decoded by its "ansi" codec: a review's calibration file given
# among --videos became a bag and a report that looked complete
TEXT_AS_VIDEO_FOURCC = "ansi"


def _fourcc(capture: cv2.VideoCapture) -> str:
    """The capture's codec as four characters (OpenCV's CAP_PROP_FOURCC)."""
    code = int(capture.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF
    return struct.pack("<I", code).decode("latin-1")


def _open(video: Path) -> cv2.VideoCapture:
    """An open capture; ValueError '<video> is not a readable video' otherwise (a text file,
    which FFmpeg would draw as frames, included)."""
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        capture.release()
        if not Path(video).exists():
            raise ValueError(f"{video} does not exist")
        raise ValueError(f"{video} is not a readable video (truncated, damaged, or a format "
                         "OpenCV's FFmpeg cannot decode)")
    if _fourcc(capture) == TEXT_AS_VIDEO_FOURCC:
        capture.release()
        raise ValueError(f"{video} is a text file, not a video")
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
        if not capture.isOpened() or _fourcc(capture) == TEXT_AS_VIDEO_FOURCC:
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
    """Frames a video's container says it holds (0 when unknown or unreadable): an estimate,
    possibly more than the frames, where frame_count_is_exact is False."""
    capture = cv2.VideoCapture(str(video))
    try:
        if _fourcc(capture) == TEXT_AS_VIDEO_FOURCC:
            return 0
        return max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
    finally:
        capture.release()


def exact_frame_count(video: Path) -> int:
    """video_frame_count where the container stores it (frame_count_is_exact), else 0
    (unknown): a progress bar's total (a review: a Matroska file whose audio outlasts its
    video counted to 300 for 100 frames)."""
    return video_frame_count(video) if frame_count_is_exact(video) else 0


def frame_sets_to_read(videos: Sequence[Path], max_frames: int | None = None,
                       exact: bool = False) -> int:
    """Frame sets synchronised videos give: the shortest video's declared frame count, at
    most max_frames (0 when no video declares its count and max_frames is not given); exact:
    a count the containers store, not an estimate (a progress bar's total)."""
    count = exact_frame_count if exact else video_frame_count
    frames = min(count(video) for video in videos)                  # 0: not declared
    if max_frames:
        frames = min(frames, max_frames) if frames else max_frames
    return frames


def _ended_early(read: int, declared: int) -> bool:
    """Whether a stream that gave `read` frames stopped short of the `declared` count by more
    than a container's usual error (FRAME_COUNT_SLACK frames or _FRACTION of it)."""
    return declared > 0 and declared - read > max(FRAME_COUNT_SLACK,
                                                  FRAME_COUNT_SLACK_FRACTION * declared)


_MATROSKA = b"\x1a\x45\xdf\xa3"           # EBML header: Matroska and WebM
_SEGMENT = b"\x18\x53\x80\x67"            # Matroska's Segment: every other element


def _container(video: Path) -> str:
    """'mp4' (ISO BMFF / QuickTime), 'avi', 'matroska' (also WebM) or '' (another), from the
    file's first bytes (OpenCV does not say which demuxer it used)."""
    try:
        with open(video, "rb") as file:
            head = file.read(12)
    except OSError:
        return ""
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "mp4"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    return "matroska" if head[:4] == _MATROSKA else ""


def frame_count_is_exact(video: Path) -> bool:
    """Whether OpenCV's CAP_PROP_FRAME_COUNT of `video` is the count its container stores (MP4
    and MOV: the sample table; AVI: the header) rather than FFmpeg's estimate, duration x frame
    rate, which is all other containers give (Matroska, WebM, MPEG-TS...): there an audio
    track longer than the video or a variable frame rate makes it more than the frames."""
    return _container(video) in ("mp4", "avi")


def _ebml_size(data: bytes, at: int) -> tuple[int | None, int]:
    """(value, length in bytes) of the EBML variable-size integer at data[at]: value None when
    all its bits are set (the size is unknown: a file written as a live stream)."""
    length = 9 - data[at].bit_length()                 # leading zero bits + 1
    if not 1 <= length <= 8 or at + length > len(data):
        raise ValueError("not an EBML size")
    value = data[at] & (0xFF >> length)
    for byte in data[at + 1:at + length]:
        value = value << 8 | byte
    return (None if value == (1 << 7 * length) - 1 else value), length


def matroska_missing_bytes(video: Path) -> int:
    """Bytes a Matroska/WebM file lacks: the end its Segment declares (written when the file
    was closed) less its size on disk; 0 when complete, not Matroska, or the size is unknown.
    This tells a truncated file where the frame count, an estimate there, cannot."""
    try:
        with open(video, "rb") as file:
            head = file.read(4096)
        if head[:4] != _MATROSKA:
            return 0
        size, length = _ebml_size(head, 4)
        segment = 4 + length + (size or 0)
        if size is None or head[segment:segment + 4] != _SEGMENT:
            return 0
        size, length = _ebml_size(head, segment + 4)
        if size is None:
            return 0
        return max(segment + 4 + length + size - Path(video).stat().st_size, 0)
    except (OSError, ValueError, IndexError):
        return 0


def _box(file: BinaryIO, end: int) -> Iterator[tuple[bytes, int, int]]:
    """ISO BMFF boxes (MP4, MOV) from the file's position to byte `end`: (type, start of the
    content, end of the box)."""
    while file.tell() + 8 <= end:
        start = file.tell()
        size, kind = struct.unpack(">I4s", file.read(8))
        head = 8
        if size == 1:                            # a 64-bit size follows
            size, head = struct.unpack(">Q", file.read(8))[0], 16
        elif size == 0:                          # to the end of the file
            size = end - start
        if size < head:
            return
        yield kind, start + head, start + size
        file.seek(start + size)


def mp4_shown_seconds(video: Path) -> float | None:
    """How long an MP4/MOV presents its frames (the movie header's duration, s: an edit list,
    e.g. of `ffmpeg -ss T -c copy`, shows fewer frames than the file holds), or None when the
    file has no readable movie header."""
    try:
        with open(video, "rb") as file:
            size = Path(video).stat().st_size
            for kind, _, end in _box(file, size):
                if kind != b"moov":
                    continue
                for inner, start, _ in _box(file, end):
                    if inner == b"mvhd":
                        file.seek(start)
                        version = file.read(1)[0]
                        file.seek(start + (20 if version == 1 else 12))
                        timescale, = struct.unpack(">I", file.read(4))
                        duration, = struct.unpack(">Q" if version == 1 else ">I",
                                                  file.read(8 if version == 1 else 4))
                        return duration / timescale if timescale else None
                return None
    except (OSError, struct.error, IndexError):
        return None
    return None


# How the tools that read videos in frame sets keep a video's first {n} frames (_damage's
# advice); a tool without such an option passes None: the advice is then an ffmpeg command
KEEP_FIRST_FRAMES = "--max-frames {n} (calibrate: --frames {n})"


def _damage(video: Path, read: int, declared: int,
            keep: str | None = KEEP_FIRST_FRAMES) -> str | None:
    """The error line when `video`'s decoding stopped after `read` frames before its end, else
    None (a stream that ended). The end: the container's `declared` frame count where that is
    exact; where it is an estimate, only a file cut short (a Matroska file shorter than its
    header declares) that also stopped short of the estimate is damaged. keep: the option
    that keeps the first {n} frames in the tool that reads it (None: it has none)."""
    if not _ended_early(read, declared):
        return None
    shown = mp4_shown_seconds(video) if _container(video) == "mp4" else None
    if shown is not None and not _ended_early(read, round(shown * video_fps(video))):
        return None          # an edit list shows fewer frames than the file holds: all read
    if frame_count_is_exact(video):
        told = f"decoding stops at frame {read} but the file declares {declared} frames"
    else:
        missing = matroska_missing_bytes(video)
        if not missing:
            return None
        told = (f"decoding stops at frame {read} of about {declared} and the file lacks the "
                f"last {missing} bytes its header declares")
    # (a review: train_lifter and eval_lifter, which have no --max-frames, suggested it)
    first = (keep.format(n=read) if keep is not None
             else f"ffmpeg -i {video} -frames:v {read} fixed.mp4")
    kept = f", or keep the {read} frames before the damage: {first}" if read else ""
    return (f"{video}: {told}; it is damaged (re-encode what can be read, e.g. ffmpeg -i "
            f"{video} fixed.mp4{kept})")


def warn_unequal_lengths(videos: Sequence[Path], declared: Sequence[int],
                         max_frames: int | None = None) -> bool:
    """One WARN when synchronised videos declare different frame counts (by more than a
    container's usual error) and frame sets stop at the shortest, not before (max_frames):
    the user should know why. declared: each video's CAP_PROP_FRAME_COUNT, counted only where
    the container stores it (frame_count_is_exact; an estimate is unknown). Whether it
    warned."""
    declared = [n if n > 0 and frame_count_is_exact(Path(v)) else 0
                for v, n in zip(videos, declared, strict=True)]
    known = [n for n in declared if n > 0]
    if max_frames is not None and known and max_frames <= min(known):
        return False                             # nothing is cut: every video goes on
    if len(known) > 1 and max(known) - min(known) > FRAME_COUNT_SLACK:
        counts = ", ".join(f"{Path(v).name} {n}" for v, n in zip(videos, declared, strict=True))
        log.warning("the videos have different lengths (%s frames): only the first %d frames "
                    "of each are used together", counts, min(known))
        return True
    return False


def end_of_videos(videos: Sequence[Path], ended: Sequence[bool], read: int,
                  declared: Sequence[int], warned: bool,
                  keep: str | None = KEEP_FIRST_FRAMES) -> None:
    """Frame set `read` (0-based) could not be read whole: the videos `ended` (V,) gave no
    frame `read`, the others did; declared (V,) their CAP_PROP_FRAME_COUNT. ValueError naming
    an ended video whose decoding stopped before its end (_damage); else, unless `warned`
    (warn_unequal_lengths told it from the declared counts), one WARN when other videos go
    on: a Matroska or WebM file declares no exact count, and one shorter than the others cut
    them all to its length without a word (a review). keep: as _damage's."""
    for video, gone, count in zip(videos, ended, declared, strict=True):
        if gone and (damage := _damage(video, read, count, keep)):
            raise ValueError(damage)
    if not warned and not all(ended):
        short = ", ".join(Path(v).name for v, gone in zip(videos, ended, strict=True) if gone)
        log.warning("%s ended after %d frames while the other videos go on: only the first %d "
                    "frames of each are used together", short, read, read)


def synchronised_frames(videos: Sequence[Path], max_frames: int | None = None
                        ) -> Iterator[list[np.ndarray]]:
    """Frame i of every video together (BGR uint8 (H, W, 3)), until the shortest video ends
    (or max_frames sets). ValueError naming a video that cannot be opened, or one whose
    decoding stops before the end its container declares (damaged in the middle or cut
    short: frames would be lost silently; _damage says when)."""
    for frames, _ in timed_frames(videos, max_frames):
        yield frames


def timed_frames(videos: Sequence[Path], max_frames: int | None = None
                 ) -> Iterator[tuple[list[np.ndarray], np.ndarray]]:
    """synchronised_frames with each frame's time in its video (V,) seconds from the video's
    first frame (its presentation time: a video of variable frame rate says when each frame
    was taken; i / fps would not)."""
    captures = []
    try:
        for video in videos:
            captures.append(_open(video))
        declared = [max(int(c.get(cv2.CAP_PROP_FRAME_COUNT)), 0) for c in captures]
        warned = warn_unequal_lengths(videos, declared, max_frames)
        index = 0
        first = np.zeros(len(videos))
        while max_frames is None or index < max_frames:
            frames = []
            times = np.zeros(len(videos))
            for k, capture in enumerate(captures):
                ok, frame = capture.read()
                if not ok:       # the videos before it gave this frame; those after, grab it
                    ended = [False] * k + [True] + [not c.grab() for c in captures[k + 1:]]
                    end_of_videos(videos, ended, index, declared, warned)
                    return
                frames.append(frame)
                times[k] = capture.get(cv2.CAP_PROP_POS_MSEC) / 1e3
            if index == 0:
                first = times.copy()
            yield frames, times - first
            index += 1
    finally:
        for capture in captures:
            capture.release()


class FrameClock:
    """Frame sets' times in their videos (timed_frames: (V,) s) against i / fps, the rule of
    every tool that pairs frame i of several videos or stamps it at i / fps. A time that does
    not advance is no frame time (a raw .h264 stream reads 0 for every frame; frames flushed
    at the end of MPEG-1/2 or B-frame AVI files go back): that video is untimed from there on.
    A timed video's frame more than half a period from i / fps is off the rate (a variable
    frame rate, or a rate that differs from the others' and drifts)."""

    def __init__(self, videos: int, fps: float) -> None:
        self.fps = fps
        self.timed = np.ones(videos, bool)       # (V,) whose times still advance
        self.last = np.full(videos, -np.inf)     # (V,) s, each one's previous frame time

    def step(self, index: int, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frame set `index` at `times` (V,) s -> (the videos whose times stop advancing at it,
        the timed videos whose frame is off the rate), each (K,) indices."""
        stopped = np.flatnonzero(self.timed & ~(times > self.last))
        self.timed &= times > self.last
        self.last = np.asarray(times, np.float64)
        off = np.flatnonzero(self.timed & (np.abs(times - index / self.fps) > 0.5 / self.fps))
        return stopped, off


def off_rate(video: Path, index: int, time_s: float, fps: float) -> str:
    """'<video>: frame N is T s into it, not i / fps s as at F fps': why a frame is not
    paired or stamped at i / fps."""
    return (f"{video}: frame {index} is {time_s:.3f} s into it, not {index / fps:.3f} s as at "
            f"{fps:g} fps")


# Packets read beyond the frames asked for: a frame's packet comes at most this many packets
# after its place in presentation order (B-frames are reordered by a few).
PACKET_REORDER_MARGIN = 16


def packet_times(video: Path, max_frames: int | None = None) -> np.ndarray | None:
    """The presentation times (N,) s of the frames of `video` (its first max_frames), read
    from its packets without decoding them (OpenCV's raw stream mode, CAP_PROP_FORMAT -1: the
    demo's 100 frames in 0.3 ms instead of 170 ms decoded), sorted (packets come in decoding
    order: B-frames). None where that cannot stand for the decoded frames' times: a backend
    without a raw mode, or times that do not advance once sorted (a raw .h264 stream reads 0
    for every frame); the caller then decodes."""
    capture = _open(video)
    try:
        if not capture.set(cv2.CAP_PROP_FORMAT, -1):
            return None
        limit = None if max_frames is None else max_frames + PACKET_REORDER_MARGIN
        times: list[float] = []
        while (limit is None or len(times) < limit) and capture.grab():
            times.append(capture.get(cv2.CAP_PROP_POS_MSEC) / 1e3)
    finally:
        capture.release()
    ordered = np.sort(np.array(times, np.float64))
    if len(ordered) < 2 or not (np.diff(ordered) > 0).all():
        return None
    return ordered[:max_frames]


def first_frame_off_rate(videos: Sequence[Path], fps: float, max_frames: int | None = None
                         ) -> tuple[Path, int, float] | None:
    """For several videos paired frame by frame at `fps`: the first frame off the rate
    (FrameClock) as (its video, its index, its time s), or None when every frame is on it.
    Reads the frames' times only, before any work on them: from the packets (packet_times,
    without decoding; it was every frame decoded once more before the tools' own pass, 2.2 s
    on the demo's four videos), else by grabbing each frame (decoded, no colour
    conversion)."""
    packets = [packet_times(Path(video), max_frames) for video in videos]
    timed = [times for times in packets if times is not None]
    if len(timed) == len(videos):                 # (each cut to max_frames already)
        count = min(len(times) for times in timed)
        since_first = np.stack([times[:count] - times[0] for times in timed],
                               axis=1)                                # (count, V) s
        clock = FrameClock(len(videos), fps)
        for index in range(count):
            _, off = clock.step(index, since_first[index])
            if len(off):
                k = int(off[0])
                return Path(videos[k]), index, float(since_first[index, k])
        return None
    captures = []
    try:
        for video in videos:
            captures.append(_open(video))
        clock = FrameClock(len(videos), fps)
        index = 0
        while max_frames is None or index < max_frames:
            if not all(capture.grab() for capture in captures):
                return None
            times = np.array([c.get(cv2.CAP_PROP_POS_MSEC) / 1e3 for c in captures])
            if index == 0:
                first = times
            _, off = clock.step(index, times - first)
            if len(off):
                k = int(off[0])
                return Path(videos[k]), index, float(times[k] - first[k])
            index += 1
        return None
    finally:
        for capture in captures:
            capture.release()
