"""Small exact numpy helpers for the per-frame hot paths (association, triangulation,
completion): the same results as the obvious numpy expression, at a fraction of its call cost
on the small arrays of one frame (tens to a few thousand elements, where numpy's per-call set-up
dominates; a reduction over a last axis of 2-3 costs about three elementwise operations).
"""
from __future__ import annotations

import numpy as np

# index permutations of the cross product and 3x3 adjugate: (i + 1) % 3 and (i + 2) % 3
NEXT_AXIS = np.array([1, 2, 0])
PREV_AXIS = np.array([2, 0, 1])
# x @ ones(D) sums a row in the order (x0 + x1) + x2 of x.sum(-1): bit-identical for D <= 3
# (checked in test_camera), about 3x cheaper than the reduction
_ONES = {2: np.ones(2), 3: np.ones(3)}
_ONES_ANY = {n: np.ones(n) for n in range(4, 33)}   # for counts (row_counts) only


def cross3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product over the last axis (size 3, broadcasting); cheaper than np.cross on the
    small arrays of the per-frame hot paths."""
    return a[..., NEXT_AXIS] * b[..., PREV_AXIS] - a[..., PREV_AXIS] * b[..., NEXT_AXIS]


def cross_matrix(v: np.ndarray) -> np.ndarray:
    """(..., 3) -> (..., 3, 3) matrices [v]x with [v]x @ u == cross(v, u)."""
    v = np.asarray(v, np.float64)
    out = np.zeros(v.shape + (3,))
    out[..., 0, 1], out[..., 0, 2] = -v[..., 2], v[..., 1]
    out[..., 1, 0], out[..., 1, 2] = v[..., 2], -v[..., 0]
    out[..., 2, 0], out[..., 2, 1] = -v[..., 1], v[..., 0]
    return out


def vector_norm(v: np.ndarray) -> np.ndarray:
    """Euclidean norm over the last axis, (..., D) -> (...): the same sum of squares as
    np.linalg.norm(v, axis=-1) without its dispatch, for the small arrays of the hot paths."""
    return np.sqrt(squared_norm(v))


def squared_norm(v: np.ndarray) -> np.ndarray:
    """(v * v).sum(-1), (..., D) -> (...), the same numbers."""
    return small_sum(v * v)


def small_sum(values: np.ndarray) -> np.ndarray:
    """values.sum(-1), (..., D) -> (...), the same numbers: for float64 rows of 2 one addition
    of the two columns (1.6-3.4x cheaper than the product with ones on these arrays), of 3 one
    matrix product with ones (e.g. a dot product of 3-vectors as small_sum(a * b))."""
    if values.dtype != np.float64:
        return values.sum(-1)
    if values.shape[-1] == 2:
        return values[..., 0] + values[..., 1]
    ones = _ONES.get(values.shape[-1])
    return values.sum(-1) if ones is None else values @ ones


def row_counts(mask: np.ndarray) -> np.ndarray:
    """mask.sum(-1) of a (..., D) bool mask as float64 counts (exact), by one matrix product
    with ones: for comparisons of how many views or joints a row has."""
    n = mask.shape[-1]
    ones = _ONES.get(n, _ONES_ANY.get(n))
    return mask @ (np.ones(n) if ones is None else ones)


def finite_rows(values: np.ndarray) -> np.ndarray:
    """np.isfinite(values).all(-1) for (..., D) float64 values far inside the float range
    (|x| < 1e307, as coordinates in metres or normalised units are): the sum of a row's
    magnitudes is finite exactly when all its entries are (NaN and inf propagate, no inf - inf);
    two elementwise operations and a matrix product instead of a test and a reduction. Rows of 2:
    both columns' tests joined by one `and` (about 2x cheaper again)."""
    if values.dtype != np.float64:
        return np.isfinite(values).all(-1)
    if values.shape[-1] == 2:
        return np.isfinite(values[..., 0]) & np.isfinite(values[..., 1])
    ones = _ONES.get(values.shape[-1])
    return np.isfinite(values).all(-1) if ones is None else np.isfinite(np.abs(values) @ ones)


def in_image(pixels: np.ndarray, size: np.ndarray | tuple[float, float]) -> np.ndarray:
    """(...,) bool: each point of pixels (..., 2) (x, y; NaN for none) lies on its image of
    size (width, height) ((2,) or broadcasting with pixels' leading axes: (..., 2)), pixel
    centres at integers, so the image spans [-0.5, size - 0.5]."""
    bound = np.asarray(size, np.float64) - 0.5
    with np.errstate(invalid="ignore"):
        return np.all((pixels >= -0.5) & (pixels <= bound), axis=-1)


def masked_mean(points: np.ndarray, mask: np.ndarray, empty: float = np.nan) -> np.ndarray:
    """Mean over the joints axis of the masked points: (..., J, D), mask (..., J) -> (..., D);
    `empty` (NaN) where no joint is masked. The masked points must be finite (no division or
    overflow to silence), e.g. mask = finite_rows(points). Summed in memory order along the
    joints axis: the same numbers as np.where(mask, x, 0).sum(axis) / count of the inline
    form, also for a joints axis moved by np.swapaxes (np.where keeps the layout)."""
    total = np.where(mask[..., None], points, 0.0).sum(-2)
    return _mean_of_sum(total, row_counts(mask)[..., None], empty)


def mean_joint_distance(distance: np.ndarray, mask: np.ndarray | None = None, *,
                        empty: float = np.nan) -> tuple[np.ndarray, np.ndarray]:
    """The mean distance over the joints both people have, and how many those are: distance
    (..., J) between two people's joints (NaN where either lacks the joint), mask (..., J)
    the joints to count (None: the finite distances; a mask must not select NaN ones; an
    infinite one it selects makes the mean infinite)
    -> mean (...), `empty` (NaN) where no joint counts, and count (...) float64 (exact).
    masked_mean() of one-dimensional points, the same sums and division, without its
    trailing axis (which cost 40 %, 3 us a call, on a frame's pairs); no warnings."""
    mask = np.isfinite(distance) if mask is None else mask
    count = row_counts(mask)
    return _mean_of_sum(np.where(mask, distance, 0.0).sum(-1), count, empty), count


def _mean_of_sum(total: np.ndarray, count: np.ndarray, empty: float) -> np.ndarray:
    """masked_mean's division: total / count (float counts, broadcast), `empty` where the
    count is 0 (NaN: 0 / 0 itself, one division instead of three calls)."""
    if empty != empty:                          # NaN (a Python test: np.isnan costs 0.5 us)
        with np.errstate(invalid="ignore"):
            return total / count
    mean = total / np.maximum(count, 1)                     # 0 where no joint is masked
    return mean if empty == 0 else np.where(count > 0, mean, empty)


def masked_extent(values: np.ndarray, mask: np.ndarray, axis: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of the masked values along axis; NaN where nothing is masked. The mask
    selects finite values (as the callers' masks of seen keypoints do)."""
    masked = np.where(mask, values, np.nan)         # fmin, fmax skip NaN (also no values)
    return (np.fmin.reduce(masked, axis=axis, initial=np.nan),
            np.fmax.reduce(masked, axis=axis, initial=np.nan))


def box_diagonal(points: np.ndarray, mask: np.ndarray | None = None, *,
                 empty: float) -> np.ndarray:
    """A person's size in the image: the diagonal of the axis-aligned box of the masked
    points, (..., J, D), mask (..., J) bool (None: the finite rows, finite_rows(points); a
    mask must select finite points only) -> (...); 0 for a single point, `empty` (the
    caller's choice, e.g. NaN or 0) where no point is masked. No warnings."""
    mask = finite_rows(points) if mask is None else mask
    return corner_diagonal(*masked_extent(points, mask[..., None], axis=-2), empty=empty)


def corner_diagonal(low: np.ndarray, high: np.ndarray, *, empty: float) -> np.ndarray:
    """box_diagonal() of a box given by its corners (..., D) (masked_extent's: NaN where the
    box is empty, then `empty`), for callers that need the corners as well."""
    size = vector_norm(high - low)
    if empty != empty:                          # NaN (a Python test: np.isnan costs 0.5 us)
        return size
    # fmax(NaN, e) = e, and a size is >= 0 >= e: one call instead of isnan and where
    return np.fmax(size, empty) if empty <= 0 else np.where(np.isnan(size), empty, size)


def masked_centre(points: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points (..., J, D) centred on the mean of their masked joints, with unmasked joints 0
    (weight 0 in sums over joints), and that mean (..., 1, D) (0 where no joint is masked)."""
    mean = masked_mean(points, mask, 0.0)[..., None, :]
    return np.where(mask[..., None], points - mean, 0.0), mean


def masked_rigid_fit(source: np.ndarray, target: np.ndarray, mask: np.ndarray, *,
                     scale: bool = False, min_points: int = 3) -> np.ndarray:
    """Move each source (N, J, 3) onto its target (N, J, 3) by the rotation and translation
    (Kabsch), with scale=True also the uniform scale (Umeyama's similarity), that minimise
    the squared distance over the joints in mask (N, J) bool; proper rotations only (det +1,
    no reflection). Returns the whole moved source (N, J, 3), NaN where source is NaN; all-NaN
    for an item with fewer than `min_points` masked joints (with scale, also one whose masked
    source joints coincide). Joints outside the mask may be NaN in either input; units any
    (the same in both), frames: target's."""
    # both centred in one batch (np.array: the cheapest stack of two equal shapes)
    (src, dst), (mu_src, mu_dst) = masked_centre(np.array([source, target], np.float64), mask)
    u, s, vt = np.linalg.svd(np.einsum("nji,njk->nik", dst, src))           # (N, 3, 3)
    sign = np.where(np.linalg.det(u @ vt) < 0, -1.0, 1.0)   # -1: the best fit is a reflection
    u[:, :, 2] *= sign[:, None]
    s[:, 2] *= sign
    moved = np.einsum("nik,njk->nji", u @ vt, source - mu_src)
    enough = row_counts(mask) >= min_points
    if scale:
        spread = (src ** 2).sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            moved = (s.sum(axis=1) / spread)[:, None, None] * moved
        enough &= spread > 0
    return np.where(enough[:, None, None], moved + mu_dst, np.nan)


def nanmedian_axis(values: np.ndarray, axis: int) -> np.ndarray:
    """np.nanmedian(values, axis) of float values (NaN where a slice has no finite value), the
    same numbers: one sort (NaN last) and the middle one or two finite entries of each slice.
    numpy's nanmedian goes through masked arrays for small inputs (about 50 us per call of a
    90 x 16 history); this is one vectorised pass over any number of slices (about 14 us for
    4 x 12 values)."""
    ordered = np.sort(np.asarray(values, np.float64), axis=axis)
    if axis not in (-1, ordered.ndim - 1):
        ordered = np.moveaxis(ordered, axis, -1)
    n = ordered.shape[-1]
    if n == 0:
        return np.full(ordered.shape[:-1], np.nan)
    flat = ordered.reshape(-1, n)
    count = row_counts(~np.isnan(flat)).astype(np.intp)
    rows = np.arange(flat.shape[0])
    low = flat[rows, np.maximum((count - 1) // 2, 0)]
    high = flat[rows, count // 2]                     # count <= n: always in range
    return np.where(count > 0, (low + high) / 2, np.nan).reshape(ordered.shape[:-1])
