"""Running the networks slice by slice: intensity mapping, cropping, batching, resampling.

The training images are 8-bit, already windowed crops of axial slices around the lungs,
resized to the model's ``input_size``. Inference reproduces that: HU are mapped through each
model's own window (``covidseg.io.model_window``: its metadata ``hu_window``, default
:data:`TRAINING_HU_WINDOW`), each slice is cropped to the lung box, resized, run in batches
under ``torch.inference_mode``, and the probabilities are resized back into the slice.
Only one batch of slices is ever held as float tensors, so memory stays bounded by the
output masks (uint8) whatever the number of slices.
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from covidseg.errors import CovidsegError
from covidseg.inference.loading import LoadedModel
from covidseg.models.forward import probabilities
from covidseg.io.slice_axes import DISPLAY_AXES
from covidseg.io.windowing import MODEL_WINDOW, Window
from covidseg.io.windowing import to_unit as _to_unit

log = logging.getLogger("covidseg.inference")


class InferenceMemoryError(CovidsegError):
    """The networks ran out of memory even on one slice at a time."""


_OOM_TYPES = tuple(t for t in (MemoryError, getattr(torch, "OutOfMemoryError", None),
                               getattr(torch.cuda, "OutOfMemoryError", None)) if isinstance(t, type))
_OOM_MESSAGES = ("out of memory", "can't allocate memory", "cannot allocate memory", "failed to allocate")


def is_out_of_memory(exc: BaseException) -> bool:
    """True for an allocation failure: MemoryError, torch's OutOfMemoryError (CUDA), or the
    RuntimeError torch's CPU allocator raises ("DefaultCPUAllocator: can't allocate memory")."""
    if isinstance(exc, _OOM_TYPES):
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc).lower() for m in _OOM_MESSAGES)

#: HU window [low, high] whose linear map to [0, 255] reproduces the grey levels of the
#: COVID-SemiSeg training slices (median air 15, aerated lung 47, soft tissue 217; fitted on
#: the 98 labelled slices, see docs/predict.md "Intensity domain").
# One source of truth for the HU → training-intensity mapping: covidseg.io.MODEL_WINDOW.
TRAINING_HU_WINDOW: tuple[float, float] = (MODEL_WINDOW.lower, MODEL_WINDOW.upper)

# channel name -> how to derive it from a model's probabilities (B, C, H, W)
_DERIVE: dict[str, dict[str, Callable[[torch.Tensor], torch.Tensor]]] = {
    "all": {"lung": lambda p: 1.0 - p[:, 0], "lesion": lambda p: p[:, 2] + p[:, 3],
            "ggo": lambda p: p[:, 2], "consolidation": lambda p: p[:, 3]},
    "classes": {"lesion": lambda p: p[:, 1] + p[:, 2], "ggo": lambda p: p[:, 1], "consolidation": lambda p: p[:, 2]},
    "lesion": {"lesion": lambda p: p[:, -1]},
    "lung": {"lung": lambda p: p[:, -1]},
}


def to_unit(array: np.ndarray, is_hu: bool, hu_window: tuple[float, float] = TRAINING_HU_WINDOW,
            value_range: tuple[float, float] | None = None) -> np.ndarray:
    """Map raw values to the models' input domain, float32 in [0, 1].

    HU: linear window ``hu_window`` (low, high). Other images: ``value_range`` (the case's
    (min, max) of a high-bit-depth image) or 8-bit (``/ 255``). A thin wrapper over
    :func:`covidseg.io.to_unit`, the one intensity mapping of training and inference.
    """
    lo, hi = hu_window
    if is_hu and hi <= lo:
        raise ValueError(f"window must have high > low, got {(lo, hi)!r}")
    w = Window.from_range(lo, hi) if is_hu else MODEL_WINDOW
    return _to_unit(array, is_hu, w, value_range)


@dataclass(frozen=True)
class Box:
    """Crop (rows y0:y1, columns x0:x1) of a slice."""

    y0: int
    y1: int
    x0: int
    x1: int

    @classmethod
    def of_mask(cls, mask2d: np.ndarray, margin: float = 0.02) -> "Box | None":
        rows = np.nonzero(mask2d.any(axis=1))[0]
        cols = np.nonzero(mask2d.any(axis=0))[0]
        if rows.size == 0:
            return None
        h, w = mask2d.shape
        my = int(round(margin * (rows[-1] - rows[0] + 1))) + 1
        mx = int(round(margin * (cols[-1] - cols[0] + 1))) + 1
        return cls(max(0, rows[0] - my), min(h, rows[-1] + 1 + my), max(0, cols[0] - mx), min(w, cols[-1] + 1 + mx))

    @classmethod
    def full(cls, shape: Sequence[int]) -> "Box":
        return cls(0, int(shape[-2]), 0, int(shape[-1]))

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)


PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16() -> bool:
    """True if this CPU computes bfloat16 natively (AVX512-BF16 or AMX): oneDNN then runs the
    convolutions 2-3x faster than float32 (measured on AMD EPYC Zen 4, docs/predict.md)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool({"avx512_bf16", "amx_bf16"} & flags)
    except OSError:
        pass
    return False


def resolve_precision(precision: str, device: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    return "bf16" if device == "cpu" and native_bf16() else "fp32"


class Runner:
    """Runs a set of models on batches of slices and yields per-slice probability channels."""

    def __init__(self, models: Sequence[LoadedModel], channels: dict[str, LoadedModel], *, device: str = "cpu",
                 batch_size: int = 8, size: int | None = None, precision: str = "fp32", tta: bool = False):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
        if size is not None and size < 16:
            raise ValueError(f"size must be >= 16, got {size!r}")
        self.device = torch.device(device)
        self.precision = resolve_precision(precision, self.device.type)
        self.batch_size = batch_size
        self.size = size
        self.tta = tta
        self.models = list(models)
        self.channels = channels  # channel name -> model giving it
        for m in self.models:
            # channels_last is faster for these 2-D convolutions on CPU (oneDNN); harmless elsewhere.
            m.module.to(self.device, memory_format=torch.channels_last).eval()

    def _size_of(self, model: LoadedModel) -> int:
        return self.size or model.input_size

    def run(self, images: Callable[[int], np.ndarray], indices: Sequence[int], box: Box,
            progress: Callable[[int], None] | None = None,
            to_input: Callable[[np.ndarray, LoadedModel], np.ndarray] | None = None,
            display: bool = False) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """For slice indices ``indices`` (all cropped to ``box``; ``images(i)`` returns the
        [0, 1] float32 slice ``i``), yield ``(i, {channel: float32 (h, w) probabilities})``
        in the crop's own size. With ``to_input``, ``images(i)`` returns raw values and
        ``to_input(crops, model)`` maps them into each model's own input domain (models
        trained with different HU windows). ``display``: the slices are in radiological
        display (CT of known orientation); each model then gets them with the in-plane axes
        it was trained on (:mod:`covidseg.io.slice_axes`) and its output is turned back.

        A batch that runs out of memory is retried with half as many slices, down to one;
        the smaller size is kept for the rest of this runner's life (later cases too). Out of
        memory with one slice raises :class:`InferenceMemoryError`."""
        start = 0
        while start < len(indices):
            chunk = list(indices[start:start + self.batch_size])
            failed = None
            try:
                out = self._forward(images, chunk, box, to_input, display)
            except Exception as exc:  # noqa: BLE001 - only allocation failures are retried
                if not is_out_of_memory(exc):
                    raise
                failed = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            if failed is not None:
                # Outside the except block: the traceback (holding the batch's tensors) is gone.
                gc.collect()
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                if len(chunk) == 1:
                    raise InferenceMemoryError(
                        f"out of memory running the network even on one slice at a time ({failed}); use a "
                        f"smaller --inference-size or input, free memory or use a machine with more memory")
                self.batch_size = max(1, len(chunk) // 2)
                log.warning("covidseg: out of memory with %d slices per batch; retrying with --batch-size %d",
                            len(chunk), self.batch_size)
                continue
            for j, i in enumerate(chunk):
                yield i, {c: t[j].numpy() for c, t in out.items()}
            start += len(chunk)
            if progress is not None:
                progress(len(chunk))

    def _probabilities(self, model: LoadedModel, x: torch.Tensor) -> torch.Tensor:
        return probabilities(model.module, x, model.activation, tta=self.tta,
                             amp_dtype=torch.bfloat16 if self.precision == "bf16" else None)

    def _forward(self, images: Callable[[int], np.ndarray], chunk: list[int], box: Box,
                 to_input: Callable[[np.ndarray, LoadedModel], np.ndarray] | None = None,
                 display: bool = False) -> dict[str, torch.Tensor]:
        """Probabilities (per channel, (B, h, w) on the CPU) of one batch of slices."""
        h, w = box.y1 - box.y0, box.x1 - box.x0
        crops = np.stack([images(i)[box.slices] for i in chunk])[:, None]
        batch = torch.from_numpy(np.ascontiguousarray(crops)).to(self.device) if to_input is None else None
        out: dict[str, torch.Tensor] = {}
        with torch.inference_mode():
            for model in self.models:
                if to_input is not None:
                    batch = torch.from_numpy(np.ascontiguousarray(to_input(crops, model))).to(self.device)
                s = self._size_of(model)
                turn = display and model.slice_axes != DISPLAY_AXES
                x = batch.transpose(-1, -2) if turn else batch  # into the axes it was trained on
                x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False,
                                  antialias=s < max(h, w)) if (h, w) != (s, s) else x
                probs = self._probabilities(model, x)  # with the mirror when tta
                wanted = [c for c, m in self.channels.items() if m is model]
                derived = torch.stack([_DERIVE[model.task][c](probs) for c in wanted], 1)
                if turn:
                    derived = derived.transpose(-1, -2)
                if derived.shape[-2:] != (h, w):
                    derived = F.interpolate(derived, size=(h, w), mode="bilinear", align_corners=False)
                for k, c in enumerate(wanted):
                    out[c] = derived[:, k].float().clamp_(0, 1).cpu()
        return out
