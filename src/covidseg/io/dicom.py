"""DICOM readers: a series folder (one volume) and a single file (one slice), via pydicom.

Values are converted to Hounsfield units with each image's RescaleSlope/RescaleIntercept;
pixels equal to PixelPaddingValue (outside the scanner's field of view) become -1024 HU
(air). Slices are sorted by ImagePositionPatient projected on the slice normal (never by file
name or InstanceNumber). No patient identifier is copied into :attr:`CTImage.metadata`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from covidseg.errors import (
    DimensionError,
    EmptyFolderError,
    InputError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from covidseg.io._common import (
    check_array,
    check_plane_size,
    check_spacing,
    check_voxel_count,
    one_line,
)
from covidseg.io.dicom_scan import (  # noqa: F401  (the scan API is re-exported here)
    DICOM_SUFFIXES,
    SeriesInfo,
    has_dicom_preamble,
    is_ct_dataset,
    is_dicom_candidate,
    not_ct_error,
    read_dataset,
    scan_dicom_folder,
    select_series,
    tag_int,
    tag_str,
)
from covidseg.io.geometry import LPS_TO_RAS, canonical_shape, geometry_fields, to_canonical
from covidseg.io.image import CTImage

log = logging.getLogger("covidseg.io")

__all__ = [
    "DICOM_SUFFIXES",
    "SeriesInfo",
    "is_dicom_candidate",
    "has_dicom_preamble",
    "scan_dicom_folder",
    "select_series",
    "read_dicom_series",
    "read_dicom_file",
    "PADDING_HU",
]

#: HU given to padding pixels (PixelPaddingValue: outside the reconstructed field of view).
PADDING_HU = -1024.0

# --------------------------------------------------------------------------------------- pixels


def _pixels(ds, path: Path) -> tuple[np.ndarray, bool]:
    """Stored pixel values as float32 (rows, cols) or (frames, rows, cols).

    Returns ``(array, rescaled)``: pydicom gives stored values (``rescaled`` False); if
    pydicom has no decoder for the transfer syntax, SimpleITK (GDCM) is tried, which
    applies the rescale itself (``rescaled`` True).
    """
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise UnreadableFileError("the DICOM object has no pixel data", path)
    samples = tag_int(ds, "SamplesPerPixel") or 1
    if samples != 1:
        raise UnsupportedFormatError(
            f"colour DICOM ({samples} samples per pixel, {tag_str(ds, 'PhotometricInterpretation')}); "
            "a CT image has one grey value per pixel", path
        )
    try:
        return np.asarray(ds.pixel_array, dtype=np.float32), False
    except MemoryError:
        raise
    except Exception as exc:
        first_error = exc
    try:
        from covidseg.logs import import_sitk
        sitk = import_sitk()
        arr = sitk.GetArrayFromImage(sitk.ReadImage(str(path))).astype(np.float32)
    except MemoryError:
        raise
    except Exception:
        raise UnreadableFileError(
            f"cannot decode the pixel data ({one_line(first_error, 160)}); the file may be truncated or use a "
            f"compression without a decoder ({one_line(_transfer_syntax(ds) or 'unknown transfer syntax', 80)})",
            path,
        ) from first_error
    return (arr[0] if arr.ndim == 3 and arr.shape[0] == 1 else arr), True


def _rescale(ds, path: Path) -> tuple[float, float]:
    """(slope, intercept) of a CT image; refused when missing or invalid.

    Both are required (type 1) in a CT image. Without them the stored values may be raw
    detector units, HU + 1024 or HU: guessing would silently shift every value, so the
    image is refused."""
    values = []
    for keyword in ("RescaleSlope", "RescaleIntercept"):
        try:
            value = float(ds.get(keyword))
        except (TypeError, ValueError):
            raise UnsupportedFormatError(
                f"no valid {keyword} (RescaleSlope/RescaleIntercept are required in CT): the stored "
                "values may be raw scanner units, so Hounsfield units cannot be derived with certainty",
                path,
            ) from None
        values.append(value)
    slope, intercept = values
    if not (np.isfinite(slope) and np.isfinite(intercept)) or slope == 0:
        raise UnsupportedFormatError(
            f"invalid RescaleSlope {slope:g} / RescaleIntercept {intercept:g}: Hounsfield units cannot "
            "be derived", path
        )
    return slope, intercept


def _to_hu(ds, path: Path) -> tuple[np.ndarray, int]:
    """HU values of one single-frame image and the number of padding pixels replaced."""
    slope, intercept = _rescale(ds, path)  # before decoding: cheap, and refused either way
    stored, rescaled = _pixels(ds, path)
    if stored.ndim != 2:
        frames = tag_int(ds, "NumberOfFrames")
        raise UnsupportedFormatError(
            f"multi-frame DICOM ({frames} frames) is not supported; convert it to NIfTI "
            "(e.g. with dcm2niix) or export single-frame images", path
        )
    if tag_str(ds, "PhotometricInterpretation") == "MONOCHROME1":
        raise UnsupportedFormatError("MONOCHROME1 (inverted grey scale) is not a CT HU image", path)
    padding = np.zeros(stored.shape, dtype=bool)
    if not rescaled and "PixelPaddingValue" in ds:
        lo = float(ds.PixelPaddingValue)
        hi = float(ds.get("PixelPaddingRangeLimit", lo))
        lo, hi = min(lo, hi), max(lo, hi)
        padding = (stored >= lo) & (stored <= hi)
    if rescaled:
        hu = stored
    else:
        hu = stored * np.float32(slope) + np.float32(intercept)
    n_pad = int(padding.sum())
    if n_pad:
        hu[padding] = PADDING_HU
    return hu.astype(np.float32, copy=False), n_pad


def _float_list(ds, keyword: str, n: int) -> np.ndarray | None:
    value = ds.get(keyword)
    try:
        arr = np.array([float(v) for v in value], dtype=float)
    except (TypeError, ValueError):
        return None
    return arr if arr.shape == (n,) and np.all(np.isfinite(arr)) else None


def _check_pixel_spacing(ds, path: Path) -> None:
    """Refuse a PixelSpacing that is present but zero, negative or not two numbers."""
    value = ds.get("PixelSpacing")
    if value is None or value == "":
        return
    try:
        numbers = [float(v) for v in value]
    except (TypeError, ValueError):
        numbers = []
    if len(numbers) != 2:
        raise UnreadableFileError(f"PixelSpacing {one_line(value, 60)!s} is not two numbers", path)
    check_spacing(numbers, path, "PixelSpacing")


def _check_header(ds, path: Path) -> None:
    """Checks on one image's header, before its pixels are decoded."""
    frames = tag_int(ds, "NumberOfFrames") or 1
    if frames > 1:
        raise UnsupportedFormatError(
            f"multi-frame DICOM ({frames} frames) is not supported; convert it to NIfTI "
            "(e.g. with dcm2niix) or export single-frame images", path
        )
    rows, cols = tag_int(ds, "Rows"), tag_int(ds, "Columns")
    if rows is not None and cols is not None:  # else _pixels says there is no pixel data
        check_plane_size(rows, cols, path)
    _check_pixel_spacing(ds, path)


def _plane(ds):
    """(row_dir, col_dir, normal, pixel spacing (between rows, between columns)) or None."""
    iop = _float_list(ds, "ImageOrientationPatient", 6)
    spacing = _float_list(ds, "PixelSpacing", 2)
    if iop is None or spacing is None or np.any(spacing <= 0):
        return None
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    norm = np.linalg.norm(normal)
    if norm < 1e-6:
        return None
    return row / np.linalg.norm(row), col / np.linalg.norm(col), normal / norm, spacing


def _lps_affine(row, col, normal, pixel_spacing, dz, origin) -> np.ndarray:
    """RAS affine of the DICOM voxel order (i = column, j = row, k = sorted slice)."""
    lps = np.eye(4)
    lps[:3, 0] = row * pixel_spacing[1]
    lps[:3, 1] = col * pixel_spacing[0]
    lps[:3, 2] = normal * dz
    lps[:3, 3] = origin
    return LPS_TO_RAS @ lps


def _transfer_syntax(ds) -> str | None:
    file_meta = getattr(ds, "file_meta", None)
    uid = None if file_meta is None else file_meta.get("TransferSyntaxUID")
    return None if uid is None else str(uid)


def _tag_float(ds, keyword: str) -> float | None:
    """A finite number from a DS/FD element, or None when absent or not a number."""
    try:
        value = float(ds.get(keyword))
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def _technical_metadata(ds) -> dict:
    meta = {
        "modality": tag_str(ds, "Modality"),
        "series_uid": tag_str(ds, "SeriesInstanceUID"),
        "series_number": tag_int(ds, "SeriesNumber"),
        "series_description": tag_str(ds, "SeriesDescription"),
        "sop_class": getattr(ds.get("SOPClassUID"), "name", None),
        "manufacturer": tag_str(ds, "Manufacturer"),
        "convolution_kernel": tag_str(ds, "ConvolutionKernel"),
        "slice_thickness": _tag_float(ds, "SliceThickness"),
        "rescale_type": tag_str(ds, "RescaleType"),
        "transfer_syntax": _transfer_syntax(ds),
    }
    return meta


def _slice_thickness(ds) -> float:
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        try:
            value = float(ds.get(keyword))
        except (TypeError, ValueError):
            continue
        if value > 0:
            return value
    return 1.0


#: A step between consecutive slice positions may differ from the series' median step by
#: this fraction (or by SLICE_STEP_TOLERANCE_MM, whichever is larger) before the series is
#: refused. One missing slice doubles a step (+100 %); positions rounded to 0.1 mm (some
#: scanners) make 0.625 mm steps alternate 0.6 / 0.7 mm (±12 %, inside the 0.1 mm allowance).
SLICE_STEP_TOLERANCE = 0.10
SLICE_STEP_TOLERANCE_MM = 0.1


def _check_steps(steps: np.ndarray, along: np.ndarray, names: list[str], folder: Path) -> None:
    """Refuse duplicate positions and gaps/uneven spacing (the volume would be wrong)."""
    same = np.flatnonzero(steps < 1e-3)
    if len(same):
        k = int(same[0])
        involved = len(set(same.tolist()) | set((same + 1).tolist()))
        raise DimensionError(
            f"{involved} images share a slice position ({names[k]} and {names[k + 1]} both at "
            f"{along[k]:.2f} mm along the slice normal): a multi-phase / 4-D series or a copied "
            "file; pass one phase (series=) or separate the files", folder
        )
    dz = float(np.median(steps))
    tol = max(SLICE_STEP_TOLERANCE * dz, SLICE_STEP_TOLERANCE_MM) + 1e-3  # + float/DS rounding
    off = np.abs(steps - dz) > tol
    if not off.any():
        return
    wide = np.flatnonzero(steps > dz + tol)
    k = int(wide[0]) if len(wide) else int(np.flatnonzero(off)[0])
    what = (f"{len(wide)} gap(s) in the slice positions (missing slices?)" if len(wide)
            else f"{int(off.sum())} uneven slice step(s) (overlapping reconstructions?)")
    raise DimensionError(
        f"{what}: {steps[k]:.4g} mm between {names[k]} and {names[k + 1]} (at {along[k]:.2f} and "
        f"{along[k + 1]:.2f} mm along the slice normal) where the median step is {dz:.4g} mm; "
        f"sizes and volumes would be wrong (tolerance {SLICE_STEP_TOLERANCE:.0%} or "
        f"{SLICE_STEP_TOLERANCE_MM} mm)", folder
    )


# --------------------------------------------------------------------------------------- readers


def read_dicom_file(path: Path) -> CTImage:
    """Read one single-frame DICOM CT image as a 2-D ``(Y, X)`` slice in HU.

    ``spacing`` is PixelSpacing (between rows, between columns). An axial slice is flipped /
    transposed to the radiological display ``("P", "L")``; another plane keeps the stored
    row/column order, with :attr:`CTImage.orientation` telling its directions.
    """
    ds = read_dataset(path, header_only=False)
    if not is_ct_dataset(ds):
        raise not_ct_error(ds, path)
    _check_header(ds, path)
    hu, n_pad = _to_hu(ds, path)
    check_array(hu, path)
    meta = {"format": "DICOM", **_technical_metadata(ds), "files": [str(path)], "padding_pixels": n_pad}
    plane = _plane(ds)
    ipp = _float_list(ds, "ImagePositionPatient", 3)
    if plane is None or ipp is None:
        spacing = _float_list(ds, "PixelSpacing", 2)
        meta["geometry"] = "missing ImagePositionPatient/ImageOrientationPatient/PixelSpacing"
        return CTImage(
            array=np.ascontiguousarray(hu),
            spacing=None if spacing is None else tuple(float(s) for s in spacing),
            is_hu=True,
            kind="dicom-file",
            orientation=("P", "L"),
            source=path,
            metadata=meta,
        )
    row, col, normal, pixel_spacing = plane
    affine = _lps_affine(row, col, normal, pixel_spacing, _slice_thickness(ds), ipp)
    axial = int(np.argmax(np.abs(normal))) == 2
    raw = hu.T[:, :, None]  # (i = column, j = row, k)
    array, native = to_canonical(raw, affine, reorient=axial)
    geo = geometry_fields(native)
    return CTImage(
        array=np.ascontiguousarray(array[0]),
        spacing=geo["spacing"][1:],
        is_hu=True,
        kind="dicom-file",
        orientation=geo["orientation"][1:],
        origin=geo["origin"],
        direction=geo["direction"],
        affine=geo["affine"],
        source=path,
        metadata=meta,
        native=native,
    )


def read_dicom_series(folder: Path, series: str | int | None = None) -> CTImage:
    """Read the DICOM CT series in ``folder`` (files directly inside it) as a volume in HU.

    With several series in the folder, ``series`` picks one (SeriesInstanceUID,
    SeriesNumber or SeriesDescription); without it the CT series with the most images is
    read. The choice is logged (``logging.info``) and recorded in ``metadata``
    (``series_uid``, ``series_selected_by``, ``series_in_folder``).
    """
    found = scan_dicom_folder(folder)
    if not found:
        raise EmptyFolderError("no DICOM file in the folder", folder)
    info, how = select_series(found, series, folder)
    if len(found) > 1:
        log.info(
            "%s: %d DICOM series found; reading %s (%s)", folder, len(found), info.label(), how
        )
    datasets = [(read_dataset(p, header_only=False), p) for p in info.files]
    try:
        return _read_series(folder, datasets, found, info, how)
    except InputError as exc:
        if exc.path is None or Path(exc.path).parent != folder:
            raise
        # A series is one input: name its folder (what the user gave) and, in the reason,
        # the offending file.
        raise type(exc)(f"{Path(exc.path).name}: {exc.reason}", folder) from exc


def _read_series(folder: Path, datasets: list, found: list[SeriesInfo], info: SeriesInfo, how: str) -> CTImage:
    """The checks (header-level first, pixels last) and the stacking of one chosen series."""
    for ds, p in datasets:
        if not is_ct_dataset(ds):
            raise not_ct_error(ds, p)
    first, first_path = datasets[0]
    shape0 = (tag_int(first, "Rows"), tag_int(first, "Columns"))
    sizes = [(tag_int(ds, "Rows"), tag_int(ds, "Columns")) for ds, _ in datasets]
    odd = [k for k, size in enumerate(sizes) if size != shape0]
    if odd:
        ds, p = datasets[odd[0]]
        raise UnsupportedFormatError(
            f"image size {sizes[odd[0]][0]}x{sizes[odd[0]][1]} differs from {shape0[0]}x{shape0[1]} "
            f"(rows x columns) of {first_path.name}: {len(odd)} of {len(datasets)} images differ, "
            "not one volume", p
        )
    for ds, p in datasets:
        _check_header(ds, p)
    no_rescale = []
    for ds, p in datasets:
        try:
            _rescale(ds, p)
        except UnsupportedFormatError as exc:
            no_rescale.append(exc)
    if no_rescale:
        raise UnsupportedFormatError(
            f"{no_rescale[0].reason} ({len(no_rescale)} of {len(datasets)} images)", no_rescale[0].path
        )
    if None not in shape0:
        check_voxel_count((len(datasets), *shape0), folder, "the series")
    plane = _plane(first)
    if plane is None:
        raise UnsupportedFormatError(
            "the series lacks ImageOrientationPatient/PixelSpacing: slices cannot be placed in space",
            first_path,
        )
    row, col, normal, pixel_spacing = plane
    iop0 = _float_list(first, "ImageOrientationPatient", 6)
    positions = []
    for ds, p in datasets:
        iop = _float_list(ds, "ImageOrientationPatient", 6)
        if iop is None or np.abs(iop - iop0).max() > 1e-3:
            raise UnsupportedFormatError(
                f"ImageOrientationPatient differs from that of {first_path.name}: not one volume "
                "(a localizer in the series?)", p
            )
        ipp = _float_list(ds, "ImagePositionPatient", 3)
        if ipp is None:
            raise UnsupportedFormatError("missing ImagePositionPatient: the slice cannot be placed", p)
        positions.append(ipp)
    # One volume has one pixel size: slices of another field of view would be measured wrong.
    spacings = [_float_list(ds, "PixelSpacing", 2) for ds, _ in datasets]
    differ = [k for k, sp in enumerate(spacings)
              if sp is None or np.abs(sp - pixel_spacing).max() > 1e-3 * max(pixel_spacing)]
    if differ:
        sp = spacings[differ[0]]
        shown = "missing" if sp is None else "\\".join(f"{v:g}" for v in sp)
        raise UnsupportedFormatError(
            f"PixelSpacing {shown} differs from {pixel_spacing[0]:g}\\{pixel_spacing[1]:g} of "
            f"{first_path.name}: {len(differ)} of {len(datasets)} images differ, not one volume",
            datasets[differ[0]][1],
        )
    positions = np.array(positions)
    along = positions @ normal
    order = np.argsort(along, kind="stable")
    along = along[order]
    steps = np.diff(along)
    names = [datasets[i][1].name for i in order]
    meta = {"format": "DICOM", **_technical_metadata(first)}
    if len(steps):
        _check_steps(steps, along, names, folder)
        dz = float(np.median(steps))
        if steps.max() - steps.min() > 0.01 * dz + 1e-3:
            log.warning(
                "%s: slightly irregular slice spacing (%.4g to %.4g mm); using the median %.4g mm",
                folder, steps.min(), steps.max(), dz,
            )
            meta["irregular_slice_spacing"] = (float(steps.min()), float(steps.max()))
        inplane = positions[order] - positions[order][0] - np.outer(along - along[0], normal)
        if np.abs(inplane).max() > 0.01 * max(pixel_spacing) + 1e-3:
            log.warning("%s: slices are shifted in-plane (gantry tilt?); geometry approximated", folder)
            meta["gantry_tilt_or_shift"] = True
    else:
        dz = _slice_thickness(first)
    affine = _lps_affine(row, col, normal, pixel_spacing, dz, positions[order[0]])
    # the network sees axial slices: a few sagittal/coronal images make axial slices too thin
    _z, rows, cols = canonical_shape((shape0[1], shape0[0], len(datasets)), affine)
    check_plane_size(rows, cols, folder, "the axial slice")
    stack = np.empty((len(datasets), shape0[0], shape0[1]), dtype=np.float32)
    n_pad = 0
    files = []
    for out_k, idx in enumerate(order):
        ds, p = datasets[idx]
        hu, pad = _to_hu(ds, p)
        stack[out_k] = hu
        n_pad += pad
        files.append(str(p))
    check_array(stack, folder)
    raw = stack.transpose(2, 1, 0)  # (i = column, j = row, k = slice)
    array, native = to_canonical(raw, affine)
    geo = geometry_fields(native)
    meta.update(
        files=files,
        padding_pixels=n_pad,
        series_in_folder=len(found),
        series_selected_by=how,
        other_series=[s.uid for s in found if s is not info],
    )
    return CTImage(
        array=array,
        **geo,
        is_hu=True,
        kind="dicom-series",
        source=folder,
        metadata=meta,
        native=native,
    )
