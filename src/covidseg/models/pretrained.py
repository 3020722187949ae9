"""Saving and loading models: ``config.json`` + ``model.safetensors`` + its sha256.

Nothing is ever unpickled: weights are safetensors, configuration is JSON, and a weight file
whose sha256 differs from the recorded one is refused before it is read.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from covidseg.errors import ChecksumError, ModelError

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CHECKSUM_NAME = WEIGHTS_NAME + ".sha256"
FORMAT_VERSION = 1


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    from covidseg.io.atomic import atomic_write

    with atomic_write(path) as tmp:
        tmp.write_bytes(data)


STORAGE_DTYPES = {"float32": torch.float32, "float16": torch.float16}


def save_pretrained(model: torch.nn.Module, folder: str | os.PathLike, metadata: dict | None = None,
                    dtype: str = "float32") -> Path:
    """Write ``model`` (a :class:`PretrainedMixin` network) to ``folder``; returns the folder.

    ``dtype="float16"`` stores floating-point tensors at half precision (half the file size,
    for the weights shipped in the package); loading always gives a float32 network.
    """
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"dtype must be one of {sorted(STORAGE_DTYPES)}, got {dtype!r}")
    from safetensors.torch import save

    from covidseg import __version__

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if metadata is None:
        metadata = dict(getattr(model, "metadata", {}) or {})
    # Contiguous CPU copies: safetensors refuses shared or strided storage.
    state = {k: v.detach().to("cpu", STORAGE_DTYPES[dtype] if v.is_floating_point() else v.dtype).contiguous().clone()
             for k, v in model.state_dict().items()}
    blob = save(state)
    digest = hashlib.sha256(blob).hexdigest()
    config = {
        "format_version": FORMAT_VERSION,
        "architecture": model.architecture,
        "config": model.config.to_dict(),
        "metadata": metadata,
        "weights": {"file": WEIGHTS_NAME, "sha256": digest, "dtype": dtype},
        "covidseg_version": __version__,
    }
    _atomic_write_bytes(folder / WEIGHTS_NAME, blob)
    _atomic_write_bytes(folder / CHECKSUM_NAME, f"{digest}  {WEIGHTS_NAME}\n".encode())
    _atomic_write_bytes(folder / CONFIG_NAME, (json.dumps(config, indent=2, sort_keys=False) + "\n").encode())
    return folder


def read_config(folder: str | os.PathLike) -> dict:
    folder = Path(folder)
    path = folder / CONFIG_NAME
    if not folder.is_dir():
        raise ModelError("model folder does not exist", folder)
    if not path.is_file():
        raise ModelError(f"not a model folder: no {CONFIG_NAME}", folder)
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"invalid JSON ({exc})", path) from None
    for key in ("architecture", "config"):
        if key not in config:
            raise ModelError(f"missing key {key!r}", path)
    return config


def verify_weights(folder: str | os.PathLike) -> str:
    """Check ``model.safetensors`` against its recorded sha256; return the digest."""
    folder = Path(folder)
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        raise ModelError(f"missing {WEIGHTS_NAME}", folder)
    expected = set()
    sidecar = folder / CHECKSUM_NAME
    if sidecar.is_file():
        expected.add(sidecar.read_text().split()[0].lower() if sidecar.read_text().split() else "")
    try:
        recorded = json.loads((folder / CONFIG_NAME).read_text()).get("weights", {}).get("sha256")
    except (OSError, json.JSONDecodeError):
        recorded = None
    if recorded:
        expected.add(recorded.lower())
    if not expected:
        raise ChecksumError(f"no recorded sha256 for {WEIGHTS_NAME}: refusing to load", folder)
    actual = sha256_file(weights)
    if expected != {actual}:
        raise ChecksumError(
            f"sha256 mismatch: file is {actual[:12]}…, recorded {', '.join(e[:12] + '…' for e in sorted(expected))}",
            weights,
        )
    return actual


def load_pretrained(folder: str | os.PathLike, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Load any covidseg network saved with ``save_pretrained``, in eval mode on ``device``."""
    from safetensors.torch import load_file

    from covidseg.models import ARCHITECTURES

    folder = Path(folder)
    config = read_config(folder)
    cls = ARCHITECTURES.get(config["architecture"])
    if cls is None:
        raise ModelError(f"unknown architecture {config['architecture']!r} (known: {sorted(ARCHITECTURES)})",
                         folder / CONFIG_NAME)
    try:
        arch_config = cls.config_class.from_dict(config["config"])
    except (TypeError, ValueError) as exc:
        raise ModelError(f"invalid model config: {exc}", folder / CONFIG_NAME) from None
    digest = verify_weights(folder)
    model = cls(arch_config)
    try:
        state = load_file(str(folder / WEIGHTS_NAME), device="cpu")
        model.load_state_dict(state, strict=True)  # copies into the float32 parameters (casts half storage)
    except (RuntimeError, OSError) as exc:
        raise ModelError(f"weights do not fit the config: {str(exc).splitlines()[0]}", folder) from None
    model.metadata = dict(config.get("metadata") or {})
    model.sha256 = digest
    model.source = folder
    return model.to(device).eval()


class PretrainedMixin:
    """Adds ``save_pretrained`` / ``from_pretrained`` to a network with ``config``."""

    def save_pretrained(self, folder: str | os.PathLike, metadata: dict | None = None, dtype: str = "float32") -> Path:
        return save_pretrained(self, folder, metadata, dtype)

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, device: str | torch.device = "cpu"):
        model = load_pretrained(folder, device)
        if not isinstance(model, cls):
            raise ModelError(f"folder holds a {model.architecture}, not a {cls.architecture}", folder)
        return model
