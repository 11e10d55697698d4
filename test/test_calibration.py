"""Calibration I/O: round trips of every format, the real Qualisys file, clear errors."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from pose3d_ros.core import calibration as cal
from pose3d_ros.core.synthetic import random_rig
from pose3d_ros.tools.fetch_demo import calibration_path


@pytest.fixture
def rig():
    return random_rig(3, np.random.default_rng(7))


def _same_rig(a, b, atol=1e-9):
    assert a.names == b.names
    for ca, cb in zip(a.cameras, b.cameras, strict=True):
        assert (ca.width, ca.height, ca.distortion_model) == (cb.width, cb.height,
                                                              cb.distortion_model)
        np.testing.assert_allclose(ca.K, cb.K, atol=atol)
        np.testing.assert_allclose(ca.R, cb.R, atol=atol)
        np.testing.assert_allclose(ca.t, cb.t, atol=atol)
        n = max(ca.dist.size, cb.dist.size)
        np.testing.assert_allclose(np.pad(ca.dist, (0, n - ca.dist.size)),
                                   np.pad(cb.dist, (0, n - cb.dist.size)), atol=atol)


def test_rig_yaml_round_trip(rig, tmp_path):
    path = tmp_path / "rig.yaml"
    cal.save_rig_yaml(rig, path)
    back = cal.load_rig_yaml(path)
    _same_rig(rig, back)
    assert back.frame_id == rig.frame_id
    _same_rig(rig, cal.load_rig(path))


def test_rig_yaml_keeps_where_its_metric_scale_comes_from(rig, tmp_path):
    """A self-calibrated rig's scale is assumed from the people's height (calibrate --height),
    not measured: the file says so, and a rig without it reads back as measured."""
    from dataclasses import replace
    path = tmp_path / "rig.yaml"
    cal.save_rig_yaml(rig, path)
    assert "scale_from_person_height_m" not in yaml.safe_load(path.read_text())
    assert cal.load_rig(path).scale_from_person_height_m is None
    cal.save_rig_yaml(replace(rig, scale_from_person_height_m=1.62), path)
    assert yaml.safe_load(path.read_text())["scale_from_person_height_m"] == 1.62
    assert cal.load_rig(path).scale_from_person_height_m == 1.62
    for bad in (0, -1.7, 170, "tall", float("nan")):
        doc = yaml.safe_load(path.read_text())
        doc["scale_from_person_height_m"] = bad
        path.write_text(yaml.safe_dump(doc))
        with pytest.raises(ValueError, match="scale_from_person_height_m"):
            cal.load_rig(path)


def test_camera_info_yaml_round_trip(rig, tmp_path):
    path = tmp_path / "cam.yaml"
    cal.save_camera_info_yaml(rig.cameras[0], path)
    doc = yaml.safe_load(path.read_text())
    assert doc["camera_matrix"]["rows"] == 3 and len(doc["projection_matrix"]["data"]) == 12
    back = cal.load_camera_info_yaml(path)
    np.testing.assert_allclose(back.K, rig.cameras[0].K)
    np.testing.assert_allclose(back.dist, rig.cameras[0].dist)
    assert cal.load_rig(path).cameras[0].name == rig.cameras[0].name


def test_pose2sim_toml_is_read_without_tomllib_as_on_python_3_10(tmp_path):
    """A packaging review: the package declares Python >= 3.10, but calibration imported
    tomllib (3.11 and later) unconditionally, so nothing that reads a rig file (the nodes, the
    tools) imported on 3.10. Without tomllib the toml package (a declared dependency) reads
    the same file to the same rig, and a broken file is refused the same way."""
    import subprocess
    import sys

    rig = random_rig(3, np.random.default_rng(4), distortion_model="plumb_bob")
    for cam in rig.cameras:
        cam.dist = cam.dist[:4]
    path = tmp_path / "Calib.toml"
    cal.save_pose2sim_toml(rig, path)
    broken = tmp_path / "broken.toml"
    broken.write_text("[cam_1\nmatrix = [")
    code = (
        "import sys; sys.modules['tomllib'] = None\n"
        "import numpy as np\n"
        "from pose3d_ros.core import calibration as cal\n"
        "assert cal.toml_loads.__module__.startswith('toml.'), cal.toml_loads.__module__\n"
        f"rig = cal.load_pose2sim_toml({str(path)!r})\n"
        "np.save(sys.argv[1], np.stack([np.concatenate([c.K.ravel(), c.R.ravel(), c.t, c.dist])"
        " for c in rig.cameras]))\n"
        "try:\n"
        f"    cal.load_pose2sim_toml({str(broken)!r})\n"
        "except ValueError as err:\n"
        "    print('refused:', err)\n")
    out = tmp_path / "rig.npy"
    run = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "refused:" in run.stdout and "invalid TOML" in run.stdout
    here = cal.load_pose2sim_toml(path)
    np.testing.assert_allclose(np.load(out), np.stack([np.concatenate(
        [c.K.ravel(), c.R.ravel(), c.t, c.dist]) for c in here.cameras]), atol=1e-12)


def test_pose2sim_toml_round_trip(tmp_path):
    rig = random_rig(4, np.random.default_rng(2), distortion_model="plumb_bob")
    for cam in rig.cameras:
        cam.dist = cam.dist[:4]  # the TOML format has 4 terms
    path = tmp_path / "Calib.toml"
    cal.save_pose2sim_toml(rig, path)
    _same_rig(rig, cal.load_pose2sim_toml(path), atol=1e-9)
    fish = random_rig(2, np.random.default_rng(3), distortion_model="equidistant")
    cal.save_pose2sim_toml(fish, path)
    assert cal.load_rig(path).cameras[1].distortion_model == "equidistant"
    with pytest.raises(ValueError, match="4 distortion terms"):
        cal.save_pose2sim_toml(random_rig(2, np.random.default_rng(4),
                                          distortion_model="rational_polynomial"), path)


def test_real_qualisys_calibration():
    rig = cal.load_rig(calibration_path("single"))
    assert rig.names == ["cam01", "cam02", "cam03", "cam04"]
    for cam in rig.cameras:
        assert (cam.width, cam.height) == (1088, 1920)
        assert 1600 < cam.K[0, 0] < 1750 and abs(cam.K[0, 2] - 544) < 40
        # cameras stand 2-5 m from the lab centre, above the floor, and look towards it
        dist = np.linalg.norm(cam.center[:2])
        assert 2.0 < dist < 5.0 and 1.0 < cam.center[2] < 2.5
        centre_dir = -cam.center / np.linalg.norm(cam.center)
        assert cam.R[2] @ centre_dir > 0.7  # optical axis (row 3 of R) points at the centre
        assert cam.R[1, 2] < 0  # optical y (down) has a negative world-z component


def test_a_qualisys_export_with_serial_numbers_names_its_cameras_for_ros(tmp_path):
    """A review: Qualisys Track Manager writes each camera's serial number (serial="20451"),
    which cannot start a ROS name: every tool refused a real export ("camera name '20451'
    cannot name ROS topics"). Such a camera is cam20451 now, in its serials' natural order;
    the rig is otherwise the one of the file."""
    from pose3d_ros.core.bag_cameras import camera_name_problem

    source = calibration_path("single")
    text = source.read_text()
    for k, serial in enumerate(("20451", "20452", "9003", "20454")):
        text = text.replace(f'serial="cam0{k + 1}"', f'serial="{serial}"')
    numbered = tmp_path / "Calib.qca.txt"
    numbered.write_text(text)
    rig, original = cal.load_rig(numbered), cal.load_rig(source)
    assert rig.names == ["cam9003", "cam20451", "cam20452", "cam20454"]
    assert not any(map(camera_name_problem, rig.names))
    np.testing.assert_array_equal(rig["cam9003"].K, original["cam03"].K)
    np.testing.assert_array_equal(rig["cam20451"].R, original["cam01"].R)


def test_pose2sim_toml_from_qualisys_round_trip(tmp_path):
    rig = cal.load_qualisys_qca(calibration_path("single"))
    path = tmp_path / "Calib_qualisys.toml"
    cal.save_pose2sim_toml(rig, path)
    _same_rig(rig, cal.load_pose2sim_toml(path), atol=1e-9)


def _write_rig(tmp_path, rig, edit):
    path = tmp_path / "bad.yaml"
    cal.save_rig_yaml(rig, path)
    doc = yaml.safe_load(path.read_text())
    edit(doc["cameras"][1])
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize("edit, message", [
    (lambda c: c.__setitem__("camera_matrix", [0, 0, 5, 0, 0, 5, 0, 0, 1]), "focal"),
    (lambda c: c.__setitem__("rotation", [1, 0, 0, 0, 1, 0, 0, 0.3, 1]), "rotation"),
    (lambda c: c.__setitem__("translation", [0.0, float("nan"), 1.0]), "NaN"),
    (lambda c: c.__setitem__("width", -5), "size"),
    (lambda c: c.__setitem__("camera_matrix", [1, 2, 3]), "9 values"),
    (lambda c: c.pop("rotation"), "lacks"),
    # (a review of rig files: a misspelt key made the lens undistorted without a word, YAML
    # read an unquoted serial 00123 as the number 83, two cameras shared one frame)
    (lambda c: c.__setitem__("distortion", c.pop("distortion_coefficients")),
     r"unknown key\(s\) \['distortion'\]"),
    (lambda c: c.__setitem__("name", 83), "name 83 is not text: quote it"),
    (lambda c: c.__setitem__("frame_id", "/cam1_optical_frame"), "starts with '/'"),
    (lambda c: c.__setitem__("frame_id", "cam01_optical_frame"), "two cameras in frame"),
])
def test_inconsistent_rig_yaml_is_rejected(rig, tmp_path, edit, message):
    path = _write_rig(tmp_path, rig, edit)
    with pytest.raises(ValueError, match=message) as err:
        cal.load_rig_yaml(path)
    assert "bad.yaml" in str(err.value)


def test_a_rig_in_millimetres_is_refused_at_load_naming_the_file(rig, tmp_path):
    """A review: a rig file whose translations are in millimetres (a room's cameras 5,000
    "m" apart) loaded without a word, and every person, 1,000 times too large, was refused
    as no human: no 3D and no reason. Every format's loader names the file; a rig of metres
    loads."""
    from dataclasses import replace

    from pose3d_ros.core.camera import Rig
    rig = Rig(rig.frame_id, [replace(c, dist=c.dist[:4]) for c in rig])   # Pose2Sim's terms
    in_mm = Rig(rig.frame_id, [c.with_pose(c.R, c.t * 1000) for c in rig])
    for name, save in (("rig.yaml", cal.save_rig_yaml), ("Calib.toml", cal.save_pose2sim_toml)):
        path = tmp_path / name
        save(rig, path)
        cal.load_rig(path)
        text = path.read_text()
        for camera, camera_mm in zip(rig, in_mm, strict=True):     # the same file in mm
            for value, value_mm in zip(camera.t, camera_mm.t, strict=True):
                text = text.replace(repr(float(value)), repr(float(value_mm)))
        path.write_text(text)
        with pytest.raises(ValueError, match=f"{name}: .* m apart.*millimetres"):
            cal.load_rig(path)


def test_inconsistent_camera_info_and_qca_are_rejected(tmp_path, rig):
    path = tmp_path / "cam.yaml"
    cal.save_camera_info_yaml(rig.cameras[0], path)
    doc = yaml.safe_load(path.read_text())
    doc["camera_matrix"]["data"] = doc["camera_matrix"]["data"][:6]
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ValueError, match="camera_matrix must have 9"):
        cal.load_camera_info_yaml(path)
    qca = tmp_path / "c.qca.txt"
    text = calibration_path("single").read_text().replace('focalLengthU="107599.671875"',
                                                          'focalLengthU="0"')
    qca.write_text(text)
    with pytest.raises(ValueError, match="cam01.*focal"):
        cal.load_rig(qca)
    with pytest.raises(ValueError, match="unknown calibration format"):
        (tmp_path / "x.json").write_text("{}")
        cal.load_rig(tmp_path / "x.json")


def test_rig_files_as_people_write_them(rig, tmp_path):
    """A review of rig files: a rotation written with 4 decimals (3e-5 from orthonormal) was
    refused, a UTF-8 byte-order mark refused a TOML, a camera without frame_id was put in a
    frame named after the camera alone (the other formats: <name>_optical_frame), a
    Pose2Sim rotation in degrees and a table whose `matrix` was misspelt were taken without
    a word (every camera turned; a camera dropped), fisheye = "false" read as true, and a
    camera name with a dot or a space wrote a TOML that did not load back."""
    from dataclasses import replace

    from pose3d_ros.core.camera import Rig

    path = tmp_path / "rig.yaml"
    cal.save_rig_yaml(rig, path)
    doc = yaml.safe_load(path.read_text())
    doc["cameras"][0]["rotation"] = [round(v, 4) for v in doc["cameras"][0]["rotation"]]
    del doc["cameras"][1]["frame_id"]
    path.write_text("\ufeff" + yaml.safe_dump(doc), encoding="utf-8")
    back = cal.load_rig(path)
    first = back.cameras[0]
    np.testing.assert_allclose(first.R @ first.R.T, np.eye(3), atol=1e-12)   # snapped
    np.testing.assert_allclose(first.R, rig.cameras[0].R, atol=2e-4)
    assert back.cameras[1].frame_id == f"{rig.cameras[1].name}_optical_frame"
    # Pose2Sim TOML
    named = Rig(rig.frame_id, [replace(c, name=n, frame_id=f"{n}_optical_frame",
                                       dist=c.dist[:4])
                               for c, n in zip(rig.cameras, ("cam.01", "kamera-2", "caméra"),
                                               strict=True)])
    toml = tmp_path / "Calib.toml"
    cal.save_pose2sim_toml(named, toml)
    assert cal.load_rig(toml).names == ["cam.01", "kamera-2", "caméra"]
    text = toml.read_text()
    toml.write_text("\ufeff" + text, encoding="utf-8")
    assert cal.load_rig(toml).names == ["cam.01", "kamera-2", "caméra"]
    bad = tmp_path / "bad.toml"
    for edit, told in (
            (lambda t: t.replace("matrix = ", "Matrix = ", 1), r"camera \[cam.01\] lacks 'matrix'"),
            (lambda t: t.replace("fisheye = false", 'fisheye = "false"', 1),
             "fisheye must be true or false"),
            (lambda t: t.replace("rotation = [ ", "rotation = [ 120.0, ", 1).replace(
                "rotation = [ 120.0, ", "rotation = [ 120.0, 0.0, 0.0]\n#", 1),
             r"turns by 120 rad, more than pi.*degrees\?")):
        bad.write_text(edit(text), encoding="utf-8")
        with pytest.raises(ValueError, match=told):
            cal.load_rig(bad)
    # the rig's frame may be a camera's optical frame only where that camera sits at its origin
    with pytest.raises(ValueError, match="is camera .*'s optical frame, but the camera is posed"):
        Rig(rig.cameras[1].frame_id, rig.cameras).validate()
