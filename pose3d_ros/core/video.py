"""Video files read with OpenCV: frame rate, frame size, and synchronised frames of several
videos (frame i of every camera together, as the demo recordings are synchronised)."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np


def video_fps(video: Path) -> float:
    """Frame rate of a video file, frames per second; ValueError when the container has none
    (then the caller must be told the rate, e.g. with --fps)."""
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    if not fps > 0:
        raise ValueError(f"cannot read the frame rate of {video}; pass --fps")
    return float(fps)


def video_size(video: Path) -> tuple[int, int]:
    """(width, height) of a video's frames in pixels; (0, 0) when it cannot be opened."""
    capture = cv2.VideoCapture(str(video))
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    capture.release()
    return size


def synchronised_frames(videos: Sequence[Path], max_frames: int | None = None
                        ) -> Iterator[list[np.ndarray]]:
    """Frame i of every video together (BGR uint8 (H, W, 3)), until the shortest video ends.
    ValueError naming a video that cannot be opened."""
    captures = [cv2.VideoCapture(str(v)) for v in videos]
    try:
        for video, capture in zip(videos, captures, strict=True):
            if not capture.isOpened():
                raise ValueError(f"cannot open video {video}")
        index = 0
        while max_frames is None or index < max_frames:
            frames = []
            for capture in captures:
                ok, frame = capture.read()
                if not ok:
                    return
                frames.append(frame)
            yield frames
            index += 1
    finally:
        for capture in captures:
            capture.release()
