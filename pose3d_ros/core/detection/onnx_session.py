"""onnxruntime sessions for the detector back-ends: execution-provider choice (TensorRT ->
CUDA -> CPU, each probed once), TensorRT options (fp16, engine cache, one optimisation profile
for a dynamic batch), float16 inputs, I/O binding on GPU, and on a GPU batches padded to a few
sizes that are all run once when the session starts."""
from __future__ import annotations

import contextlib
import contextvars
import functools
import io
import logging
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Sequence

import numpy as np

log = logging.getLogger(__name__)

# The model usable_providers starts on each execution provider: y = Identity(x), x and y
# float[1], opset 17, IR version 8, as the bytes onnx.helper.make_model gives (checked by
# test_detection_onnx_decoding): building it with the onnx package cost its import, about a
# second of each node's start.
PROBE_MODEL = (b'\x08\x08:;\n\x10\n\x01x\x12\x01y"\x08Identity\x12\x05probeZ\x0f\n\x01x\x12\n'
               b'\n\x08\x08\x01\x12\x04\n\x02\x08\x01b\x0f\n\x01y\x12\n\n\x08\x08\x01\x12\x04'
               b'\n\x02\x08\x01B\x04\n\x00\x10\x11')

PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider",
                       "CPUExecutionProvider")
# The nodes' detector_providers names of onnxruntime's execution providers.
# The CUDA provider's cuDNN convolution algorithm searches (its option cudnn_conv_algo_search).
CUDNN_CONV_ALGO_SEARCHES = ("EXHAUSTIVE", "HEURISTIC", "DEFAULT")
PROVIDER_NAMES = {"tensorrt": "TensorrtExecutionProvider", "cuda": "CUDAExecutionProvider",
                  "cpu": "CPUExecutionProvider"}
_LABELS = {"TensorrtExecutionProvider": "TensorRT", "CUDAExecutionProvider": "CUDA",
           "CPUExecutionProvider": "CPU"}


def provider_label(provider: str) -> str:
    """'CUDAExecutionProvider' -> 'CUDA' (the short name users read in logs)."""
    return _LABELS.get(provider, provider.removesuffix("ExecutionProvider"))


def import_onnxruntime() -> Any:
    """The onnxruntime module, or an ImportError that says how to install it: the lifter and
    the ONNX back-ends run on it, and a pip install of the package without its `lifter` or
    `onnx` extra does not bring it (found by a packaging review: a raw traceback)."""
    try:
        import onnxruntime
    except ModuleNotFoundError as err:
        raise ImportError("onnxruntime is not installed; the monocular lifter and the ONNX "
                          "2D back-ends run on it: pip install onnxruntime (CPU) or "
                          "onnxruntime-gpu (CUDA, TensorRT), or the package's 'lifter' extra"
                          ) from err
    return onnxruntime


# usable_providers' probe runs once, by one thread: it silences onnxruntime's process-wide
# log and swaps sys.stdout / sys.stderr while it runs (a review: four nodes configured at
# once left the process's stdout and stderr as StringIO buffers for good, in 6 of 10 runs,
# and let onnxruntime's probe errors through)
_PROBE_LOCK = threading.Lock()
# select_providers tells unusable providers as a ProviderUnusableWarning unless the caller
# tells them itself (provider_warnings_silenced); per thread and context, unlike a warnings
# filter, which catch_warnings changes for the whole process (a review: concurrent
# configures left an 'ignore' filter installed)
_TELL_UNUSABLE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "tell_unusable_providers", default=True)


def usable_providers() -> frozenset[str]:
    """Execution providers that really start here: onnxruntime-gpu lists TensorRT and CUDA
    even where their libraries (CUDA, cuDNN, TensorRT) are missing, so each is probed once
    on a one-node graph, with onnxruntime's own error log silenced during the probe
    (thread-safe: the first caller probes, the others wait for its answer)."""
    with _PROBE_LOCK:
        return _probed_providers()


@contextlib.contextmanager
def provider_warnings_silenced() -> Iterator[None]:
    """Within it, in this thread, select_providers does not warn about unusable providers
    (a caller that tells them itself: the nodes' WARN)."""
    token = _TELL_UNUSABLE.set(False)
    try:
        yield
    finally:
        _TELL_UNUSABLE.reset(token)


@functools.lru_cache(maxsize=None)
def _probed_providers() -> frozenset[str]:
    """usable_providers' probe (call it under _PROBE_LOCK)."""
    ort = import_onnxruntime()
    usable = {"CPUExecutionProvider"}
    options = ort.SessionOptions()
    options.log_severity_level = 4
    ort.set_default_logger_severity(4)
    for provider in ort.get_available_providers():
        if provider == "CPUExecutionProvider" or provider not in PREFERRED_PROVIDERS:
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(io.StringIO()):
                session = ort.InferenceSession(PROBE_MODEL, options,
                                               providers=[provider])
            if session.get_providers()[0] == provider:
                usable.add(provider)
        except Exception as exc:  # noqa: BLE001 - any failure means "not usable here"
            log.info("execution provider %s not usable: %s", provider, exc)
    ort.set_default_logger_severity(2)  # back to onnxruntime's default (warnings)
    return frozenset(usable)


class ProviderUnusableWarning(UserWarning):
    """Execution providers asked for do not start on this machine: the model runs on the
    others (the CPU at least). The nodes tell it as one WARN of their own (providers_problem)
    and silence this one; Python callers see it as any warning (it was an INFO line, which
    the logging defaults do not show: a model asked for on CUDA ran on the CPU unseen)."""


def select_providers(requested: Sequence[str] | None = None) -> list[str]:
    """The execution providers to use, in order: the requested ones (default TensorRT, CUDA,
    CPU) that start on this machine. CPU is always last. Requested providers left out are
    told as a ProviderUnusableWarning (once per place under Python's default filter: not
    once per model of a two-model back-end)."""
    available = usable_providers()
    # the nodes' short names too (detector_providers: 'cuda', 'tensorrt', 'cpu'); a name
    # that is neither is refused (a review: providers=['cuda'] in Python ran on the CPU, told
    # at INFO as "no onnxruntime provider names")
    wanted = [PROVIDER_NAMES.get(p, p) for p in (requested or PREFERRED_PROVIDERS)]
    ort = import_onnxruntime()
    if not_known := [p for p in wanted if p not in ort.get_all_providers()]:
        raise ValueError(f"execution providers {not_known} are no onnxruntime provider names "
                         f"(give {', '.join(PROVIDER_NAMES)} or onnxruntime's names, e.g. "
                         "CUDAExecutionProvider)")
    unknown = [p for p in wanted if p not in available]
    chosen = [p for p in wanted if p in available]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    if requested and unknown and _TELL_UNUSABLE.get():   # (Python's default filter shows
        # it once per place)
        warnings.warn(ProviderUnusableWarning(
            f"execution providers {unknown} are not usable here (no GPU, or onnxruntime-gpu "
            f"and its CUDA/TensorRT libraries missing; docs/detectors.md): running on "
            f"{chosen}"), stacklevel=2)
    return chosen


def tensorrt_batch_profile(path: Path, max_batch: int) -> dict[str, str]:
    """TensorRT optimisation-profile options covering batches 1..max_batch for a model whose
    single input has a dynamic batch axis and fixed other axes; {} otherwise."""
    import onnx
    model = onnx.load(str(path), load_external_data=False)
    weights = {init.name for init in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in weights]
    if len(inputs) != 1:
        return {}
    dims = inputs[0].type.tensor_type.shape.dim
    if not dims or dims[0].HasField("dim_value") or \
            not all(d.HasField("dim_value") for d in dims[1:]):
        return {}
    rest = "x".join(str(d.dim_value) for d in dims[1:])
    name = inputs[0].name
    return {"trt_profile_min_shapes": f"{name}:1x{rest}",
            "trt_profile_opt_shapes": f"{name}:{max_batch}x{rest}",
            "trt_profile_max_shapes": f"{name}:{max_batch}x{rest}"}


def padded_batch_sizes(cap: int) -> tuple[int, ...]:
    """The batch sizes a padded model runs: the powers of two below `cap`, then `cap`."""
    if cap < 1:
        raise ValueError(f"the largest batch must be at least 1, got {cap}")
    sizes = [1 << k for k in range(cap.bit_length()) if 1 << k < cap]
    return (*sizes, cap)


def provider_options(chosen: Sequence[str], path: Path, *, fp16: bool, trt_max_batch: int,
                     cudnn_conv_algo_search: str) -> list[dict[str, Any]]:
    """onnxruntime's options for each of the chosen providers of the model at `path`:
    TensorRT's fp16 engines, engine cache next to the model and batch profile; CUDA's cuDNN
    algorithm search; none for the others."""
    options: list[dict[str, Any]] = []
    for provider in chosen:
        if provider == "TensorrtExecutionProvider":
            options.append({"trt_fp16_enable": bool(fp16), "trt_engine_cache_enable": True,
                            "trt_engine_cache_path": str(path.parent),
                            **tensorrt_batch_profile(path, trt_max_batch)})
        elif provider == "CUDAExecutionProvider":
            options.append({"cudnn_conv_algo_search": cudnn_conv_algo_search})
        else:
            options.append({})
    return options


class OnnxModel:
    """One ONNX model on onnxruntime: provider fallback, fp16 inputs, I/O binding on GPU.

    path: the .onnx file. role: what the model is for (named in error messages).
    providers: execution providers in preference order (default TensorRT -> CUDA -> CPU).
    fp16: let TensorRT build fp16 engines (a model whose input is float16 is fed float16
      whatever this says). Outputs always come back as float32 numpy arrays.
    trt_max_batch: with a dynamic batch axis, TensorRT builds one engine for batches 1 to this
      (an optimisation profile) instead of one engine per batch size met at run time.
    cudnn_conv_algo_search: how the CUDA provider picks each convolution's cuDNN algorithm
      for an input shape it has not met: "EXHAUSTIVE" (onnxruntime's default: times every
      algorithm, on the first call with that shape), "HEURISTIC" or "DEFAULT".
    pad_batches: with a dynamic batch axis, run every batch as batches of the sizes
      padded_batch_sizes(trt_max_batch) (zeros added, their outputs dropped; larger batches
      in parts of trt_max_batch), and run each of those sizes once here, so that no new
      batch size (a new number of people or views) meets a cold kernel while frames wait: on
      a GPU such a first call picks its kernels, 0.4-2.4 s per call measured on CUDA
      (bench_gpu.py). None (default): on a GPU provider only; on the CPU a first call costs
      nothing extra and padding would cost compute.
    """

    def __init__(self, path: Path | str, *, role: str, providers: Sequence[str] | None = None,
                 fp16: bool = True, intra_op_threads: int | None = None,
                 trt_max_batch: int = 16,
                 cudnn_conv_algo_search: str = "EXHAUSTIVE",
                 pad_batches: bool | None = None) -> None:
        ort = import_onnxruntime()
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{role}: ONNX model {path} does not exist")
        self.role = role
        if cudnn_conv_algo_search not in CUDNN_CONV_ALGO_SEARCHES:
            raise ValueError(f"{role}: cudnn_conv_algo_search must be one of "
                             f"{list(CUDNN_CONV_ALGO_SEARCHES)}, got {cudnn_conv_algo_search!r}")
        options = ort.SessionOptions()
        if intra_op_threads:
            options.intra_op_num_threads = intra_op_threads
        # Spinning worker threads steal CPU from the rest of a robot's processes.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        chosen = select_providers(providers)
        try:
            # (inside: with TensorRT, tensorrt_batch_profile parses the file first, and a
            # truncated one ended in protobuf's DecodeError naming no file; a review)
            per_provider = provider_options(chosen, path, fp16=fp16,
                                            trt_max_batch=trt_max_batch,
                                            cudnn_conv_algo_search=cudnn_conv_algo_search)
            self.session = ort.InferenceSession(str(path), sess_options=options,
                                                providers=chosen,
                                                provider_options=per_provider)
        except Exception as err:  # noqa: BLE001 - onnxruntime's own exception types
            # (InvalidProtobuf, InvalidGraph, ...) are not ValueErrors: the tools printed a
            # traceback and the nodes a line that named neither the role nor the file
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ValueError(f"{role}: {path} is not an ONNX model onnxruntime can load "
                             f"({reason})") from err
        self.providers = self.session.get_providers()
        self.on_gpu = self.providers[0] in ("TensorrtExecutionProvider", "CUDAExecutionProvider")
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ValueError(f"{role}: expected a model with one image input, got "
                             f"{[(i.name, i.shape) for i in inputs]}")
        self.input_name = inputs[0].name
        self.input_shape = tuple(d if isinstance(d, int) else None for d in inputs[0].shape)
        self.input_dtype = np.float16 if inputs[0].type == "tensor(float16)" else np.float32
        self.outputs = self.session.get_outputs()
        self.output_names = [o.name for o in self.outputs]
        self.output_shapes = [tuple(d if isinstance(d, int) else None for d in o.shape)
                              for o in self.outputs]
        # The batch sizes run so far: on a GPU provider the first call with a new one also
        # picks its kernels (cuDNN's algorithm search), hundreds of ms (bench_gpu.py).
        self.batch_sizes_seen: set[int] = set()
        pad = self.on_gpu if pad_batches is None else bool(pad_batches)
        # (), or the only batch sizes run (a model with a fixed batch is never padded)
        self.padded_sizes = padded_batch_sizes(trt_max_batch) \
            if pad and self.input_shape and self.input_shape[0] is None else ()
        self.warm_up_ms: dict[int, float] = {}
        if self.padded_sizes and None not in self.input_shape[1:]:   # run ahead when it can
            self.warm_up_ms = self.warm_up()
            log.info("%s on %s: batch sizes %s run once at start in %.1f s (a first call "
                     "with a new size picks its kernels)", role, self.runtime,
                     list(self.padded_sizes), sum(self.warm_up_ms.values()) / 1000)

    @property
    def runtime(self) -> str:
        """Where the model runs, in words ("onnxruntime CUDA")."""
        return f"onnxruntime {provider_label(self.providers[0])}"

    @property
    def fixed_batch(self) -> int | None:
        return self.input_shape[0] if self.input_shape else None

    def check_image_input(self, expected: str) -> tuple[int, int]:
        """Check an NCHW 3-channel input; returns its (height, width) (needs static H, W)."""
        shape = self.input_shape
        if len(shape) != 4 or shape[1] != 3:
            raise ValueError(f"{self.role}: expected input {expected}, got {shape}")
        if shape[2] is None or shape[3] is None:
            raise ValueError(f"{self.role}: input {shape} has no fixed height and width; "
                             f"export the model with a static input size")
        return int(shape[2]), int(shape[3])

    def warm_up(self) -> dict[int, float]:
        """Run each padded batch size once on zeros; returns ms per size (its first call).
        Needs every input axis but the batch fixed."""
        item_shape = tuple(d for d in self.input_shape[1:] if d is not None)
        if len(item_shape) != len(self.input_shape) - 1:
            raise ValueError(f"{self.role}: input {self.input_shape} has free axes besides "
                             "the batch; its batches cannot be run ahead")
        spent = {}
        for size in self.padded_sizes:
            start = time.perf_counter()
            self._run(np.zeros((size, *item_shape), self.input_dtype))
            spent[size] = (time.perf_counter() - start) * 1000
        return spent

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """Run on a float32 batch (B, ...), splitting it when the model has a fixed batch,
        padding it when the model pads batches (outputs for the B items only)."""
        if self.padded_sizes and batch.shape[0]:
            cap = self.padded_sizes[-1]
            parts = [self._run_padded(batch[i:i + cap]) for i in range(0, batch.shape[0], cap)]
            return parts[0] if len(parts) == 1 else \
                [np.concatenate(p) for p in zip(*parts, strict=True)]
        fixed = self.fixed_batch
        if fixed is not None and batch.shape[0] != fixed:
            if fixed != 1:
                raise ValueError(f"{self.role}: model has a fixed batch of {fixed}, "
                                 f"got {batch.shape[0]} items")
            parts = [self._run(batch[i:i + 1]) for i in range(batch.shape[0])]
            return [np.concatenate(p) for p in zip(*parts, strict=True)]
        return self._run(batch)

    def close(self) -> None:
        """Release the session (its memory, and the GPU's); run() then raises."""
        self.session = None

    def _run_padded(self, batch: np.ndarray) -> list[np.ndarray]:
        """One part of at most the largest padded size, zeros added up to the next size."""
        count = batch.shape[0]
        size = next(s for s in self.padded_sizes if s >= count)
        if size > count:
            batch = np.concatenate([batch, np.zeros((size - count, *batch.shape[1:]),
                                                    batch.dtype)])
        return [out[:count] if out.shape and out.shape[0] == size else out
                for out in self._run(batch)]

    def _run(self, batch: np.ndarray) -> list[np.ndarray]:
        if self.session is None:
            raise RuntimeError(f"{self.role}: the model was closed")
        feed = np.ascontiguousarray(batch, dtype=self.input_dtype)
        self.batch_sizes_seen.add(int(feed.shape[0]))
        if self.on_gpu:
            binding = self.session.io_binding()
            binding.bind_cpu_input(self.input_name, feed)
            for name in self.output_names:
                binding.bind_output(name, "cuda")
            self.session.run_with_iobinding(binding)
            out = binding.copy_outputs_to_cpu()
        else:
            out = self.session.run(self.output_names, {self.input_name: feed})
        return [np.asarray(o, dtype=np.float32) for o in out]
