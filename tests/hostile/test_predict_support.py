"""Helpers (no tests) for the ``covidseg predict`` hostile tests: a tiny random model, small
synthetic HU volumes with two lungs, and running ``covidseg predict`` in a subprocess."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

ALL_LABELS = ["background", "lung", "ggo", "consolidation"]


def tiny_model(folder: Path, seed: int = 0) -> Path:
    """A random 'all' MA-UNet (base 4, depth 2) saved with save_pretrained."""
    import torch

    from covidseg.models import MAUNet, MAUNetConfig

    torch.manual_seed(seed)
    model = MAUNet(MAUNetConfig(num_classes=4, base_channels=4, depth=2, cbam_reduction=2))
    model.save_pretrained(folder, metadata={"task": "all", "labels": ALL_LABELS, "activation": "softmax",
                                            "input_size": 32, "threshold": 0.5})
    return folder


def synthetic_ct(path: Path, seed: int = 0, slices: int = 8, side: int = 64) -> Path:
    """A small HU volume: air, a soft-tissue body, two dark lungs with a few denser blobs."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:side, :side]
    c = side / 2
    body = ((y - c) / (0.42 * side)) ** 2 + ((x - c) / (0.47 * side)) ** 2 < 1
    vol = np.full((slices, side, side), -1000.0, np.float32)
    vol[:, body] = 40.0
    for cx in (0.3 * side, 0.7 * side):
        lung = ((y - c) / (0.3 * side)) ** 2 + ((x - cx) / (0.15 * side)) ** 2 < 1
        vol[:, lung] = -850.0
    vol += rng.normal(0, 20, vol.shape).astype(np.float32)
    for _ in range(3):  # lesion-like blobs inside the lungs
        k, cy, cx = rng.integers(1, slices - 1), rng.integers(int(0.4 * side), int(0.6 * side)), \
            rng.choice([int(0.3 * side), int(0.7 * side)])
        vol[k - 1:k + 2][:, (y - cy) ** 2 + (x - cx) ** 2 < 9] = -300.0
    affine = np.diag([-3.0, -3.0, 3.0, 1.0])  # 3 mm voxels (RAS: x flips to L->R on disk)
    nib.save(nib.Nifti1Image(vol.transpose(2, 1, 0).copy(), affine), str(path))
    return path


def predict_argv(inputs, out, model, *extra) -> list[str]:
    return ["predict", "-q", *map(str, inputs), "-o", str(out), "--model", str(model), "--threads", "1",
            *map(str, extra)]


PRELUDE = "import sys, torch; torch.set_num_threads(1)\n"


def spawn(argv: list[str], prelude: str = "", **kw) -> subprocess.Popen:
    """``covidseg <argv>`` in a fresh Python process (``prelude`` may patch covidseg first)."""
    code = PRELUDE + prelude + "\nfrom covidseg.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-c", code, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, **kw)


def run_cli(argv: list[str], prelude: str = "", timeout: float = 300) -> subprocess.CompletedProcess:
    proc = spawn(argv, prelude)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def file_states(root: Path) -> dict[str, tuple[str, int]]:
    """``{relative path: (sha256, mtime_ns)}`` of every file under ``root``."""
    return {p.relative_to(root).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def leftovers(out: Path) -> list[str]:
    """Temporary or partial files anywhere under ``out`` (the lock file is permanent)."""
    bad = []
    for p in out.rglob("*"):
        rel = p.relative_to(out).as_posix()
        if rel == ".covidseg.lock":
            continue
        if any(part.startswith(".") for part in p.relative_to(out).parts) or ".tmp" in p.name:
            bad.append(rel)
    return sorted(bad)
