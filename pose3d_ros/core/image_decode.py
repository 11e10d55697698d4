"""sensor_msgs/Image and CompressedImage field values -> numpy BGR images, without ROS.

This replaces cv_bridge for this package: ROS 2's cv_bridge has no wheel for pip-installed
ROS 2 (and the PyPI `cv-bridge` is a ROS 1 port that breaks with numpy 2), and the 2D detectors
only need an (H, W, 3) uint8 BGR array. The functions take the plain field values of the
message (encoding, width, height, step, data, ...), so they are testable without ROS.

Zero copy: for bgr8 (and 8UC3) the result is a read-only VIEW of the message buffer (strided
for row padding). Every other encoding is converted into a contiguous BGR array by one OpenCV
conversion (rgb8, bgra8, rgba8 and mono8 were views too, channel-reversed, sliced or
broadcast: OpenCV then copied the whole frame in every call of the detector that read it);
16-bit data keeps the 8 most significant bits the frame uses (a 12-bit sensor's mono16 its
bits 4-11). Depth/float encodings are rejected: a pose network needs an intensity image.

Every rejection raises ImageDecodeError (a ValueError) with a short machine-readable `reason`
(used as a diagnostics key) and a message that says what was wrong and where.
"""
from __future__ import annotations

import contextlib
import struct
import threading
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from array import array
    from typing import TypeAlias

    # a message's `data` buffer: rclpy gives array.array or bytes, rosbags a numpy array
    ImageData: TypeAlias = bytes | bytearray | memoryview | array[int] | np.ndarray


class ImageDecodeError(ValueError):
    """An image message that cannot be turned into a BGR image; `reason` is a short key;
    `detail` names what was refused where a driver's setting chose it (the encoding or
    format, the image size; "" else), so that a change of it is logged anew
    (node_health.NodeHealth.reject)."""

    def __init__(self, reason: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail


# encoding -> (channels, bytes per channel)
_LAYOUT: dict[str, tuple[int, int]] = {
    "bgr8": (3, 1), "rgb8": (3, 1), "bgra8": (4, 1), "rgba8": (4, 1), "mono8": (1, 1),
    "8UC1": (1, 1), "8UC3": (3, 1), "8UC4": (4, 1),
    "bgr16": (3, 2), "rgb16": (3, 2), "bgra16": (4, 2), "rgba16": (4, 2), "mono16": (1, 2),
    "bayer_rggb8": (1, 1), "bayer_bggr8": (1, 1), "bayer_gbrg8": (1, 1), "bayer_grbg8": (1, 1),
    "yuv422": (2, 1), "uyvy": (2, 1), "yuv422_yuy2": (2, 1), "yuyv": (2, 1),
    "nv21": (1, 1),
}
# Encodings that carry depth or other non-intensity data: a pose network cannot use them.
_NOT_INTENSITY = ("16UC1", "32FC1", "16SC1", "32SC1", "64FC1", "8SC1")
# ROS names a Bayer pattern by its first two rows from the top-left pixel (bayer_rggb8: R G /
# G B); OpenCV's older codes name it from the second pixel of the second row (BayerBG for that
# same RGGB mosaic, as cv_bridge maps it): its RGGB-style aliases name it as ROS does.
_BAYER = {"bayer_rggb8": cv2.COLOR_BayerRGGB2BGR, "bayer_bggr8": cv2.COLOR_BayerBGGR2BGR,
          "bayer_gbrg8": cv2.COLOR_BayerGBRG2BGR, "bayer_grbg8": cv2.COLOR_BayerGRBG2BGR}
_YUV = {"yuv422": cv2.COLOR_YUV2BGR_UYVY, "uyvy": cv2.COLOR_YUV2BGR_UYVY,
        "yuv422_yuy2": cv2.COLOR_YUV2BGR_YUY2, "yuyv": cv2.COLOR_YUV2BGR_YUY2}
# YUV 4:2:0 semi-planar (phones' and many embedded cameras' own format): the Y plane's `height`
# rows of `step` bytes, then height / 2 rows of interleaved V, U at half resolution.
_YUV420 = {"nv21": cv2.COLOR_YUV2BGR_NV21}

# (channels, encoding prefix) -> the OpenCV conversion to BGR
_TO_BGR = {(1, "mon"): cv2.COLOR_GRAY2BGR, (1, "8UC"): cv2.COLOR_GRAY2BGR,
           (3, "rgb"): cv2.COLOR_RGB2BGR, (4, "rgb"): cv2.COLOR_RGBA2BGR,
           (4, "bgr"): cv2.COLOR_BGRA2BGR, (4, "8UC"): cv2.COLOR_BGRA2BGR}

SUPPORTED_ENCODINGS: tuple[str, ...] = tuple(_LAYOUT)


def decode_image(encoding: str, width: int, height: int, step: int, data: ImageData,
                 is_bigendian: int = 0, *, source: str = "image") -> np.ndarray:
    """sensor_msgs/Image fields -> (height, width, 3) uint8 BGR image.

    data: any buffer (bytes, array.array, memoryview, numpy) of at least step * height bytes.
    source: a name for error messages (e.g. the topic).
    Returns a read-only zero-copy view for bgr8 (and 8UC3), else a contiguous converted copy
    (8UC1 / 8UC4 read as mono8 / bgra8).
    """
    buffer = check_image(encoding, width, height, step, data, source=source)
    channels, depth = _LAYOUT[encoding]
    if encoding in _YUV420:
        planes = np.lib.stride_tricks.as_strided(buffer, shape=(height * 3 // 2, width),
                                                 strides=(step, 1), writeable=False)
        return cv2.cvtColor(np.ascontiguousarray(planes), _YUV420[encoding])
    if depth == 1:
        rows = np.lib.stride_tricks.as_strided(
            buffer, shape=(height, width, channels), strides=(step, channels, 1),
            writeable=False)
    else:
        dtype = np.dtype(">u2" if is_bigendian else "<u2")
        words = buffer.view(dtype)
        rows16 = np.lib.stride_tricks.as_strided(
            words, shape=(height, width, channels), strides=(step, channels * 2, 2),
            writeable=False)
        rows = _used_top_byte(rows16)
    if encoding in _BAYER or encoding in _YUV:
        plane = rows[..., 0] if encoding in _BAYER else rows
        try:
            return cv2.cvtColor(np.ascontiguousarray(plane),
                                _BAYER[encoding] if encoding in _BAYER else _YUV[encoding])
        except cv2.error as err:        # a size the conversion cannot take (e.g. 1 pixel)
            raise ImageDecodeError(
                "bad_size", f"{source}: {encoding} image {width}x{height} cannot be converted "
                f"to colour ({str(err).strip().splitlines()[-1]})") from None
    if channels == 3 and not encoding.startswith("rgb"):
        return rows
    # One OpenCV conversion into a contiguous BGR array (0.15-0.35 ms at 1080p): the views these
    # were once (channels reversed, broadcast or sliced) made OpenCV copy the whole frame in
    # every call that read it, each person's crop and each resize of the detector: 34-43 ms
    # per frame of the default detector instead of 20-22 for bgr8 (a review).
    return cv2.cvtColor(rows[..., 0] if channels == 1 else rows, _TO_BGR[(channels, encoding[:3])])


def is_view(encoding: str) -> bool:
    """Whether decode_image gives this encoding as a zero-copy view (bgr8, 8UC3): every other
    is converted, which a node leaves to its worker (only frames it will process)."""
    return encoding in ("bgr8", "8UC3")


def check_image(encoding: str, width: int, height: int, step: int, data: ImageData, *,
                source: str = "image") -> np.ndarray:
    """The checks of decode_image that need no conversion (ImageDecodeError if it fails
    them): a supported encoding, a size, a step and a data length that agree. Returns the
    data as a uint8 array (no copy)."""
    if encoding in _NOT_INTENSITY or encoding not in _LAYOUT:
        raise ImageDecodeError(
            "unsupported_encoding",
            f"{source}: unsupported image encoding {encoding!r}; supported: "
            f"{', '.join(SUPPORTED_ENCODINGS)}", detail=encoding)
    channels, depth = _LAYOUT[encoding]
    if width <= 0 or height <= 0:
        raise ImageDecodeError("bad_size", f"{source}: image size {width}x{height} is empty")
    if encoding in _YUV and width % 2:
        raise ImageDecodeError(
            "bad_size", f"{source}: {encoding} packs two pixels into 4 bytes, so its width "
            f"must be even; got {width}")
    if encoding in _YUV420 and (width % 2 or height % 2):
        raise ImageDecodeError(
            "bad_size", f"{source}: {encoding} samples colour at half resolution, so its "
            f"width and height must be even; got {width}x{height}")
    row_bytes = width * channels * depth
    if step < row_bytes:
        raise ImageDecodeError(
            "step_mismatch",
            f"{source}: step {step} < width {width} x {channels} channels x {depth} bytes "
            f"= {row_bytes} for encoding {encoding}")
    if step % depth:
        raise ImageDecodeError(
            "step_mismatch", f"{source}: step {step} is not a multiple of {depth} bytes")
    buffer = np.frombuffer(data, dtype=np.uint8)
    rows = height * 3 // 2 if encoding in _YUV420 else height    # the chroma rows follow
    expected = step * rows
    if buffer.size < expected:
        raise ImageDecodeError(
            "truncated",
            f"{source}: data holds {buffer.size} bytes, {expected} expected "
            f"(step {step} x {rows} rows); the image is truncated")
    if buffer.size > expected:
        raise ImageDecodeError(
            "size_mismatch",
            f"{source}: data holds {buffer.size} bytes, {expected} expected "
            f"(step {step} x {rows} rows)")
    return buffer


JPEG_REDUCTIONS = (8, 4, 2, 1)    # the scalings libjpeg decodes directly (IMREAD_REDUCED_*)
_REDUCED_FLAG = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2,
                 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


def is_jpeg(format: str) -> bool:  # noqa: A002
    """Whether a CompressedImage format string names JPEG data."""
    fmt = format.lower()
    return "jpeg" in fmt or "jpg" in fmt


def jpeg_reduction(width: int, height: int, min_side_px: int) -> int:
    """The largest JPEG decode reduction (8, 4, 2 or 1) that keeps the shorter side of a
    width x height image at least min_side_px pixels (1 when min_side_px <= 0)."""
    if min_side_px <= 0:
        return 1
    side = min(width, height)
    return next(r for r in JPEG_REDUCTIONS if r == 1 or side // r >= min_side_px)


def reduced_size(width: int, height: int, reduction: int) -> tuple[int, int]:
    """(width, height) of a width x height JPEG decoded at 1/reduction (libjpeg rounds up)."""
    return -(-width // reduction), -(-height // reduction)


# Relative difference between an image's size and its calibration's that is accepted:
# encoders pad 1080 rows to 1088 (16-pixel macroblocks) and drivers crop a few pixels, which
# moves the principal point by a few pixels at most; another resolution is refused.
SIZE_TOLERANCE = 0.02


def check_image_size(image: np.ndarray, calibrated: tuple[int, int], *, source: str = "image",
                     reduction: int = 1) -> None:
    """ImageDecodeError "size_mismatch_calibration" unless the (H, W, 3) image has, within
    SIZE_TOLERANCE, the size its calibration is for: calibrated (width, height), divided by
    `reduction` when it was decoded at a reduced size. Keypoints of an image of another
    resolution would be placed with the wrong intrinsics."""
    check_size((int(image.shape[1]), int(image.shape[0])), calibrated, source=source,
               reduction=reduction)


def check_size(size: tuple[int, int], calibrated: tuple[int, int], *, source: str = "image",
               reduction: int = 1) -> None:
    """check_image_size for an image known by its (width, height) alone (e.g. the image size a
    2D skeleton message carries)."""
    expected = reduced_size(calibrated[0], calibrated[1], reduction)
    if any(abs(got - want) > SIZE_TOLERANCE * want
           for got, want in zip(size, expected, strict=True)):
        # (a review: "540x960 at 1/2 decode ... for 544x960" read as a 4-pixel mismatch;
        # the image is twice that: its full size first)
        shown = (f"{size[0]}x{size[1]}" if reduction == 1 else
                 f"about {size[0] * reduction}x{size[1] * reduction} (decoded at 1/{reduction}: "
                 f"{size[0]}x{size[1]})")
        raise ImageDecodeError(
            "size_mismatch_calibration",
            f"{source}: image is {shown} but its calibration is for {calibrated[0]}x"
            f"{calibrated[1]}; frame ignored (publish camera_info for this resolution or fix "
            "the rig file)", detail=shown)


def check_compressed(format: str, data: ImageData, *,  # noqa: A002
                     source: str = "image") -> None:
    """The checks of a CompressedImage that need no decoding (ImageDecodeError if it fails
    them): a compressedDepth or other non-JPEG/PNG format, empty data."""
    fmt = format.lower()
    original = format.split(";")[0].strip()   # image_transport: "<encoding>; png compressed "
    if "compresseddepth" in fmt or original in _NOT_INTENSITY:
        # (a depth camera's 16UC1 over compressed_image_transport is "16UC1; png compressed ":
        # decoded near black or white and detected in without a word, found by a review)
        raise ImageDecodeError(
            "unsupported_encoding", f"{source}: compressed image of format {format!r} carries "
            "depth, not intensity; a pose network cannot use it (is this a depth camera's "
            "topic?)", detail=format)
    if fmt and not (is_jpeg(fmt) or "png" in fmt):
        raise ImageDecodeError(
            "unsupported_encoding",
            f"{source}: unsupported compressed format {format!r}; supported: jpeg, png",
            detail=format)
    if _bayer_pattern(original) is not None and is_jpeg(fmt):
        # (a review: image_transport compresses a Bayer camera's mosaic as it is; a JPEG's
        # blocks blur the colour pattern away, and it was used as a grey checkerboard)
        raise ImageDecodeError(
            "unsupported_encoding", f"{source}: JPEG of a raw Bayer mosaic ({format!r}) "
            "cannot be demosaiced; subscribe to a debayered image (image_proc), or send the "
            "mosaic raw or as PNG", detail=format)
    if len(data) == 0:
        raise ImageDecodeError("corrupt_compressed", f"{source}: compressed image is empty")


_quiet_lock = threading.Lock()
_quiet_users = 0
_quiet_restore = 0


def _used_top_byte(values: np.ndarray) -> np.ndarray:
    """16-bit pixels -> uint8: the 8 most significant bits the frame uses. 10- and 12-bit
    sensors (IR, machine vision) send 16-bit images with the top bits 0, which the top byte
    made near black (a review: a 10-bit frame gave no person)."""
    shift = max(int(values.max(initial=0)).bit_length() - 8, 0)
    return (values >> shift).astype(np.uint8)


@contextlib.contextmanager
def _opencv_quiet() -> Iterator[None]:
    """OpenCV's own log silenced while any thread decodes: a corrupt PNG made it print two
    lines to stderr per frame (a review: 60 a second at 30 fps) beside the node's one
    `corrupt_compressed` warning, which says all of it. Counted, so that decoder threads that
    overlap restore the level only when the last one ends."""
    global _quiet_users, _quiet_restore
    with _quiet_lock:
        if _quiet_users == 0:
            _quiet_restore = cv2.utils.logging.getLogLevel()
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        _quiet_users += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_users -= 1
            if _quiet_users == 0:
                cv2.utils.logging.setLogLevel(_quiet_restore)


def decode_compressed(format: str, data: ImageData, *, source: str = "image",  # noqa: A002
                      reduction: int = 1) -> np.ndarray:
    """sensor_msgs/CompressedImage fields -> (H, W, 3) uint8 BGR image (a new array).

    format: e.g. "jpeg", "png", "bgr8; jpeg compressed bgr8" (image_transport's convention).
    JPEG and PNG are decoded with cv2.imdecode; compressedDepth is rejected.
    reduction: 1, 2, 4 or 8: a JPEG is decoded at 1/reduction of its size by libjpeg's DCT
    scaling (2: 1.5-2x cheaper at 1080p); ignored for PNG, which is always decoded whole.
    """
    check_compressed(format, data, source=source)
    buffer = np.frombuffer(data, dtype=np.uint8)
    if reduction not in _REDUCED_FLAG:
        raise ValueError(f"JPEG decode reduction must be one of {JPEG_REDUCTIONS}, got {reduction}")
    if buffer[:8].tobytes() == _PNG_SIGNATURE and (problem := _png_damage(buffer)):
        # libpng prints its own line to stderr for each, which OpenCV's log level does not
        # silence (60 a second at 30 fps: "PNG input buffer is incomplete", "bad adaptive
        # filter value", reviews): checked before decoding
        raise ImageDecodeError("corrupt_compressed", f"{source}: PNG of {buffer.size} bytes "
                               f"{problem}")
    # a PNG as it is (16-bit and grey or alpha ones too: compressed_image_transport sends
    # mono16 and bgr16 as 16-bit PNG, which IMREAD_COLOR cut to their top byte, near black
    # for 10- and 12-bit sensors, a review); a JPEG at its reduction
    flag = _REDUCED_FLAG[reduction] if is_jpeg(format) else cv2.IMREAD_UNCHANGED
    with _opencv_quiet():
        image = cv2.imdecode(buffer, flag)
    if image is None:
        raise ImageDecodeError(
            "corrupt_compressed",
            f"{source}: could not decode {buffer.size} bytes of {format or 'compressed'} data "
            "(corrupt or truncated)")
    if image.dtype == np.uint16:
        image = _used_top_byte(image)
    if (pattern := _bayer_pattern(format.split(";")[0].strip())) is not None:
        # image_transport's PNG of a Bayer camera's mosaic, one channel (a review: taken as
        # grey, blue equal to red and a checkerboard over the person, without a word)
        if image.ndim != 2 and image.shape[2] != 1:
            raise ImageDecodeError("corrupt_compressed", f"{source}: {format!r} should hold "
                                   f"a one-channel Bayer mosaic, not {image.shape[2]} channels")
        return cv2.cvtColor(image.reshape(image.shape[:2]), _BAYER[pattern])
    if image.ndim == 2 or image.shape[2] == 1:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if holds_rgb(format):
        return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    return image


def _bayer_pattern(encoding: str) -> str | None:
    """The 8-bit _BAYER key of a Bayer encoding, 8- or 16-bit ("bayer_rggb16" ->
    "bayer_rggb8"), else None."""
    name = encoding.strip().lower()
    key = name[:-2] + "8" if name.endswith("16") else name
    return key if key in _BAYER else None


def _png_damage(buffer: np.ndarray) -> str:
    """What is wrong with a PNG's chunks ("" when nothing): one cut short, one whose CRC does
    not match its bytes (damaged on the way), or no end chunk (truncated). About 1 ms for a
    1080p PNG (zlib's crc32)."""
    data = buffer.tobytes()
    at = len(_PNG_SIGNATURE)
    while at + 12 <= len(data):
        length, = struct.unpack(">I", data[at:at + 4])
        end = at + 12 + length
        if end > len(data):
            return "with a chunk cut short (truncated)"
        kind = data[at + 4:at + 8]
        if zlib.crc32(data[at + 4:end - 4]) != struct.unpack(">I", data[end - 4:end])[0]:
            return f"with a damaged {kind.decode('latin-1')!r} chunk (its CRC does not match)"
        if kind == b"IEND":
            return ""
        at = end
    return "without its end chunk (truncated)"


def holds_rgb(format: str) -> bool:  # noqa: A002
    """Whether a CompressedImage format says its data holds RGB-ordered pixels
    ("rgb8; jpeg compressed rgb8": image_transport's "<encoding>; <codec> compressed <order>"),
    which OpenCV's decoder hands back as if BGR."""
    words = format.lower().split("compressed")
    return len(words) > 1 and words[-1].strip().startswith("rgb")


JPEG_QUALITY = 95      # compressed_image_transport's default jpeg_quality
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def jpeg_round_trip(image: np.ndarray, reduction: int = 1) -> np.ndarray:
    """A BGR image as a node receives it over image_transport 'compressed': JPEG-encoded at
    JPEG_QUALITY, decoded at 1/reduction (decode_compressed), as benchmarks and tests see it."""
    data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1]
    return decode_compressed("jpeg", data, reduction=reduction)

