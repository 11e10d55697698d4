"""Image input split between the executor thread (cheap checks) and the processing thread
(the JPEG/PNG decode, only for frames of processed sets)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage

from pose3d_ros.core.image_decode import ImageDecodeError
from pose3d_ros.ros.conversions import image_to_msg
from pose3d_ros.ros.node_input import PendingImage, accept_image, finish_images


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
    np.testing.assert_array_equal(finished["cam01"], image)
    assert isinstance(finished["cam02"], ImageDecodeError)
    assert finished["cam02"].reason == "corrupt_compressed"
    np.testing.assert_array_equal(finished["cam03"], image)
