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
