"""NIfTI reader (``.nii``, ``.nii.gz``) via nibabel."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from covidseg.errors import CovidsegError, UnreadableFileError, UnsupportedFormatError
from covidseg.io._common import check_affine, check_array, looks_like_hu, squeeze_to_3d
from covidseg.io.geometry import geometry_fields, to_canonical
from covidseg.io.image import CTImage

__all__ = ["read_nifti"]


def read_nifti(path: Path) -> CTImage:
    """Read a NIfTI-1/2 file as a canonical ``(z, y, x)`` float32 volume.

    The header's scaling (scl_slope/scl_inter) is applied. A 4-D file whose 4th axis has
    length 1 is read as 3-D; a longer 4th axis raises :class:`DimensionError`. A 2-D file
    gives a one-slice volume. ``is_hu`` is guessed (NIfTI has no unit): True if the minimum
    is below -200.
    """
    try:
        img = nib.load(str(path))
    except CovidsegError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # nibabel raises many types for a bad header
        raise UnreadableFileError(f"not a readable NIfTI file ({exc})", path) from exc
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise UnsupportedFormatError(f"not a NIfTI image ({type(img).__name__})", path)
    dtype = img.get_data_dtype()
    if dtype.fields is not None or dtype.kind == "c":
        raise UnsupportedFormatError(f"NIfTI data type {dtype} (RGB/complex) is not supported", path)
    shape3 = squeeze_to_3d(img.shape, path, "NIfTI image")
    try:
        raw = img.get_fdata(dtype=np.float32)  # applies scl_slope/scl_inter
    except MemoryError:
        raise
    except Exception as exc:  # truncated gzip: EOFError, zlib.error, OSError, ValueError ...
        raise UnreadableFileError(f"cannot read the voxel data, the file may be truncated ({exc})", path) from exc
    raw = raw.reshape(shape3)
    check_array(raw, path)
    check_affine(img.affine, path)
    array, native = to_canonical(raw, img.affine, header=img.header.copy())
    geo = geometry_fields(native)
    hdr = img.header
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
        kind="nifti",
        source=path,
        metadata=metadata,
        native=native,
    )
