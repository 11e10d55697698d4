"""Camera model: projection against OpenCV, undistortion round trips, rays, validation."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from pose3d_ros.core.camera import CameraModel, Rig, look_at
from pose3d_ros.core.synthetic import random_rig


def _camera(model: str, dist) -> CameraModel:
    rot, t = look_at(np.array([3.0, -2.0, 1.5]), np.array([0.0, 0.0, 1.0]))
    k = np.array([[800.0, 0.0, 645.0], [0.0, 805.0, 355.0], [0.0, 0.0, 1.0]])
    return CameraModel("cam", "cam_optical_frame", 1280, 720, k, np.array(dist), model, rot, t)


@pytest.fixture
def points() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.uniform([-1, -1, 0], [1, 1, 2], size=(200, 3))


MODELS = {
    "plumb_bob": [-0.25, 0.08, 0.001, -0.0015, -0.01],
    "rational_polynomial": [0.3, -0.1, 0.001, 0.002, 0.01, 0.6, -0.05, 0.02],
    "equidistant": [-0.02, 0.01, -0.005, 0.001],
}


@pytest.mark.parametrize("model", list(MODELS))
def test_project_matches_opencv(model, points):
    cam = _camera(model, MODELS[model]).validate()
    ours = cam.project(points)
    rvec = cv2.Rodrigues(cam.R)[0]
    if model == "equidistant":
        ref, _ = cv2.fisheye.projectPoints(points[None], rvec, cam.t, cam.K, cam.dist)
    else:
        ref, _ = cv2.projectPoints(points, rvec, cam.t, cam.K, cam.dist)
    np.testing.assert_allclose(ours, ref.reshape(-1, 2), atol=1e-6)


@pytest.mark.parametrize("model", list(MODELS))
def test_undistort_inverts_projection(model, points):
    cam = _camera(model, MODELS[model])
    pc = cam.to_camera_frame(points)
    xy = cam.undistort(cam.project(points))
    np.testing.assert_allclose(xy, pc[:, :2] / pc[:, 2:], atol=1e-9)


def test_pixel_rays_pass_through_points(points):
    cam = _camera("plumb_bob", MODELS["plumb_bob"])
    rays = cam.pixel_rays(cam.project(points))
    expected = points - cam.center
    expected /= np.linalg.norm(expected, axis=-1, keepdims=True)
    np.testing.assert_allclose(rays, expected, atol=1e-9)


def test_projection_matrix_and_center_agree_without_distortion(points):
    cam = _camera("plumb_bob", [0, 0, 0, 0, 0])
    hom = np.c_[points, np.ones(len(points))] @ cam.projection_matrix.T
    np.testing.assert_allclose(cam.project(points), hom[:, :2] / hom[:, 2:], atol=1e-9)
    np.testing.assert_allclose(cam.to_camera_frame(cam.center), 0, atol=1e-12)


def test_nan_and_points_behind_camera_give_nan():
    cam = _camera("plumb_bob", MODELS["plumb_bob"])
    behind = cam.center - 2.0 * cam.R[2]  # 2 m behind the optical centre
    out = cam.project(np.array([[np.nan, 0, 1], behind, [0.0, 0.0, 1.0]]))
    assert np.isnan(out[0]).all() and np.isnan(out[1]).all() and np.isfinite(out[2]).all()
    uv = np.array([[np.nan, 10.0], [640.0, 360.0]])
    assert np.isnan(cam.undistort(uv)[0]).all() and np.isfinite(cam.undistort(uv)[1]).all()
    assert np.isnan(cam.pixel_rays(uv)[0]).all()


def test_batched_shapes():
    rig = random_rig(3, np.random.default_rng(0))
    pts = np.zeros((5, 2, 17, 3)) + [0, 0, 1]
    assert rig.cameras[0].project(pts).shape == (5, 2, 17, 2)
    assert rig.project(pts).shape == (5, 2, 3, 17, 2)
    assert rig.cameras[0].pixel_rays(np.full((4, 7, 2), 100.0)).shape == (4, 7, 3)


@pytest.mark.parametrize("change, message", [
    (lambda c: setattr(c, "K", np.diag([0.0, 800.0, 1.0])), "focal"),
    (lambda c: c.K.__setitem__((0, 2), np.nan), "NaN"),
    (lambda c: setattr(c, "R", c.R * 1.1), "rotation"),
    (lambda c: setattr(c, "R", -c.R), "rotation"),
    (lambda c: setattr(c, "width", 0), "size"),
    (lambda c: setattr(c, "dist", np.zeros(15)), "distortion"),
    (lambda c: setattr(c, "dist", np.r_[np.zeros(5), 0.1]), "rational_polynomial"),
    (lambda c: setattr(c, "distortion_model", "fisheye62"), "distortion model"),
    (lambda c: setattr(c, "t", np.zeros(2)), "t length"),
])
def test_validate_names_camera_and_fault(change, message):
    cam = _camera("plumb_bob", MODELS["plumb_bob"])
    change(cam)
    with pytest.raises(ValueError, match=message) as err:
        cam.validate()
    assert "'cam'" in str(err.value)


def test_camera_info_round_trip():
    cam = _camera("rational_polynomial", MODELS["rational_polynomial"])
    fields = cam.to_camera_info_fields()
    back = CameraModel.from_camera_info(fields["width"], fields["height"],
                                        fields["distortion_model"], fields["d"], fields["k"],
                                        fields["r"], fields["p"], frame_id="cam_optical_frame",
                                        name="cam")
    np.testing.assert_array_equal(back.K, cam.K)
    np.testing.assert_array_equal(back.dist, cam.dist)
    assert back.distortion_model == "rational_polynomial" and back.width == 1280
    np.testing.assert_array_equal(back.R, np.eye(3))  # CameraInfo has no extrinsics
    with pytest.raises(ValueError, match="k must have 9"):
        CameraModel.from_camera_info(10, 10, "plumb_bob", [], [1.0, 2.0])


@pytest.mark.parametrize("model", list(MODELS))
def test_a_binned_or_cropped_camera_info_describes_the_images_sent(model, points):
    """REP 104 (found missing by a review): K describes the full sensor; a driver that bins
    or sends a region of interest sends smaller images, whose pixels are the full sensor's
    minus the ROI offset, divided by the binning. Before, such a camera was refused (size
    mismatch, the advice to fix a correct camera_info) or placed with an unshifted centre."""
    from dataclasses import replace

    from pose3d_ros.core import bagio
    from pose3d_ros.core.camera import CameraInfoError, camera_model_from_info_msg

    full = _camera(model, MODELS[model])
    local = points @ full.R.T + full.t          # the points in the optical frame
    info = bagio.camera_info_message(0, "cam_optical_frame", full.width, full.height, full.K,
                                     full.dist, model)
    roi_type = type(info.roi)

    def model_of(bin_x=0, bin_y=0, roi=(0, 0, 0, 0)):
        return camera_model_from_info_msg(replace(
            info, binning_x=bin_x, binning_y=bin_y,
            roi=roi_type(x_offset=roi[0], y_offset=roi[1], width=roi[2], height=roi[3],
                         do_rectify=False)), "cam")

    identity = CameraModel("cam", "cam_optical_frame", full.width, full.height, full.K,
                           full.dist, model)
    pixels = identity.project(local)
    for bins, roi, size in [((2, 2), (0, 0, 0, 0), (640, 360)),
                            ((1, 1), (8, 16, 1264, 688), (1264, 688)),
                            ((2, 4), (8, 16, 1264, 688), (632, 172)),
                            ((0, 0), (0, 0, 0, 0), (1280, 720))]:
        camera = model_of(*bins, roi=roi)
        assert (camera.width, camera.height) == size
        expected = (pixels - np.array(roi[:2])) / np.maximum(np.array(bins), 1)
        np.testing.assert_allclose(camera.project(local), expected, atol=1e-9)
        np.testing.assert_allclose(camera.undistort(expected), identity.undistort(pixels),
                                   atol=1e-9)
    with pytest.raises(CameraInfoError, match="roi 1280x688 at \\(8, 16\\)"):
        model_of(roi=(8, 16, 1280, 688))


def test_an_all_zero_k_is_refused_or_taken_at_the_given_field_of_view(points):
    """A camera_info with an all-zero K (an uncalibrated usb_cam / v4l2_camera) is refused
    unless a horizontal field of view is given (the nodes' uncalibrated_hfov_deg); then it is
    an undistorted pinhole camera of that field of view at the size of the images the
    camera_info describes (binning applied), in its frame."""
    from dataclasses import replace

    from pose3d_ros.core import bagio
    from pose3d_ros.core.camera import (
        CameraInfoError,
        camera_model_from_info_msg,
        is_uncalibrated,
    )

    info = bagio.camera_info_message(0, "/cam_optical_frame", 1280, 720, np.zeros((3, 3)),
                                     np.zeros(0), "")
    assert is_uncalibrated(info)
    with pytest.raises(CameraInfoError, match="all zero") as err:
        camera_model_from_info_msg(info, "cam")
    assert err.value.reason == "camera_info_zero"
    camera = camera_model_from_info_msg(info, "cam", uncalibrated_hfov_deg=90.0)
    assert (camera.width, camera.height, camera.frame_id) == (1280, 720, "cam_optical_frame")
    np.testing.assert_allclose(camera.K, [[640.0, 0, 639.5], [0, 640.0, 359.5], [0, 0, 1]])
    assert not np.any(camera.dist)
    # a ray 45 degrees to the side reaches the image's edge
    edge = camera.project(np.array([[1.0, 0.0, 1.0]]))
    np.testing.assert_allclose(edge, [[1279.5, 359.5]])
    binned = camera_model_from_info_msg(replace(info, binning_x=2, binning_y=2), "cam",
                                        uncalibrated_hfov_deg=90.0)
    assert (binned.width, binned.height) == (640, 360)
    assert binned.K[0, 0] == pytest.approx(320.0)
    calibrated = _camera("plumb_bob", MODELS["plumb_bob"])
    given = bagio.camera_info_message(0, "cam_optical_frame", calibrated.width,
                                      calibrated.height, calibrated.K, calibrated.dist,
                                      "plumb_bob")
    assert not is_uncalibrated(given)       # a calibration is taken as it is
    np.testing.assert_array_equal(
        camera_model_from_info_msg(given, "cam", uncalibrated_hfov_deg=90.0).K, calibrated.K)


def test_rig_lookup_and_duplicates():
    rig = random_rig(3, np.random.default_rng(1))
    assert rig["cam02"] is rig.cameras[1] and rig[0] is rig.cameras[0]
    assert rig.names == ["cam01", "cam02", "cam03"]
    with pytest.raises(KeyError, match="cam09"):
        rig.camera("cam09")
    with pytest.raises(ValueError, match="duplicate"):
        Rig("rig", [rig.cameras[0], rig.cameras[0]])


def test_a_measured_baseline_scales_the_rig_about_its_origin_and_keeps_the_images(points):
    """Rig.with_baseline (calibrate --baseline): the two cameras end up that far apart,
    every distance scales by one factor, every image point of the scaled scene stays, and the
    scale is then measured; unknown or repeated cameras and non-distances are refused."""
    import dataclasses

    rig = dataclasses.replace(random_rig(3, np.random.default_rng(2)),
                              scale_from_person_height_m=1.7)
    apart = float(np.linalg.norm(rig["cam01"].center - rig["cam03"].center))
    scaled = rig.with_baseline("cam01", "cam03", 2.5)
    factor = 2.5 / apart
    assert np.linalg.norm(scaled["cam01"].center - scaled["cam03"].center) == pytest.approx(2.5)
    for before, after in zip(rig, scaled, strict=True):
        np.testing.assert_allclose(after.center, before.center * factor)
        np.testing.assert_allclose(after.project(points * factor), before.project(points),
                                   atol=1e-6)
    assert scaled.scale_from_person_height_m is None and rig.scale_from_person_height_m == 1.7
    for args, said in ((("cam01", "cam09", 2.5), "no camera 'cam09'"),
                       (("cam01", "cam01", 2.5), "named twice; give two cameras"),
                       (("cam01", "cam02", 0.0), "a number of metres > 0"),
                       (("cam01", "cam02", float("nan")), "a number of metres > 0")):
        with pytest.raises(ValueError, match=said):
            rig.with_baseline(*args)


def test_stacked_cameras_give_the_same_rays_and_centres(points):
    """CameraArrays (the hot paths' stacked form) agrees with each CameraModel."""
    from pose3d_ros.core.array_ops import cross3
    from pose3d_ros.core.camera import CameraArrays
    rig = random_rig(3, np.random.default_rng(8))
    arrays = CameraArrays.from_cameras(rig.cameras)
    pixels = np.stack([cam.project(points) for cam in rig])              # (V, 200, 2)
    normalized = np.stack([cam.undistort(p) for cam, p in zip(rig, pixels, strict=True)])
    rays = arrays.rays(normalized, np.arange(3))
    for v, cam in enumerate(rig):
        np.testing.assert_allclose(rays[v], cam.pixel_rays(pixels[v]), atol=1e-12)
        np.testing.assert_allclose(arrays.centers[v], cam.center, atol=1e-12)
        np.testing.assert_allclose(arrays.projections[v], np.hstack([cam.R, cam.t[:, None]]))
    np.testing.assert_allclose(arrays.focal, [np.sqrt(c.K[0, 0] * c.K[1, 1]) for c in rig])
    np.testing.assert_allclose(cross3(rays[0], rays[1]), np.cross(rays[0], rays[1]), atol=1e-15)


def test_hot_path_array_helpers_are_exact():
    """array_ops: vector_norm is bit-identical to the sum-of-squares norm it replaces (2 and 3
    components, any layout), finite_rows to np.isfinite(...).all(-1), small_sum to sum(-1) and
    row_counts to the count of a mask, NaN and inf included."""
    from pose3d_ros.core.array_ops import finite_rows, row_counts, small_sum, vector_norm
    rng = np.random.default_rng(3)
    for shape in [(7, 3), (1000, 3), (4, 5, 17, 3), (85, 2), (13, 17, 2), (3,)]:
        v = rng.standard_normal(shape) * 10.0 ** rng.uniform(-8, 8, shape)
        v.flat[::7] = np.nan
        v.flat[3::11] = np.inf
        v.flat[5::13] = -np.inf
        np.testing.assert_array_equal(vector_norm(v), np.sqrt((v * v).sum(-1)))
        np.testing.assert_array_equal(finite_rows(v), np.isfinite(v).all(-1))
        with np.errstate(invalid="ignore"):                        # inf + -inf in both
            np.testing.assert_array_equal(small_sum(v), v.sum(-1))
        np.testing.assert_array_equal(row_counts(np.isfinite(v)), np.isfinite(v).sum(-1))
        strided = np.repeat(v, 2, axis=-1)[..., ::2]              # a non-contiguous view
        np.testing.assert_array_equal(vector_norm(strided), np.sqrt((v * v).sum(-1)))
    assert vector_norm(np.array([3.0, 4.0])) == 5.0
    assert vector_norm(np.ones((2, 4), np.float32)).dtype == np.float32   # other types: sum


def test_nanmedian_helper_is_numpys_nanmedian():
    """array_ops.nanmedian_axis gives np.nanmedian's numbers bit for bit along any axis, with
    NaN entries, odd and even counts, slices without a finite value (NaN) and empty axes."""
    import warnings

    from pose3d_ros.core.array_ops import nanmedian_axis
    rng = np.random.default_rng(11)
    for shape in [(1,), (5,), (4, 90, 16), (3, 2), (6, 1, 7), (2, 0)]:
        values = rng.normal(size=shape) * 10.0 ** rng.uniform(-3, 3, shape)
        values[rng.random(shape) < 0.3] = np.nan
        if values.size:
            values[(0,) * values.ndim] = np.inf
        if values.ndim > 1 and values.shape[1]:
            values[0, ...] = np.nan                    # a first slice with nothing finite
        for axis in range(values.ndim):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                expected = np.nanmedian(values, axis=axis)
            np.testing.assert_array_equal(nanmedian_axis(values, axis), expected)


def test_all_cameras_undistorted_at_once_give_the_same_numbers():
    """undistort_cameras: the affine cameras of a frame set in one map, bit-identical to
    undistort_normalised camera by camera (NaN in one coordinate makes both NaN); a set with a
    distorted camera is undistorted camera by camera."""
    from dataclasses import replace

    from pose3d_ros.core.camera import CameraArrays
    from pose3d_ros.core.undistortion import undistort_cameras, undistort_normalised
    rng = np.random.default_rng(4)
    pinholes = [replace(_camera("plumb_bob", [0.0] * 5),
                        K=np.array([[f, 0.0, cx], [0.0, f + 7, cy], [0.0, 0.0, 1.0]]))
                for f, cx, cy in rng.uniform([500, 300, 200], [1500, 900, 600], (3, 3))]
    pixels = [rng.uniform(0, 1000, (n, 17, 2)) for n in (2, 0, 5)]
    pixels[0][1, 3] = np.nan
    pixels[2][4, 0, 1] = np.nan                                  # one coordinate only
    for cameras in (pinholes, [pinholes[0], _camera("plumb_bob", [-0.2, 0.05, 0, 0]),
                               pinholes[2]]):
        arrays = CameraArrays.from_cameras(cameras)
        together = undistort_cameras(cameras, arrays, pixels)
        for cam, p, got in zip(cameras, pixels, together, strict=True):
            np.testing.assert_array_equal(got, undistort_normalised(cam, p))
        assert np.isnan(together[2][4, 0]).all()
    assert np.isfinite(arrays.affine[[0, 2]]).all() and np.isnan(arrays.affine[1]).all()


def test_a_field_of_view_camera_puts_its_edge_rays_on_the_image_edges():
    from pose3d_ros.core.camera import pinhole_from_fov

    camera = pinhole_from_fov("phone", 1920, 1080, 65.0)
    half = np.radians(65.0) / 2
    edges = np.array([[np.sin(-half), 0.0, np.cos(half)], [np.sin(half), 0.0, np.cos(half)]])
    pixels = camera.project(edges * 3.0)
    # pixel centres at integers: the image spans -0.5 .. width - 0.5
    np.testing.assert_allclose(pixels[:, 0], [-0.5, 1919.5], atol=1e-9)
    np.testing.assert_allclose(pixels[:, 1], 539.5, atol=1e-9)
    assert camera.frame_id == "phone_optical_frame" and not camera.dist.any()
    with pytest.raises(ValueError, match="1-179"):
        pinhole_from_fov("phone", 1920, 1080, 180.0)


def _wide_rational(**changes) -> CameraModel:
    """A 120-degree lens on the rational model, 1280 x 960 (coefficients of a review's fit)."""
    k = np.array([[611.15, 0.0, 639.5], [0.0, 611.15, 479.5], [0.0, 0.0, 1.0]])
    dist = np.array([0.7101, 0.0827, 0, 0, 0.0008, 1.043, 0.2324, 0.0083])
    cam = CameraModel("wide", "wide_optical_frame", 1280, 960, k, dist, "rational_polynomial")
    return CameraModel(**{**cam.__dict__, **changes})


def test_thin_prism_and_padded_coefficients_are_opencvs_model(points):
    """Drivers send D padded to OpenCV's 8, 12 or 14 terms (Isaac Sim: rational_polynomial
    with 12): taken when the padding is zero (refused before: the camera unusable), the
    thin-prism terms s1-s4 of 12 are modelled as OpenCV does; non-zero terms the model
    lacks are refused naming them."""
    from pose3d_ros.core.undistortion import undistort_normalised

    prism = _camera("rational_polynomial", MODELS["rational_polynomial"]
                    + [0.002, -0.001, 0.0015, 0.0005]).validate()
    rvec = cv2.Rodrigues(prism.R)[0]
    ref, _ = cv2.projectPoints(points, rvec, prism.t, prism.K, prism.dist)
    np.testing.assert_allclose(prism.project(points), ref.reshape(-1, 2), atol=1e-6)
    pc = prism.to_camera_frame(points)
    for xy in (prism.undistort(prism.project(points)),
               undistort_normalised(prism, prism.project(points))):
        np.testing.assert_allclose(xy, pc[:, :2] / pc[:, 2:], atol=1e-9)
    for model, padded in (("plumb_bob", 8), ("rational_polynomial", 14),
                          ("rational_polynomial", 12), ("equidistant", 5)):
        plain = _camera(model, MODELS[model]).validate()
        long = _camera(model, np.r_[MODELS[model], np.zeros(padded - len(MODELS[model]))])
        uv = plain.project(points)
        np.testing.assert_array_equal(long.validate().project(points), uv)
        np.testing.assert_allclose(undistort_normalised(long, uv),
                                   undistort_normalised(plain, uv), atol=1e-15)
    # 6 or 7 rational terms (OpenCV takes 4, 5, 8, 12 or 14): every frame set failed in
    # OpenCV before, for every camera of the rig (a review)
    short = _camera("rational_polynomial", MODELS["rational_polynomial"][:6]).validate()
    uv = short.project(points)
    np.testing.assert_allclose(undistort_normalised(short, uv), short.undistort(uv), atol=1e-12)
    tilted = _camera("rational_polynomial", np.r_[MODELS["rational_polynomial"], [0] * 4,
                                                  [0.01, 0]])
    with pytest.raises(ValueError, match="tilted"):
        tilted.validate()


def test_a_fisheye_whose_coefficients_are_all_zero_is_still_a_fisheye():
    """A review: an equidistant lens with D = [0, 0, 0, 0] (the ideal fisheye, r = f theta,
    as simulators' fisheye cameras send it) was projected as a fisheye but undistorted as a
    pinhole (every path took all-zero coefficients for no distortion): rays 2 degrees off at
    27 degrees from the axis, 7 at 45, and a 200-degree lens's edges bounded."""
    from pose3d_ros.core.camera import CameraArrays
    from pose3d_ros.core.undistortion import undistort_normalised, undistort_stacked

    fisheye = CameraModel("fish", "fish_optical_frame", 1280, 960,
                          np.array([[366.7, 0, 639.5], [0, 366.7, 479.5], [0, 0, 1]]),
                          np.zeros(4), "equidistant")
    angles = np.radians([0.0, 27.0, 45.0, 70.0, 85.0])
    rays = np.c_[np.tan(angles) * 0.8, np.tan(angles) * 0.6, np.ones(len(angles))]
    uv = fisheye.project(rays)
    np.testing.assert_allclose(np.hypot(*(uv - [639.5, 479.5]).T), 366.7 * angles)
    arrays = CameraArrays.from_cameras([fisheye])
    for xy in (fisheye.undistort(uv), undistort_normalised(fisheye, uv),
               undistort_stacked([fisheye], arrays, [uv[None]])[0]):
        np.testing.assert_allclose(xy, rays[:, :2], atol=1e-8)
    # 200 degrees across: no ray at the left and right edges, bounded above and below
    assert np.isinf(arrays.bounds[0, [0, 2]]).all() and np.isfinite(arrays.bounds[0, [1, 3]]).all()
    assert fisheye.has_distortion


def test_a_camera_looking_straight_down_or_up_has_a_rotation():
    """A review: look_at of a camera aimed along the world's up (a ceiling camera) gave a
    NaN rotation (no horizon to level), refused as 'extrinsics contain NaN'."""
    from pose3d_ros.core.camera import look_at, look_at_rotation
    for target in ([0.0, 0.0, -1.0], [0.0, 0.0, 5.0]):
        rotation, translation = look_at(np.array([0.0, 0.0, 3.0]), np.array(target))
        camera = CameraModel("top", "top", 640, 480, np.array([[500.0, 0, 319.5],
                             [0, 500.0, 239.5], [0, 0, 1]]), np.zeros(5), "plumb_bob",
                             rotation, translation).validate()
        np.testing.assert_allclose(rotation[2], np.sign(target[2] - 3.0) * np.array([0, 0, 1.0]))
        np.testing.assert_allclose(camera.center, [0.0, 0.0, 3.0], atol=1e-12)
    # batched: one camera along up beside an ordinary one (which is left as it was)
    rotations = look_at_rotation(np.array([[0.0, 0, 3], [4, 0, 1]]),
                                 np.array([[0.0, 0, 0], [0, 0, 1]]))
    assert np.isfinite(rotations).all()
    np.testing.assert_allclose(rotations[1], look_at(np.array([4.0, 0, 1]),
                                                     np.zeros(3) + [0, 0, 1])[0])


def test_a_keypoint_past_a_fisheyes_reach_has_no_ray_and_no_warning():
    """A review: an equidistant lens with k1 < 0 reaches at most theta_d = 1.38 (normalised
    distorted radius); a detector's keypoint beyond it (in the dark corner past the image
    circle) has no ray. Its Newton steps ran off to inf and numpy warned 'invalid value
    encountered in subtract' from the nodes' undistortion; the answer was already NaN."""
    import warnings

    from pose3d_ros.core.undistortion import undistort_normalised
    fisheye = CameraModel("fish", "fish_optical_frame", 1280, 960,
                          np.array([[300.0, 0, 639.5], [0, 300.0, 479.5], [0, 0, 1]]),
                          np.array([-0.05, 0.0, 0.0, 0.0]), "equidistant")
    uv = np.array([[639.5 + 300 * r, 479.5] for r in (1.0, 1.5, 2.0, 10.0)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for xy in (fisheye.undistort(uv), undistort_normalised(fisheye, uv)):
            assert np.isfinite(xy[0]).all() and np.isnan(xy[1:]).all(), xy


def test_no_wrong_ray_at_the_edge_of_a_strongly_distorted_or_fisheye_lens():
    """A review: OpenCV's undistortion stopped short at the corners of a 120-degree rational
    lens (rays 0.5 degrees off at 70 degrees from the axis, without a word), and clamped a
    fisheye's angle at 90 degrees (a stereographic lens's pixels at 80-87 degrees came back
    at 77-79, pixels past 90 degrees on the other side of the image). Both paths now give
    the true ray or none."""
    from pose3d_ros.core.undistortion import undistort_normalised

    wide = _wide_rational()
    angles = np.radians(np.arange(30.0, 81.0, 5.0))
    direction = np.array([0.8, 0.6])
    rays = np.c_[np.tan(angles)[:, None] * direction, np.ones(len(angles))]
    uv = wide.project(rays)
    for xy in (wide.undistort(uv), undistort_normalised(wide, uv)):
        np.testing.assert_allclose(xy, rays[:, :2], atol=1e-8)
    # a stereographic fisheye (theta_d = 2 tan(theta / 2)) as a Kannala-Brandt fit, k1 > 0
    fisheye = CameraModel("fish", "fish_optical_frame", 1920, 1080,
                          np.array([[500.0, 0, 959.5], [0, 500.0, 539.5], [0, 0, 1]]),
                          np.array([0.08328, 0.00851, 0.00064, 0.00017]), "equidistant")
    angles = np.radians([60.0, 80.0, 85.0, 87.0])
    rays = np.c_[np.tan(angles), np.zeros(len(angles)), np.ones(len(angles))]
    uv = fisheye.project(rays)
    assert (uv[:, 0] < 1920).all()                       # inside the image
    for xy in (fisheye.undistort(uv), undistort_normalised(fisheye, uv)):
        np.testing.assert_allclose(np.degrees(np.arctan(xy[:, 0])), np.degrees(angles),
                                   atol=1e-6)
    # a pixel 90 degrees or more off the axis has no point on the image plane: NaN
    beyond = fisheye.normalized_to_pixels(np.array([[2.1, 0.0], [2.0, 0.5]]))
    for xy in (fisheye.undistort(beyond), undistort_normalised(fisheye, beyond)):
        assert np.isnan(xy).all(), xy
    # ... and the image's rectangle is bounded by the border points that have a ray (a
    # review: the corners' NaN made every bound NaN, which turned off the check of the
    # people this camera should see)
    from pose3d_ros.core.camera import CameraArrays
    bounds = CameraArrays.from_cameras([fisheye]).bounds[0]
    assert np.isfinite(bounds).all() and bounds[0] < -4 and bounds[2] > 4, bounds
