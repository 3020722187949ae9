"""covidseg: find and measure COVID-19 pneumonia in chest CT.

The Python API is the first-class interface; the command line (``covidseg``) and the
desktop GUI are thin layers over it.
"""

from __future__ import annotations

__version__ = "0.1.0"

# Heavy submodules (torch, Qt) are imported on first use so `covidseg --help` stays fast.
_LAZY = {
    "MAUNet": "covidseg.models",
    "UNet": "covidseg.models",
    "MAUNetConfig": "covidseg.models",
    "load_pretrained": "covidseg.models",
    "read_image": "covidseg.io",
    "CTImage": "covidseg.io",
    "Segmenter": "covidseg.inference",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'covidseg' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = ["__version__", *_LAZY]
