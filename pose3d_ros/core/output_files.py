"""How the command-line tools treat the user's files and mistakes.

  refuse_existing   an output that exists is refused unless overwrite is given, as is one that
                    cannot be written (unwritable_folder) or whose replacement would delete an
                    input or a file the tools did not write (foreign_entries; checked before
                    any computation starts)
  staged_output     an output is written under a temporary name beside its destination and
                    moved in only when complete; a failure leaves the destination untouched
                    (staged_outputs: several that belong together, moved in together)
  write_atomically  one file (a cache, a downloaded file, a data file) written whole or not at
                    all: a temporary file of its own beside it, then os.replace
  kept_on_interrupt files written one by one: an interrupt after some names them in
                    run_cli's line instead of "no output was written"
  positive_float, non_negative_float, float_in, int_at_least, int_in
                    argparse types of the numeric options: a value out of range, NaN or
                    infinite is refused by argparse in one line naming the option (exit 2)
  UserError / run_cli  a user mistake ends in one clear line (what, and what to do); the
                    traceback only with --debug
  progress          a tqdm progress bar (on stderr) for steps that take seconds
  warnings_told     the WARNING lines the package logs during a step, kept for the report
                    (what the console said about the input stays with the results)
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import math
import os
import secrets
import shutil
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn, TypeVar

if TYPE_CHECKING:
    from tqdm import tqdm

log = logging.getLogger(__name__)

_Number = TypeVar("_Number", int, float)


class UserError(Exception):
    """A mistake in what the user asked for, told in one line."""


def require_files(paths: Sequence[Path | str]) -> None:
    """UserError naming the first of `paths` that is not a file: a folder, or nothing there."""
    for path in paths:
        if Path(path).is_dir():
            raise UserError(f"{path} is a folder, not a file; give the file in it")
        if not Path(path).is_file():
            raise UserError(f"{path} does not exist")


def refuse_existing(path: Path, overwrite: bool, what: str = "output",
                    inputs: Sequence[Path | None] = (), *, folder: bool | None = None,
                    replaces: bool = True) -> None:
    """The checks of an output path before any computation: UserError if `path` exists and
    overwrite is False, if it is a folder where the output is a file or the other way round
    (folder: whether the output is a folder; --overwrite replaces like with like, it never
    deletes a folder to write a file), if it cannot be written (the nearest existing folder on
    its way is read-only or not a folder), if replacing it would delete one of the tool's
    `inputs` (an input inside the output folder, or the output itself), or if it is a folder
    holding anything this package's tools do not write (foreign_entries: a user's files).
    replaces=False: a folder written into, not replaced (a work folder), whatever it holds."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise UserError(f"{what} {path} already exists; pass --overwrite to replace it, or "
                        "choose another path")
    if folder is not None and path.exists() and path.is_dir() != folder:
        raise UserError(f"{what} {path} is " + ("a file" if folder else "a folder")
                        + f", the output is {'a folder' if folder else 'a file'}: choose "
                        "another path (--overwrite replaces only the same kind)")
    if path.is_symlink():
        # found by a review: a folder moved onto a link failed after all the work was done
        raise UserError(f"{what} {path} is a link (to {os.readlink(path)}): give the path it "
                        "points to, or another path")
    if path.exists() and path.is_dir() and os.path.ismount(path):
        # found by a review: a volume mounted as --out-dir cannot be replaced, and deleting
        # its contents first lost the old output and the new one
        raise UserError(f"{what} {path} is a mount point, which cannot be replaced: give a "
                        "path inside it")
    if path.exists() and _within(Path.cwd(), path):
        raise UserError(f"{what} {path} is the folder you are in, or holds it: replacing it "
                        "would delete that folder; choose another path")
    for given in inputs:
        if given is not None and path.exists() and _within(Path(given), path):
            raise UserError(f"{what} {path} holds the input {given}: replacing it would "
                            "delete that input; choose another output path")
    if problem := unwritable_folder(path.absolute().parent):
        raise UserError(f"{what} {path} cannot be written: {problem}; choose another path")
    if overwrite and replaces and path.is_dir() and not path.is_symlink():
        foreign = foreign_entries(path)
        if foreign:
            # found by a review: --overwrite deleted a mistyped --out-dir with the user's files
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more"
                                              if len(foreign) > 5 else "")
            raise UserError(f"{what} {path} holds {shown}, which pose3d_ros did not write: "
                            "--overwrite replaces only a folder of its outputs; move those "
                            "away, or choose another path")


def unwritable_folder(folder: Path) -> str:
    """Why nothing can be made in `folder` or in the folders still to be made on its way, in
    words naming the nearest existing one ("" when it can): not a folder, read-only for this
    user, or refusing a new entry when one is tried (a folder made and removed at once).
    Permission bits alone do not tell: root passes os.access on /proc, /sys, an immutable
    folder or a share that squashes root, where making a file fails (a review: calibrate
    --out /proc/rig.yaml ran the whole calibration, then said 'No such file or directory:
    /proc/.rig.yaml.partial-<pid>')."""
    folder = Path(folder).absolute()
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is None:
        return ""
    if not existing.is_dir():
        return f"{existing} is not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is read-only for this user"
    try:
        probe = tempfile.mkdtemp(prefix=".pose3d-write-check-", dir=existing)
    except OSError as err:
        return f"{existing} refuses new files ({err.strerror or error_line(err)})"
    with contextlib.suppress(OSError):
        os.rmdir(probe)
    return ""


# What the tools write into a folder they replace; --overwrite replaces a folder only when it
# holds nothing else (foreign_entries), so a mistyped output path never deletes a user's files.
#   a report (run, demo, evaluate, eval_dataset): _REPORT_FILES, overlay_<camera>.webm (.mp4
#       before), and the bags _REPORT_BAGS
#   a bag (make_bag, and the bags above): metadata.yaml written by rosbags (ros_distro:
#       rosbags; a recorder writes its ROS distribution) and the data files it lists
#   a rendered scene (render_mocap): _RENDER_FILES
#   a training's work folder (train_lifter --work-dir): _WORK_FILES
_REPORT_FILES = frozenset({"report.html", "playback.html", "evaluation.json"})
# Files a desktop's file manager writes into any folder it shows (macOS Finder, Windows
# Explorer, KDE Dolphin): not the user's work, so they never keep a tool's own output from
# being replaced (a review: opening a report folder in Finder made --overwrite refuse it).
DESKTOP_CLUTTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", ".directory"})
_REPORT_BAGS = frozenset({"input_bag", "output_bag", "skeletons"})
_RENDER_FILES = frozenset({"camera.mp4", "calibration.yaml", "truth.npz"})
_WORK_FILES = frozenset({"checkpoint.pt", "history.json"})


def _empty_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def _bag_files(folder: Path) -> frozenset[str] | None:
    """The names a bag folder written by this package holds (metadata.yaml and the data files
    it lists), or None when `folder` is not one."""
    import yaml

    try:
        info = yaml.safe_load((folder / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
        if info["ros_distro"] != "rosbags":
            return None
        return frozenset({"metadata.yaml", *(str(f) for f in info["relative_file_paths"])})
    except (OSError, UnicodeDecodeError, yaml.YAMLError, TypeError, KeyError):
        return None


def foreign_entries(folder: Path) -> list[str]:
    """Names in `folder` (sorted; a folder's with a trailing /, one inside a bag as bag/name)
    that no tool of this package writes there: what replacing the folder would delete of the
    user's. [] for an empty folder or one holding only one tool's outputs (see above) and a
    file manager's DESKTOP_CLUTTER."""
    entries = {p.name: p for p in Path(folder).iterdir()
               if not _empty_folder(p) and not (p.name in DESKTOP_CLUTTER and p.is_file())}

    def shown(name: str) -> str:
        path = entries[name]
        return f"{name}/" if path.is_dir() and not path.is_symlink() else name

    def inside_bag(name: str) -> list[str]:
        path = entries[name]
        if path.is_symlink() or not path.is_dir():
            return [name]
        listed = _bag_files(path)
        if listed is None:
            return [f"{name}/"]
        return sorted(f"{name}/{p.name}" for p in path.iterdir()
                      if p.name not in listed and not _empty_folder(p)
                      and not (p.name in DESKTOP_CLUTTER and p.is_file()))

    def report(name: str) -> list[str]:
        if name in _REPORT_BAGS:
            return inside_bag(name)
        ours = name in _REPORT_FILES or (name.startswith("overlay_")
                                         and name.endswith((".webm", ".mp4")))
        return [] if ours and entries[name].is_file() else [shown(name)]

    def of(names: frozenset[str]) -> Callable[[str], list[str]]:
        return lambda name: [] if name in names and entries[name].is_file() else [shown(name)]

    bag = _bag_files(Path(folder))
    kinds = [(report, _REPORT_FILES), (of(_RENDER_FILES), {"truth.npz"}),
             (of(_WORK_FILES), _WORK_FILES)]
    if bag is not None:
        kinds.append((of(bag), {"metadata.yaml"}))
    told = sorted(shown(name) for name in entries)
    for foreign_to, signature in kinds:               # the kind whose signature is there
        if signature & entries.keys():
            found = sorted(f for name in entries for f in foreign_to(name))
            told = min(told, found, key=len)
    return told


def _within(path: Path, folder: Path) -> bool:
    """Whether `path` is `folder` or lies inside it (symbolic links resolved)."""
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextlib.contextmanager
def staged_output(path: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path` (same file system); on success move it to `path`
    (replacing what is there only if overwrite), on failure delete it.

    The temporary path keeps the destination's own name inside a hidden staging folder
    (`.<name>.partial-<pid>/<name>`): writers that name their contents after the path (a
    rosbag2 folder names its data file <folder>.db3 / .mcap) then produce the final names."""
    with staged_outputs([path], overwrite) as (temporary,):
        yield temporary


@contextlib.contextmanager
def staged_outputs(paths: Sequence[Path], overwrite: bool = False) -> Iterator[list[Path]]:
    """staged_output for outputs that belong together (a model, its metadata and weights):
    all are moved in only when all were written, with Ctrl-C and SIGTERM held back while
    they are moved (found by a review: an interrupt between two moves left new weights
    beside an old model); a failure before leaves every destination untouched."""
    paths = [Path(os.path.abspath(p)) for p in paths]   # "." and ".." have no name to stage
    for path in paths:
        refuse_existing(path, overwrite)
    # the folders made for them too, when a failure or an interrupt leaves them empty (a
    # review: an interrupted make_bag, run or demo left the new np/x/ it had made)
    with new_folders_removed_on_failure([path.parent for path in paths]):
        stagings = []
        try:
            for path in paths:
                path.parent.mkdir(parents=True, exist_ok=True)
                staging = path.with_name(f".{path.name}.partial-{os.getpid()}")
                _remove(staging)
                staging.mkdir()
                stagings.append(staging)
            temporaries = [staging / path.name
                           for staging, path in zip(stagings, paths, strict=True)]
            yield temporaries
            written = [(t, p) for t, p in zip(temporaries, paths, strict=True) if t.exists()]
            for temporary, path in written:    # appeared meanwhile: still honour the rules
                if path.exists():
                    refuse_existing(path, overwrite, folder=temporary.is_dir())
            with _interrupts_held():
                _move_in(written)
        finally:
            left = []
            for staging in stagings:
                shutil.rmtree(staging, ignore_errors=True)
                if staging.exists():
                    left.append(staging)
            if left:
                logging.getLogger(__name__).warning(
                    "could not remove all of %s (the replaced output, or what a failure "
                    "left): delete it by hand", ", ".join(map(str, left)))


@contextlib.contextmanager
def new_folders_removed_on_failure(folders: Sequence[Path]) -> Iterator[None]:
    """The folders of `folders`, and those on their way, that do not exist yet: those that a
    failure or an interrupt within the block leaves empty are removed again (a review: a
    failed train_lifter left an empty <out>.work/ while saying no output was written). Only
    empty ones: a folder that holds something (a resumable checkpoint, a 2D cache) stays."""
    new = sorted({p for f in folders for p in (Path(os.path.abspath(f)),
                                               *Path(os.path.abspath(f)).parents)
                  if not p.exists()}, key=lambda p: len(p.parts), reverse=True)
    try:
        yield
    except BaseException:
        for folder in new:                      # the deepest first
            with contextlib.suppress(OSError):  # not empty, or gone
                folder.rmdir()
        raise


def _move_in(written: Sequence[tuple[Path, Path]]) -> None:
    """Move each staged temporary (in its staging folder) to its path. What is at a path is
    first moved aside into the staging folder (a rename on the same file system), the new
    output then moved in, and the old one deleted with the staging folder afterwards; a
    failure on the way (a folder that cannot be renamed, a file that cannot be moved) moves
    everything back, so the old outputs stay as they were (found by a review: deleting the
    old folder first, then failing, lost the old output and the new one)."""
    aside: list[tuple[Path, Path]] = []
    moved: list[tuple[Path, Path]] = []
    try:
        for temporary, path in written:
            if path.exists() or path.is_symlink():
                old = temporary.parent / f".replaced-{path.name}"
                os.replace(path, old)
                aside.append((old, path))
            os.replace(temporary, path)
            moved.append((temporary, path))
    except BaseException:
        for temporary, path in reversed(moved):
            os.replace(path, temporary)
        for old, path in reversed(aside):
            os.replace(old, path)
        raise


def json_ready(value: Any) -> Any:
    """`value` for JSON, which has no NaN or infinity: nested dicts, lists and tuples with
    NumPy arrays and scalars as Python lists and numbers, every non-finite float as None."""
    import numpy as np

    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_text(value: Any, indent: int | None = 1) -> str:
    """Strict JSON of `value` (json_ready: NaN and infinities as null), which every JSON
    parser reads (found by a review: eval_multiview --json wrote bare NaN, which
    JavaScript's JSON.parse refuses)."""
    import json

    return json.dumps(json_ready(value), indent=indent, allow_nan=False)


def error_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none): a
    library's error quoted inside one line of ours."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class DamagedFileError(UserError, ValueError):
    """A file that cannot be read as what it should be (cut short, empty, overwritten): a
    user's mistake to tell in one line, and a ValueError for callers that catch those."""


@contextlib.contextmanager
def npz_file(path: Path | str, what: str) -> Iterator[Any]:
    """The open np.load of an .npz file (allow_pickle off: a file never runs code), for reading
    its arrays inside the block. DamagedFileError naming the file and `what` it should be when
    it is not one: missing arrays, an empty or cut-short file, not a zip of NumPy arrays, one
    array (.npy), pickled objects (found by a review: zipfile.BadZipFile and EOFError came out
    of calibrate --keypoints, run --truth and train_lifter's cache as tracebacks).
    FileNotFoundError when there is no file."""
    import zipfile

    import numpy as np

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("one NumPy array, not an .npz of named arrays")
        with data:
            yield data
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        if isinstance(exc, DamagedFileError):
            raise
        said = error_line(exc)
        if isinstance(exc, KeyError):
            said = f"no array {said}"
        elif "allow_pickle" in said:
            # NumPy's own advice, to load it "unsafely" with allow_pickle, is no option of a
            # tool's (a review: a YAML given as --keypoints was told so)
            said = ("its arrays hold Python objects, which are never read" if
                    zipfile.is_zipfile(path) else "not a zip of NumPy arrays")
        raise DamagedFileError(f"{path} is not {what}, or one cut short ({said})") from None


def cache_kept(save: Callable[[], object], where: Path, what: str = "cache") -> bool:
    """Run `save`, which writes a cache file (a speed-up only) at `where`: an OSError (a
    read-only or full folder) is one warning per folder and the run goes on without it
    (a review: a read-only cache folder ended train_lifter, calibrate and eval_detection
    with a bare errno after their 2D, and the 2D was lost). True when written."""
    from .once import first_time

    try:
        save()
        return True
    except OSError as err:
        if first_time("cache not kept", str(Path(where).parent)):
            log.warning("%s not kept in %s (%s): the next run computes it again; give a "
                        "writable folder (POSE3D_DATA, or the tool's cache option)", what,
                        Path(where).parent, error_line(err))
        return False


def write_atomically(path: Path, content: bytes | Callable[[BinaryIO], object]) -> None:
    """Write one file whole or not at all: `content` (bytes, or a function that writes them to
    the binary file it is given) goes to a file opened under a temporary name of its own in
    `path`'s folder (`.<name>.<random>.partial`: two writers of one path, processes or
    threads, never share it), which then replaces `path` (os.replace); on any failure or
    interrupt the temporary file is removed and `path` is untouched. The folder is created
    when missing; the file gets an ordinary new file's permissions (0o666 less the umask).

    staged_output(s) is the tools' counterpart for outputs the user names: whole paths (a
    folder, a file a library names itself), several moved in together, and the --overwrite
    rules."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as file:
            if isinstance(content, bytes):
                file.write(content)
            else:
                content(file)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _file_identity(path: Path) -> tuple[int, int, int, int] | None:
    """(device, inode, size, modification ns) of the regular file at `path`, None when there
    is none (missing, a folder, a pipe): a file replaced by write_atomically is a new inode."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(found.st_mode):
        return None
    return found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns


@contextlib.contextmanager
def kept_on_interrupt(paths: Sequence[Path], rest: str) -> Iterator[None]:
    """For a block that writes some of `paths` one by one, each whole (write_atomically):
    Ctrl-C or SIGTERM after it wrote any of them is raised again (the same class) with a
    text naming them, which run_cli's line says instead of "no output was written" (a review:
    an interrupted fetch_demo said so with ten demo files written). `rest`: how the rest is
    written, e.g. "the same command fetches the rest". A file the block did not write (there
    before, the same inode, size and time) is not named."""
    before = [_file_identity(path) for path in paths]
    try:
        yield
    except KeyboardInterrupt as err:
        written = [Path(path) for path, was in zip(paths, before, strict=True)
                   if (now := _file_identity(path)) is not None and now != was]
        if not written:
            raise
        folder = Path(os.path.commonpath([path.parent for path in written]))
        names = ", ".join(str(path.relative_to(folder)) for path in written)
        raise type(err)(f"kept the {len(written)} whole file(s) it wrote in {folder}: {names}; "
                        f"{rest}") from err


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM held back until the block ends, then handled as they would have
    been. Python-level handlers (a thread's signal mask would not do: the process's other
    threads, DDS's, take the signal); outside the main thread nothing can be held."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[tuple[int, FrameType | None]] = []
    previous = {int(number): signal.signal(number, lambda n, f: pending.append((n, f)))
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if pending:
            first, frame = pending[0]
            handler = previous[first]
            if callable(handler):
                handler(first, frame)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), first)          # as it would have: the default action


def one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Have argparse tell a mistake in the command line in one line, as the tools tell every
    other (`error: ...`, exit 2), not after its usage block of 7-30 lines (a review)."""
    def error(message: str) -> NoReturn:
        parser.exit(2, f"error: {message} (--help lists the options)\n")
    parser.error = error      # type: ignore[method-assign]


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """--overwrite and --debug, as every tool has them, and one-line argument errors."""
    one_line_errors(parser)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace outputs that already exist (refused otherwise); a "
                        "folder only when it holds nothing but this package's outputs")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error")


# argparse types of the tools' numeric options. argparse tells a value they refuse in one
# line naming the option and exits 2 (`error: argument --scale: must be a finite number > 0,
# got inf`) before the tool starts; NaN and infinity are refused by all of them.

def _parsed(text: str, convert: Callable[[str], _Number], ok: Callable[[_Number], bool],
            wanted: str) -> _Number:
    """convert(text) when finite and ok, else argparse's error 'must be <wanted>, got <text>'."""
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}") from None
    if (isinstance(value, float) and not math.isfinite(value)) or not ok(value):
        raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    return _parsed(text, float, lambda x: x > 0, "a finite number > 0")


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    return _parsed(text, float, lambda x: x >= 0, "a finite number >= 0")


def float_in(low: float, high: float, *, below_high: bool = False, above_low: bool = False,
             what: str | None = None) -> Callable[[str], float]:
    """argparse type: a number from low to high (above low with above_low, below high with
    below_high); `what` says what it must be in the error (default 'a number from [above]
    <low> to [below] <high>')."""
    wanted = what or (f"a number from {'above ' if above_low else ''}{low:g} to "
                      f"{'below ' if below_high else ''}{high:g}")

    def number_in(text: str) -> float:
        return _parsed(text, float, lambda x: (low < x if above_low else low <= x) and (
            x < high if below_high else x <= high), wanted)
    return number_in


def standing_height(text: str) -> float:
    """argparse type: a person's standing height in metres, within body_model.
    STANDING_HEIGHTS_M (a review: calibrate --height 30 wrote a rig 18x too large, and 175,
    centimetres, was refused only after the work as cameras 707 m apart)."""
    from .body_model import STANDING_HEIGHTS_M
    low, high = STANDING_HEIGHTS_M
    return _parsed(text, float, lambda x: low <= x <= high,
                   f"a standing height in metres from {low:g} to {high:g} (centimetres? "
                   "divide by 100)")


def int_at_least(low: int) -> Callable[[str], int]:
    """argparse type: a whole number >= low."""
    def whole_number(text: str) -> int:
        return _parsed(text, int, lambda x: x >= low, f"a whole number >= {low}")
    return whole_number


def int_in(low: int, high: int, *, what: str | None = None) -> Callable[[str], int]:
    """argparse type: a whole number from low to high; `what` says what it must be in the
    error (default 'a whole number from <low> to <high>')."""
    def whole_number_in(text: str) -> int:
        return _parsed(text, int, lambda x: low <= x <= high,
                       what or f"a whole number from {low} to {high}")
    return whole_number_in


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill, timeout, a job scheduler): ends a tool the way Ctrl-C does, through
    every cleanup (staged outputs removed), instead of on the spot."""


# The signal (SIGINT or SIGTERM) that reached the tool run by run_cli, 0 while none did
# (interrupted()).
_received_signal = 0


def interrupted() -> bool:
    """Whether Ctrl-C or SIGTERM has reached the tool run_cli runs: an error that follows
    is the interrupt's, not a fault (a library importing a compiled module when it came
    turns the KeyboardInterrupt into ImportError('initialization failed'))."""
    return _received_signal != 0


def _raise_interrupt(signum: int, frame: object) -> None:
    """run_cli's SIGINT and SIGTERM handler: noted (interrupted()), then raised as
    KeyboardInterrupt, or its subclass Terminated for SIGTERM."""
    global _received_signal
    _received_signal = signum
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _interrupted_line(signum: int, told: str = "no output was written") -> int:
    """Tell an interrupt in one line (`told`: what it left, e.g. what was kept to resume
    from) and return the exit status of a process ended by signal `signum`."""
    print(f"interrupted; {told}", file=sys.stderr)
    return 128 + signum


def run_cli(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run a tool's main(argv): user mistakes (UserError, missing files, bad values, missing
    frames, a missing optional library) print one line `error: ...` and return 2; with
    --debug they raise. Ctrl-C and SIGTERM print one line, leave no partial output and return
    130 and 143; the line names the whole files a tool kept (kept_on_interrupt)."""
    global _received_signal
    args = sys.argv[1:] if argv is None else argv
    in_main_thread = threading.current_thread() is threading.main_thread()
    _received_signal = 0
    previous = (signal.signal(signal.SIGTERM, _raise_interrupt),
                signal.signal(signal.SIGINT, _raise_interrupt)) if in_main_thread else None
    try:
        return main(argv)
    except (UserError, OSError, ValueError, LookupError, ImportError) as err:
        # OSError: a file the user named cannot be read or written (missing, read-only, disk
        # full); ImportError: an optional library this run needs is not installed
        if interrupted() and "--debug" not in args:
            # the interrupt, changed on its way (a review: Ctrl-C while the node configured
            # for `run` read 'error: pose3d_node did not configure: initialization failed')
            return _interrupted_line(_received_signal)
        if "--debug" in args:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        # a tool that keeps something says what and where (the interrupt's text,
        # kept_on_interrupt's), in the same line
        return _interrupted_line(signal.SIGTERM if isinstance(err, Terminated)
                                 else signal.SIGINT, *err.args[:1])
    finally:
        _received_signal = 0          # (a process that goes on, e.g. tests, starts afresh)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous[0])
            signal.signal(signal.SIGINT, previous[1])


def progress(total: int | None, description: str, unit: str = "frame") -> tqdm:
    """A tqdm progress bar (stderr) counting `unit`s; call .update(n) and .close(), or use it
    as a context. While any bar is open, log lines to the console are written above it
    (tqdm.contrib.logging) instead of through it."""
    return _progress_class()(total=total, desc=description, unit=unit, leave=False,
                             file=sys.stderr, mininterval=0.5)


@functools.cache
def _progress_class() -> type:
    """tqdm with the console log handlers redirected through tqdm.write from the first open
    bar until the last one closes (bars may nest)."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    class LoggingProgress(tqdm):
        _open = 0
        _redirect: contextlib.AbstractContextManager | None = None

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._counted = True
            cls = LoggingProgress
            if cls._open == 0:
                cls._redirect = logging_redirect_tqdm(tqdm_class=tqdm)
                cls._redirect.__enter__()
            cls._open += 1

        def close(self) -> None:
            try:
                super().close()
            finally:
                if getattr(self, "_counted", False):
                    self._counted = False
                    cls = LoggingProgress
                    cls._open -= 1
                    if cls._open == 0 and cls._redirect is not None:
                        cls._redirect.__exit__(None, None, None)
                        cls._redirect = None

    return LoggingProgress


@contextlib.contextmanager
def warnings_told(logger_name: str = "pose3d_ros") -> Iterator[list[str]]:
    """The messages of the WARNING (and worse) records that loggers under `logger_name` emit
    while the block runs, in order, in a list filled as they come: a run's report carries
    what the console told about its input (videos of different lengths, a variable frame
    rate), which a report read later would otherwise not say."""
    told: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            told.append(record.getMessage())

    logger = logging.getLogger(logger_name)
    keep = _Keep(logging.WARNING)
    logger.addHandler(keep)
    try:
        yield told
    finally:
        logger.removeHandler(keep)
