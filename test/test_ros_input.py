"""Image input split between the executor thread (cheap checks) and the processing thread
(the JPEG/PNG decode, only for frames of processed sets)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage

from pose3d_ros.core.image_decode import ImageDecodeError
from pose3d_ros.ros.conversions import image_to_msg
from pose3d_ros.ros.node_input import PendingImage, accept_image, finish_image, finish_images
from pose3d_ros.tools.fetch_demo import video_paths


def test_compressed_images_are_checked_first_and_decoded_later_side_by_side():
    image = np.zeros((48, 64, 3), np.uint8)
    image[10:20, 10:30] = (0, 128, 255)
    png = cv2.imencode(".png", image)[1].tobytes()
    good = accept_image("cam01", CompressedImage(format="png", data=png))
    corrupt = accept_image("cam02", CompressedImage(format="jpeg",
                                                    data=b"\xff\xd8\xff\xe0" + bytes(500)))
    assert isinstance(good, PendingImage) and isinstance(corrupt, PendingImage)
    for bad_format in ("png; compressedDepth", "tiff"):
        with pytest.raises(ImageDecodeError) as error:
            accept_image("cam03", CompressedImage(format=bad_format, data=png))
        assert error.value.reason == "unsupported_encoding"
    with pytest.raises(ImageDecodeError, match="empty"):
        accept_image("cam03", CompressedImage(format="jpeg", data=b""))
    raw = accept_image("cam03", image_to_msg(image, 1.0, "cam03_optical_frame"))
    finished = finish_images({"cam01": good, "cam02": corrupt, "cam03": raw})
    np.testing.assert_array_equal(finished["cam01"][0], image)
    assert finished["cam01"][1] == 1
    assert isinstance(finished["cam02"], ImageDecodeError)
    assert finished["cam02"].reason == "corrupt_compressed"
    np.testing.assert_array_equal(finished["cam03"][0], image)


def test_jpeg_is_decoded_reduced_to_the_calibrated_size_and_other_sizes_are_refused():
    # a real 1080x1920 demo frame: decoded at 1/2 with a 540 px floor, at 1/4 with 270
    capture = cv2.VideoCapture(str(video_paths("single")[0]))
    ok, frame = capture.read()
    capture.release()
    assert ok
    jpeg = accept_image("cam01", CompressedImage(format="bgr8; jpeg compressed bgr8",
                                                 data=cv2.imencode(".jpg", frame)[1].tobytes()))
    size = (frame.shape[1], frame.shape[0])
    whole, reduction = finish_image("cam01", jpeg, size, 0)
    assert reduction == 1 and whole.shape == frame.shape
    half, reduction = finish_image("cam01", jpeg, size, 540)
    assert reduction == 2 and half.shape == (frame.shape[0] // 2, frame.shape[1] // 2, 3)
    quarter, reduction = finish_image("cam01", jpeg, size, 270)
    assert reduction == 4 and quarter.shape[:2] == (frame.shape[0] // 4, frame.shape[1] // 4)
    # the half-size decode is the whole image averaged over 2x2 blocks, not another picture
    pooled = whole.reshape(half.shape[0], 2, half.shape[1], 2, 3).mean((1, 3))
    assert np.median(np.abs(pooled - half)) <= 2.0
    # PNG has no reduced decode: whole, whatever the floor
    png = accept_image("cam01", CompressedImage(format="png",
                                                data=cv2.imencode(".png", frame)[1].tobytes()))
    assert finish_image("cam01", png, size, 540)[1] == 1
    # a calibration for the codec-padded size (1088 for 1080, as the demo rig's cam01) is
    # the same resolution: accepted, whole or reduced
    padded = (size[0] + 8, size[1])
    assert finish_image("cam01", jpeg, padded, 540)[0].shape == half.shape
    # an image of another size than its calibration's: refused with the reason, raw or JPEG
    for pending in (jpeg, accept_image("cam01", image_to_msg(frame, 1.0, "cam01_optical"))):
        with pytest.raises(ImageDecodeError, match="calibration is for 1280x720") as error:
            finish_image("cam01", pending, (1280, 720), 540)
        assert error.value.reason == "size_mismatch_calibration"


def test_raw_images_to_convert_are_checked_first_and_converted_by_the_worker():
    """A raw image of another encoding than bgr8 is converted into one contiguous BGR array
    (image_decode), on the worker and only for frames the node processes: the executor
    thread makes the checks alone, as for compressed images (the synchroniser drops most
    frames of a camera faster than the 2D network)."""
    from sensor_msgs.msg import Image

    from pose3d_ros.ros.node_input import PendingRaw

    image = np.zeros((48, 64, 3), np.uint8)
    image[10:20, 10:30] = (0, 128, 255)
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    msg = Image(encoding="rgb8", width=64, height=48, step=64 * 3, data=rgb.tobytes())
    pending = accept_image("cam01", msg)
    assert isinstance(pending, PendingRaw)
    converted, reduction = finish_image("cam01", pending, (64, 48))
    np.testing.assert_array_equal(converted, image)
    assert reduction == 1 and converted.flags.c_contiguous
    bgr = accept_image("cam01", image_to_msg(image, 1.0, "cam01_optical_frame"))
    assert isinstance(bgr, np.ndarray)                       # bgr8: a view, nothing to do
    for bad, reason in ((Image(encoding="rgb8", width=64, height=48, step=64 * 3,
                               data=rgb.tobytes()[:-1]), "truncated"),
                        (Image(encoding="16UC1", width=64, height=48, step=128,
                               data=bytes(128 * 48)), "unsupported_encoding"),
                        (Image(encoding="yuv422", width=63, height=48, step=126,
                               data=bytes(126 * 48)), "bad_size")):
        with pytest.raises(ImageDecodeError) as error:
            accept_image("cam01", bad)
        assert error.value.reason == reason
    with pytest.raises(ImageDecodeError, match="calibration is for 1280x720"):
        finish_image("cam01", pending, (1280, 720))
