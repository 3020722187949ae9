"""Plain images (JPG/PNG) and folders of them, via Pillow.

Values are kept as stored (float32 0..255 for 8-bit, 0..65535 for 16-bit PNG); colour is
converted to grey with the ITU-R 601-2 luma transform (Pillow ``convert("L")``), an alpha
channel is dropped, an EXIF orientation tag is applied. Plain images carry no spacing and
no patient geometry: ``orientation`` is assumed to be the radiological display ("P", "L").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from covidseg.errors import (
    CovidsegError,
    DimensionError,
    EmptyFolderError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from covidseg.io._common import check_array, natural_key
from covidseg.io.image import CTImage

__all__ = ["RASTER_SUFFIXES", "read_raster", "read_slices", "raster_files", "raster_size"]

RASTER_SUFFIXES = {".png", ".jpg", ".jpeg"}

Image.MAX_IMAGE_PIXELS = 20_000 * 20_000  # a CT slice is far smaller; refuse absurd files


def raster_files(folder: Path) -> list[Path]:
    """JPG/PNG files directly in ``folder`` (hidden files skipped), in natural name order."""
    files = [
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in RASTER_SUFFIXES
    ]
    return sorted(files, key=lambda p: natural_key(p.name))


def raster_size(path: Path) -> tuple[int, int] | None:
    """(height, width) from the header only, or None if it cannot be read."""
    try:
        with Image.open(path) as im:
            w, h = im.size
            if (im.getexif().get(0x0112) or 1) in (5, 6, 7, 8):  # EXIF rotation by 90 degrees
                w, h = h, w
            return h, w
    except Exception:
        return None


def _load(path: Path) -> tuple[np.ndarray, dict]:
    try:
        with Image.open(path) as im:
            im.load()
            fmt = im.format
            mode = im.mode
            im = ImageOps.exif_transpose(im)
            if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
                arr = np.asarray(im, dtype=np.float32)
                bits = 16
            elif mode == "F":
                raise UnsupportedFormatError("floating-point images are not supported", path)
            else:
                if mode not in ("L",):
                    im = im.convert("RGBA").convert("L") if "A" in mode or mode == "P" else im.convert("L")
                arr = np.asarray(im, dtype=np.float32)
                bits = 8
    except CovidsegError:
        raise
    except MemoryError:
        raise
    except PermissionError as exc:
        raise UnreadableFileError(f"permission denied ({exc.strerror})", path) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UnreadableFileError(f"not a readable {path.suffix.lstrip('.').upper()} image ({exc})", path) from exc
    if arr.ndim != 2:  # pragma: no cover - Pillow modes above are all 2-D
        raise DimensionError(f"image has shape {arr.shape}, expected 2-D", path)
    return arr, {"format": fmt, "mode": mode, "bit_depth": bits}


def read_raster(path: Path) -> CTImage:
    """Read one JPG/PNG as a 2-D float32 image (values as stored, not HU)."""
    arr, meta = _load(path)
    check_array(arr, path)
    return CTImage(
        array=np.ascontiguousarray(arr),
        spacing=None,
        is_hu=False,
        kind="image",
        orientation=("P", "L"),
        source=path,
        metadata=meta,
    )


def read_slices(folder: Path, files: list[Path] | None = None) -> CTImage:
    """Stack the JPG/PNG slices of a folder in natural name order (2.png before 10.png).

    All slices must share one size and one bit depth. The result is a ``(Z, Y, X)`` volume
    without spacing, orientation ``("?", "P", "L")``; ``metadata["files"]`` lists the slices
    in stack order (the mask writer names its PNGs after them).
    """
    files = raster_files(folder) if files is None else files
    if not files:
        raise EmptyFolderError("no JPG/PNG image in the folder", folder)
    slices, first_meta = [], None
    for p in files:
        arr, meta = _load(p)
        if first_meta is None:
            first_meta, first_path = meta, p
        elif arr.shape != slices[0].shape:
            raise DimensionError(
                f"slice size {arr.shape[1]}x{arr.shape[0]} (width x height) differs from "
                f"{slices[0].shape[1]}x{slices[0].shape[0]} of {first_path.name}: the slices of a "
                "folder must share one size to form a stack (give the files one by one to read "
                "them as separate images)", p,
            )
        elif meta["bit_depth"] != first_meta["bit_depth"]:
            raise UnsupportedFormatError(
                f"{meta['bit_depth']}-bit slice among {first_meta['bit_depth']}-bit slices "
                f"({first_path.name}): one stack needs one bit depth", p,
            )
        slices.append(arr)
    array = np.stack(slices)
    check_array(array, folder)
    return CTImage(
        array=array,
        spacing=None,
        is_hu=False,
        kind="slices",
        orientation=("?", "P", "L"),
        source=folder,
        metadata={**first_meta, "files": [str(p) for p in files]},
    )
