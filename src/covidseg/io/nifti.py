"""NIfTI reader (``.nii``, ``.nii.gz``) via nibabel."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.openers import ImageOpener

from covidseg.errors import CovidsegError, UnreadableFileError, UnsupportedFormatError
from covidseg.io._common import (
    check_affine,
    check_array,
    check_plane_size,
    check_spacing,
    check_voxel_count,
    looks_like_hu,
    one_line,
    squeeze_to_3d,
)
from covidseg.io.geometry import canonical_shape, geometry_fields, to_canonical
from covidseg.io.image import CTImage

__all__ = ["read_nifti", "nibabel_to_ctimage"]


def _raw_header(path: Path):
    """The header exactly as stored, or None if it cannot be parsed (nib.load then says why).

    nibabel's loader silently 'fixes' a zero pixdim to 1 and a negative one to its absolute
    value; such a file is refused instead, so the stored values are needed."""
    try:
        with ImageOpener(str(path)) as fh:
            block = fh.read(540)
        for klass in (nib.Nifti1Header, nib.Nifti2Header):
            if len(block) >= klass.template_dtype.itemsize:
                try:
                    return klass(block[: klass.template_dtype.itemsize], check=False)
                except Exception:  # noqa: BLE001 - not this version; try the next one
                    continue
    except Exception:  # noqa: BLE001 - unreadable: nib.load reports it below
        return None
    return None


def _check_header(hdr, path: Path) -> None:
    """Refuse zero, negative or non-finite spacing of the spatial axes the file has."""
    if hdr is None:
        return
    ndim = int(hdr["dim"][0])
    if not 1 <= ndim <= 7:
        return  # nib.load refuses it with its own message
    n_spatial = min(ndim, 3)
    check_spacing(hdr["pixdim"][1 : 1 + n_spatial], path, "pixdim")


def read_nifti(path: Path) -> CTImage:
    """Read a NIfTI-1/2 file as a canonical ``(z, y, x)`` float32 volume.

    The header's scaling (scl_slope/scl_inter) is applied. A 4-D file whose 4th axis has
    length 1 is read as 3-D; a longer 4th axis raises :class:`DimensionError`. A 2-D file
    gives a one-slice volume. ``is_hu`` is guessed (NIfTI has no unit): True if the minimum
    is below -200.

    Refused before any voxel is read: zero/negative/non-finite pixdim, a degenerate affine,
    more than :data:`~covidseg.io._common.MAX_VOXELS` voxels, axial slices under 32x32.
    Refused after reading: NaN or infinite voxels.
    """
    _check_header(_raw_header(path), path)
    try:
        img = nib.load(str(path))
    except CovidsegError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # nibabel raises many types for a bad header
        raise UnreadableFileError(f"not a readable NIfTI file ({one_line(exc)})", path) from exc
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise UnsupportedFormatError(f"not a NIfTI image ({type(img).__name__})", path)
    return nibabel_to_ctimage(img, path)


def nibabel_to_ctimage(img, path: Path | None, kind: str = "nifti", metadata: dict | None = None) -> CTImage:
    """A loaded nibabel image (file or in-memory) as a canonical ``(z, y, x)`` CTImage: the
    checks and reorientation of :func:`read_nifti` after the file is parsed. ``path`` is
    None for an in-memory image (errors then carry no path)."""
    dtype = img.get_data_dtype()
    if dtype.fields is not None or dtype.kind == "c":
        raise UnsupportedFormatError(f"NIfTI data type {dtype} (RGB/complex) is not supported", path)
    shape3 = squeeze_to_3d(img.shape, path, "NIfTI image")
    check_voxel_count(img.shape, path, "NIfTI image")
    check_affine(img.affine, path)
    _z, rows, cols = canonical_shape(shape3, img.affine)
    check_plane_size(rows, cols, path, "the axial slice")
    try:
        raw = img.get_fdata(dtype=np.float32)  # applies scl_slope/scl_inter
    except MemoryError:
        raise
    except Exception as exc:  # truncated gzip: EOFError, zlib.error, OSError, ValueError ...
        raise UnreadableFileError(
            f"cannot read the voxel data, the file may be truncated ({one_line(exc)})", path
        ) from exc
    raw = raw.reshape(shape3)
    check_array(raw, path)
    hdr = img.header
    is_nifti = isinstance(img, (nib.Nifti1Image, nib.Nifti2Image))
    array, native = to_canonical(raw, img.affine, header=hdr.copy() if is_nifti else None)
    geo = geometry_fields(native)
    if metadata is None:
        metadata = {
            "format": "NIfTI-2" if isinstance(img, nib.Nifti2Image) else "NIfTI-1",
            "file_shape": tuple(int(s) for s in img.shape),
            "file_dtype": str(dtype),
            "file_axcodes": tuple(nib.aff2axcodes(img.affine)),
            "qform_code": int(hdr["qform_code"]),
            "sform_code": int(hdr["sform_code"]),
            "is_hu_reason": "guessed from the values (NIfTI has no unit): minimum < -200",
        }
    return CTImage(
        array=array,
        **geo,
        is_hu=looks_like_hu(array),
        kind=kind,
        source=path,
        metadata=metadata,
        native=native,
    )
