"""Tiny randomly initialised models (saved through save_pretrained) for the learned parts."""

from __future__ import annotations

import pytest

LABELS = {
    "all": ["background", "lung", "ggo", "consolidation"],
    "lung": ["background", "lung"],
    "lesion": ["background", "infection"],
    "classes": ["background", "ggo", "consolidation"],
}


def save_tiny(folder, task: str, *, seed: int = 0, input_size: int = 32, threshold: float = 0.5, **meta):
    import torch

    from covidseg.models import MAUNet, MAUNetConfig

    torch.manual_seed(seed)
    softmax = task in ("all", "classes")
    n_out = len(LABELS[task]) if softmax else 1
    model = MAUNet(MAUNetConfig(num_classes=n_out, base_channels=4, depth=2, cbam_reduction=2))
    metadata = {"task": task, "labels": LABELS[task], "activation": "softmax" if softmax else "sigmoid",
                "input_size": input_size, "threshold": threshold, **meta}
    model.save_pretrained(folder, metadata=metadata)
    return folder


@pytest.fixture(scope="session")
def tiny_all(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("models") / "tiny-all", "all")


@pytest.fixture(scope="session")
def tiny_separate(tmp_path_factory):
    """A folder of three model folders: lung, lesion, classes."""
    root = tmp_path_factory.mktemp("separate")
    for k, task in enumerate(("lung", "lesion", "classes")):
        save_tiny(root / f"tiny-{task}", task, seed=k)
    return root


@pytest.fixture
def make_tiny():
    """``make_tiny(folder, task, **metadata)`` saves a tiny random model."""
    return save_tiny
