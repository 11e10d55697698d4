"""Pinhole camera models with the distortion models of sensor_msgs/CameraInfo, and camera rigs.

Frames (REP-103): a camera's optical frame has z forward, x right, y down. Extrinsics map the
rig frame into the optical frame: x_cam = R @ x_rig + t (metres). Pixels are RAW (distorted)
image coordinates with pixel centres at integers, as CameraInfo assumes.

Distortion models (coefficient order as in CameraInfo / OpenCV):
  plumb_bob            k1 k2 p1 p2 [k3]                  (Brown-Conrady, 4 or 5 terms)
  rational_polynomial  k1 k2 p1 p2 k3 k4 k5 k6 [s1 s2 s3 s4]
                       (OpenCV's rational model, with its thin-prism terms when 12 are given)
  equidistant          k1 k2 k3 k4                       (OpenCV fisheye / Kannala-Brandt)
Fewer coefficients than a model has are its leading ones (the rest zero); more are taken when
the extra ones are zero (drivers pad D to OpenCV's 8, 12 or 14 terms), refused otherwise
(OpenCV's tilted-sensor terms tau_x, tau_y, coefficients 13-14, are not supported).

Everything is vectorised over arbitrary leading dimensions; NaN in gives NaN out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Iterator, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .array_ops import vector_norm
from .undistortion import UNDISTORT_TOLERANCE, affine_undistortion

DISTORTION_MODELS = ("plumb_bob", "rational_polynomial", "equidistant")
# the terms each model has (its coefficients as CameraModel.coefficients gives them)
_MODEL_COEFFS = {"plumb_bob": 5, "rational_polynomial": 12, "equidistant": 4}
# the most a CameraInfo's D may hold, the ones past the model's terms being zero: OpenCV's
# longest model (14: rational, thin prism, tilt)
_MAX_PADDED_COEFFS = 14
_UNDISTORT_ITERATIONS = 30
# metres: a point at or behind this depth in a camera's optical frame (its image plane, within
# a millimetre) is not in front of the camera: no projection, no view of it
MIN_DEPTH_M = 1e-3


def _as_f64(values: ArrayLike, shape: tuple[int, ...] | None = None) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if shape is not None:
        arr = arr.reshape(shape)
    return arr




def _coefficient_fault(model: str, dist: np.ndarray) -> str | None:
    """Why `dist` cannot be `model`'s coefficients (module docstring), or None."""
    terms = _MODEL_COEFFS[model]
    if dist.size > _MAX_PADDED_COEFFS or (dist.size > terms and dist[terms:].any()):
        extra = {"plumb_bob": " (coefficients 6-8 are rational_polynomial's k4-k6: set "
                              "distortion_model to rational_polynomial)",
                 "rational_polynomial": " (coefficients 13-14 are OpenCV's tilted-sensor "
                                        "terms, not supported)"}.get(model, "")
        return (f"{dist.size} distortion coefficients for {model}, non-zero past its "
                f"{terms} terms{extra}" if dist.size <= _MAX_PADDED_COEFFS else
                f"{dist.size} distortion coefficients for {model} (expected up to {terms})")
    if model == "plumb_bob" and 0 < dist.size < 4:
        return f"{dist.size} distortion coefficients for plumb_bob (expected 4 or 5)"
    return None


def _undistort_equidistant(xd: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Distorted normalised points (..., 2) of an equidistant (fisheye) lens with
    coefficients c (4,) -> undistorted normalised points (..., 2): Newton on theta (the angle
    off the optical axis) from theta_d = |xd|; NaN where theta is 90 degrees or more (no
    point of the image plane; the ray points sideways or back) or not found."""
    k1, k2, k3, k4 = (float(v) for v in c)       # (Python floats: cheaper on small arrays)
    theta_d = np.sqrt(np.sum(xd * xd, axis=-1))
    theta = theta_d.copy()
    for _ in range(_UNDISTORT_ITERATIONS):
        t2 = theta * theta
        f = theta * (1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4)))) - theta_d
        df = 1 + t2 * (3 * k1 + t2 * (5 * k2 + t2 * (7 * k3 + 9 * t2 * k4)))
        theta = theta - f / df
        if not (np.abs(f) > 1e-11).any():     # this step's error is about f squared: done
            break
    t2 = theta * theta
    miss = np.abs(theta * (1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4)))) - theta_d)
    with np.errstate(invalid="ignore", divide="ignore"):
        usable = (theta >= 0) & (theta < np.pi / 2 - 1e-9) & (miss <= UNDISTORT_TOLERANCE)
        scale = np.where(theta_d > 1e-12, np.tan(theta) / theta_d, 1.0)
    return np.where(usable[..., None], xd * scale[..., None], np.nan)


@dataclass
class CameraModel:
    """One calibrated camera.

    K: (3, 3) intrinsic matrix, pixels. dist: (n,) distortion coefficients of
    `distortion_model`. R: (3, 3) rotation and t: (3,) translation (metres) with
    x_cam = R @ x_rig + t. width/height: image size in pixels. frame_id: the optical frame.
    """

    name: str
    frame_id: str
    width: int
    height: int
    K: np.ndarray
    dist: np.ndarray
    distortion_model: str = "plumb_bob"
    R: np.ndarray = field(default_factory=lambda: np.eye(3))
    t: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def __post_init__(self) -> None:
        self.K = _as_f64(self.K)
        self.dist = _as_f64(self.dist).reshape(-1)
        self.R = _as_f64(self.R)
        self.t = _as_f64(self.t).reshape(-1)
        self.width = int(self.width)
        self.height = int(self.height)

    # ---------------------------------------------------------------- checks
    def validate(self) -> "CameraModel":
        """Raise ValueError naming this camera and the fault; return self when sound, or the
        camera with R made exactly orthonormal (nearest_rotation) when it is a rotation
        rounded within ROTATION_TOLERANCE (a matrix copied with 4 decimals, 3e-5 off, was
        refused: a review)."""
        who = f"camera {self.name!r}"
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"{who}: image size {self.width}x{self.height} must be positive")
        if self.K.shape != (3, 3):
            raise ValueError(f"{who}: K must be 3x3, got shape {self.K.shape}")
        if not np.all(np.isfinite(self.K)):
            raise ValueError(f"{who}: K contains NaN or inf")
        if self.K[0, 0] <= 0 or self.K[1, 1] <= 0:
            raise ValueError(f"{who}: focal lengths fx={self.K[0, 0]}, fy={self.K[1, 1]} "
                             "must be positive (zero focal length?)")
        if not np.allclose(self.K[2], [0.0, 0.0, 1.0]) or abs(self.K[1, 0]) > 0:
            raise ValueError(f"{who}: K must be upper triangular with last row [0, 0, 1], "
                             f"got {self.K.tolist()}")
        if self.distortion_model not in DISTORTION_MODELS:
            raise ValueError(f"{who}: unknown distortion model {self.distortion_model!r}; "
                             f"supported: {DISTORTION_MODELS}")
        if not np.all(np.isfinite(self.dist)):
            raise ValueError(f"{who}: distortion coefficients contain NaN or inf")
        if (fault := _coefficient_fault(self.distortion_model, self.dist)) is not None:
            raise ValueError(f"{who}: {fault}")
        if self.R.shape != (3, 3) or self.t.shape != (3,):
            raise ValueError(f"{who}: R must be 3x3 and t length 3, got {self.R.shape}, "
                             f"{self.t.shape}")
        if not (np.all(np.isfinite(self.R)) and np.all(np.isfinite(self.t))):
            raise ValueError(f"{who}: extrinsics contain NaN or inf")
        deviation = float(np.abs(self.R @ self.R.T - np.eye(3)).max())
        if not deviation <= ROTATION_TOLERANCE or np.linalg.det(self.R) < 0:
            raise ValueError(f"{who}: R is not a proper rotation (orthonormal, det +1); "
                             f"R R^T - I max deviation {deviation:.3g}, "
                             f"det {np.linalg.det(self.R):.4f}")
        if deviation > 1e-12:           # rounded in a file: the nearest rotation
            return replace(self, R=nearest_rotation(self.R))
        return self

    # ---------------------------------------------------------------- geometry
    @property
    def center(self) -> np.ndarray:
        """(3,) optical centre in the rig frame, metres."""
        return -self.R.T @ self.t

    @property
    def projection_matrix(self) -> np.ndarray:
        """(3, 4) P = K [R | t] mapping rig points to UNDISTORTED pixels."""
        return self.K @ np.hstack([self.R, self.t[:, None]])

    def to_camera_frame(self, points_rig: np.ndarray) -> np.ndarray:
        """(..., 3) rig-frame points -> (..., 3) optical-frame points, metres."""
        return np.asarray(points_rig, np.float64) @ self.R.T + self.t

    @property
    def coefficients(self) -> np.ndarray:
        """The distortion coefficients as the model has them: (5,) plumb_bob, (12,)
        rational_polynomial (k1 k2 p1 p2 k3 k4 k5 k6 s1 s2 s3 s4), (4,) equidistant; `dist`
        padded with zeros or stripped of its zero padding (what OpenCV's functions take)."""
        c = np.zeros(_MODEL_COEFFS.get(self.distortion_model, 8))
        c[: self.dist.size] = self.dist[: c.size]
        return c

    @property
    def has_distortion(self) -> bool:
        """Whether the lens model bends rays (pixels are not K alone): a non-zero
        coefficient, or an equidistant (fisheye) lens, whose angle theta_d = theta
        (1 + k1 theta^2 + ...) is no pinhole's tan(theta) with every coefficient zero too."""
        return self.distortion_model == "equidistant" or bool(np.any(self.dist))

    def distort(self, xy: np.ndarray) -> np.ndarray:
        """Normalised undistorted coordinates (..., 2) -> normalised distorted (..., 2)."""
        x, y = xy[..., 0], xy[..., 1]
        c = self.coefficients
        r2 = x * x + y * y
        if self.distortion_model == "equidistant":
            r = np.sqrt(r2)
            theta = np.arctan(r)
            t2 = theta * theta
            theta_d = theta * (1 + t2 * (c[0] + t2 * (c[1] + t2 * (c[2] + t2 * c[3]))))
            with np.errstate(invalid="ignore", divide="ignore"):
                scale = np.where(r > 1e-12, theta_d / r, 1.0)
            return xy * scale[..., None]
        k1, k2, p1, p2, k3 = c[:5]
        radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        if self.distortion_model == "rational_polynomial":
            k4, k5, k6 = c[5:8]
            radial = radial / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
        xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        if self.distortion_model == "rational_polynomial" and c[8:].any():
            s1, s2, s3, s4 = c[8:12]              # thin prism
            xd = xd + r2 * (s1 + s2 * r2)
            yd = yd + r2 * (s3 + s4 * r2)
        return np.stack([xd, yd], axis=-1)

    def project(self, points_rig: np.ndarray) -> np.ndarray:
        """(..., 3) rig-frame points, metres -> (..., 2) raw distorted pixels.

        Points at or behind the image plane (z <= 1 mm) and NaN points give NaN.
        """
        pc = self.to_camera_frame(points_rig)
        z = pc[..., 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(z > MIN_DEPTH_M, z, np.nan)
            xy = pc[..., :2] / z[..., None]
        return self.normalized_to_pixels(self.distort(xy))

    def normalized_to_pixels(self, xy_distorted: np.ndarray) -> np.ndarray:
        """Apply K to normalised (distorted) coordinates (..., 2) -> pixels (..., 2)."""
        k = self.K
        u = k[0, 0] * xy_distorted[..., 0] + k[0, 1] * xy_distorted[..., 1] + k[0, 2]
        v = k[1, 1] * xy_distorted[..., 1] + k[1, 2]
        return np.stack([u, v], axis=-1)

    def pixels_to_normalized(self, uv: np.ndarray) -> np.ndarray:
        """Remove K only: pixels (..., 2) -> normalised DISTORTED coordinates (..., 2)."""
        uv = np.asarray(uv, np.float64)
        k = self.K
        y = (uv[..., 1] - k[1, 2]) / k[1, 1]
        x = (uv[..., 0] - k[0, 2] - k[0, 1] * y) / k[0, 0]
        return np.stack([x, y], axis=-1)

    def undistort(self, uv: np.ndarray) -> np.ndarray:
        """Raw pixels (..., 2) -> undistorted normalised image coordinates (..., 2).

        Inverts the distortion iteratively (fixed point, then Newton steps where that has not
        converged, for plumb_bob/rational_polynomial; Newton on theta for equidistant); exact
        for zero distortion. A pixel whose ray the model cannot give is NaN rather than a
        wrong ray: 90 degrees or more off the optical axis (a fisheye's edge), or a point
        the inversion does not reach within 1e-9 (normalised; far below a pixel).
        """
        xd = self.pixels_to_normalized(uv)
        if not self.has_distortion:
            return xd
        c = self.coefficients
        if self.distortion_model == "equidistant":
            return _undistort_equidistant(xd, c)
        k1, k2, p1, p2, k3, k4, k5, k6, s1, s2, s3, s4 = np.resize(c, 12) * (np.arange(12)
                                                                        < c.size)
        xd0, yd0 = xd[..., 0], xd[..., 1]
        px, py = xd0.copy(), yd0.copy()
        for _ in range(_UNDISTORT_ITERATIONS):
            r2 = px * px + py * py
            radial = (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
            nx = (xd0 - 2 * p1 * px * py - p2 * (r2 + 2 * px * px) - r2 * (s1 + s2 * r2)) / radial
            ny = (yd0 - p1 * (r2 + 2 * py * py) - 2 * p2 * px * py - r2 * (s3 + s4 * r2)) / radial
            step = max(np.nanmax(np.abs(nx - px), initial=0.0),
                       np.nanmax(np.abs(ny - py), initial=0.0))
            px, py = nx, ny
            if step < 1e-11:  # normalised units: far below 1e-6 px
                break
        return self.polish_undistorted(np.stack([px, py], axis=-1), xd)

    def polish_undistorted(self, xy: np.ndarray, xd: np.ndarray, steps: int = 6) -> np.ndarray:
        """Undistorted guesses xy (..., 2) of the distorted normalised points xd (..., 2):
        where distort(xy) misses xd by more than UNDISTORT_TOLERANCE, Newton steps (the
        fixed point creeps or oscillates near the corners of strongly distorted lenses),
        then NaN where still missed (no ray is better than a wrong one)."""
        miss = ~(vector_norm(self.distort(xy) - xd) <= UNDISTORT_TOLERANCE) & \
            np.isfinite(xd).all(-1)
        if not miss.any():
            return xy
        guess, target = np.nan_to_num(xy[miss]), xd[miss]     # (M, 2), from a finite start
        h = 1e-8
        # a point past what the lens reaches (a fisheye's keypoint beyond its largest angle)
        # has no ray: its guesses run off to inf and end NaN below, without a warning
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            for _ in range(steps):
                distorted = self.distort(guess)
                residual = distorted - target                                        # (M, 2)
                if (vector_norm(residual) <= UNDISTORT_TOLERANCE).all():
                    break
                # the Jacobian by forward differences (2 calls; Newton still converges)
                jx = (self.distort(guess + [h, 0.0]) - distorted) / h
                jy = (self.distort(guess + [0.0, h]) - distorted) / h
                det = jx[:, 0] * jy[:, 1] - jy[:, 0] * jx[:, 1]
                dx = (jy[:, 1] * residual[:, 0] - jy[:, 0] * residual[:, 1]) / det
                dy = (jx[:, 0] * residual[:, 1] - jx[:, 1] * residual[:, 0]) / det
                guess = guess - np.stack([dx, dy], -1)
            still = ~(vector_norm(self.distort(guess) - target) <= UNDISTORT_TOLERANCE)
        guess[still] = np.nan
        out = xy.copy()
        out[miss] = guess
        return out

    def pixel_rays(self, uv: np.ndarray) -> np.ndarray:
        """Raw pixels (..., 2) -> (..., 3) unit viewing rays in the RIG frame (from `center`)."""
        xy = self.undistort(uv)
        d = np.concatenate([xy, np.ones_like(xy[..., :1])], axis=-1)
        d = d / np.linalg.norm(d, axis=-1, keepdims=True)
        return d @ self.R  # R^T d for row vectors

    # ---------------------------------------------------------------- CameraInfo
    @classmethod
    def from_camera_info(cls, width: int, height: int, distortion_model: str,
                         d: Sequence[float], k: Sequence[float],
                         r: Sequence[float] | None = None, p: Sequence[float] | None = None,
                         frame_id: str = "", name: str = "",
                         R: np.ndarray | None = None, t: np.ndarray | None = None
                         ) -> "CameraModel":
        """Build from plain sensor_msgs/CameraInfo fields (k row-major 9, d n values).

        CameraInfo carries no extrinsics: R, t (rig -> optical) default to identity/zero.
        r (rectification) and p (rectified projection) only matter for rectified images;
        they are checked for size and otherwise ignored, since this model works on raw pixels.
        """
        if len(k) != 9:
            raise ValueError(f"camera {name or frame_id!r}: CameraInfo k must have 9 values, "
                             f"got {len(k)}")
        if r is not None and len(r) not in (0, 9):
            raise ValueError(f"camera {name or frame_id!r}: CameraInfo r must have 9 values")
        if p is not None and len(p) not in (0, 12):
            raise ValueError(f"camera {name or frame_id!r}: CameraInfo p must have 12 values")
        if not distortion_model and len(d) == 0:
            distortion_model = "plumb_bob"
        cam = cls(name=name or frame_id, frame_id=frame_id, width=width, height=height,
                  K=np.asarray(k, np.float64).reshape(3, 3), dist=np.asarray(d, np.float64),
                  distortion_model=distortion_model,
                  R=np.eye(3) if R is None else R, t=np.zeros(3) if t is None else t)
        return cam.validate()

    def to_camera_info_fields(self) -> dict:
        """Plain CameraInfo fields: width, height, distortion_model, d, k, r, p (lists)."""
        p = np.hstack([self.K, np.zeros((3, 1))])
        return {"width": self.width, "height": self.height,
                "distortion_model": self.distortion_model, "d": self.dist.tolist(),
                "k": self.K.reshape(-1).tolist(), "r": np.eye(3).reshape(-1).tolist(),
                "p": p.reshape(-1).tolist(), "frame_id": self.frame_id}

    def scaled(self, factor: float) -> "CameraModel":
        """The same camera for its images resized by `factor` (width and height rounded):
        focal lengths scale, and the principal point keeps pixel centres consistent
        ((c + 0.5) * factor - 0.5). Distortion and extrinsics are unchanged."""
        if not factor > 0:
            raise ValueError(f"scale factor must be > 0, got {factor}")
        K = self.K.copy()
        K[:2, :2] *= factor
        K[:2, 2] = (K[:2, 2] + 0.5) * factor - 0.5
        return replace(self, K=K, width=int(round(self.width * factor)),
                       height=int(round(self.height * factor)))

    def with_pose(self, R: np.ndarray, t: np.ndarray) -> "CameraModel":
        """Copy with other extrinsics (x_cam = R x_rig + t)."""
        return CameraModel(self.name, self.frame_id, self.width, self.height, self.K.copy(),
                           self.dist.copy(), self.distortion_model, np.array(R, np.float64),
                           np.array(t, np.float64))


def pinhole_from_fov(name: str, width: int, height: int, hfov_deg: float,
                     frame_id: str = "") -> CameraModel:
    """An undistorted pinhole camera for a width x height image whose horizontal field of view
    is hfov_deg degrees: square pixels, principal point at the image centre, fx = fy =
    (width / 2) / tan(hfov / 2) pixels. For video whose intrinsics are unknown (a phone or a
    webcam: about 60-75 degrees); one-camera depth scales with the focal length. ValueError
    outside 1-179 degrees or for an empty image."""
    if not 1.0 <= hfov_deg <= 179.0:
        raise ValueError(f"horizontal field of view {hfov_deg} deg: give 1-179 degrees")
    if width <= 0 or height <= 0:
        raise ValueError(f"camera {name!r}: image size {width}x{height} must be positive")
    focal = 0.5 * width / np.tan(np.radians(hfov_deg) / 2)
    K = np.array([[focal, 0.0, (width - 1) / 2], [0.0, focal, (height - 1) / 2],
                  [0.0, 0.0, 1.0]])
    return CameraModel(name, frame_id or f"{name}_optical_frame", width, height, K,
                       np.zeros(5))


def look_at_rotation(position: np.ndarray, target: np.ndarray,
                     up: Sequence[float] | np.ndarray = (0.0, 0.0, 1.0),
                     roll: np.ndarray | float = 0.0) -> np.ndarray:
    """(..., 3, 3) world-to-optical-frame rotations of cameras at `position` (..., 3) aiming
    at `target` (..., 3), metres, with the world's `up` (3,) drawn upward in the image (y
    down) and a `roll` (...) radians about the view axis (0: the horizon level). A camera
    looking along `up` (straight down or up: no horizon) takes its x square to the world
    axis least along its view (its rotation was NaN, a review)."""
    forward = np.asarray(target, float) - np.asarray(position, float)
    forward = forward / np.linalg.norm(forward, axis=-1, keepdims=True)
    right = np.cross(forward, np.asarray(up, float))
    length = np.linalg.norm(right, axis=-1, keepdims=True)
    if (along := length < 1e-9 * np.linalg.norm(up)).any():
        axis = np.eye(3)[np.argmin(np.abs(forward), axis=-1)]
        right = np.where(along, np.cross(forward, axis), right)
        length = np.linalg.norm(right, axis=-1, keepdims=True)
    right = right / length
    down = np.cross(forward, right)
    c, s = np.cos(roll)[..., None], np.sin(roll)[..., None]
    right, down = c * right + s * down, -s * right + c * down
    return np.stack([right, down, forward], axis=-2)


def look_at(center: np.ndarray, target: np.ndarray,
            up: Sequence[float] | np.ndarray = (0.0, 0.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """Extrinsics (R (3, 3), t (3,)) of an optical frame at `center` looking at `target` (3,)
    with no roll: x_cam = R @ x_world + t."""
    rotation = look_at_rotation(center, target, up)
    return rotation, -rotation @ np.asarray(center, float)


class CameraInfoError(ValueError):
    """A CameraInfo that cannot describe a calibrated camera; `reason` is a short key for
    diagnostics (camera_info_size, camera_info_nan, camera_info_zero, camera_info_invalid)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def ros2_frame_name(frame_id: str) -> str:
    """The ROS 2 name of a frame id: a ROS 1 style name ("/camera_optical_frame", as converted
    ROS 1 bags and bridges carry it) without its leading slash(es), which no ROS 2 frame name
    has (tf2 refuses it); any other name unchanged."""
    return frame_id.lstrip("/")


def frame_name_problem(frame_id: str, *, empty_ok: bool = False) -> str:
    """Why tf2 and the tools would refuse `frame_id` as a ROS 2 frame name ("" when they
    would not): empty (unless empty_ok, for a prefix), a leading slash, or white space."""
    if not frame_id:
        return "" if empty_ok else "it is empty"
    if frame_id.startswith("/"):
        return "it starts with '/'"
    if any(c.isspace() for c in frame_id):
        return "it holds white space"
    return ""


def rig_frame_problem(frame_id: str, cameras: Sequence[CameraModel]) -> str:
    """Why `frame_id` cannot be the frame of a rig of these cameras ("" when it can): not a
    frame name (frame_name_problem), or one of the cameras' own optical frames (the rig's
    tools then take it for a camera without a pose: a review's `--frame-id
    cam01_optical_frame` gave a rig `run` could not use); another camera's frame (a robot's,
    e.g. head_camera_optical_frame) is fine."""
    if problem := frame_name_problem(frame_id):
        return f"{frame_id!r} is not a ROS 2 frame name ({problem}), e.g. rig"
    if frame_id in {c.frame_id for c in cameras} | {f"{c.name}_optical_frame" for c in cameras}:
        return (f"{frame_id!r} is a camera's optical frame; the rig needs a frame of its own "
                "(e.g. rig), its cameras placed in it")
    return ""


def camera_model_from_info_msg(info: Any, name: str, uncalibrated_hfov_deg: float = 0.0
                               ) -> CameraModel:
    """A sensor_msgs/CameraInfo object (rclpy's or rosbags', read by attribute) ->
    CameraModel of the images the camera sends, with identity extrinsics, in the frame
    ros2_frame_name(header.frame_id); CameraInfoError naming the camera and the fault (zero
    image size, NaN, all-zero K as uncalibrated drivers send, fx or fy <= 0, a region of
    interest outside the sensor).

    uncalibrated_hfov_deg > 0: an all-zero K (is_uncalibrated: usb_cam and v4l2_camera send
    one without a calibration file) is taken instead as an undistorted pinhole camera of that
    horizontal field of view at the size of the images (pinhole_from_fov); one-camera depth
    then scales with the true focal length.

    Binning and region of interest (REP 104): width, height, K and P describe the full
    sensor; a driver that bins (binning_x/y > 1) or crops (a non-zero roi, in full-sensor
    pixels) sends images of roi size / binning, whose intrinsics are K with the ROI's offset
    taken from the principal point, then divided by the binning (as image_geometry's
    PinholeCameraModel does). The distortion acts on normalised coordinates: unchanged."""
    k = np.asarray(info.k, np.float64)
    d = np.asarray(info.d, np.float64)
    p = np.asarray(info.p, np.float64)
    where = f"camera {name!r} (frame {info.header.frame_id!r})"
    if info.width == 0 or info.height == 0:
        raise CameraInfoError("camera_info_size",
                              f"{where}: CameraInfo image size {info.width}x{info.height}")
    if not np.isfinite(k).all() or not np.isfinite(d).all():
        raise CameraInfoError("camera_info_nan", f"{where}: CameraInfo k or d holds NaN/inf")
    if is_uncalibrated(info):
        if uncalibrated_hfov_deg > 0:
            width, height, _, _ = _binned_and_cropped(info, k, p, where)
            model = pinhole_from_fov(name, width, height, uncalibrated_hfov_deg)
            model.frame_id = ros2_frame_name(info.header.frame_id)
            return model
        raise CameraInfoError("camera_info_zero",
                              f"{where}: CameraInfo K is all zero (camera not calibrated)")
    if k.size != 9 or k[0] <= 0 or k[4] <= 0:
        raise CameraInfoError("camera_info_invalid",
                              f"{where}: CameraInfo K {k.tolist()} has no positive fx, fy")
    width, height, k, p = _binned_and_cropped(info, k, p, where)
    try:
        return CameraModel.from_camera_info(
            width, height, info.distortion_model, d.tolist(), k.tolist(),
            list(info.r), p.tolist(), frame_id=ros2_frame_name(info.header.frame_id),
            name=name)
    except ValueError as err:
        raise CameraInfoError("camera_info_invalid", f"{where}: {err}") from None


def is_uncalibrated(info: Any) -> bool:
    """Whether a CameraInfo object carries the all-zero K of a camera nobody calibrated."""
    return not np.any(np.asarray(info.k, np.float64))


def _binned_and_cropped(info: Any, k: np.ndarray, p: np.ndarray, where: str
                        ) -> tuple[int, int, np.ndarray, np.ndarray]:
    """(width, height, K (9,), P (12,)) of the images a CameraInfo's camera sends after its
    binning and region of interest (REP 104; binning 0 or 1: none; an all-zero roi: the
    whole sensor). CameraInfoError for a roi outside the sensor."""
    bin_x = max(1, int(getattr(info, "binning_x", 0) or 0))
    bin_y = max(1, int(getattr(info, "binning_y", 0) or 0))
    roi = getattr(info, "roi", None)
    x0, y0, roi_w, roi_h = ((0, 0, 0, 0) if roi is None else
                            (int(roi.x_offset), int(roi.y_offset), int(roi.width),
                             int(roi.height)))
    full_w, full_h = int(info.width), int(info.height)
    if roi_w == 0 and roi_h == 0 and x0 == 0 and y0 == 0:
        roi_w, roi_h = full_w, full_h
    if roi_w <= 0 or roi_h <= 0 or x0 + roi_w > full_w or y0 + roi_h > full_h:
        raise CameraInfoError(
            "camera_info_invalid",
            f"{where}: CameraInfo roi {roi_w}x{roi_h} at ({x0}, {y0}) does not lie inside the "
            f"{full_w}x{full_h} sensor")
    if (bin_x, bin_y, roi_w, roi_h) == (1, 1, full_w, full_h):
        return full_w, full_h, k, p
    scale = np.array([[1.0 / bin_x], [1.0 / bin_y], [1.0]])
    shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    k = (scale * (shift @ k.reshape(3, 3))).ravel()
    if p.size == 12 and np.any(p):
        p = (scale * (shift @ p.reshape(3, 4))).ravel()
    return roi_w // bin_x, roi_h // bin_y, k, p


def _normalised_bounds(camera: CameraModel) -> np.ndarray:
    """[x_min, y_min, x_max, y_max] of the rectangle inside the undistorted image border, in
    normalised coordinates (corners and edge midpoints of the raw image, undistorted)."""
    w, h = camera.width - 1.0, camera.height - 1.0
    border = camera.undistort(np.array([[0, 0], [w / 2, 0], [w, 0], [w, h / 2], [w, h],
                                        [w / 2, h], [0, h], [0, h / 2]], np.float64))
    left, top, right, bottom = border[[0, 6, 7], 0], border[[0, 1, 2], 1], \
        border[[2, 3, 4], 0], border[[4, 5, 6], 1]
    # a border point with no ray (a fisheye's corner past 90 degrees) bounds nothing; a
    # side with none reaches beyond any point (a review: NaN bounds turned the camera's
    # check of people it should see off)
    return np.array([np.fmax.reduce(left, initial=-np.inf), np.fmax.reduce(top, initial=-np.inf),
                     np.fmin.reduce(right, initial=np.inf),
                     np.fmin.reduce(bottom, initial=np.inf)])


@dataclass(frozen=True, eq=False)
class CameraArrays:
    """V pinhole cameras stacked for batched geometry on undistorted normalised coordinates.

    The hot paths (association, triangulation) work on every camera at once instead of looping
    over CameraModel objects. Distortion is not part of it: callers undistort first.
    rotations: (V, 3, 3) and translations: (V, 3) with x_cam = R x_rig + t (metres);
    focal_xy: (V, 2) fx, fy in pixels (to express normalised residuals in pixels).
    bounds: (V, 4) the image as a rectangle of normalised coordinates [x_min, y_min, x_max,
        y_max] (inside the undistorted image border), None when unknown.
    affine: (V, 4) undistortion.affine_undistortion of each camera (NaN rows: not affine),
        None when unknown.
    """

    rotations: np.ndarray
    translations: np.ndarray
    focal_xy: np.ndarray
    bounds: np.ndarray | None = None
    affine: np.ndarray | None = None

    @classmethod
    def from_cameras(cls, cameras: Sequence[CameraModel]) -> "CameraArrays":
        if not cameras:     # (np.stack's "need at least one array to stack" said nothing)
            raise ValueError("no cameras: give at least one CameraModel")
        return cls(rotations=np.stack([c.R for c in cameras]),
                   translations=np.stack([c.t for c in cameras]),
                   focal_xy=np.array([[c.K[0, 0], c.K[1, 1]] for c in cameras], np.float64),
                   bounds=np.stack([_normalised_bounds(c) for c in cameras]),
                   affine=np.stack([affine_undistortion(c) for c in cameras]))

    @property
    def num_cameras(self) -> int:
        return int(self.rotations.shape[0])

    @cached_property
    def centers(self) -> np.ndarray:
        """(V, 3) optical centres in the rig frame, metres."""
        return -np.einsum("vji,vj->vi", self.rotations, self.translations)

    @cached_property
    def projections(self) -> np.ndarray:
        """(V, 3, 4) normalised projection matrices [R | t]."""
        return np.concatenate([self.rotations, self.translations[:, :, None]], axis=2)

    @cached_property
    def focal(self) -> np.ndarray:
        """(V,) geometric-mean focal length sqrt(fx fy), pixels."""
        return np.sqrt(self.focal_xy[:, 0] * self.focal_xy[:, 1])

    @cached_property
    def stacked_rotations_t(self) -> np.ndarray:
        """(3, 3V) the rotations' transposes side by side: x @ this = every R x at once."""
        return np.ascontiguousarray(self.rotations.reshape(-1, 3).T)

    def rotate(self, points: np.ndarray) -> np.ndarray:
        """R_v x for every camera v: (..., 3) rig-frame vectors -> (..., V, 3), one matrix
        product (cheaper than einsum on the hot paths' small arrays)."""
        return (points @ self.stacked_rotations_t).reshape(points.shape[:-1]
                                                            + (self.num_cameras, 3))

    def to_cameras(self, points: np.ndarray) -> np.ndarray:
        """R_v x + t_v for every camera v: (..., 3) rig-frame points, metres -> (..., V, 3)
        in each optical frame."""
        return self.rotate(points) + self.translations

    def normalized_and_depth(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(..., 3) rig-frame points, metres -> their normalised coordinates (..., V, 2) and
        depth (..., V, metres) in every camera, both NaN at or behind a camera's image plane
        (z <= 1 mm) and for NaN points."""
        in_camera = self.to_cameras(points)
        with np.errstate(invalid="ignore", divide="ignore"):
            depth = np.where(in_camera[..., 2] > MIN_DEPTH_M, in_camera[..., 2], np.nan)
            return in_camera[..., :2] / depth[..., None], depth

    def rays(self, normalized: np.ndarray, camera_index: np.ndarray) -> np.ndarray:
        """Unit viewing rays in the rig frame from undistorted normalised coordinates.

        normalized: (N, J, 2); camera_index: (N,) camera of each row. Returns (N, J, 3),
        each ray starting at centers[camera_index].
        """
        d = np.concatenate([normalized, np.ones(normalized.shape[:-1] + (1,))], axis=-1)
        d /= np.sqrt(np.einsum("...i,...i->...", d, d))[..., None]
        return np.matmul(d, self.rotations[camera_index])  # R^T d for row vectors


# R R^T may differ from the identity by this much (a rotation written with 4 decimals: about
# 3e-5; 1e-3 is 0.06 degrees): validate() then takes the nearest rotation
ROTATION_TOLERANCE = 1e-3


def baseline_problem(first: str, second: str, metres: float, names: Sequence[str]) -> str:
    """Why two cameras and a distance are no baseline of a rig whose cameras are `names`
    (an unknown or repeated camera, a distance that is not a number of metres > 0); "" when
    they are one. The one home of the check for Rig.with_baseline and calibrate --baseline."""
    for name in (first, second):
        if name not in names:
            return f"no camera {name!r} (the cameras are {', '.join(names)})"
    if first == second:
        return f"camera {first!r} named twice; give two cameras"
    if not (math.isfinite(metres) and metres > 0):
        return "the distance must be a number of metres > 0"
    return ""


def nearest_rotation(matrix: np.ndarray) -> np.ndarray:
    """The rotation (3, 3) nearest a near-rotation matrix (Frobenius norm: U V^T of its SVD,
    det +1)."""
    u, _, vt = np.linalg.svd(matrix)
    fix = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    return u @ fix @ vt


# The farthest two cameras of a rig may be apart, metres: beyond it the extrinsics are taken
# for millimetres (a room's rig 2-10 m across reads 2,000-10,000 "m"), which made every person
# 1,000 times too large and refused as no human, in silence (a review). Cameras 500 m apart
# would need a 1.7 m person 100 px tall at 250 m: a focal length of 15,000 px.
MAX_CAMERA_SPAN_M = 500.0


@dataclass(frozen=True)
class Rig:
    """Cameras sharing one rig frame (`frame_id`, e.g. "rig" or "world").
    scale_from_person_height_m: set when the rig's metric scale was not measured but assumed
    from the people in view being this tall (self-calibration, --height): every distance of
    the rig and of its 3D scales with it. None: measured (a target, motion capture)."""

    frame_id: str
    cameras: list[CameraModel]
    scale_from_person_height_m: float | None = None

    def __post_init__(self) -> None:
        names = [c.name for c in self.cameras]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"rig {self.frame_id!r}: duplicate camera names {sorted(dup)}")

    def __len__(self) -> int:
        return len(self.cameras)

    def __iter__(self) -> Iterator[CameraModel]:
        return iter(self.cameras)

    def __getitem__(self, key: int | str) -> CameraModel:
        if isinstance(key, str):
            return self.camera(key)
        return self.cameras[key]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cameras]

    def camera(self, name: str) -> CameraModel:
        """Camera by name; KeyError listing the known names."""
        for cam in self.cameras:
            if cam.name == name:
                return cam
        raise KeyError(f"rig {self.frame_id!r} has no camera {name!r}; cameras: {self.names}")

    def validate(self) -> "Rig":
        """Raise ValueError naming the rig and the fault (no cameras, a camera's own,
        cameras further apart than MAX_CAMERA_SPAN_M: extrinsics in millimetres); return
        self when sound."""
        if not self.cameras:
            raise ValueError(f"rig {self.frame_id!r} has no cameras")
        for cam in self.cameras:
            cam.validate()
        self._validate_frames()
        centers = np.stack([cam.center for cam in self.cameras])
        apart = vector_norm(centers[:, None] - centers[None])                  # (V, V)
        a, b = np.unravel_index(np.argmax(apart), apart.shape)
        if apart[a, b] > MAX_CAMERA_SPAN_M:
            raise ValueError(
                f"rig {self.frame_id!r}: cameras {self.cameras[a].name!r} and "
                f"{self.cameras[b].name!r} are {apart[a, b]:.0f} m apart; the translations "
                "must be in metres (millimetres? divide them by 1000)")
        return self

    def with_baseline(self, first: str, second: str, metres: float) -> "Rig":
        """The rig scaled about its frame's origin so that cameras `first` and `second` are
        `metres` apart (a measured baseline: a tape between two cameras), its scale then
        measured (scale_from_person_height_m None). ValueError for an unknown or repeated
        camera, a distance that is not a positive number, or two cameras at one place."""
        if problem := baseline_problem(first, second, metres, self.names):
            raise ValueError(f"baseline {first} {second} {metres}: {problem}")
        apart = float(vector_norm(self.camera(first).center - self.camera(second).center))
        if not apart > 1e-9:
            raise ValueError(f"cameras {first!r} and {second!r} are at one place in the rig: "
                             "no baseline between them can scale it")
        factor = metres / apart
        return replace(self, cameras=[cam.with_pose(cam.R, cam.t * factor)
                                      for cam in self.cameras],
                       scale_from_person_height_m=None)

    def _validate_frames(self) -> None:
        """ValueError for frame names TF cannot carry (frame_name_problem), two cameras in one
        frame (their transforms on /tf_static clash), or the rig's frame being a camera's
        optical frame while that camera is posed elsewhere in it (its transform was skipped as
        a self-loop: its pose vanished from TF). (A review of rig files.)"""
        if problem := frame_name_problem(self.frame_id):
            raise ValueError(f"rig frame {self.frame_id!r} is not a ROS 2 frame name "
                             f"({problem})")
        frames = [cam.frame_id for cam in self.cameras]
        for cam in self.cameras:
            if problem := frame_name_problem(cam.frame_id):
                raise ValueError(f"camera {cam.name!r}: frame {cam.frame_id!r} is not a ROS 2 "
                                 f"frame name ({problem})")
        if shared := sorted({f for f in frames if frames.count(f) > 1}):
            raise ValueError(f"rig {self.frame_id!r}: two cameras in frame(s) {shared}; each "
                             "camera needs an optical frame of its own")
        for cam in self.cameras:
            if cam.frame_id == self.frame_id and not (
                    np.allclose(cam.R, np.eye(3), atol=1e-9)
                    and np.allclose(cam.t, 0.0, atol=1e-9)):
                raise ValueError(f"rig frame {self.frame_id!r} is camera {cam.name!r}'s "
                                 "optical frame, but the camera is posed away from its origin "
                                 "in it; give the rig a frame of its own (e.g. rig)")

    def project(self, points_rig: np.ndarray) -> np.ndarray:
        """(..., 3) rig points -> (..., V, 2) raw pixels in every camera (V axis inserted
        before the last point axis: (..., J, 3) -> (..., V, J, 2))."""
        pts = np.asarray(points_rig, np.float64)
        return np.stack([c.project(pts) for c in self.cameras], axis=-3 if pts.ndim >= 2 else 0)
