"""NRRD (``.nrrd``, ``.nhdr``) and MetaImage (``.mha``, ``.mhd``) volumes via SimpleITK."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
from covidseg.io.atomic import full_suffix
from covidseg.io.formats import ITK_SUFFIXES
from covidseg.io.geometry import canonical_shape, geometry_fields, itk_to_affine, to_canonical
from covidseg.io.image import CTImage

__all__ = ["ITK_SUFFIXES", "read_itk", "sitk_to_ctimage"]

#: suffix -> CTImage.kind


def read_itk(path: Path) -> CTImage:
    """Read a NRRD or MetaImage file as a canonical ``(z, y, x)`` float32 volume.

    Geometry comes from the file's space origin/directions (ITK, LPS). A 2-D file gives a
    one-slice volume; 4-D data whose 4th axis is longer than 1 and multi-component (vector,
    RGB) data are refused. ``is_hu`` is guessed as for NIfTI (minimum < -200).
    """
    from covidseg.logs import import_sitk

    sitk = import_sitk()

    kind = ITK_SUFFIXES[full_suffix(path)]
    try:
        reader = sitk.ImageFileReader()
        reader.SetFileName(str(path))
        reader.ReadImageInformation()
        size = tuple(reader.GetSize())
        components = reader.GetNumberOfComponents()
        if components != 1:
            raise UnsupportedFormatError(
                f"{components} components per voxel (vector/colour data); a CT volume has one", path
            )
        squeeze_to_3d(size, path, "the image")  # refused before reading the voxels
        check_voxel_count(size, path, "the image")
        header_spacing = list(reader.GetSpacing())[:3]
        check_spacing(header_spacing, path)
        image = reader.Execute()
    except (CovidsegError, MemoryError):
        raise
    except Exception as exc:  # SimpleITK raises RuntimeError with ITK's message
        message = str(exc).strip().splitlines()
        reason = next((line for line in message if "Description" in line or "ERROR" in line),
                      message[-1] if message else type(exc).__name__)
        raise UnreadableFileError(f"not a readable {kind} file ({one_line(reason)})", path) from exc
    metadata = {
        "format": "NRRD" if kind == "nrrd" else "MetaImage",
        "file_size": size,
        "file_pixel_type": image.GetPixelIDTypeAsString(),
        "is_hu_reason": "guessed from the values (no unit in the file): minimum < -200",
    }
    return sitk_to_ctimage(image, path, kind, metadata)


def sitk_to_ctimage(image, path: Path | None, kind: str, metadata: dict) -> CTImage:
    """A SimpleITK image (read from a file or built in memory) as a canonical ``(z, y, x)``
    CTImage: geometry from its LPS origin/spacing/direction, the same checks as
    :func:`read_itk`. ``path`` is None for an in-memory image."""
    import SimpleITK as sitk

    size = tuple(image.GetSize())
    components = image.GetNumberOfComponentsPerPixel()
    if components != 1:
        raise UnsupportedFormatError(
            f"{components} components per voxel (vector/colour data); a CT volume has one", path
        )
    dims = squeeze_to_3d(size, path, "the image")  # (i, j, k)
    check_voxel_count(size, path, "the image")
    check_spacing(list(image.GetSpacing())[:3], path)
    data = sitk.GetArrayViewFromImage(image)  # reversed ITK index order
    raw = np.asarray(data, dtype=np.float32).T.reshape(dims)  # (i, j, k)
    n = image.GetDimension()
    origin = list(image.GetOrigin())[:3] + [0.0] * max(0, 3 - n)
    spacing = list(image.GetSpacing())[:3] + [1.0] * max(0, 3 - n)
    d = np.eye(3)
    full = np.asarray(image.GetDirection(), dtype=float).reshape(n, n)
    m = min(n, 3)
    d[:m, :m] = full[:m, :m]
    affine = itk_to_affine(origin, spacing, d.reshape(-1))
    check_affine(affine, path)
    _z, rows, cols = canonical_shape(dims, affine)
    check_plane_size(rows, cols, path, "the axial slice")
    check_array(raw, path)
    array, native = to_canonical(raw, affine)
    geo = geometry_fields(native)
    return CTImage(
        array=array,
        **geo,
        is_hu=looks_like_hu(array),
        kind=kind,
        source=path,
        metadata=metadata,
        native=native,
    )
