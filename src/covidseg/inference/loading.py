"""Finding and loading the trained models used by the Segmenter.

A model source is a model folder (``config.json`` + ``model.safetensors``), a folder of
model folders, or a list of either. Each model's metadata (``task``, ``labels``,
``activation``, ``input_size``, ``threshold``; docs/architecture.md) says what it predicts;
one ``all`` model or separate ``lung`` / ``lesion`` / ``classes`` models are accepted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from covidseg.errors import ModelError
from covidseg.models.pretrained import MAX_INPUT_SIZE
from covidseg.tasks import TASKS

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"

# When several models can give one output, the most specialised wins.
PREFERENCE: dict[str, tuple[str, ...]] = {
    "lung": ("lung", "all"),
    "lesion": ("lesion", "all", "classes"),
    "classes": ("classes", "all"),
}


@dataclass
class LoadedModel:
    """One network and what its metadata says about it."""

    name: str
    path: Path
    task: str
    labels: tuple[str, ...]
    activation: str
    input_size: int
    threshold: float
    sha256: str
    module: Any = field(repr=False)
    metadata: dict = field(default_factory=dict, repr=False)

    @property
    def hu_window(self):
        """The HU window (``covidseg.io.Window``) this model's training data went through."""
        from covidseg.io.windowing import model_window

        return model_window(self.metadata)

    @property
    def slice_axes(self) -> str:
        """In-plane axes of this model's training slices (``covidseg.io.slice_axes``)."""
        from covidseg.io.slice_axes import model_slice_axes

        return model_slice_axes(self.metadata)

    def describe(self) -> dict:
        return {"name": self.name, "path": str(self.path), "task": self.task, "labels": list(self.labels),
                "activation": self.activation, "input_size": self.input_size, "threshold": self.threshold,
                "sha256": self.sha256, "architecture": type(self.module).__name__,
                "hu_window": [self.hu_window.lower, self.hu_window.upper], "slice_axes": self.slice_axes,
                **{k: self.metadata[k] for k in ("val_dice", "epochs", "code_version") if k in self.metadata}}


def _is_model_folder(path: Path) -> bool:
    return (path / "config.json").is_file()


def discover(source: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """Model folders named by ``source`` (a model folder, a folder of them, or a list)."""
    if isinstance(source, (str, os.PathLike)):
        sources = [Path(source)]
    else:
        sources = [Path(s) for s in source]
    folders: list[Path] = []
    for path in sources:
        if not path.exists():
            raise ModelError("model path does not exist", path)
        if _is_model_folder(path):
            folders.append(path)
            continue
        children = sorted(p for p in path.iterdir() if p.is_dir() and _is_model_folder(p)) if path.is_dir() else []
        if not children:
            raise ModelError("not a model folder (no config.json) and holds no model folders", path)
        folders.extend(children)
    return folders


def shipped_models() -> list[Path]:
    """Model folders shipped in ``covidseg/weights/``; raises ModelError if there are none."""
    try:
        return discover(WEIGHTS_DIR)
    except ModelError:
        raise ModelError(
            "no trained weights are shipped with this version of covidseg yet; "
            "pass --model FOLDER (a folder written by 'covidseg train' / save_pretrained)",
            WEIGHTS_DIR,
        ) from None


def _check_metadata(folder: Path, meta: dict) -> tuple[str, tuple[str, ...], str, int, float]:
    task = meta.get("task")
    if task not in TASKS:
        raise ModelError(f"metadata 'task' must be one of {sorted(TASKS)}, got {task!r}", folder)
    spec = TASKS[task]
    labels = tuple(meta.get("labels") or spec.labels)
    if labels != spec.labels:
        raise ModelError(f"labels {list(labels)} do not match task {task!r} (expected {list(spec.labels)})",
                         folder)
    activation = meta.get("activation") or spec.activation
    if activation not in ("sigmoid", "softmax"):
        raise ModelError(f"metadata 'activation' must be sigmoid or softmax, got {activation!r}", folder)
    try:
        input_size = int(meta.get("input_size", 352))
        threshold = float(meta.get("threshold", 0.5))
    except (TypeError, ValueError):
        raise ModelError("metadata 'input_size'/'threshold' must be numbers", folder) from None
    if not 16 <= input_size <= MAX_INPUT_SIZE:
        raise ModelError(f"metadata 'input_size' must be in 16..{MAX_INPUT_SIZE}, got {input_size}", folder)
    if not 0.0 < threshold < 1.0:
        raise ModelError(f"metadata 'threshold' must be in (0, 1), got {threshold}", folder)
    from covidseg.io.slice_axes import model_slice_axes
    from covidseg.io.windowing import model_window

    try:
        model_window(meta)
        model_slice_axes(meta)
    except ValueError as exc:
        raise ModelError(str(exc), folder) from None
    return task, labels, activation, input_size, threshold


def load_models(folders: Iterable[Path], device: str = "cpu") -> list[LoadedModel]:
    from covidseg.models import load_pretrained

    loaded = []
    for folder in folders:
        module = load_pretrained(folder, device=device)
        task, labels, activation, input_size, threshold = _check_metadata(folder, module.metadata)
        n_out = module.config.num_classes
        expected = 1 if activation == "sigmoid" else len(labels)
        if n_out != expected:
            raise ModelError(f"network has {n_out} output channels, {activation} task {task!r} needs {expected}",
                             folder)
        if module.config.in_channels != 1:
            raise ModelError(f"network expects {module.config.in_channels} input channels; CT needs 1", folder)
        loaded.append(LoadedModel(folder.name, folder, task, labels, activation, input_size, threshold,
                                  getattr(module, "sha256", ""), module, dict(module.metadata)))
    return loaded


def assign(models: list[LoadedModel], wanted: Iterable[str]) -> dict[str, LoadedModel]:
    """Which model gives each wanted output (``lung``, ``lesion``, ``classes``).

    Raises ModelError if no model gives a wanted output, except ``lung``, which the caller may
    take from the classical HU method instead (it is then simply absent from the result).
    """
    by_task: dict[str, LoadedModel] = {}
    for m in models:
        if m.task in by_task:
            raise ModelError(f"two models for task {m.task!r}: {by_task[m.task].path} and {m.path}", m.path)
        by_task[m.task] = m
    chosen: dict[str, LoadedModel] = {}
    for output in wanted:
        for task in PREFERENCE[output]:
            if task in by_task:
                chosen[output] = by_task[task]
                break
        else:
            if output != "lung":
                have = ", ".join(sorted(by_task)) or "none"
                raise ModelError(f"no model predicts {output!r} (models given for tasks: {have})",
                                 models[0].path if models else None)
    return chosen
