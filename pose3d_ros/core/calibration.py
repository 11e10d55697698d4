"""Calibration file I/O: ROS camera_info YAML, our rig YAML, Pose2Sim/Anipose TOML, Qualisys QCA.

All loaders return validated CameraModel / Rig objects (ValueError naming the file, camera and
fault otherwise). Extrinsics always follow x_cam = R @ x_rig + t, metres: world-to-camera, as
OpenCV's rvec / tvec, NOT the camera's pose in the rig (the transform rig -> camera optical
frame that TF holds and tf2_echo prints is its inverse: orientation R^T, position -R^T t).

Rig YAML (this package's own format, see docs/multiview.md):

    format: pose3d_ros/rig
    version: 1
    frame_id: rig                      # the frame every camera's extrinsics refer to
    cameras:
      - name: cam01
        frame_id: cam01_optical_frame  # REP-103 optical frame: z forward, x right, y down
        width: 1088
        height: 1920
        camera_matrix: [fx, 0, cx, 0, fy, cy, 0, 0, 1]     # row-major, pixels
        distortion_model: plumb_bob    # plumb_bob | rational_polynomial | equidistant
        distortion_coefficients: [k1, k2, p1, p2, k3]
        rotation: [r11, r12, r13, r21, r22, r23, r31, r32, r33]  # world-to-camera, row-major
        translation: [tx, ty, tz]      # metres: x_cam = R x_rig + t (OpenCV's rvec / tvec)
    scale_from_person_height_m: 1.75   # optional: the metric scale is assumed from the
                                       # people's height (self-calibration), not measured
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

try:                                  # Python 3.11 and later
    from tomllib import loads as toml_loads
except ModuleNotFoundError:           # Python 3.10: the toml package (a declared dependency)
    from toml import loads as toml_loads  # type: ignore[assignment,no-redef]

from .camera import CameraModel, Rig

RIG_FORMAT = "pose3d_ros/rig"
RIG_VERSION = 1


def _fail(path: Path, msg: str) -> ValueError:
    return ValueError(f"{path}: {msg}")


def _text(path: Path) -> str:
    """A calibration file's text (UTF-8); ValueError naming the file when it is not text."""
    try:
        return path.read_text(encoding="utf-8-sig")     # (a leading BOM: Windows editors)
    except UnicodeDecodeError as exc:
        raise _fail(path, f"not UTF-8 text (byte {exc.start}: {exc.reason}); save it as "
                          "UTF-8") from None


def _yaml(path: Path) -> object:
    """A YAML calibration file parsed (yaml.safe_load); ValueError naming the file and the
    line when it does not parse."""
    try:
        return yaml.safe_load(_text(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _fail(path, f"invalid YAML{where}: {problem}") from None


def _int(value: Any, what: str, path: Path) -> int:
    """An integer field (image size, matrix rows); ValueError naming the file otherwise."""
    try:
        number = float(value)
        if number != int(number):
            raise ValueError
        return int(number)
    except (TypeError, ValueError, OverflowError):
        raise _fail(path, f"{what} must be a whole number, got {value!r}") from None


def _validated(cam: CameraModel, path: Path) -> CameraModel:
    try:
        return cam.validate()
    except ValueError as exc:
        raise _fail(path, str(exc)) from None


def _validated_rig(frame_id: str, cameras: list[CameraModel], path: Path,
                   person_height_m: float | None = None) -> Rig:
    """Rig(...).validate() with its ValueError (duplicate names, cameras kilometres apart)
    naming the file."""
    try:
        return Rig(frame_id, cameras, person_height_m).validate()
    except ValueError as exc:
        raise _fail(path, str(exc)) from None


def _floats(values: object, n: int | None, what: str, path: Path) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise _fail(path, f"{what} must be a list of numbers, got {values!r}") from None
    if n is not None and arr.size != n:
        raise _fail(path, f"{what} must have {n} values, got {arr.size}")
    return arr


def _matrix_field(doc: dict, key: str, rows: int, cols: int, path: Path) -> np.ndarray:
    entry = doc.get(key)
    if not isinstance(entry, dict) or "data" not in entry:
        raise _fail(path, f"missing {key}.data")
    if (_int(entry.get("rows", rows), f"{key}.rows", path) != rows
            or _int(entry.get("cols", cols), f"{key}.cols", path) != cols):
        raise _fail(path, f"{key} must be {rows}x{cols}, file says "
                          f"{entry.get('rows')}x{entry.get('cols')}")
    return _floats(entry["data"], rows * cols, key, path).reshape(rows, cols)


# ------------------------------------------------------------------ ROS camera_info YAML
def load_camera_info_yaml(path: str | Path, frame_id: str = "") -> CameraModel:
    """Read a camera_calibration_parsers YAML (image_width, camera_matrix, ...); the camera
    is named by its camera_name (else the file's stem) and its frame is frame_id, else
    '<name>_optical_frame' (REP-103's optical axes, as the other loaders name it: a review
    found the one-camera output in a frame named 'cam01', a robot's body frame name)."""
    path = Path(path)
    doc = _yaml(path)
    if not isinstance(doc, dict):
        raise _fail(path, "not a camera_info YAML mapping")
    for key in ("image_width", "image_height", "camera_matrix"):
        if key not in doc:
            raise _fail(path, f"missing {key!r}")
    k = _matrix_field(doc, "camera_matrix", 3, 3, path)
    dist_entry = doc.get("distortion_coefficients", {"data": []}) or {"data": []}
    if not isinstance(dist_entry, dict):
        raise _fail(path, "distortion_coefficients must be a mapping with rows, cols and data")
    dist = _floats(dist_entry.get("data", []), None, "distortion_coefficients.data", path)
    if "cols" in dist_entry and (
            _int(dist_entry.get("rows", 1), "distortion_coefficients.rows", path)
            * _int(dist_entry["cols"], "distortion_coefficients.cols", path) != dist.size):
        raise _fail(path, f"distortion_coefficients rows x cols = {dist_entry['rows']} x "
                          f"{dist_entry['cols']} but {dist.size} values")
    name = str(doc.get("camera_name", "") or path.stem)
    cam = CameraModel(name=name, frame_id=frame_id or f"{name}_optical_frame",
                      width=_int(doc["image_width"], "image_width", path),
                      height=_int(doc["image_height"], "image_height", path), K=k, dist=dist,
                      distortion_model=str(doc.get("distortion_model", "plumb_bob")))
    return _validated(cam, path)


def save_camera_info_yaml(camera: CameraModel, path: str | Path) -> None:
    """Write a camera_calibration_parsers YAML (intrinsics only: CameraInfo has no extrinsics)."""
    camera.validate()
    f = camera.to_camera_info_fields()

    def mat(rows: int, cols: int, data: Iterable[float]) -> dict[str, int | list[float]]:
        return {"rows": rows, "cols": cols, "data": [float(x) for x in data]}

    doc = {"image_width": camera.width, "image_height": camera.height,
           "camera_name": camera.name, "camera_matrix": mat(3, 3, f["k"]),
           "distortion_model": camera.distortion_model,
           "distortion_coefficients": mat(1, len(f["d"]), f["d"]),
           "rectification_matrix": mat(3, 3, f["r"]), "projection_matrix": mat(3, 4, f["p"])}
    Path(path).write_text(yaml.safe_dump(doc, sort_keys=False, default_flow_style=None))


# ------------------------------------------------------------------ rig YAML
def save_rig_yaml(rig: Rig, path: str | Path) -> None:
    """Write a rig in this package's documented YAML format (module docstring)."""
    rig.validate()
    cams = []
    for c in rig.cameras:
        cams.append({
            "name": c.name, "frame_id": c.frame_id, "width": c.width, "height": c.height,
            "camera_matrix": [float(x) for x in c.K.reshape(-1)],
            "distortion_model": c.distortion_model,
            "distortion_coefficients": [float(x) for x in c.dist],
            "rotation": [float(x) for x in c.R.reshape(-1)],
            "translation": [float(x) for x in c.t]})
    doc = {"format": RIG_FORMAT, "version": RIG_VERSION, "frame_id": rig.frame_id,
           "cameras": cams}
    if rig.scale_from_person_height_m is not None:
        doc["scale_from_person_height_m"] = float(rig.scale_from_person_height_m)
    Path(path).write_text(yaml.safe_dump(doc, sort_keys=False, default_flow_style=None))


def _person_height(value: object, path: Path) -> float | None:
    """A rig YAML's scale_from_person_height_m: None when absent, else a height in metres."""
    if value is None:
        return None
    height = _floats([value], 1, "scale_from_person_height_m", path)[0]
    if not 0 < height < 3:
        raise _fail(path, f"scale_from_person_height_m is {height}; expected a person's height "
                          "in metres")
    return float(height)


def assumed_scale_note(rig: Rig, path: str | Path) -> str | None:
    """The line a tool or node says about a rig file whose metric scale is assumed from the
    people's height (self-calibration), None for a measured one."""
    if rig.scale_from_person_height_m is None:
        return None
    return (f"{path}: self-calibrated, its metric scale assumes people "
            f"{rig.scale_from_person_height_m:.2f} m tall (calibrate --height): every distance "
            "of its 3D scales with that")


def rig_frame_is_optical(rig: Rig) -> bool:
    """Whether the rig's frame is one of its cameras' optical frame (that camera at the origin
    with no rotation: a self-calibrated rig's reference camera), whose z is the view and y
    down: viewers then need an upright frame (static_tf.upright_transform)."""
    return any(np.allclose(c.R, np.eye(3), atol=1e-9) and np.allclose(c.t, 0.0, atol=1e-9)
               for c in rig.cameras)


def load_rig_yaml(path: str | Path) -> Rig:
    """Read a rig YAML written by save_rig_yaml (or by hand, same fields)."""
    path = Path(path)
    doc = _yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("cameras"), list):
        raise _fail(path, "not a rig YAML: expected a mapping with a 'cameras' list")
    if doc.get("format", RIG_FORMAT) != RIG_FORMAT:
        raise _fail(path, f"format is {doc.get('format')!r}, expected {RIG_FORMAT!r}")
    if _int(doc.get("version", RIG_VERSION), "version", path) > RIG_VERSION:
        raise _fail(path, f"rig file version {doc['version']} is newer than supported "
                          f"({RIG_VERSION})")
    _known_keys(doc, _RIG_KEYS, "the file", path)
    cams = []
    for i, entry in enumerate(doc["cameras"]):
        where = f"camera #{i} ({entry.get('name', '?')})" if isinstance(entry, dict) else f"#{i}"
        if not isinstance(entry, dict):
            raise _fail(path, f"{where} is not a mapping")
        missing = [k for k in ("name", "width", "height", "camera_matrix", "rotation",
                               "translation") if k not in entry]
        if missing:
            raise _fail(path, f"{where} lacks {missing}")
        _known_keys(entry, _RIG_CAMERA_KEYS, where, path)
        name = _name(entry["name"], f"{where} name", path)
        cam = CameraModel(
            name=name, frame_id=_name(entry.get("frame_id", f"{name}_optical_frame"),
                                      f"{where} frame_id", path),
            width=_int(entry["width"], f"{where} width", path),
            height=_int(entry["height"], f"{where} height", path),
            K=_floats(entry["camera_matrix"], 9, f"{where} camera_matrix", path).reshape(3, 3),
            dist=_floats(entry.get("distortion_coefficients", []), None,
                         f"{where} distortion_coefficients", path),
            distortion_model=str(entry.get("distortion_model", "plumb_bob")),
            R=_floats(entry["rotation"], 9, f"{where} rotation", path).reshape(3, 3),
            t=_floats(entry["translation"], 3, f"{where} translation", path))
        cams.append(_validated(cam, path))
    return _validated_rig(_name(doc.get("frame_id", "rig"), "frame_id", path), cams, path,
                          _person_height(doc.get("scale_from_person_height_m"), path))


# the keys of a rig YAML (a misspelt one, e.g. `distortion:` or Kalibr's `distortion_coeffs`,
# was ignored, and the lens taken as undistorted: a review)
_RIG_KEYS = ("format", "version", "frame_id", "cameras", "scale_from_person_height_m")
_RIG_CAMERA_KEYS = ("name", "frame_id", "width", "height", "camera_matrix", "distortion_model",
                    "distortion_coefficients", "rotation", "translation")


def _known_keys(entry: dict, known: tuple[str, ...], where: str, path: Path) -> None:
    """ValueError naming the file when `entry` has a key outside `known`."""
    unknown = [str(k) for k in entry if k not in known]
    if unknown:
        raise _fail(path, f"{where}: unknown key(s) {unknown}; a rig YAML has "
                          f"{list(known)}")


def _name(value: Any, what: str, path: Path) -> str:
    """A name or frame id written as YAML text; ValueError naming the file otherwise (YAML
    reads 00123 as the number 83, on as True: a camera's serial changed on the way, a
    review)."""
    if not isinstance(value, str):
        raise _fail(path, f"{what} {value!r} is not text: quote it in the file (YAML reads an "
                          "unquoted 00123 as the number 83, on as true)")
    return value


# ------------------------------------------------------------------ Pose2Sim / Anipose TOML
def _rodrigues_to_matrix(rvec: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation
    return Rotation.from_rotvec(rvec).as_matrix()


def _matrix_to_rodrigues(rot: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation
    return Rotation.from_matrix(rot).as_rotvec()


def load_pose2sim_toml(path: str | Path, frame_id: str = "world") -> Rig:
    """Read a Pose2Sim / Anipose calibration .toml.

    Each camera table holds name, size [w, h], matrix (3x3), distortions [k1, k2, p1, p2]
    (or 4 fisheye terms when fisheye = true), rotation (Rodrigues vector, world -> camera) and
    translation (metres, world -> camera). Tables without a `matrix` (metadata) are skipped.
    """
    path = Path(path)
    text = _text(path)
    try:
        doc = toml_loads(text)
    except ValueError as exc:          # both parsers' decode errors are ValueErrors
        raise _fail(path, f"invalid TOML: {exc}") from None
    cams = []
    for key, entry in doc.items():
        # a camera's table: any of its fields; metadata and other sections are skipped (a
        # table with a misspelt `matrix` was skipped too, its camera dropped without a word,
        # and a dotted name is nested tables: a review)
        if key == "metadata" or not isinstance(entry, dict) or not _TOML_CAMERA_KEYS & set(entry):
            continue
        where = f"camera [{key}]"
        for field_name in ("size", "matrix", "rotation", "translation"):
            if field_name not in entry:
                raise _fail(path, f"{where} lacks {field_name!r}")
        size = _floats(entry["size"], 2, f"{where} size", path)
        if not np.all(np.isfinite(size)):
            raise _fail(path, f"{where} size must be finite, got {size.tolist()}")
        fisheye = entry.get("fisheye", False)
        if not isinstance(fisheye, bool):
            raise _fail(path, f"{where} fisheye must be true or false, got {fisheye!r}")
        name = str(entry.get("name", key))
        cam = CameraModel(
            name=name, frame_id=f"{name}_optical_frame",
            width=int(round(size[0])), height=int(round(size[1])),
            K=_floats(entry["matrix"], 9, f"{where} matrix", path).reshape(3, 3),
            dist=_floats(entry.get("distortions", []), None, f"{where} distortions", path),
            distortion_model="equidistant" if fisheye else "plumb_bob",
            R=_rodrigues_to_matrix(_rotation_vector(entry["rotation"], where, path)),
            t=_floats(entry["translation"], 3, f"{where} translation", path))
        cams.append(_validated(cam, path))
    if not cams:
        raise _fail(path, "no camera tables (with a 'matrix') found")
    return _validated_rig(frame_id, cams, path)


_TOML_CAMERA_KEYS = {"name", "size", "matrix", "distortions", "rotation", "translation",
                     "fisheye"}


def _rotation_vector(values: object, where: str, path: Path) -> np.ndarray:
    """A Rodrigues vector (3,) in radians, as OpenCV writes it (its angle at most pi);
    ValueError naming the file for a longer one (degrees read as radians turned every camera:
    a review)."""
    rvec = _floats(values, 3, f"{where} rotation", path)
    angle = float(np.linalg.norm(rvec))
    if not angle <= np.pi + 1e-6:
        raise _fail(path, f"{where} rotation {rvec.tolist()} turns by {angle:.3g} rad, more "
                          "than pi: a Rodrigues vector in radians is expected (degrees?)")
    return rvec


def _toml_key(name: str) -> str:
    """A camera name as a TOML table key: bare when it can be, else a quoted string (a dotted
    name made nested tables, a space or an accent an invalid file: a review)."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name,
                                                                          ensure_ascii=False)


def save_pose2sim_toml(rig: Rig, path: str | Path) -> None:
    """Write a Pose2Sim / Anipose .toml (plumb_bob with 4 terms, or equidistant as fisheye)."""
    rig.validate()
    lines = []
    for c in rig.cameras:
        if c.distortion_model == "rational_polynomial" or (
                c.distortion_model == "plumb_bob" and c.dist.size > 4 and np.any(c.dist[4:])):
            raise ValueError(f"camera {c.name!r}: the Pose2Sim format holds 4 distortion terms "
                             f"(k1 k2 p1 p2); {c.distortion_model} {c.dist.tolist()} does not fit")
        d = np.zeros(4)
        d[: min(4, c.dist.size)] = c.dist[:4]
        k = [[repr(float(x)) for x in row] for row in c.K]
        rv = _matrix_to_rodrigues(c.R)
        lines += [f"[{_toml_key(c.name)}]", f"name = {json.dumps(c.name, ensure_ascii=False)}",
                  f"size = [ {c.width}.0, {c.height}.0]",
                  f"matrix = [ [ {k[0][0]}, {k[0][1]}, {k[0][2]}], "
                  f"[ 0.0, {k[1][1]}, {k[1][2]}], [ 0.0, 0.0, 1.0]]",
                  "distortions = [ " + ", ".join(repr(float(x)) for x in d) + "]",
                  "rotation = [ " + ", ".join(repr(float(x)) for x in rv) + "]",
                  "translation = [ " + ", ".join(repr(float(x)) for x in c.t) + "]",
                  f"fisheye = {'true' if c.distortion_model == 'equidistant' else 'false'}", ""]
    lines += ["[metadata]", "adjusted = false", "error = 0.0", ""]
    Path(path).write_text("\n".join(lines))


# ------------------------------------------------------------------ Qualisys QCA
_QCA_UNITS_PER_PIXEL = 64.0  # Qualisys intrinsics are in 1/64 sub-pixel sensor units


def _natural_key(name: str) -> list[int | str]:
    return [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", name)]


def _number(element: ET.Element, key: str, default: str | None = None) -> float:
    """An XML element's attribute `key` as a float (ValueError naming it if absent)."""
    value = element.get(key, default)
    if value is None:
        raise ValueError(f"no {element.tag}.{key}")
    return float(value)


def load_qualisys_qca(path: str | Path, frame_id: str = "world") -> Rig:
    """Read a Qualisys Track Manager calibration export (.qca.txt, XML).

    Conversions (as documented by Pose2Sim's own reader of the same files):
    * focal length, principal point: sensor sub-pixel units / 64 -> pixels; the principal
      point is shifted by the video field of view's left/top offset;
    * distortion (radialDistortion1/2, tangentalDistortion1/2) is divided by 64 as well and
      used as plumb_bob k1 k2 p1 p2;
    * `transform` r11..r33 is the camera orientation M (camera axes in the world, row-major)
      and x y z the camera position in millimetres. Qualisys cameras look along -z with y up,
      so the optical frame (z forward, y down) is M with its y and z axes flipped:
      R_rig->cam = diag(1, -1, -1) @ M and t = -R @ C.
    * image size from fov_video (right - left + 1, bottom - top + 1).
    Cameras are named by their serial, `cam` before one that starts with a digit (QTM's
    serial numbers: 20451 -> cam20451, a valid ROS name), and returned in natural order of
    their names (cam01, cam02, ...).
    """
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise _fail(path, f"invalid Qualisys XML: {exc}") from None
    cams = []
    for i, tag in enumerate(root.findall("cameras/camera")):
        serial = tag.get("serial") or ""
        # Qualisys Track Manager writes the cameras' serial numbers (serial="20451"): a ROS
        # name cannot start with a digit, so such a camera is cam20451 (its topics
        # cam20451/image_raw; a review: a real export was refused by every tool)
        name = f"cam{serial}" if serial[:1].isdigit() else serial or f"camera{i + 1}"
        where = f"camera {name!r}"
        fov, intr, tr = tag.find("fov_video"), tag.find("intrinsic"), tag.find("transform")
        if fov is None or intr is None or tr is None:
            raise _fail(path, f"{where} lacks fov_video, intrinsic or transform")
        try:
            left, top = _number(fov, "left"), _number(fov, "top")
            width = int(_number(fov, "right") - left + 1)
            height = int(_number(fov, "bottom") - top + 1)
            s = _QCA_UNITS_PER_PIXEL
            k = np.array([[_number(intr, "focalLengthU") / s, _number(intr, "skew", "0") / s,
                           _number(intr, "centerPointU") / s - left],
                          [0.0, _number(intr, "focalLengthV") / s,
                           _number(intr, "centerPointV") / s - top], [0.0, 0.0, 1.0]])
            dist = np.array([_number(intr, n) for n in (
                "radialDistortion1", "radialDistortion2", "tangentalDistortion1",
                "tangentalDistortion2")]) / s
            m = np.array([[_number(tr, f"r{a}{b}") for b in "123"] for a in "123"])
            position = np.array([_number(tr, n) for n in "xyz"]) / 1000.0
        except (TypeError, ValueError) as exc:
            raise _fail(path, f"{where}: missing or non-numeric attribute ({exc})") from None
        rot = np.diag([1.0, -1.0, -1.0]) @ m
        cam = CameraModel(name, f"{name}_optical_frame", width, height, k, dist, "plumb_bob",
                          rot, -rot @ position)
        cams.append(_validated(cam, path))
    if not cams:
        raise _fail(path, "no cameras/camera entries")
    cams.sort(key=lambda c: _natural_key(c.name))
    return _validated_rig(frame_id, cams, path)


# ------------------------------------------------------------------ dispatch
def load_rig(path: str | Path) -> Rig:
    """Load any supported calibration by file name: *.qca.txt / *.qca (Qualisys), *.toml
    (Pose2Sim/Anipose), *.yaml / *.yml (rig YAML, or a single camera_info YAML -> 1-camera rig
    with identity extrinsics)."""
    path = Path(path)
    name = path.name.lower()
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a calibration file; give the file in it")
    if not path.is_file():
        raise ValueError(f"{path}: calibration file not found")
    if name.endswith(".qca.txt") or name.endswith(".qca"):
        return load_qualisys_qca(path)
    if name.endswith(".toml"):
        return load_pose2sim_toml(path)
    if name.endswith((".yaml", ".yml")):
        doc = _yaml(path)
        if isinstance(doc, dict) and "cameras" in doc:
            return load_rig_yaml(path)
        if isinstance(doc, dict) and "camera_matrix" in doc:
            cam = load_camera_info_yaml(path)
            return Rig(cam.frame_id or "rig", [cam])
        raise _fail(path, "YAML is neither a rig file ('cameras') nor a camera_info file")
    raise ValueError(f"{path}: unknown calibration format (expected .yaml, .toml, .qca.txt)")
