"""In-memory input for the Python API: a numpy array with its spacing, a SimpleITK image or a
nibabel image becomes the same :class:`CTImage` the file readers give (like lungmask's
``LMInferer.apply``).

Each goes through the conversion its file format uses (``sitk_to_ctimage`` of the NRRD /
MetaImage reader, ``nibabel_to_ctimage`` of the NIfTI reader; an array is given the affine
its ``orientation`` and ``spacing`` describe), so a volume passed in memory and the same
volume read from a file give the same array, spacing and orientation. Problems raise a
one-line ``ValueError`` naming the argument (``array: 3 of 262144 values are NaN ...``).
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from covidseg.errors import CovidsegError
from covidseg.io._common import (
    check_array,
    check_plane_size,
    check_voxel_count,
    looks_like_hu,
)
from covidseg.io.geometry import geometry_fields, to_canonical
from covidseg.io.image import CANONICAL_ORIENTATION, CTImage

__all__ = ["image_from_memory", "from_array", "from_sitk", "from_nibabel", "is_in_memory_image"]

#: RAS unit vector of each patient direction letter.
_RAS = {"R": (1, 0, 0), "L": (-1, 0, 0), "A": (0, 1, 0), "P": (0, -1, 0), "S": (0, 0, 1), "I": (0, 0, -1)}
_AXIS = {"R": 0, "L": 0, "A": 1, "P": 1, "S": 2, "I": 2}


@contextlib.contextmanager
def _argument(what: str):
    """Turn the readers' typed errors (which name a path) into ``ValueError("<what>: ...")``."""
    try:
        yield
    except CovidsegError as exc:
        raise ValueError(f"{what}: {exc.reason}") from exc


def is_in_memory_image(obj: Any) -> bool:
    """True for a numpy array, a SimpleITK image or a nibabel image."""
    return _is_sitk(obj) or _is_nibabel(obj) or isinstance(obj, np.ndarray)


def _is_sitk(obj: Any) -> bool:
    return type(obj).__module__.startswith("SimpleITK") and hasattr(obj, "GetSpacing")


def _is_nibabel(obj: Any) -> bool:
    from nibabel.spatialimages import SpatialImage

    return isinstance(obj, SpatialImage)


def image_from_memory(source: Any, *, spacing=None, hu: bool | None = None, orientation=None) -> CTImage:
    """Dispatch to :func:`from_array`, :func:`from_sitk` or :func:`from_nibabel`.

    ``spacing`` and ``orientation`` describe a numpy array only; an image object carries its
    own geometry, so giving them with one is a ``ValueError`` (never silently ignored)."""
    if _is_sitk(source) or _is_nibabel(source):
        given = [name for name, value in (("spacing", spacing), ("orientation", orientation)) if value is not None]
        if given:
            raise ValueError(f"{' and '.join(given)}: only for a numpy array; a "
                             f"{type(source).__name__} carries its own geometry")
        return from_sitk(source, hu=hu) if _is_sitk(source) else from_nibabel(source, hu=hu)
    if isinstance(source, np.ndarray):
        return from_array(source, spacing, hu=hu, orientation=orientation)
    raise TypeError(
        f"cannot segment a {type(source).__name__}: give a path, a CTImage, a numpy array (with spacing=), "
        "a SimpleITK image or a nibabel image"
    )


def _decide_hu(array: np.ndarray, hu: bool | None) -> tuple[bool, str]:
    """The HU question, answered explicitly: ``hu`` when given, else the unit-less formats' rule."""
    if hu is None:
        return looks_like_hu(array), "guessed from the values (hu=None): minimum < -200"
    if not isinstance(hu, (bool, np.bool_)):
        raise ValueError(f"hu: must be True, False or None, got {hu!r}")
    return bool(hu), f"given (hu={bool(hu)})"


def _orientation(orientation, ndim: int) -> tuple[str, ...]:
    default = CANONICAL_ORIENTATION if ndim == 3 else CANONICAL_ORIENTATION[1:]
    if orientation is None:
        return default
    letters = tuple(str(c).upper() for c in orientation)
    if len(letters) != ndim or any(c not in _RAS for c in letters) or len({_AXIS[c] for c in letters}) != ndim:
        raise ValueError(
            f"orientation: {orientation!r} must give, for each of the {ndim} array axes, the patient "
            f"direction it increases toward, one of R/L, A/P, S/I per axis (e.g. {''.join(default)!r})"
        )
    if ndim == 2 and any(_AXIS[c] == 2 for c in letters):
        raise ValueError(f"orientation: {orientation!r}: a 2-D array must be an axial slice (A/P and R/L axes)")
    return letters


def _spacing(spacing, ndim: int, shape) -> tuple[float, ...] | None:
    axes = "(z, y, x)" if ndim == 3 else "(y, x)"
    if spacing is None:
        if ndim == 3:
            raise ValueError(
                f"spacing: a volume {tuple(shape)} needs spacing={axes} in mm (millilitres need it); "
                "e.g. SimpleITK's GetSpacing()[::-1]"
            )
        return None
    try:
        values = tuple(float(v) for v in spacing)
    except (TypeError, ValueError):
        raise ValueError(f"spacing: {spacing!r} is not {ndim} numbers {axes} in mm") from None
    if len(values) != ndim:
        raise ValueError(f"spacing: {spacing!r} has {len(values)} values; the {ndim}-D array needs {ndim} {axes}")
    if not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"spacing: {spacing!r} must be positive and finite (mm per array axis {axes})")
    return values


def from_array(array: np.ndarray, spacing=None, *, hu: bool | None = None, orientation=None) -> CTImage:
    """A numpy array as a CTImage (``kind`` "array").

    Args:
        array: ``(z, y, x)`` volume or ``(y, x)`` axial slice, real numbers (any int/float dtype).
        spacing: mm per array axis, in the array's axis order; required for a volume
            (volumes in mL need it), optional for a slice (without it areas are pixel counts).
        hu: True if the values are Hounsfield units (CT), False for a plain grey image (0..255
            or 16-bit); None (default) applies the rule of the unit-less file formats: HU when
            the minimum is below -200 (CT always holds air near -1000 HU).
        orientation: the patient direction each array axis increases toward. Default
            ``("S", "P", "L")`` for a volume — covidseg's canonical layout, and what
            ``sitk.GetArrayFromImage(sitk.DICOMOrient(img, "LPS"))`` gives — and ``("P", "L")``
            (radiological display) for a slice. Another layout (e.g. ``"IPL"``, slice 0 at the
            top) is reoriented like a file would be.
    """
    if not isinstance(array, np.ndarray):
        raise ValueError(f"array: expected a numpy array, got {type(array).__name__}")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"array: dtype {array.dtype} is not real numbers (CT values or grey levels)")
    if array.ndim not in (2, 3):
        raise ValueError(f"array: shape {array.shape} has {array.ndim} dimensions; give a (z, y, x) volume or a "
                         "(y, x) slice")
    letters = _orientation(orientation, array.ndim)
    values = _spacing(spacing, array.ndim, array.shape)
    data = np.asarray(array, dtype=np.float32)
    with _argument("array"):
        check_voxel_count(data.shape, None, "the array")
        check_array(data, None)
    is_hu, reason = _decide_hu(data, hu)
    # The array's axes as a native (i, j, k) = (x, y, z) voxel order with the RAS affine the
    # orientation and spacing describe: the file readers' reorientation then gives the
    # canonical layout. A slice is the one-slice volume array[None], its normal S.
    vol = data if data.ndim == 3 else data[None]
    letters3 = letters if data.ndim == 3 else ("S", *letters)
    steps = values if data.ndim == 3 else (1.0, *(values or (1.0, 1.0)))
    affine = np.eye(4)
    for axis, (letter, step) in enumerate(zip(letters3, steps)):
        affine[:3, 2 - axis] = np.array(_RAS[letter], float) * step  # array axis 0 is k (column 2)
    canon, native = to_canonical(vol.transpose(2, 1, 0), affine)
    with _argument("array"):
        check_plane_size(canon.shape[1], canon.shape[2], None, "the axial slice")
    geo = geometry_fields(native)
    metadata = {"format": "numpy array", "array_shape": tuple(int(s) for s in array.shape),
                "array_dtype": str(array.dtype), "array_orientation": "".join(letters), "is_hu_reason": reason}
    if data.ndim == 3:
        return CTImage(array=canon, **geo, is_hu=is_hu, kind="array", source=None, metadata=metadata, native=native)
    if values is None:  # like a JPG/PNG: no patient geometry, areas in pixels
        return CTImage(array=np.ascontiguousarray(canon[0]), spacing=None, is_hu=is_hu, kind="array",
                       orientation=CANONICAL_ORIENTATION[1:], source=None, metadata=metadata)
    return CTImage(array=np.ascontiguousarray(canon[0]), spacing=geo["spacing"][1:], is_hu=is_hu, kind="array",
                   orientation=geo["orientation"][1:], origin=geo["origin"], direction=geo["direction"],
                   affine=geo["affine"], source=None, metadata=metadata, native=native)


def from_sitk(image, *, hu: bool | None = None) -> CTImage:
    """A SimpleITK image as a CTImage (``kind`` "array"): geometry from its origin, spacing
    and direction, exactly as the NRRD/MetaImage reader (a 2-D image is a one-slice volume)."""
    from covidseg.io.itk import sitk_to_ctimage

    metadata = {"format": "SimpleITK image", "file_size": tuple(image.GetSize()),
                "file_pixel_type": image.GetPixelIDTypeAsString()}
    with _argument("image"):
        img = sitk_to_ctimage(image, None, "array", metadata)
    img.is_hu, img.metadata["is_hu_reason"] = _decide_hu(img.array, hu)
    return img


def from_nibabel(nib_image, *, hu: bool | None = None) -> CTImage:
    """A nibabel image as a CTImage (``kind`` "array"): exactly the NIfTI reader's conversion
    (scaling applied, affine, reorientation; the header is kept for the masks)."""
    from covidseg.io._common import check_spacing
    from covidseg.io.nifti import nibabel_to_ctimage

    metadata = {"format": f"nibabel {type(nib_image).__name__}", "file_shape": tuple(int(s) for s in nib_image.shape),
                "file_dtype": str(nib_image.get_data_dtype())}
    with _argument("image"):
        check_spacing(nib_image.header.get_zooms()[:3], None, "zooms")
        img = nibabel_to_ctimage(nib_image, None, kind="array", metadata=metadata)
    img.is_hu, img.metadata["is_hu_reason"] = _decide_hu(img.array, hu)
    return img
