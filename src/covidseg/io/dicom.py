"""DICOM readers: a series folder (one volume), a single file (one slice) and a multi-frame
Enhanced CT object (one volume), via pydicom (and highdicom for the multi-frame volume).

Values are converted to Hounsfield units with each image's RescaleSlope/RescaleIntercept;
pixels inside PixelPaddingValue..PixelPaddingRangeLimit (outside the scanner's field of
view) become -1024 HU (air) on every path. Compressed transfer syntaxes (JPEG Lossless,
JPEG-LS, JPEG 2000, RLE) are decoded by pydicom's plugins (pylibjpeg), with SimpleITK's GDCM
as a fallback. Localizer/scout images in a series are skipped (logged). Slices are sorted by
ImagePositionPatient projected on the slice normal (never by file name or InstanceNumber); a
gantry-tilted (sheared) stack is refused. No patient identifier is copied into
:attr:`CTImage.metadata`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from covidseg.errors import (
    CovidsegError,
    DimensionError,
    EmptyFolderError,
    InputError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from covidseg.io._common import (
    check_affine,
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
    is_localizer,
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
    "is_enhanced",
    "PADDING_HU",
    "ENHANCED_CT_SOP_CLASSES",
]

#: HU given to padding pixels (PixelPaddingValue: outside the reconstructed field of view).
PADDING_HU = -1024.0

# --------------------------------------------------------------------------------------- pixels


def _check_samples(ds, path: Path) -> None:
    samples = tag_int(ds, "SamplesPerPixel") or 1
    if samples != 1:
        raise UnsupportedFormatError(
            f"colour DICOM ({samples} samples per pixel, {tag_str(ds, 'PhotometricInterpretation')}); "
            "a CT image has one grey value per pixel", path
        )


def _syntax_name(ds) -> str:
    """'JPEG 2000 Image Compression (Lossless Only) (1.2.840.10008.1.2.4.90)' for messages."""
    uid = _transfer_syntax(ds)
    if uid is None:
        return "unknown transfer syntax"
    import pydicom.uid

    name = getattr(pydicom.uid.UID(uid), "name", uid)
    return one_line(uid if name == uid else f"{name} ({uid})", 120)


def _decode_error(ds, path: Path, exc: BaseException) -> UnreadableFileError:
    """One line naming the transfer syntax and why its pixel data could not be decoded."""
    uid = _transfer_syntax(ds)
    why = one_line(exc, 160)
    compressed = False
    if uid is not None:
        import pydicom.uid
        from pydicom.pixels import get_decoder

        try:
            compressed = pydicom.uid.UID(uid).is_compressed
        except ValueError:  # not a transfer syntax pydicom knows (newer, private)
            compressed = True
        try:
            decoder = get_decoder(pydicom.uid.UID(uid))
        except (NotImplementedError, ValueError, KeyError):
            why = "pydicom has no decoder for this transfer syntax, nor has GDCM"
        else:
            if not decoder.is_available:
                missing = "; ".join(map(str, decoder.missing_dependencies))
                why = f"no decoder installed ({one_line(missing, 120) or 'see pydicom.pixels'})"
    hint = "the compressed data may be damaged" if compressed else "the file may be truncated"
    return UnreadableFileError(f"cannot decode the pixel data, transfer syntax {_syntax_name(ds)}: "
                               f"{why} ({hint})", path)


def _require_pixels(ds, path: Path) -> None:
    """An image header (Rows/Columns) without pixel data is a file cut short: say so, rather
    than that a tag is missing (the GUI and predict show this line to the user)."""
    if "PixelData" in ds or "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
        return
    if "Rows" in ds and "Columns" in ds:
        raise UnreadableFileError("truncated or corrupt DICOM file: the image header ends before its pixel data", path)
    raise UnreadableFileError("the DICOM object has no pixel data", path)


def _pixels(ds, path: Path) -> tuple[np.ndarray, bool]:
    """Stored pixel values as float32 (rows, cols) or (frames, rows, cols).

    Returns ``(array, rescaled)``: pydicom gives stored values (``rescaled`` False), decoding
    compressed transfer syntaxes with its plugins (pylibjpeg-libjpeg: JPEG Lossless/JPEG-LS,
    pylibjpeg-openjpeg: JPEG 2000, pylibjpeg-rle/pydicom: RLE). If that fails, SimpleITK
    (GDCM) is tried, which applies the rescale itself (``rescaled`` True).
    """
    _require_pixels(ds, path)
    _check_samples(ds, path)
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
        raise _decode_error(ds, path, first_error) from first_error
    log.info("%s: pixel data (%s) decoded by SimpleITK/GDCM (pydicom: %s)", path, _syntax_name(ds),
             one_line(first_error, 120))
    return (arr[0] if arr.ndim == 3 and arr.shape[0] == 1 else arr), True


def _padding_range(ds) -> tuple[float, float] | None:
    """(low, high) stored values of PixelPaddingValue..PixelPaddingRangeLimit, or None.

    Both are US or SS like the pixels: a value read as unsigned from an implicit-VR file of
    signed pixels (65535 for -1) is taken back to its signed meaning."""
    if "PixelPaddingValue" not in ds:
        return None
    signed = tag_int(ds, "PixelRepresentation") == 1
    values = []
    for keyword in ("PixelPaddingValue", "PixelPaddingRangeLimit"):
        try:
            v = ds.get(keyword)
            v = None if v is None or v == "" else int(v)
        except (TypeError, ValueError):
            v = None
        if v is not None and signed and v > 32767:
            v -= 65536
        values.append(v)
    lo, hi = values
    if lo is None:
        return None
    hi = lo if hi is None else hi
    return float(min(lo, hi)), float(max(lo, hi))


def _padding_mask(ds, stored: np.ndarray) -> np.ndarray | None:
    """Where the stored values lie in the padding range (None when the image has none)."""
    limits = _padding_range(ds)
    if limits is None:
        return None
    lo, hi = limits
    return (stored >= lo) & (stored <= hi)


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
    """HU values of one single-frame image and the number of padding pixels replaced.

    Padding is found on the stored values, before anything else: those pixels become
    :data:`PADDING_HU` whatever the rescale makes of them."""
    slope, intercept = _rescale(ds, path)  # before decoding: cheap, and refused either way
    stored, rescaled = _pixels(ds, path)
    if stored.ndim != 2:
        frames = tag_int(ds, "NumberOfFrames")
        raise UnsupportedFormatError(
            f"multi-frame DICOM ({frames} frames) of SOP class {tag_str(ds, 'SOPClassUID')} without the "
            "per-frame geometry of Enhanced CT; convert it to NIfTI (e.g. with dcm2niix)", path
        )
    if tag_str(ds, "PhotometricInterpretation") == "MONOCHROME1":
        raise UnsupportedFormatError("MONOCHROME1 (inverted grey scale) is not a CT HU image", path)
    if rescaled:
        # GDCM applied the rescale: its inverse gives back the stored values, exactly for the
        # integer stored values of CT (padding is defined on those).
        hu = stored
        padding = _padding_mask(ds, np.rint((stored - np.float32(intercept)) / np.float32(slope)))
    else:
        padding = _padding_mask(ds, stored)
        hu = stored * np.float32(slope) + np.float32(intercept)
    n_pad = 0 if padding is None else int(padding.sum())
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


#: SOP classes read as one multi-frame volume (functional groups), through highdicom.
ENHANCED_CT_SOP_CLASSES = frozenset({
    "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT Image Storage
    "1.2.840.10008.5.1.4.1.1.2.2",  # Legacy Converted Enhanced CT Image Storage
})


def is_enhanced(ds) -> bool:
    """True for an (Enhanced or Legacy Converted Enhanced) multi-frame CT object."""
    return tag_str(ds, "SOPClassUID") in ENHANCED_CT_SOP_CLASSES


def _check_header(ds, path: Path) -> None:
    """Checks on one single-frame image's header, before its pixels are decoded."""
    frames = tag_int(ds, "NumberOfFrames") or 1
    if frames > 1:
        # Enhanced CT is read by _read_multiframe; another SOP class has no per-frame geometry.
        raise UnsupportedFormatError(
            f"multi-frame DICOM ({frames} frames) of SOP class {tag_str(ds, 'SOPClassUID')}, without the "
            "per-frame geometry of Enhanced CT; convert it to NIfTI (e.g. with dcm2niix) or export "
            "single-frame images", path
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


#: In-plane drift of the slice positions (over the whole stack, in pixels) above which a
#: stack is refused as gantry-tilted/sheared: covidseg does not resample, and the masks
#: written in an orthogonal grid would be misplaced by more than half a pixel somewhere.
#: Smaller drifts (position rounding) are logged and recorded, and the stack is read.
TILT_TOLERANCE_PX = 0.5


def _stack_order(positions: np.ndarray, normal: np.ndarray, pixel_spacing, names: list[str], where: Path,
                 tilt_tag: float | None = None) -> tuple[np.ndarray, float | None, dict]:
    """Order of the slices along the normal, the median step and metadata notes.

    Refuses duplicate positions, gaps and uneven steps (:func:`_check_steps`) and stacks
    whose positions drift in-plane by more than :data:`TILT_TOLERANCE_PX` (gantry tilt)."""
    along = positions @ normal
    order = np.argsort(along, kind="stable")
    along = along[order]
    steps = np.diff(along)
    notes: dict = {}
    if not len(steps):
        return order, None, notes
    _check_steps(steps, along, [names[i] for i in order], where)
    dz = float(np.median(steps))
    if steps.max() - steps.min() > 0.01 * dz + 1e-3:
        log.warning("%s: slightly irregular slice spacing (%.4g to %.4g mm); using the median %.4g mm",
                    where, steps.min(), steps.max(), dz)
        notes["irregular_slice_spacing"] = (float(steps.min()), float(steps.max()))
    inplane = positions[order] - positions[order][0] - np.outer(along - along[0], normal)
    drift = float(np.linalg.norm(inplane, axis=1).max())
    pixel = float(min(pixel_spacing))
    if drift > TILT_TOLERANCE_PX * pixel:
        extent = float(along[-1] - along[0])
        angle = float(np.degrees(np.arctan2(drift, extent)))
        tag = f"; GantryDetectorTilt {tilt_tag:g} degrees" if tilt_tag else ""
        raise UnsupportedFormatError(
            f"gantry-tilted (sheared) stack: the slice positions drift {drift:.2f} mm in-plane over "
            f"{extent:.1f} mm along the slice normal (a tilt of about {angle:.1f} degrees{tag}); covidseg "
            "does not resample tilted scans, and masks would be misplaced by up to "
            f"{drift:.1f} mm; resample it first (e.g. dcm2niix corrects gantry tilt)", where
        )
    if drift > 0.01 * pixel + 1e-3:
        log.info("%s: slice positions drift %.3f mm in-plane (under %.1f pixel); read as an orthogonal stack",
                 where, drift, TILT_TOLERANCE_PX)
        notes["inplane_drift_mm"] = round(drift, 4)
    if tilt_tag:
        notes["gantry_tilt"] = tilt_tag  # slices along their normal: the geometry is exact
    return order, dz, notes


#: A series may hold at most this many images of another orientation (AP and lateral
#: localizers, sometimes a third) for them to be skipped as localizers; more is refused.
MAX_STRAY_IMAGES = 3
#: An image is of "another orientation" when an ImageOrientationPatient component differs
#: from the series' own by more than this (0.2: about 12 degrees; a localizer is at 90).
#: Smaller differences are not localizers and stay in the series, to be refused there.
STRAY_ORIENTATION_DIFF = 0.2


def _drop_localizers(datasets: list, where: Path) -> tuple[list, list[str]]:
    """The images of a series that form the volume, and the names of the localizers skipped.

    Skipped: images whose ImageType says LOCALIZER/SCOUT/TOPOGRAM..., and at most
    :data:`MAX_STRAY_IMAGES` images whose orientation is far from that of most images
    (localizers without ImageType), when the others outnumber them."""
    keep = [(ds, p) for ds, p in datasets if not is_localizer(ds)]
    skipped = [p.name for ds, p in datasets if is_localizer(ds)]
    iops = [_float_list(ds, "ImageOrientationPatient", 6) for ds, _ in keep]
    counts: dict[tuple, int] = {}
    for iop in iops:
        if iop is not None:
            key = tuple(np.round(iop, 2) + 0.0)
            counts[key] = counts.get(key, 0) + 1
    if counts:
        main = np.array(max(counts, key=counts.get))
        far = [k for k, iop in enumerate(iops)
               if iop is not None and np.abs(iop - main).max() > STRAY_ORIENTATION_DIFF]
        if far and len(far) <= MAX_STRAY_IMAGES and len(far) < len(keep) - len(far):
            skipped += [keep[k][1].name for k in far]
            keep = [item for k, item in enumerate(keep) if k not in set(far)]
    if skipped:
        shown = ", ".join(skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        log.warning("%s: skipped %d localizer/scout image(s) (ImageType LOCALIZER or another orientation): %s",
                    where, len(skipped), shown)
    return keep, skipped


# --------------------------------------------------------------------------------------- multi-frame


def _frame_attr(ds, k: int, sequence: str, keyword: str):
    """An attribute of frame ``k``: from its per-frame functional group, else the shared one."""
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    shared = ds.get("SharedFunctionalGroupsSequence") or []
    for item in ([per_frame[k]] if k < len(per_frame) else []) + list(shared[:1]):
        seq = item.get(sequence)
        if seq:
            value = seq[0].get(keyword)
            if value is not None and value != "":
                return value
    return None


def _frame_numbers(ds, k: int, sequence: str, keyword: str, n: int) -> np.ndarray | None:
    value = _frame_attr(ds, k, sequence, keyword)
    try:
        arr = np.array([float(v) for v in value], dtype=float)
    except (TypeError, ValueError):
        return None
    return arr if arr.shape == (n,) and np.all(np.isfinite(arr)) else None


def _multiframe_geometry(ds, path: Path) -> tuple[float, dict]:
    """Check the frames' geometry (one orientation, one pixel size, even steps, no tilt) and
    rescale (present and valid on every frame) before any pixel is decoded; returns the
    median slice step (mm) and metadata notes."""
    frames = tag_int(ds, "NumberOfFrames") or 1
    rows, cols = tag_int(ds, "Rows"), tag_int(ds, "Columns")
    if rows is None or cols is None:
        raise UnreadableFileError("the Enhanced CT object has no Rows/Columns", path)
    check_plane_size(rows, cols, path)
    check_voxel_count((frames, rows, cols), path, "the multi-frame volume")
    if len(ds.get("PerFrameFunctionalGroupsSequence") or []) != frames:
        raise UnsupportedFormatError(
            f"multi-frame DICOM whose PerFrameFunctionalGroupsSequence does not hold one item per frame "
            f"({frames} frames): frames cannot be placed", path)
    iops, positions, spacings = [], [], []
    for k in range(frames):
        iop = _frame_numbers(ds, k, "PlaneOrientationSequence", "ImageOrientationPatient", 6)
        ipp = _frame_numbers(ds, k, "PlanePositionSequence", "ImagePositionPatient", 3)
        sp = _frame_numbers(ds, k, "PixelMeasuresSequence", "PixelSpacing", 2)
        if iop is None or ipp is None or sp is None:
            raise UnsupportedFormatError(
                f"frame {k + 1} lacks ImageOrientationPatient/ImagePositionPatient/PixelSpacing in its "
                "functional groups: the frames cannot be placed in space", path)
        check_spacing(sp, path, f"PixelSpacing of frame {k + 1}")
        for keyword in ("RescaleSlope", "RescaleIntercept"):
            try:
                value = float(_frame_attr(ds, k, "PixelValueTransformationSequence", keyword))
            except (TypeError, ValueError):
                value = float("nan")
            if not np.isfinite(value) or (keyword == "RescaleSlope" and value == 0):
                raise UnsupportedFormatError(
                    f"frame {k + 1} has no valid {keyword} (PixelValueTransformationSequence): Hounsfield "
                    "units cannot be derived with certainty", path)
        iops.append(iop)
        positions.append(ipp)
        spacings.append(sp)
    iops, spacings = np.array(iops), np.array(spacings)
    odd = np.flatnonzero(np.abs(iops - iops[0]).max(axis=1) > 1e-3)
    if len(odd):
        raise UnsupportedFormatError(
            f"{len(odd)} of {frames} frames (frame {odd[0] + 1} first) have another ImageOrientationPatient "
            "than frame 1: not one volume", path)
    odd = np.flatnonzero(np.abs(spacings - spacings[0]).max(axis=1) > 1e-3 * spacings[0].max())
    if len(odd):
        raise UnsupportedFormatError(
            f"{len(odd)} of {frames} frames (frame {odd[0] + 1} first) have another PixelSpacing than "
            "frame 1: not one volume", path)
    row, col = iops[0][:3], iops[0][3:]
    normal = np.cross(row, col)
    if np.linalg.norm(normal) < 1e-6:
        raise UnsupportedFormatError("degenerate ImageOrientationPatient (row and column parallel)", path)
    normal /= np.linalg.norm(normal)
    names = [f"frame {k + 1}" for k in range(frames)]
    _order, dz, notes = _stack_order(np.array(positions), normal, spacings[0], names, path,
                                     _tag_float(ds, "GantryDetectorTilt"))
    return (dz if dz is not None else _slice_thickness(ds)), notes


def _read_multiframe(ds, path: Path, source: Path | None = None, extra_meta: dict | None = None) -> CTImage:
    """Read an Enhanced CT (multi-frame) object as a volume, through highdicom's volume support.

    highdicom sorts the frames into a regular volume (its affine: LPS, axes (slice, row,
    column)) and applies the per-frame rescale; covidseg's checks on the geometry, the
    rescale and the padding run first, with the same tolerances as for a series."""
    import highdicom as hd

    source = path if source is None else source
    if not is_ct_dataset(ds):
        raise not_ct_error(ds, path)
    _check_samples(ds, path)
    if tag_str(ds, "PhotometricInterpretation") == "MONOCHROME1":
        raise UnsupportedFormatError("MONOCHROME1 (inverted grey scale) is not a CT HU image", path)
    _require_pixels(ds, path)
    dz, notes = _multiframe_geometry(ds, path)
    # highdicom's own spacing check (1 % by default) is given covidseg's tolerance, checked above.
    atol = max(SLICE_STEP_TOLERANCE * dz, SLICE_STEP_TOLERANCE_MM) + 1e-3
    common = dict(dtype=np.float32, apply_real_world_transform=False, apply_voi_transform=False,
                  apply_presentation_lut=False, apply_palette_color_lut=False, apply_icc_profile=False,
                  atol=atol)
    limits = _padding_range(ds)
    try:
        image = hd.Image.from_dataset(ds, copy=False)
        volume = image.get_volume(apply_modality_transform=True, **common)
        stored = image.get_volume(apply_modality_transform=False, **common).array if limits else None
    except (MemoryError, CovidsegError):
        raise
    except Exception as exc:
        try:  # a decoding failure names the transfer syntax; anything else is highdicom's reason
            _ = ds.pixel_array
        except MemoryError:
            raise
        except Exception as decode_exc:
            raise _decode_error(ds, path, decode_exc) from exc
        raise UnsupportedFormatError(
            f"the Enhanced CT frames do not form one volume (highdicom: {one_line(exc, 200)})", path) from exc
    hu = np.asarray(volume.array, dtype=np.float32)
    if hu.ndim != 3:
        raise UnsupportedFormatError(f"the Enhanced CT volume has shape {hu.shape}, not (slices, rows, columns)",
                                     path)
    n_pad = 0
    if limits is not None:
        padding = (stored >= limits[0]) & (stored <= limits[1])
        n_pad = int(padding.sum())
        hu[padding] = PADDING_HU
    check_array(hu, path)
    lps = np.asarray(volume.affine, dtype=float)[:, [2, 1, 0, 3]]  # (slice, row, col) -> (col, row, slice)
    affine = LPS_TO_RAS @ lps
    check_affine(affine, path)
    _z, rows, cols = canonical_shape(hu.shape[::-1], affine)
    check_plane_size(rows, cols, path, "the axial slice")
    array, native = to_canonical(hu.transpose(2, 1, 0), affine)
    geo = geometry_fields(native)
    meta = {"format": "DICOM", **_technical_metadata(ds), **notes, **(extra_meta or {}),
            "files": [str(path)], "frames": int(hu.shape[0]), "multiframe": True, "padding_pixels": n_pad}
    return CTImage(array=array, **geo, is_hu=True, kind="dicom-series", source=source, metadata=meta,
                   native=native)


# --------------------------------------------------------------------------------------- readers


def read_dicom_file(path: Path) -> CTImage:
    """Read one DICOM CT file: a single-frame image as a 2-D ``(Y, X)`` slice in HU, an
    Enhanced CT (multi-frame) object as a ``(Z, Y, X)`` volume (``kind`` "dicom-series").

    ``spacing`` is PixelSpacing (between rows, between columns). An axial slice is flipped /
    transposed to the radiological display ``("P", "L")``; another plane keeps the stored
    row/column order, with :attr:`CTImage.orientation` telling its directions. A localizer
    (scout) image is refused: it is a projection, not a slice.
    """
    ds = read_dataset(path, header_only=False)
    if not is_ct_dataset(ds):
        raise not_ct_error(ds, path)
    if is_localizer(ds):
        raise UnsupportedFormatError(
            f"a localizer/scout image (ImageType {one_line(tag_str(ds, 'ImageType'), 60)}): a projection "
            "radiograph, not a CT slice", path)
    if is_enhanced(ds):
        return _read_multiframe(ds, path)
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
    read (localizer-only series never). The choice is logged (``logging.info``) and recorded
    in ``metadata`` (``series_uid``, ``series_selected_by``, ``series_in_folder``). Localizer
    images inside the series are skipped (``metadata["skipped_localizers"]``); a series that
    is one Enhanced CT object is read through :func:`_read_multiframe`.
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
    datasets, skipped = _drop_localizers(datasets, folder)
    if not datasets:
        raise UnsupportedFormatError(
            f"all {len(skipped)} images of the series are localizer/scout images: no volume to read", folder)
    series_meta = {
        "series_in_folder": len(found),
        "series_selected_by": how,
        "other_series": [s.uid for s in found if s is not info],
        "skipped_localizers": skipped,
    }
    enhanced = [(ds, p) for ds, p in datasets if is_enhanced(ds)]
    if enhanced:
        if len(datasets) != 1:
            raise UnsupportedFormatError(
                f"the series holds {len(enhanced)} Enhanced CT (multi-frame) object(s) and "
                f"{len(datasets) - len(enhanced)} other image(s): read one multi-frame file at a time",
                enhanced[0][1])
        ds, p = enhanced[0]
        return _read_multiframe(ds, p, source=folder, extra_meta=series_meta)
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
                f"ImageOrientationPatient differs from that of {first_path.name}: not one volume (images "
                f"far from the main orientation are skipped as localizers only when at most {MAX_STRAY_IMAGES})",
                p
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
    names = [p.name for _, p in datasets]
    order, dz, notes = _stack_order(positions, normal, pixel_spacing, names, folder,
                                    _tag_float(first, "GantryDetectorTilt"))
    if dz is None:
        dz = _slice_thickness(first)
    meta = {"format": "DICOM", **_technical_metadata(first), **notes}
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
    meta.update(files=files, padding_pixels=n_pad, **series_meta)
    return CTImage(
        array=array,
        **geo,
        is_hu=True,
        kind="dicom-series",
        source=folder,
        metadata=meta,
        native=native,
    )
