"""Low-latency smoothing of tracked 3D skeletons: the One Euro filter, per joint, vectorised,
and the root-depth filter of the one-camera path (RootDepthFilter, a constant-velocity Kalman
filter with an innovation gate).

One Euro filter (Casiez, Roussel, Vogel, CHI 2012): an exponential smoother whose cut-off
frequency rises with the joint's speed, so a still joint is smoothed strongly (no jitter) and a
fast joint follows with little lag. Here it runs on whole (people x joints x 3) arrays at once;
the speed that sets the cut-off is the norm of the joint's 3D velocity, so x, y and z of one
joint share one cut-off.

Parameters: min_cutoff_hz (smoothing when still; lower = smoother), beta (s/m: how fast the
cut-off rises with speed; higher = less lag), d_cutoff_hz (smoothing of the speed estimate).
Time steps are guarded: a non-positive or non-finite dt (duplicate or backwards stamp) leaves
the state unchanged and returns the previous output; a gap above reset_after_s restarts the
person's filter from the new measurement.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .array_ops import finite_rows, nanmedian_axis, vector_norm


def _alpha(cutoff_hz: np.ndarray | float, dt: np.ndarray | float) -> np.ndarray:
    """Smoothing factor of a first-order low-pass at cutoff_hz for time step dt (s)."""
    tau = 1.0 / (2.0 * np.pi * np.asarray(cutoff_hz, dtype=np.float64))
    return 1.0 / (1.0 + tau / dt)


@dataclass(frozen=True)
class OneEuroParams:
    """One Euro parameters: min_cutoff_hz (Hz), beta (s/m), d_cutoff_hz (Hz).

    The defaults are for triangulated people (joints within a few centimetres): they halve a
    still person's jitter and, over the in-house rigs and crowds, publish walking and running
    people as close to the truth as without the filter (MPJPE 74.2 vs 74.4 mm; 5 cameras, one
    person: +6 mm); the former 1.0 Hz and 2.0 s/m put them 11 mm further away by lag (5
    cameras, one person: +18 mm). benchmarks/bench_smoothing.py, results_multiview.md 6s.
    People placed by one view move by tens of centimetres in depth from frame to frame: they
    keep the former values (MONOCULAR_ONE_EURO; SkeletonFilter.filter's `monocular`).
    """

    min_cutoff_hz: float = 0.5
    beta: float = 7.0
    d_cutoff_hz: float = 1.0
    reset_after_s: float = 1.0

    def __post_init__(self) -> None:
        if not self.min_cutoff_hz > 0 or not self.d_cutoff_hz > 0:
            raise ValueError(f"One Euro cut-offs must be > 0 Hz, got min_cutoff_hz="
                             f"{self.min_cutoff_hz}, d_cutoff_hz={self.d_cutoff_hz}")
        if not self.beta >= 0:
            raise ValueError(f"One Euro beta must be >= 0, got {self.beta}")
        if not self.reset_after_s > 0:
            raise ValueError(f"reset_after_s must be > 0, got {self.reset_after_s}")


# People placed by one view (their depth is one view's guess): the former defaults. With the
# triangulated people's 0.5 Hz and 7 s/m their root-depth jitter on a rendered walker seen
# side-on rose from 0.091 to 0.106 m/frame (issue #12's bound: 0.10; results_onecam.md,
# session 23).
MONOCULAR_ONE_EURO = OneEuroParams(min_cutoff_hz=1.0, beta=2.0)


class SkeletonFilter:
    """One Euro filters for every joint of every tracked person, keyed by track id.

    filter(positions (P, J, 3) metres, ids (P,) int, stamp s, monocular (P,) bool or None)
    -> filtered (P, J, 3). The people marked monocular (placed by one view) are smoothed with
    monocular_params' cut-off and beta, the others with params'; the state is one, so a person
    who keeps their id from one view to several is not smoothed from a stale state. NaN joints
    stay NaN in the output and do not touch that joint's state; a joint seen again after being
    NaN continues from its last state (or starts fresh after reset_after_s). A stamp at or
    a little before an id's last one leaves its state; one more than reset_after_s back (a
    replay's loop) starts it over.
    """

    def __init__(self, params: OneEuroParams | None = None, forget_after_s: float = 5.0,
                 monocular_params: OneEuroParams = MONOCULAR_ONE_EURO) -> None:
        self.params = params or OneEuroParams()
        self.monocular_params = monocular_params
        self.forget_after_s = forget_after_s
        self.reset()

    def reset(self) -> None:
        """Forget every id's state."""
        self._ids = np.zeros((0,), np.int64)
        self._x = np.zeros((0, 0, 3))       # last filtered position per id, NaN = no state
        self._dx = np.zeros((0, 0, 3))      # last filtered velocity per id (m/s)
        self._t = np.zeros((0,))            # stamp of the last update per id (s)

    def filter(self, positions: np.ndarray, ids: np.ndarray, stamp: float,
               monocular: np.ndarray | None = None) -> np.ndarray:
        positions = np.asarray(positions, dtype=np.float64)
        ids = np.asarray(ids, dtype=np.int64)
        if positions.ndim != 3 or positions.shape[-1] != 3:
            raise ValueError(f"positions must be (P, J, 3), got {positions.shape}")
        if ids.shape != (positions.shape[0],):
            raise ValueError(f"ids must be ({positions.shape[0]},), got {ids.shape}")
        if len(set(ids.tolist())) != ids.size:          # (np.unique: 5x the cost)
            raise ValueError(f"ids must be unique, got {ids.tolist()}")
        if not math.isfinite(stamp):     # (inf - inf warned; the tracker refuses it too)
            raise ValueError(f"stamp must be a finite time in seconds, got {stamp}")
        num_joints = positions.shape[1]
        if self._x.shape[1] != num_joints:
            self._ids = np.zeros((0,), np.int64)
            self._x = np.zeros((0, num_joints, 3))
            self._dx = np.zeros((0, num_joints, 3))
            self._t = np.zeros((0,))
        rows = self._rows_for(ids, num_joints)
        x_prev, dx_prev = self._x[rows], self._dx[rows]
        dt = stamp - self._t[rows]                                   # (P,)
        # start over: new, long unseen, or time gone back further than that (a loop: the
        # state froze until the clock passed the old stamp, a review)
        fresh = ~np.isfinite(dt) | (np.abs(dt) > self.params.reset_after_s)
        stalled = ~fresh & ~(dt > 0)                       # duplicate / a little backwards
        step = np.where(fresh | stalled, 1.0, dt)[:, None, None]
        seen = finite_rows(positions)[..., None]                      # (P, J, 1)
        has_state = finite_rows(x_prev)[..., None] & ~fresh[:, None, None]

        dx = np.where(has_state, (positions - x_prev) / step, 0.0)
        a_d = _alpha(self.params.d_cutoff_hz, step)
        dx_hat = np.where(has_state, dx_prev + a_d * (dx - dx_prev), 0.0)
        speed = vector_norm(dx_hat)[..., None]
        cutoff: float | np.ndarray = self.params.min_cutoff_hz
        beta: float | np.ndarray = self.params.beta
        if monocular is not None and (one_view := np.asarray(monocular, bool)).any():
            one_view = one_view[:, None, None]
            cutoff = np.where(one_view, self.monocular_params.min_cutoff_hz, cutoff)
            beta = np.where(one_view, self.monocular_params.beta, beta)
        a_x = _alpha(cutoff + beta * speed, step)
        x_hat = np.where(has_state, x_prev + a_x * (positions - x_prev), positions)

        update = seen & ~stalled[:, None, None]
        new_x = np.where(update, x_hat, x_prev)
        new_dx = np.where(update, dx_hat, dx_prev)
        self._x[rows] = new_x
        self._dx[rows] = new_dx
        self._t[rows] = np.where(stalled, self._t[rows], stamp)
        out = np.where(stalled[:, None, None] & has_state, x_prev, x_hat)
        out = np.where(seen, out, np.nan)
        self._forget(stamp)
        return out

    def _rows_for(self, ids: np.ndarray, num_joints: int) -> np.ndarray:
        """State rows of `ids`, adding empty rows for ids not seen before."""
        new = ids[(ids[:, None] != self._ids[None, :]).all(axis=1)]  # not np.setdiff1d: 7x
        if new.size:                                                  # slower on a few ids
            new = np.unique(new)
            self._ids = np.concatenate([self._ids, new])
            self._x = np.concatenate([self._x, np.full((new.size, num_joints, 3), np.nan)])
            self._dx = np.concatenate([self._dx, np.zeros((new.size, num_joints, 3))])
            self._t = np.concatenate([self._t, np.full((new.size,), np.nan)])
        order = np.argsort(self._ids)
        return order[np.searchsorted(self._ids[order], ids)]

    def forget(self, ids: np.ndarray) -> None:
        """Drop the state of these track ids (their next measurement starts afresh)."""
        keep = ~np.isin(self._ids, np.asarray(ids, np.int64))
        self._ids, self._x, self._dx, self._t = (
            self._ids[keep], self._x[keep], self._dx[keep], self._t[keep])

    def _forget(self, stamp: float) -> None:
        keep = ~(stamp - self._t > self.forget_after_s)
        if not keep.all():
            self._ids, self._x, self._dx, self._t = (
                self._ids[keep], self._x[keep], self._dx[keep], self._t[keep])


@dataclass(frozen=True)
class DepthFilterParams:
    """Temporal filter of one camera's guess of each person's distance (root depth, metres):
    a constant-velocity Kalman filter per track with an innovation gate.

    measurement_sigma_fraction: standard deviation of one depth guess as a fraction of the
        depth (a guess from the person's size or the detector's 3D errs in proportion to the
        distance; 0.05 = 0.35 m at 7 m).
    acceleration_sigma_mps2: standard deviation of the person's acceleration along the ray
        (m/s^2; walking people start, stop and turn at about 1 m/s^2).
    gate_sigmas: a guess farther than this many standard deviations of the predicted
        innovation is a jump: it is rejected and the prediction kept.
    reinitialise_after: that many rejected guesses in a row mean the filter, not the guess,
        is wrong (a real move it did not believe): it restarts at the median of the person's
        last `window` guesses.
    window: frames of raw guesses kept per person for that median.
    initial_speed_sigma_mps: uncertainty of a new person's speed along the ray (m/s).
    The defaults were chosen on motion-capture walking scenes (benchmarks/bench_left_right.py
    seeds 1-36) and checked on seeds 37-72: benchmarks/results_onecam.md.
    reset_after_s: a person unseen this long starts afresh (s).
    """

    measurement_sigma_fraction: float = 0.08
    acceleration_sigma_mps2: float = 0.3
    gate_sigmas: float = 2.5
    reinitialise_after: int = 8
    window: int = 9
    initial_speed_sigma_mps: float = 0.3
    reset_after_s: float = 1.0

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"window must be >= 1, got {self.window}")
        if self.reinitialise_after < 1:
            raise ValueError(f"reinitialise_after must be >= 1, got {self.reinitialise_after}")
        for name in ("measurement_sigma_fraction", "acceleration_sigma_mps2", "gate_sigmas",
                     "initial_speed_sigma_mps", "reset_after_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


class RootDepthFilter:
    """Rejects jumps of a monocular root depth and smooths it, per track id.

    filter(positions (P, J, 3) metres in the CAMERA's optical frame, ids (P,), stamp s,
    root joint index) -> (P, J, 3): each person moved along the viewing ray through its root
    so that the root lies at the filtered depth. The root keeps its image position and the
    body keeps the size the monocular method gave it (scaling about the camera centre instead
    would keep every joint's projection but make bone lengths follow the depth noise).

    The filtered depth is a constant-velocity Kalman filter's (state: depth m, speed along
    the ray m/s): a person walking steadily toward the camera is followed without lag, so the
    output never holds still and then catches up in a burst (what a median plus a low-pass
    did). A guess outside the innovation gate is rejected (`rejections` counts them);
    `reinitialise_after` rejections in a row restart the person at the median of its recent
    guesses. Stamps that do not advance leave the state as it is; one more than reset_after_s
    back (a replay's loop) starts the person over.
    """

    def __init__(self, params: DepthFilterParams | None = None) -> None:
        self.params = params or DepthFilterParams()
        self._ids = np.zeros((0,), np.int64)
        self._state = np.zeros((0, 2))                     # depth m, speed m/s
        self._cov = np.zeros((0, 2, 2))
        self._history = np.zeros((0, self.params.window))  # raw depths, NaN = none yet
        self._misses = np.zeros((0,), np.int64)            # rejections in a row
        self._t = np.zeros((0,))                           # stamp of the last depth (s)
        self.rejections = 0                                # jumps rejected since construction

    def filter(self, positions: np.ndarray, ids: np.ndarray, stamp: float,
               root: int = 0) -> np.ndarray:
        positions = np.asarray(positions, np.float64)
        ids = np.asarray(ids, np.int64)
        if positions.ndim != 3 or positions.shape[-1] != 3 or ids.shape != positions.shape[:1]:
            raise ValueError(f"expected positions (P, J, 3) and ids (P,), got {positions.shape}"
                             f" and {ids.shape}")
        if len(set(ids.tolist())) != ids.size:   # (two people pulled to one depth: a review)
            raise ValueError(f"ids must be unique, got {ids.tolist()}")
        if not math.isfinite(stamp):
            raise ValueError(f"stamp must be a finite time in seconds, got {stamp}")
        depth = positions[:, root, 2]
        mine = np.isfinite(depth) & (depth > 0)
        rows = self._rows_for(ids[mine])
        z = depth[mine]
        p = self.params
        dt = stamp - self._t[rows]
        fresh = ~(np.abs(dt) <= p.reset_after_s)   # new, long unseen, NaN, or time far back
        moving = ~fresh & (dt > 0)                         # a stamp that advances
        self._history[rows[fresh]] = np.nan
        self._history[rows] = np.concatenate([self._history[rows, 1:], z[:, None]], axis=1)

        state, cov = self._state[rows], self._cov[rows]
        # predict (constant velocity, white-noise acceleration)
        step = np.where(moving, dt, 0.0)
        transition = np.zeros((len(z), 2, 2))
        transition[:, 0, 0] = transition[:, 1, 1] = 1.0
        transition[:, 0, 1] = step
        state = np.einsum("nij,nj->ni", transition, state)
        q = p.acceleration_sigma_mps2 ** 2
        noise = np.empty((len(z), 2, 2))          # (np.stack's calls cost more than this)
        noise[:, 0, 0], noise[:, 1, 1] = step ** 4 / 4, step ** 2
        noise[:, 0, 1] = noise[:, 1, 0] = step ** 3 / 2
        noise *= q
        cov = transition @ cov @ transition.transpose(0, 2, 1) + noise
        # update with the guess unless it is outside the gate
        r = (p.measurement_sigma_fraction * z) ** 2
        innovation = z - state[:, 0]
        s = cov[:, 0, 0] + r
        accepted = moving & (innovation ** 2 <= p.gate_sigmas ** 2 * s)
        gain = cov[:, :, 0] / s[:, None]                  # (n, 2)
        updated_state = state + gain * innovation[:, None]
        updated_cov = cov - gain[:, :, None] * cov[:, None, 0, :]
        state = np.where(accepted[:, None], updated_state, state)
        cov = np.where(accepted[:, None, None], updated_cov, cov)
        rejected = moving & ~accepted
        self.rejections += int(rejected.sum())
        misses = np.where(rejected, self._misses[rows] + 1, 0)
        # (re)start: new people, and people whose guesses the filter rejected too long
        restart = fresh | (misses >= p.reinitialise_after)
        if restart.any():                                  # (most frames: nobody)
            median = nanmedian_axis(self._history[rows], axis=1)
            start_depth = np.where(fresh, z, median)
            state = np.where(restart[:, None], np.stack([start_depth, np.zeros_like(z)], -1),
                             state)
            start_cov = np.zeros((len(z), 2, 2))
            start_cov[:, 0, 0] = (p.measurement_sigma_fraction * start_depth) ** 2
            start_cov[:, 1, 1] = p.initial_speed_sigma_mps ** 2
            cov = np.where(restart[:, None, None], start_cov, cov)
            misses = np.where(restart, 0, misses)

        self._state[rows], self._cov[rows], self._misses[rows] = state, cov, misses
        self._t[rows] = np.where(fresh | moving, stamp, self._t[rows])
        scale = np.ones(len(ids))
        scale[mine] = state[:, 0] / z
        self._forget(stamp)
        root_xyz = positions[:, root]
        return positions + (root_xyz * (scale[:, None] - 1.0))[:, None, :]

    def _rows_for(self, ids: np.ndarray) -> np.ndarray:
        """State rows of `ids`, adding empty rows (stamp NaN: start afresh) for new ids."""
        new = ids[(ids[:, None] != self._ids[None, :]).all(axis=1)]  # not np.setdiff1d: 7x
        if new.size:                                                  # slower on a few ids
            new = np.unique(new)
            self._ids = np.concatenate([self._ids, new])
            self._state = np.concatenate([self._state, np.zeros((new.size, 2))])
            self._cov = np.concatenate([self._cov, np.zeros((new.size, 2, 2))])
            self._history = np.concatenate(
                [self._history, np.full((new.size, self.params.window), np.nan)])
            self._misses = np.concatenate([self._misses, np.zeros(new.size, np.int64)])
            self._t = np.concatenate([self._t, np.full(new.size, np.nan)])
        order = np.argsort(self._ids)
        return order[np.searchsorted(self._ids[order], ids)]

    def _forget(self, stamp: float, after_s: float = 5.0) -> None:
        keep = ~(stamp - self._t > after_s)
        if not keep.all():
            self._ids, self._state, self._cov = self._ids[keep], self._state[keep], \
                self._cov[keep]
            self._history, self._misses, self._t = self._history[keep], self._misses[keep], \
                self._t[keep]
