"""Saving and loading models: ``config.json`` + ``model.safetensors`` + its sha256.

Nothing is ever unpickled: weights are safetensors, configuration is JSON, and a weight file
whose sha256 differs from the recorded one is refused before it is read.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import torch

from covidseg.errors import ChecksumError, ModelError

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CHECKSUM_NAME = WEIGHTS_NAME + ".sha256"
FORMAT_VERSION = 1

#: Largest network a model folder may describe: 2**28 parameters (1 GiB as float32; the
#: shipped MA-UNet has 2.5 M, a base-64 depth-5 U-Net about 125 M). A copied config.json
#: with ``base_channels: 4096`` describes billions and would exhaust memory while building.
MAX_PARAMETERS = 2**28
#: Largest ``input_size`` in a model's metadata: the side of the square each slice is resized
#: to. CT slices are at most 1024 pixels wide; 60000 would need gigabytes per slice.
MAX_INPUT_SIZE = 2048
#: Slices per batch at most (inference and training): a batch is held as float tensors at
#: once; the inference out-of-memory retry halves a failing batch, but the kernel may kill a
#: process allocating a huge one first.
MAX_BATCH_SIZE = 256
#: A safetensors header is a few kilobytes of JSON; refuse to read a claimed larger one.
MAX_HEADER_BYTES = 64 << 20


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


def weight_shapes(path: str | os.PathLike) -> dict[str, tuple[int, ...]]:
    """``{tensor name: shape}`` from a safetensors file's header, without reading any tensor
    (8-byte little-endian header length, then that many bytes of JSON)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            n = int.from_bytes(fh.read(8), "little")
            if not 2 <= n <= min(MAX_HEADER_BYTES, size - 8):
                raise ModelError(f"not a safetensors file (header length {n} for a {size}-byte file)", path)
            header = json.loads(fh.read(n))
        return {name: tuple(int(d) for d in entry["shape"]) for name, entry in header.items()
                if name != "__metadata__"}
    except ModelError:
        raise
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ModelError(f"not a readable safetensors header ({type(exc).__name__})", path) from None


def _planned_shapes(cls, arch_config) -> dict[str, tuple[int, ...]]:
    """The state-dict shapes of ``cls(arch_config)``, built on the meta device (no memory)."""
    with torch.device("meta"):
        net = cls(arch_config)
    return {name: tuple(t.shape) for name, t in net.state_dict().items()}


def planned_parameters(cls, arch_config) -> int:
    """Parameter + buffer count of ``cls(arch_config)`` without allocating it."""
    return sum(math.prod(s) for s in _planned_shapes(cls, arch_config).values())


def check_against_weights(cls, arch_config, folder: Path) -> None:
    """Refuse a config.json that describes an oversized network or another network than the
    weights hold, before the network is built (a copied or edited config must not be able to
    allocate gigabytes and get the process killed)."""
    config_path = folder / CONFIG_NAME
    planned = _planned_shapes(cls, arch_config)
    n_params = sum(math.prod(s) for s in planned.values())
    if n_params > MAX_PARAMETERS:
        raise ModelError(f"the config describes a network of {n_params:,} parameters, over the limit of "
                         f"{MAX_PARAMETERS:,} (check base_channels/depth)", config_path)
    stored = weight_shapes(folder / WEIGHTS_NAME)
    missing = sorted(set(planned) - set(stored))
    extra = sorted(set(stored) - set(planned))
    if missing or extra:
        what = f"{len(missing)} tensor(s) missing from the weights (e.g. {missing[0]})" if missing else \
            f"{len(extra)} unexpected tensor(s) in the weights (e.g. {extra[0]})"
        raise ModelError(f"the config does not match {WEIGHTS_NAME}: {what}", config_path)
    for name, shape in planned.items():
        if stored[name] != shape:
            raise ModelError(f"the config does not match {WEIGHTS_NAME}: {name} is {list(stored[name])} in the "
                             f"weights but {list(shape)} by the config", config_path)


def check_metadata_sizes(metadata: dict, path: Path) -> None:
    """Refuse metadata values that size memory beyond reason (``input_size``)."""
    if "input_size" not in metadata:
        return
    value = metadata["input_size"]
    try:
        ok = not isinstance(value, bool) and float(value) == int(value) and 16 <= int(value) <= MAX_INPUT_SIZE
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ModelError(f"metadata 'input_size' must be an integer in 16..{MAX_INPUT_SIZE}, got {value!r}", path)


def load_pretrained(folder: str | os.PathLike, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Load any covidseg network saved with ``save_pretrained``, in eval mode on ``device``.

    Order of the checks, all before the network is built: the config parses and is valid,
    its network stays under :data:`MAX_PARAMETERS`, the metadata's ``input_size`` is sane,
    the weights match their sha256, and their header's tensor names and shapes equal the
    config's network (so a wrong config is a :class:`ModelError`, never a huge allocation).
    """
    from safetensors.torch import load_file


    folder = Path(folder)
    config = read_config(folder)
    cls = ARCHITECTURES.get(config["architecture"])
    if cls is None:
        raise ModelError(f"unknown architecture {config['architecture']!r} (known: {sorted(ARCHITECTURES)})",
                         folder / CONFIG_NAME)
    if not isinstance(config["config"], dict):
        raise ModelError("invalid model config: 'config' must be an object", folder / CONFIG_NAME)
    try:
        arch_config = cls.config_class.from_dict(config["config"])
    except (TypeError, ValueError) as exc:
        raise ModelError(f"invalid model config: {exc}", folder / CONFIG_NAME) from None
    metadata = config.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ModelError("invalid model config: 'metadata' must be an object", folder / CONFIG_NAME)
    check_metadata_sizes(metadata, folder / CONFIG_NAME)
    digest = verify_weights(folder)
    check_against_weights(cls, arch_config, folder)
    model = cls(arch_config)
    try:
        state = load_file(str(folder / WEIGHTS_NAME), device="cpu")
        model.load_state_dict(state, strict=True)  # copies into the float32 parameters (casts half storage)
    except (RuntimeError, OSError) as exc:
        raise ModelError(f"weights do not fit the config: {str(exc).splitlines()[0]}", folder) from None
    model.metadata = dict(metadata)
    model.sha256 = digest
    model.source = folder
    return model.to(device).eval()


#: architecture name -> network class: every network class naming its ``architecture``
#: registers itself here by subclassing :class:`PretrainedMixin` (so the loader needs no
#: import of the networks, which import this module).
ARCHITECTURES: dict[str, type] = {}


class PretrainedMixin:
    """Adds ``save_pretrained`` / ``from_pretrained`` to a network with ``config``."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("architecture")
        if name is not None:
            ARCHITECTURES[name] = cls

    def save_pretrained(self, folder: str | os.PathLike, metadata: dict | None = None, dtype: str = "float32") -> Path:
        return save_pretrained(self, folder, metadata, dtype)

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, device: str | torch.device = "cpu"):
        model = load_pretrained(folder, device)
        if not isinstance(model, cls):
            raise ModelError(f"folder holds a {model.architecture}, not a {cls.architecture}", folder)
        return model
