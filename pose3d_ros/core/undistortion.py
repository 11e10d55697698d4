"""Undistortion of raw pixels to normalised image coordinates on the nodes' hot path.

undistort_normalised: one camera, by OpenCV's undistortPoints (or one affine map for a camera
without distortion or skew); undistort_cameras: all cameras of a frame set, the affine ones in
one map over every camera's keypoints (the numbers of undistort_normalised, fewer calls).
CameraModel.undistort (core.camera) is the reference implementation both agree with.
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .array_ops import vector_norm

# normalised image units: how far an undistorted point, distorted again, may miss its raw
# point (1e-6 px at a focal length of 1000 px)
UNDISTORT_TOLERANCE = 1e-9

if TYPE_CHECKING:
    from .camera import CameraArrays, CameraModel


@lru_cache(maxsize=64)
def _inverse_focal(intrinsics: bytes) -> np.ndarray:
    """inv(K[:2, :2]).T of a 3x3 float64 K given as bytes (a camera constant, cached)."""
    K = np.frombuffer(intrinsics, np.float64).reshape(3, 3)
    inverse = np.linalg.inv(K[:2, :2]).T
    inverse.flags.writeable = False
    return inverse


def undistort_normalised(camera: CameraModel, pixels: np.ndarray) -> np.ndarray:
    """Raw pixels (..., 2) -> undistorted normalised coordinates (..., 2), NaN kept.

    The same inversion as CameraModel.undistort, done by OpenCV's C++ undistortPoints (about
    10x faster per call, which matters on the nodes' hot path). Its result is checked by
    distorting it again, every point of a camera where OpenCV can miss (_opencv_may_miss:
    strongly distorted corners, a fisheye past 90 degrees), the points beyond the grid that
    test covers on the others; a point missed by more than UNDISTORT_TOLERANCE is polished
    by Newton steps from OpenCV's answer (CameraModel.polish_undistorted; a fisheye's past
    its 90-degree clamp by CameraModel.undistort), or NaN.
    """
    import cv2

    pixels = np.asarray(pixels, np.float64)
    bends = camera.has_distortion                # (a property that tests every coefficient)
    if camera.K[0, 1] == 0 and not bends and not np.isinf(pixels).any():
        # pinhole without skew: one affine map; a NaN coordinate makes both NaN (x 0 terms)
        flat = (pixels.reshape(-1, 2) - camera.K[:2, 2]) @ _inverse_focal(
            np.asarray(camera.K, np.float64).tobytes())
        return flat.reshape(pixels.shape)
    out = np.full(pixels.shape, np.nan)
    seen = np.isfinite(pixels).all(-1)
    if not seen.any():
        return out
    points = np.ascontiguousarray(pixels[seen]).reshape(-1, 1, 2)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-14)
    if camera.K[0, 1] != 0:
        return camera.undistort(pixels)       # OpenCV's undistortPoints ignores skew
    if not bends:
        flat = (points.reshape(-1, 2) - camera.K[:2, 2]) @ _inverse_focal(
            np.asarray(camera.K, np.float64).tobytes())
    elif camera.distortion_model == "equidistant":
        flat = cv2.fisheye.undistortPoints(points, camera.K, camera.coefficients,
                                           criteria=criteria).reshape(-1, 2)
    elif camera.distortion_model in ("plumb_bob", "rational_polynomial"):
        flat = cv2.undistortPoints(points, camera.K, camera.coefficients,
                                   criteria=criteria).reshape(-1, 2)
    else:
        return camera.undistort(pixels)
    if bends:
        # OpenCV returns a wrong ray without a word where its inversion stops short (near
        # the corners of strongly distorted lenses, far outside the image) or clamps a
        # fisheye's angle at 90 degrees: the points it may have missed (every point of a
        # camera where it can miss, else those beyond the grid _opencv_may_miss checks) are
        # distorted again, and the missed ones polished by Newton steps from OpenCV's answer
        # (a fisheye's by its own inversion), or NaN
        uv = points.reshape(-1, 2)
        maybe = np.ones(len(uv), bool) if _opencv_may_miss(camera) else _beyond_grid(
            uv, camera.width, camera.height)
        if maybe.any():
            distorted = camera.pixels_to_normalized(uv[maybe])
            missed = ~(vector_norm(camera.distort(flat[maybe]) - distorted)
                       <= UNDISTORT_TOLERANCE)
            if missed.any():
                rows = np.flatnonzero(maybe)[missed]
                # past a fisheye's 90-degree clamp OpenCV's answer is no start: its own
                # inversion (CameraModel.undistort)
                clamped = (vector_norm(distorted[missed]) >= np.pi / 2
                           if camera.distortion_model == "equidistant"
                           else np.zeros(len(rows), bool))
                flat[rows[~clamped]] = camera.polish_undistorted(flat[rows[~clamped]],
                                                                 distorted[missed][~clamped])
                if clamped.any():
                    flat[rows[clamped]] = camera.undistort(uv[rows[clamped]])
    out[seen] = flat
    return out


def _beyond_grid(uv: np.ndarray, width: int, height: int) -> np.ndarray:
    """(N,) bool: pixels (N, 2) outside the region whose grid _opencv_misses checks (the
    image and a fifth of it beyond each edge)."""
    w, h = 0.2 * (width - 1), 0.2 * (height - 1)
    return (uv[:, 0] < -w) | (uv[:, 0] > width - 1 + w) | (uv[:, 1] < -h) | \
        (uv[:, 1] > height - 1 + h)


def _opencv_may_miss(camera: CameraModel) -> bool:
    """Whether OpenCV's undistortion of this camera can miss (a camera constant, cached): it
    misses some point of a 13 x 13 grid over the image and a fifth of it beyond each edge
    (keypoints of people partly out of view), or the lens is a fisheye (OpenCV clamps its
    angle at 90 degrees, which a fisheye's corners can pass). Where it does not, the check
    of each result is left out of the hot path (it would double the call's cost)."""
    if camera.distortion_model == "equidistant":
        return True
    return _opencv_misses(camera.K.tobytes(), camera.coefficients.tobytes(), camera.width,
                          camera.height)


@lru_cache(maxsize=64)
def _opencv_misses(intrinsics: bytes, coefficients: bytes, width: int, height: int) -> bool:
    """_opencv_may_miss of a plumb_bob or rational_polynomial camera (K and its
    CameraModel.coefficients as float64 bytes)."""
    import cv2

    from .camera import CameraModel

    K = np.frombuffer(intrinsics, np.float64).reshape(3, 3)
    dist = np.frombuffer(coefficients, np.float64)
    model = CameraModel("grid", "", width, height, K, dist,
                        "rational_polynomial" if dist.size > 5 else "plumb_bob")
    u, v = np.meshgrid(np.linspace(-0.2, 1.2, 13) * (width - 1),
                       np.linspace(-0.2, 1.2, 13) * (height - 1))
    grid = np.stack([u, v], -1).reshape(-1, 1, 2)
    flat = cv2.undistortPoints(grid, K, dist, criteria=(
        cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-14)).reshape(-1, 2)
    miss = vector_norm(model.distort(flat) - model.pixels_to_normalized(grid.reshape(-1, 2)))
    return bool(~(miss <= UNDISTORT_TOLERANCE).all())


def affine_undistortion(camera: CameraModel) -> np.ndarray:
    """(4,) [c_x, c_y, i_x, i_y] of a camera without distortion (a pinhole) or skew, whose
    undistortion is (u - c_x) i_x, (v - c_y) i_y (i: undistort_normalised's inverse focal
    lengths, the same numbers); NaN for other cameras."""
    K = np.asarray(camera.K, np.float64)
    if K[0, 1] != 0 or K[1, 0] != 0 or camera.has_distortion:
        return np.full(4, np.nan)
    inverse = _inverse_focal(K.tobytes())
    return np.array([K[0, 2], K[1, 2], inverse[0, 0], inverse[1, 1]])


def undistort_cameras(cameras: Sequence[CameraModel], arrays: CameraArrays,
                      pixels: Sequence[np.ndarray]) -> list[np.ndarray]:
    """undistort_normalised of each camera's raw pixels (P_v, J, 2); arrays: the cameras'
    CameraArrays. When all of them are affine (arrays.affine), one map over all the keypoints
    stacked, with the same numbers as camera by camera."""
    stacked = _affine_stacked(arrays, pixels)
    if stacked is None:
        return [undistort_normalised(c, p) for c, p in zip(cameras, pixels, strict=True)]
    return np.split(stacked, np.cumsum([len(p) for p in pixels])[:-1])


def undistort_stacked(cameras: Sequence[CameraModel], arrays: CameraArrays,
                      pixels: Sequence[np.ndarray]) -> np.ndarray:
    """undistort_cameras' results stacked camera by camera: (N, J, 2), N = sum of P_v
    (as StackedDetections.stacked takes them)."""
    stacked = _affine_stacked(arrays, pixels)
    if stacked is None:
        return np.concatenate(undistort_cameras(cameras, arrays, pixels))
    return stacked


def _affine_stacked(arrays: CameraArrays, pixels: Sequence[np.ndarray]) -> np.ndarray | None:
    """All cameras' pixels (P_v, J, 2) undistorted in one affine map, stacked (N, J, 2);
    None unless every camera is affine (arrays.affine) and no pixel is infinite."""
    affine = arrays.affine
    stacked = np.concatenate(pixels).astype(np.float64, copy=False) if len(pixels) else None
    if affine is None or stacked is None or np.isnan(affine).any() or np.isinf(stacked).any():
        return None
    counts = [len(p) for p in pixels]
    row = affine[np.repeat(np.arange(len(counts)), counts)][:, None]            # (N, 1, 4)
    offset = stacked - row[..., :2]
    # u i_x + v 0: undistort_normalised's 2x2 product term by term (NaN in either coordinate
    # makes both NaN)
    return offset * row[..., 2:] + offset[..., ::-1] * 0.0
