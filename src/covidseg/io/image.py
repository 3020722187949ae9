"""The reader contract: :class:`CTImage` (one image or volume) and :class:`Case` (one input).

Every reader in :mod:`covidseg.io` returns a :class:`CTImage`, whatever the file format, so
the rest of covidseg never looks at file formats. See ``docs/io.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CTImage", "Case", "KINDS", "CANONICAL_ORIENTATION", "NativeGeometry"]

#: Values of :attr:`CTImage.kind` / :attr:`Case.kind`.
KINDS = ("image", "slices", "nifti", "dicom-series", "dicom-file", "nrrd", "metaimage", "array")

#: Patient direction each axis of a volume's array increases toward, for every volume read
#: (z toward superior, rows toward posterior, columns toward patient-left): an axial slice
#: ``array[k]`` shows as on a radiology screen, and ``array[0]`` is the most inferior slice.
CANONICAL_ORIENTATION = ("S", "P", "L")


@dataclass(frozen=True)
class NativeGeometry:
    """How the file stored the voxels: what a writer needs to undo the reorientation.

    ``shape`` and ``affine`` describe the file's own voxel order (i, j, k) (nibabel
    convention, RAS world); ``ornt`` is the nibabel orientation transform that takes the
    native (i, j, k) array to the (x, y, z) array whose transpose is :attr:`CTImage.array`.
    ``header`` is the source NIfTI header (None for other formats), kept so a mask written
    for a NIfTI input has exactly the input's header geometry (qform, sform and their codes).
    """

    shape: tuple[int, int, int]
    affine: np.ndarray
    ornt: np.ndarray
    header: Any = None


@dataclass(eq=False)
class CTImage:
    """One image or volume, in covidseg's single in-memory layout.

    Attributes:
        array: float32, ``(Y, X)`` for a slice or ``(Z, Y, X)`` for a volume, C-contiguous.
        spacing: mm per array axis in the array's axis order (``(z, y, x)`` or ``(y, x)``);
            None when the format has none (JPG/PNG).
        is_hu: True if the values are Hounsfield units.
        kind: one of :data:`KINDS`: ``"image"`` (one JPG/PNG), ``"slices"`` (a folder of
            JPG/PNG slices stacked in natural file-name order), ``"nifti"``,
            ``"dicom-series"``, ``"dicom-file"``, ``"nrrd"`` (.nrrd/.nhdr),
            ``"metaimage"`` (.mha/.mhd), ``"array"`` (an in-memory numpy array, SimpleITK or
            nibabel image given to ``Segmenter.predict``; ``source`` is None).
        orientation: the patient direction each array axis increases toward. Volumes are
            always reoriented to :data:`CANONICAL_ORIENTATION` ``("S", "P", "L")``; plain
            images are assumed to be ``("P", "L")`` (radiological display) and a stack of
            them ``("?", "P", "L")`` (the slice direction is unknown).
        origin: world position (mm, ITK/DICOM LPS) of the centre of voxel ``array[0, 0, 0]``;
            None for plain images.
        direction: 9 numbers, row-major 3x3 matrix whose columns are the LPS unit vectors of
            the ITK index axes (x, y, z), i.e. of the array axes in reverse order — as
            SimpleITK's ``GetDirection()``. None for plain images. So
            ``sitk.GetImageFromArray(a)`` with ``SetSpacing(spacing[::-1])``,
            ``SetOrigin(origin)``, ``SetDirection(direction)`` reproduces the geometry.
        affine: 4x4 voxel → world matrix (RAS mm, nibabel convention) of the array's axes
            ``(z, y, x)`` — ``affine @ [k, j, i, 1]`` is the RAS position of
            ``array[k, j, i]``. None for plain images.
        source: the path read (a file or a folder).
        metadata: technical source information (format, series UID/number/description,
            modality, file list, bit depth ...). No patient identifier is ever copied here.

    A single DICOM slice has a 2-D ``array``; its ``origin``, ``direction`` and ``affine``
    describe it as the one-slice volume ``array[None]``.
    """

    array: np.ndarray
    spacing: tuple[float, ...] | None
    is_hu: bool
    kind: str
    orientation: tuple[str, ...]
    origin: tuple[float, float, float] | None = None
    direction: tuple[float, ...] | None = None
    affine: np.ndarray | None = None
    source: Path | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    native: NativeGeometry | None = field(default=None, repr=False)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def is_volume(self) -> bool:
        """True for ``(Z, Y, X)`` arrays (including one-slice volumes), False for 2-D."""
        return self.array.ndim == 3

    def __repr__(self) -> str:
        spacing = None if self.spacing is None else tuple(round(s, 4) for s in self.spacing)
        return (
            f"CTImage(kind={self.kind!r}, shape={self.shape}, spacing={spacing}, "
            f"is_hu={self.is_hu}, orientation={self.orientation}, source={str(self.source)!r})"
        )


@dataclass(frozen=True)
class Case:
    """One unit of work for ``covidseg predict``: one image, stack, volume or DICOM series.

    Attributes:
        name: file-system-safe name for the outputs (file name without all its extensions,
            ``scan.nii.gz`` → ``scan``; a DICOM series or a stack of slices: its folder's
            name); unique within one :func:`~covidseg.io.find_cases` result.
        path: the file, or the folder of a DICOM series / stack of slices.
        series: the SeriesInstanceUID of a DICOM series, else None.
        kind: as :attr:`CTImage.kind`.
    """

    name: str
    path: Path
    series: str | None
    kind: str
