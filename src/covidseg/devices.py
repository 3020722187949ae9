"""Device names, checked in one place for predict, train, evaluate, pseudolabel, bench and the GUI.

``parse_device`` normalises a name without touching the hardware (``"CUDA:1 "`` →
``"cuda:1"``); ``resolve_device`` turns it into the ``torch.device`` to run on and refuses a
device this machine does not have, naming the setting.
"""

from __future__ import annotations

import re

__all__ = ["DEVICE_HELP", "parse_device", "device_option", "resolve_device"]

DEVICE_HELP = "cpu, cuda, cuda:N, mps (Apple GPU) or auto (CUDA if available, else cpu)"
_PATTERN = re.compile(r"cpu|auto|mps|cuda(:\d+)?")


def parse_device(name: str, *, resolve_auto: bool = False) -> str:
    """The normalised device name; ValueError naming ``device`` for anything else.

    ``resolve_auto=True`` replaces ``auto`` by ``cuda`` when CUDA is available, else ``cpu``."""
    text = str(name).strip().lower()
    if not _PATTERN.fullmatch(text):
        raise ValueError(f"device must be {DEVICE_HELP}; got {name!r}")
    if text == "auto" and resolve_auto:
        import torch

        text = "cuda" if torch.cuda.is_available() else "cpu"
    return text


def device_option(value: str, flag: str = "--device") -> str:
    """A command's ``--device`` value, normalised; :class:`~covidseg.errors.ConfigError` naming
    the flag otherwise (the CLI prints it on one line and exits with 2)."""
    from covidseg.errors import ConfigError

    try:
        return parse_device(value)
    except ValueError as exc:
        raise ConfigError(f"{flag}: {exc}") from None


def resolve_device(name: str, local_rank: int = 0):
    """The ``torch.device`` for ``name`` on this machine (``auto``/``cuda`` pick
    ``cuda:local_rank``); :class:`~covidseg.errors.ConfigError` if it is not a device name or
    the machine lacks it."""
    import torch

    from covidseg.errors import ConfigError

    try:
        text = parse_device(name)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if text == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    if text.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device: CUDA was requested but no CUDA device is available (got {text!r})")
        dev = torch.device(text)
        if dev.index is None:
            dev = torch.device(f"cuda:{local_rank}")
        if dev.index >= torch.cuda.device_count():
            raise ConfigError(f"device: {dev} does not exist (this machine has {torch.cuda.device_count()} CUDA devices)")
        return dev
    if text == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("device: mps was requested but no Apple GPU (MPS) is available")
    return torch.device(text)
