"""Atomic checkpoint files and RNG state capture (restorable with ``torch.load(weights_only=True)``)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from covidseg.io.atomic import atomic_write


def atomic_torch_save(obj, path: str | os.PathLike) -> None:
    """``torch.save`` through :func:`covidseg.io.atomic.atomic_write`: a kill never leaves half a file."""
    with atomic_write(path) as tmp:
        torch.save(obj, tmp)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(text)


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    # weights_only: our checkpoints hold only tensors and plain containers, nothing is unpickled.
    return torch.load(path, map_location=map_location, weights_only=True)


PREVIOUS_SUFFIX = ".prev.pt"


def previous_of(path: str | os.PathLike) -> Path:
    """``checkpoints/last.pt`` → ``checkpoints/last.prev.pt``."""
    path = Path(path)
    return path.with_name(path.stem + PREVIOUS_SUFFIX)


def save_rotating(obj, path: str | os.PathLike) -> None:
    """Atomically save ``obj`` to ``path`` and keep the checkpoint it replaces as ``*.prev.pt``.

    Atomic renames already stop a kill from leaving half a file, but a disk that fills up,
    a copy cut short or a bad sector can still damage the one checkpoint a run depends on;
    the previous one is the fallback :func:`load_latest` uses. The previous file is a hard
    link to the old inode (no copy), made before the new file is renamed into place, so at
    every moment at least one complete checkpoint exists.
    """
    path = Path(path)
    if path.exists():
        prev = previous_of(path)
        link = prev.with_name(f".{prev.name}.{os.getpid()}.link")
        try:
            link.unlink(missing_ok=True)
            os.link(path, link)
            os.replace(link, prev)
        except OSError:  # no hard links on this file system: fall back to a copy
            link.unlink(missing_ok=True)
            import shutil

            with atomic_write(prev) as tmp:
                shutil.copyfile(path, tmp)
    atomic_torch_save(obj, path)


def load_latest(path: str | os.PathLike, validate, *, warn=None, map_location="cpu") -> tuple[dict, Path]:
    """The newest readable checkpoint of ``path`` and its ``*.prev.pt`` fallback.

    ``validate(state)`` raises (any exception) if a loaded state is not usable; a file that
    cannot be read, is truncated or fails ``validate`` is reported through ``warn`` and the
    previous checkpoint is tried. Raises :class:`covidseg.errors.CheckpointError` (naming
    every file tried and why) when none is usable.
    """
    from covidseg.errors import CheckpointError

    path = Path(path)
    problems = []
    for candidate in (path, previous_of(path)):
        if not candidate.is_file():
            problems.append(f"{candidate.name}: missing")
            continue
        try:
            state = load_checkpoint(candidate, map_location=map_location)
            validate(state)
        except Exception as exc:  # torch raises RuntimeError/EOFError/UnpicklingError/... for damaged files
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            problems.append(f"{candidate.name}: {reason}")
            if warn is not None:
                warn(f"{candidate} is damaged or unusable ({reason}); trying the previous checkpoint")
            continue
        return state, candidate
    raise CheckpointError("no usable checkpoint (" + "; ".join(problems) + ")", path.parent)


def rng_state() -> dict:
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python": _py_state_to_plain(random.getstate()),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), n[2], n[3], n[4]))
    v, internal, gauss = state["python"]
    random.setstate((v, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _py_state_to_plain(s):
    version, internal, gauss = s
    return [version, list(internal), gauss]
