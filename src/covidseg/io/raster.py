"""Plain images (JPG/PNG) and folders of them, via Pillow.

Values are kept as stored (float32 0..255 for 8-bit, 0..65535 for 16-bit PNG); colour is
converted to grey with the ITU-R 601-2 luma transform (Pillow ``convert("L")``), an alpha
channel is dropped, an EXIF orientation tag is applied. Plain images carry no spacing and
no patient geometry: ``orientation`` is assumed to be the radiological display ("P", "L").
"""

from __future__ import annotations

import logging
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
from covidseg.io._common import (
    check_array,
    check_plane_size,
    check_voxel_count,
    natural_key,
    one_line,
)
from covidseg.io.formats import RASTER_SUFFIXES
from covidseg.io.image import CTImage

__all__ = ["RASTER_SUFFIXES", "read_raster", "read_raster_labels", "read_slices", "raster_files", "raster_size"]

#: Pillow formats accepted inside such files, whatever their name says (MPO: a camera JPEG).
_CONTENT_FORMATS = {"PNG", "JPEG", "MPO"}

log = logging.getLogger("covidseg.io")

# Pillow's process-wide guard stays as a second line of defence (it raises beyond twice this);
# covidseg's own, stricter limit (MAX_PIXELS) is checked from the header before decoding.
Image.MAX_IMAGE_PIXELS = 20_000 * 20_000


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
            return _displayed_size(im)
    except Exception:
        return None


def _displayed_size(im) -> tuple[int, int]:
    """(height, width) after the EXIF rotation, from the header."""
    w, h = im.size
    if im.format == "PNG" and "exif" not in im.info:
        # Pillow's PNG getexif() decodes every pixel to look for an eXIf chunk after them:
        # never do that before the size is checked (a 20000² PNG is 400 MB decoded)
        return h, w
    if (im.getexif().get(0x0112) or 1) in (5, 6, 7, 8):  # EXIF rotation by 90 degrees
        w, h = h, w
    return h, w


def _what(path: Path) -> str:
    return path.suffix.lstrip(".").upper() or "image"


def _has_alpha(im) -> bool:
    return "A" in im.mode or "a" in im.mode or "transparency" in im.info


def _grey_without_alpha(im, path: Path) -> tuple[np.ndarray, int]:
    """8-bit grey of an image with an alpha channel (or a transparent palette entry).

    Fully transparent pixels become 0 (black: what a viewer shows on its dark background;
    the colour stored under them is arbitrary). Partially transparent pixels are refused:
    their grey value was meant to be blended with an unknown background.
    """
    rgba = im.convert("RGBA")
    alpha = np.asarray(rgba.getchannel("A"))
    partial = int(np.count_nonzero((alpha > 0) & (alpha < 255)))
    if partial:
        raise UnsupportedFormatError(
            f"{partial} pixels are partially transparent (alpha between 1 and 254): their grey "
            "value depends on the background they are blended with; save the image without "
            "transparency", path,
        )
    grey = np.asarray(rgba.convert("RGB").convert("L"), dtype=np.float32).copy()
    clear = alpha == 0
    grey[clear] = 0.0
    return grey, int(np.count_nonzero(clear))


def _load(path: Path, labels: bool = False) -> tuple[np.ndarray, dict]:
    """Decode one JPG/PNG after checking its header size (the decompression-bomb guard).

    ``labels=True`` keeps the stored values of a mask: palette indices stay indices (a
    palette PNG mask holds labels 0/1/2, not colours) and integer types are kept."""
    transparent = 0
    try:
        with Image.open(path) as im:  # reads the header only
            fmt = im.format
            mode = im.mode
            if fmt not in _CONTENT_FORMATS:
                # Pillow reads by content: a TIFF, GIF or BMP renamed .png would otherwise be read
                raise UnsupportedFormatError(
                    f"the file holds {fmt} data, not PNG or JPEG; convert it to PNG", path
                )
            if fmt == "PNG" and getattr(im, "n_frames", 1) > 1:
                raise UnsupportedFormatError(
                    f"animated PNG with {im.n_frames} frames; covidseg reads one image per file", path
                )
            check_plane_size(*_displayed_size(im), path)
            im.load()
            im = ImageOps.exif_transpose(im)
            if labels:
                stored = mode in ("L", "P", "1") or mode.startswith("I;16") or mode == "I"
                arr = np.asarray(im if stored else im.convert("L"))
                arr = arr.astype(np.uint8) if arr.dtype == bool else arr
                bits = 16 if arr.dtype != np.uint8 else 8
            elif mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
                arr = np.asarray(im, dtype=np.float32)
                bits = 16
            elif mode == "F":
                raise UnsupportedFormatError("floating-point images are not supported", path)
            elif _has_alpha(im):
                arr, transparent = _grey_without_alpha(im, path)
                bits = 8
            else:
                arr = np.asarray(im if mode == "L" else im.convert("L"), dtype=np.float32)
                bits = 8
    except CovidsegError:
        raise
    except MemoryError:
        raise
    except PermissionError as exc:
        raise UnreadableFileError(f"permission denied ({exc.strerror})", path) from exc
    except Image.DecompressionBombError as exc:  # Pillow's own guard (over 2 x MAX_IMAGE_PIXELS)
        raise DimensionError(
            f"image is too large: {one_line(exc)}; refused before decoding", path
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise UnreadableFileError(f"not a readable {_what(path)} image ({one_line(exc)})", path) from exc
    if arr.ndim != 2:  # pragma: no cover - Pillow modes above are all 2-D
        raise DimensionError(f"image has shape {arr.shape}, expected 2-D", path)
    meta = {"format": fmt, "mode": mode, "bit_depth": bits}
    if transparent:
        log.warning("%s: %d fully transparent pixels read as 0 (black)", path, transparent)
        meta["transparent_pixels"] = transparent
    return arr, meta


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


def read_raster_labels(path: Path) -> np.ndarray:
    """A JPG/PNG mask or label map as stored (uint8, or the 16/32-bit integers of the file),
    with the same header checks as :func:`read_raster`."""
    arr, _meta = _load(path, labels=True)
    return np.ascontiguousarray(arr)


def read_slices(folder: Path, files: list[Path] | None = None) -> CTImage:
    """Stack the JPG/PNG slices of a folder in natural name order (2.png before 10.png).

    All slices must share one size and one bit depth. The result is a ``(Z, Y, X)`` volume
    without spacing, orientation ``("?", "P", "L")``; ``metadata["files"]`` lists the slices
    in stack order (the mask writer names its PNGs after them).
    """
    files = raster_files(folder) if files is None else files
    if not files:
        raise EmptyFolderError("no JPG/PNG image in the folder", folder)
    # Headers first: a bomb, a thumbnail or a stack too large for memory is refused before
    # any slice is decoded.
    for p in files:
        size = raster_size(p)
        if size is not None:  # unreadable headers are reported by _load below
            check_plane_size(*size, p, "slice")
    first_size = raster_size(files[0])
    if first_size is not None:
        check_voxel_count((len(files), *first_size), folder, "the stack of slices")
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
