"""Mask writers: a mask computed on :attr:`CTImage.array` written back in the input geometry.

* 2-D input (a JPG/PNG image, a single DICOM slice) → ``.png`` (8-bit grey, values as given,
  same size as the input, in the array's display orientation).
* volume input → ``.nii`` / ``.nii.gz`` in exactly the input file's voxel order:
  NIfTI input gets the input's shape, affine and header geometry (qform/sform and codes);
  DICOM, NRRD and MetaImage input get a NIfTI in patient space (affine from the DICOM/ITK
  geometry, LPS converted to RAS, qform = sform, code 1 "scanner"). A single DICOM slice
  may also be written this way (a one-slice NIfTI).
* a stack of JPG/PNG slices → a folder of PNGs (path without extension) named after the
  input slices, or a NIfTI (no patient geometry: 1 mm voxels, radiological display axes).
* ``.nrrd`` / ``.mha`` are also accepted for any volume (SimpleITK; canonical array order
  with the image's origin/spacing/direction).

Every file is written through :func:`~covidseg.io.atomic.atomic_write`.
"""

from __future__ import annotations

import os
from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image

from covidseg.errors import UnsupportedFormatError
from covidseg.io.atomic import atomic_write, full_suffix
from covidseg.io.formats import MASK_SUFFIXES, NIFTI_SUFFIXES
from covidseg.io.geometry import from_canonical
from covidseg.io.image import CTImage

__all__ = ["write_mask", "mask_suffix", "MASK_SUFFIXES"]



def mask_suffix(image: CTImage) -> str:
    """The natural mask file extension for ``image``: ``.png`` for a JPG/PNG image, ``""``
    (a folder of PNGs) for a stack of slices, ``.nii.gz`` for everything else (volumes and
    DICOM, which get a NIfTI in patient space)."""
    if image.kind == "image":
        return ".png"
    if image.kind == "slices":
        return ""
    return ".nii.gz"


def _as_mask(mask: np.ndarray, *, png: bool) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.dtype == bool:
        return mask.astype(np.uint8)
    if mask.dtype.kind in "iu":
        lo, hi = (int(mask.min()), int(mask.max())) if mask.size else (0, 0)
        if 0 <= lo and hi <= 255:
            return mask.astype(np.uint8)
        if png:
            raise ValueError(f"a PNG mask holds 0..255; got values {lo}..{hi}")
        return mask.astype(np.int16 if -32768 <= lo and hi <= 32767 else np.int32)
    if mask.dtype.kind == "f":
        if not np.all(np.isfinite(mask)):
            raise ValueError("the mask contains NaN or infinite values")
        if np.array_equal(mask, np.round(mask)) and (mask.size == 0 or (mask.min() >= 0 and mask.max() <= 255)):
            return mask.astype(np.uint8)
        if png:
            raise ValueError("a PNG mask holds integers 0..255; got non-integer values")
        return mask.astype(np.float32)
    raise ValueError(f"unsupported mask dtype {mask.dtype}")


def write_mask(mask: np.ndarray, image: CTImage, path: str | os.PathLike) -> Path:
    """Write ``mask`` (same shape as ``image.array``) for ``image`` to ``path``.

    The format follows ``path``'s extension (see the module doc and :func:`mask_suffix`).
    Masks are stored as uint8 when their values fit 0..255 (bool → 0/1), else int16/int32
    or float32 (NIfTI only). Returns the path written. Raises ``ValueError`` if the mask's
    shape differs from the image's, :class:`UnsupportedFormatError` for an extension that
    does not suit the input (e.g. ``.png`` for a volume, ``.jpg``).
    """
    path = Path(path).expanduser()
    mask = np.asarray(mask)
    if mask.shape != image.array.shape:
        raise ValueError(f"mask shape {mask.shape} differs from the image's {image.array.shape}")
    suffix = full_suffix(path)
    if suffix == ".png":
        if mask.ndim != 2:
            raise UnsupportedFormatError(
                "a volume's mask cannot be one PNG; write .nii.gz (or a folder for a stack of slices)", path
            )
        _write_png(_as_mask(mask, png=True), path)
    elif suffix in NIFTI_SUFFIXES:
        _write_nifti(_as_mask(mask, png=False), image, path)
    elif suffix in (".nrrd", ".mha"):
        _write_itk(_as_mask(mask, png=False), image, path)
    elif suffix == "" and image.kind == "slices":
        _write_png_folder(_as_mask(mask, png=True), image, path)
    else:
        raise UnsupportedFormatError(
            f"masks are written as {', '.join(MASK_SUFFIXES)} (or a folder of PNGs for a stack of "
            f"slices); {suffix or 'no extension'} does not suit a {image.kind} input", path
        )
    return path


def _write_png(mask2d: np.ndarray, path: Path) -> None:
    with atomic_write(path) as tmp:
        Image.fromarray(np.ascontiguousarray(mask2d), mode="L").save(tmp, format="PNG")


def _write_png_folder(mask: np.ndarray, image: CTImage, folder: Path) -> None:
    files = image.metadata.get("files") or [f"{k:04d}.png" for k in range(mask.shape[0])]
    used: set[str] = set()
    for k, source in enumerate(files):
        name = Path(source).stem + ".png"
        if name.lower() in used:
            name = Path(source).name.replace(".", "_") + ".png"
        used.add(name.lower())
        _write_png(mask[k], folder / name)


def _spacing3d(image: CTImage) -> tuple[float, float, float]:
    """(z, y, x) voxel size in mm of the mask volume: the image's spacing (the one its
    measurements used), a single slice's thickness from its affine or SliceThickness; 1 mm
    where nothing is known (plain images)."""
    if image.spacing is None:
        return 1.0, 1.0, 1.0
    spacing = tuple(float(s) for s in image.spacing)
    if len(spacing) == 3:
        return spacing  # type: ignore[return-value]
    if image.affine is not None:  # a single slice: its thickness is the third column's length
        dz = float(np.linalg.norm(np.asarray(image.affine)[:3, 0]))
    else:
        thickness = (image.metadata or {}).get("slice_thickness")
        dz = float(thickness) if isinstance(thickness, (int, float)) and np.isfinite(thickness) and thickness > 0 else 1.0
    return dz, spacing[0], spacing[1]


def _canonical3d(mask: np.ndarray) -> np.ndarray:
    return mask[None] if mask.ndim == 2 else mask


def _write_nifti(mask: np.ndarray, image: CTImage, path: Path) -> None:
    vol = _canonical3d(mask)
    native = image.native
    if native is not None:
        raw = from_canonical(vol, native)
        affine = native.affine
        header = native.header
    elif image.affine is not None:  # a CTImage built by hand: write the canonical layout
        raw = np.ascontiguousarray(vol.transpose(2, 1, 0))
        affine = np.asarray(image.affine)[:, [2, 1, 0, 3]]
        header = None
    else:  # no patient geometry: radiological display (rows P, columns L), the known spacing
        raw = np.ascontiguousarray(vol.transpose(2, 1, 0))
        dz, dy, dx = _spacing3d(image)
        affine = np.diag([-dx, -dy, dz, 1.0])
        header = None
    if header is not None:
        hdr = header.copy()
        shape = tuple(hdr.get_data_shape())
        if int(np.prod(shape)) == raw.size:
            raw = raw.reshape(shape)  # e.g. (x, y, z, 1) or a 2-D file: exactly the input's shape
        hdr.set_data_dtype(raw.dtype)
        hdr["descrip"] = b"covidseg mask"
        hdr["intent_code"] = 0
        hdr["cal_min"] = hdr["cal_max"] = 0
        # Free-text fields may hold patient data (some converters put the whole DICOM header
        # in an extension): a mask keeps only the input's geometry.
        hdr.extensions.clear()
        for key in ("aux_file", "db_name", "intent_name"):
            if key in hdr:
                hdr[key] = b""
        cls = nib.Nifti2Image if isinstance(hdr, nib.Nifti2Header) else nib.Nifti1Image
        out = cls(raw, affine, header=hdr)
    else:
        out = nib.Nifti1Image(raw, affine)
        out.set_qform(affine, code=1)
        out.set_sform(affine, code=1)
        out.header.set_xyzt_units("mm")
        # Without patient geometry the axes are only assumed (docs/io.md): say so in the file.
        out.header["descrip"] = b"covidseg mask" if image.affine is not None else b"covidseg mask; orientation unknown"
        out.set_data_dtype(raw.dtype)
    out.header.set_slope_inter(1.0, 0.0)
    with atomic_write(path) as tmp:
        nib.save(out, str(tmp))


def _write_itk(mask: np.ndarray, image: CTImage, path: Path) -> None:
    from covidseg.logs import import_sitk

    sitk = import_sitk()

    vol = _canonical3d(mask)
    out = sitk.GetImageFromArray(np.ascontiguousarray(vol))
    if image.spacing is not None:
        out.SetSpacing([float(s) for s in _spacing3d(image)[::-1]])
    if image.origin is not None:
        out.SetOrigin([float(v) for v in image.origin])
    if image.direction is not None:
        out.SetDirection([float(v) for v in image.direction])
    with atomic_write(path) as tmp:
        sitk.WriteImage(out, str(tmp), useCompression=True)
