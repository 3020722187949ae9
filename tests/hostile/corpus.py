"""A corpus of hostile inputs: strange, broken or borderline files that covidseg must either
refuse with a one-line typed error or read correctly. Nothing is downloaded; everything is
generated in well under a second and takes about 1 MB on disk.

API (stable, used by ``tests/hostile/test_readers.py`` and the ``covidseg predict`` tests)::

    from hostile.corpus import HostileCase, make_corpus   # pytest puts tests/ on sys.path
    for case in make_corpus(tmp_path):
        case.name, case.path, case.expect ("error" | "ok"), case.match (regex for the error)

Command line: ``python tests/hostile/corpus.py OUTDIR`` writes the corpus and prints a table.
Each "error" case's ``match`` is a regex that the one-line message (``str(error)``, which
starts with the path) must match; the behaviour of each case is documented in ``docs/io.md``.
"""

from __future__ import annotations

import gzip
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image

__all__ = ["HostileCase", "make_corpus", "write_dicom", "write_series", "write_nifti", "write_enhanced",
           "compress_series", "compress_series_file", "LOCALIZER", "CORONAL", "one_lung_volume", "ONE_LUNG_SPACING",
           "white_lung_volume", "WHITE_LUNG_SPACING",
           "SIZE", "HU_BACKGROUND", "HU_DISC", "PIXEL_SPACING", "SLICE_STEP", "N_SLICES", "BOMB_SIDE", "PNG16_MAX"]

#: In-plane size of every generated image / slice (covidseg refuses images under 32x32).
SIZE = 40
#: HU of the generated DICOM/NIfTI scans: air around a soft-tissue disc.
HU_BACKGROUND, HU_DISC = -1000, 40
#: DICOM geometry: PixelSpacing (rows, columns) and distance between slices, in mm.
PIXEL_SPACING = (0.75, 0.8)
SLICE_STEP = 2.5
N_SLICES = 6
#: Side of the decompression-bomb PNG (valid file, 20000 x 20000 pixels, ~50 kB on disk).
BOMB_SIDE = 20_000
#: Maximum grey value of the 16-bit PNG (a CT exported as HU + 1024).
PNG16_MAX = 3000
#: ImageType of a localizer (scout) image, and the orientation of a coronal one.
LOCALIZER = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
CORONAL = [1, 0, 0, 0, 0, -1]
#: Enhanced CT Image Storage (multi-frame).
ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"


@dataclass(frozen=True)
class HostileCase:
    """One hostile input.

    Attributes:
        name: short id, e.g. ``"truncated-png"``.
        path: the file or folder to give to covidseg.
        expect: ``"error"`` (must be refused) or ``"ok"`` (must be read correctly).
        match: regex the one-line error message must match (``""`` for "ok").
        note: what the case is, for the table (free text).
    """

    name: str
    path: Path
    expect: str
    match: str
    note: str = ""


# ---------------------------------------------------------------------------------- builders


def _disc(size: int = SIZE) -> np.ndarray:
    """HU slice: air with a soft-tissue disc in the middle."""
    yy, xx = np.mgrid[:size, :size]
    inside = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 3) ** 2
    return np.where(inside, HU_DISC, HU_BACKGROUND).astype(np.int16)


def _noise(shape, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def write_dicom(path: Path, *, rows: int = SIZE, cols: int = SIZE, z: float = 0.0, instance: int = 1,
           series_uid: str = "1.2.826.0.1.3680043.8.498.1", modality: str = "CT",
           sop_class: str = "1.2.840.10008.5.1.4.1.1.2", rescale: bool = True, **attrs) -> Path:
    """Write one small single-frame DICOM image (stored = HU + 1024, slope 1, intercept -1024).

    ``attrs`` set (or, with value None, delete) further attributes, e.g. ``PixelSpacing``."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    sop_uid = f"{series_uid}.{instance}"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.0"
    ds.SeriesInstanceUID = series_uid
    ds.Modality = modality
    ds.SeriesNumber = 1
    ds.InstanceNumber = instance
    ds.ImagePositionPatient = [-rows * PIXEL_SPACING[1] / 2, -cols * PIXEL_SPACING[0] / 2, z]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = list(PIXEL_SPACING)
    ds.SliceThickness = SLICE_STEP
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    hu = _disc(max(rows, cols))[:rows, :cols]
    if rescale:
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
    ds.PixelData = (hu.astype(np.int32) + 1024).astype("<u2").tobytes()
    for keyword, value in attrs.items():
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_series(folder: Path, zs, *, sizes=None, rescale: bool = True, **attrs) -> Path:
    """A DICOM series folder: one file per slice position in ``zs`` (written in reverse order
    so that file names do not give the slice order away)."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, z in enumerate(zs):
        rows, cols = (sizes or {}).get(k, (SIZE, SIZE))
        write_dicom(folder / f"IM{len(zs) - k:04d}.dcm", rows=rows, cols=cols, z=float(z),
               instance=k + 1, rescale=rescale, **attrs)
    return folder


def compress_series_file(path: Path, syntax: str = "1.2.840.10008.1.2.5") -> Path:
    """Re-encode one DICOM file in a compressed transfer syntax (default RLE Lossless, which
    pydicom encodes without plugins)."""
    import pydicom

    ds = pydicom.dcmread(path)
    ds.compress(syntax)
    ds.save_as(path, enforce_file_format=True)
    return path


def compress_series(folder: Path, syntax: str = "1.2.840.10008.1.2.5") -> Path:
    """Re-encode every file of a series folder (see :func:`compress_series_file`)."""
    for path in sorted(folder.iterdir()):
        compress_series_file(path, syntax)
    return folder


def _item(**attrs):
    from pydicom.dataset import Dataset

    item = Dataset()
    for keyword, value in attrs.items():
        setattr(item, keyword, value)
    return item


def write_enhanced(path: Path, zs, *, rescale: bool = True, shift_mm: float = 0.0,
                   sop_class: str = ENHANCED_CT, **attrs) -> Path:
    """One Enhanced CT (multi-frame) file of the disc, one frame per position in ``zs``
    (stored = HU + 1024, rescale in the shared PixelValueTransformationSequence), built by
    hand with the standard functional groups. ``shift_mm`` moves each frame that much
    further along y per frame (a gantry-tilted stack)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian

    uid = "1.2.826.0.1.3680043.8.498.7"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = uid + ".1"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, uid + ".1"
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = uid + ".0", uid, uid + ".9"
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", 1, 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    ds.NumberOfFrames, ds.Rows, ds.Columns = len(zs), SIZE, SIZE
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    shared = _item(PixelMeasuresSequence=Sequence([_item(PixelSpacing=list(PIXEL_SPACING), SliceThickness=SLICE_STEP)]),
                   PlaneOrientationSequence=Sequence([_item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0])]))
    if rescale:
        shared.PixelValueTransformationSequence = Sequence(
            [_item(RescaleIntercept=-1024, RescaleSlope=1, RescaleType="HU")])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    x0, y0 = -SIZE * PIXEL_SPACING[1] / 2, -SIZE * PIXEL_SPACING[0] / 2
    ds.PerFrameFunctionalGroupsSequence = Sequence([
        _item(PlanePositionSequence=Sequence([_item(ImagePositionPatient=[x0, y0 + shift_mm * k, float(z)])]),
              FrameContentSequence=Sequence([_item(FrameAcquisitionNumber=1)]))
        for k, z in enumerate(zs)])
    ds.PixelData = (np.repeat(_disc()[None], len(zs), 0).astype(np.int32) + 1024).astype("<u2").tobytes()
    for keyword, value in attrs.items():
        setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_nifti(path: Path, data: np.ndarray, affine=None, **patch) -> Path:
    """Write a NIfTI-1 file; ``patch`` sets raw header fields afterwards (e.g. ``pixdim``,
    ``srow_x``) in the bytes themselves, because nibabel 'fixes' zero or negative spacing
    and refuses singular affines when it builds a header."""
    img = nib.Nifti1Image(data, np.diag([0.8, 0.8, SLICE_STEP, 1.0]) if affine is None else affine)
    raw = img.to_bytes()
    if patch:
        hdr = nib.Nifti1Header(binaryblock=raw[:348], check=False)
        for key, value in patch.items():
            hdr[key] = value
        raw = hdr.binaryblock + raw[348:]
    path.write_bytes(gzip.compress(raw, compresslevel=1) if path.name.endswith(".gz") else raw)
    return path


def _ct_volume(nz: int = 4) -> np.ndarray:
    """(x, y, z) int16 HU volume of the disc."""
    return np.repeat(_disc()[:, :, None], nz, axis=2)


#: Voxel size (x, y, z) in mm of :func:`one_lung_volume`.
ONE_LUNG_SPACING = (8.0, 8.0, 10.0)


def one_lung_volume() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A chest whose right lung is airless (+40 HU, as after pneumonectomy, collapse or a
    whited-out lung): (x, y, z) int16 HU data, its RAS affine (x toward the patient's left,
    y toward posterior, z toward the head) and the left lung's mask."""
    sx, sy, sz = ONE_LUNG_SPACING
    i, j, k = np.mgrid[:SIZE, :SIZE, :16]
    body = ((i - 20) / 17) ** 2 + ((j - 20) / 13) ** 2 < 1
    left = ((i - 28) / 6) ** 2 + ((j - 20) / 8) ** 2 < 1
    lung = left & (k >= 2) & (k <= 13)
    data = np.where(body, HU_DISC, HU_BACKGROUND).astype(np.int16)
    data[lung] = -850
    return data, np.diag([-sx, -sy, sz, 1.0]), lung


#: Voxel size (x, y, z) in mm of :func:`white_lung_volume`.
WHITE_LUNG_SPACING = (5.0, 5.0, 8.0)


def white_lung_volume() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A chest whose right lung is airless but present: +35 +- 15 HU consolidation carrying
    air bronchograms (-900 HU tubes, one voxel wide, branching from the hilum) beside an
    aerated left lung (its mirror image). Returns (x, y, z) int16 HU data, its RAS affine (x
    toward the patient's left, y posterior, z head) and the masks of the consolidated right
    and the aerated left lung."""
    sx, sy, sz = WHITE_LUNG_SPACING
    n = 64
    i, j, k = np.mgrid[:n, :n, :24]
    body = ((i - 32) / 29) ** 2 + ((j - 32) / 21) ** 2 < 1
    slab = (k >= 3) & (k <= 20)
    right = (((i - 18) / 10) ** 2 + ((j - 31) / 14) ** 2 < 1) & slab
    left = (((i - 46) / 10) ** 2 + ((j - 31) / 14) ** 2 < 1) & slab
    data = np.where(body, HU_DISC, HU_BACKGROUND).astype(np.int16)
    data[left] = -850
    rng = np.random.default_rng(15)
    data[right] = np.rint(35 + 15 * rng.standard_normal(int(right.sum()))).astype(np.int16)
    hilum = np.array([25.0, 31.0, 12.0])
    for target in ([10, 31, 12], [12, 21, 16], [12, 41, 16], [13, 24, 6], [13, 38, 6], [20, 31, 19], [19, 31, 4]):
        for t in np.linspace(0.0, 1.0, 60):
            v = tuple(np.rint(hilum + t * (np.asarray(target, float) - hilum)).astype(int))
            if right[v]:
                data[v] = -900
    return data, np.diag([-sx, -sy, sz, 1.0]), right, left


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb_png(path: Path, side: int = BOMB_SIDE) -> Path:
    """A valid 1-bit grey PNG of side x side pixels (~50 kB on disk) whose pixels never exist
    in memory; decoding it would need side² bytes (400 MB for 20000²).

    The rows are streamed through ``zlib.compressobj``. All rows are black, so one block of
    rows is compressed after a full flush (which resets the compressor: the block refers to
    no earlier data) and that self-contained piece of deflate stream is repeated; the
    trailing Adler-32 is computed over the whole pixel stream."""
    row = b"\x00" + bytes((side + 7) // 8)  # filter byte 0 + packed black pixels
    per_block = 256
    block = row * per_block
    n_blocks, rest = divmod(side, per_block)
    comp = zlib.compressobj(9)
    head = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)  # zlib header + first block
    again = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)  # self-contained: repeatable
    tail = comp.compress(row * rest) + comp.flush()  # final block + Adler-32 of what comp saw
    adler = 1
    for _ in range(n_blocks):
        adler = zlib.adler32(block, adler)
    adler = zlib.adler32(row * rest, adler)
    with open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n")
        fh.write(_png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)))
        fh.write(_png_chunk(b"IDAT", head))
        for start in range(1, n_blocks, 32):  # 32 blocks (8192 rows) per IDAT chunk
            fh.write(_png_chunk(b"IDAT", again * min(32, n_blocks - start)))
        fh.write(_png_chunk(b"IDAT", tail[:-4] + struct.pack(">I", adler)))
        fh.write(_png_chunk(b"IEND", b""))
    return path


def _damage_rle(path: Path) -> Path:
    """Re-encode a DICOM file as RLE Lossless and cut its RLE data to a third (GDCM decodes
    a damaged header alone, so the data itself must be missing)."""
    import pydicom
    from pydicom.encaps import encapsulate, generate_frames

    ds = pydicom.dcmread(path)
    ds.compress("1.2.840.10008.1.2.5")
    frame = bytearray(next(generate_frames(ds.PixelData, number_of_frames=1)))
    cut = bytes(frame[: len(frame) // 3])
    ds.PixelData = encapsulate([cut + b"\x00" * (len(cut) % 2)])
    ds.save_as(path, enforce_file_format=True)
    return path


def _truncate(path: Path, keep: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


# ---------------------------------------------------------------------------------- the corpus


def make_corpus(root: Path) -> list[HostileCase]:
    """Write every hostile case under ``root`` (created if needed) and return them.

    Safe to call twice on the same root (files are rewritten)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    cases: list[HostileCase] = []

    def add(name, path, expect, match="", note=""):
        if expect not in ("ok", "error"):  # pragma: no cover - corpus author error
            raise ValueError(f"expect must be 'ok' or 'error', got {expect!r}")
        cases.append(HostileCase(name, Path(path), expect, match, note))

    def sub(name: str) -> Path:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # --- empty and truncated files
    empty = root / "empty.png"
    empty.write_bytes(b"")
    add("empty-file", empty, "error", r"empty \(0 bytes\)", "0-byte .png")

    png = root / "truncated.png"
    Image.fromarray(_noise((64, 64), 1)).save(png)
    add("truncated-png", _truncate(png), "error", r"not a readable PNG image", "PNG cut in half")

    jpg = root / "truncated.jpg"
    Image.fromarray(_noise((64, 64), 2)).save(jpg, quality=95)
    add("truncated-jpg", _truncate(jpg), "error", r"not a readable JPG image", "JPG cut in half")

    noisy = np.random.default_rng(3).integers(-1000, 1000, (SIZE, SIZE, 8), dtype=np.int16)
    nii = write_nifti(root / "truncated.nii.gz", noisy)
    add("truncated-nifti", _truncate(nii), "error", r"truncated", ".nii.gz cut in half")

    dcm = write_dicom(root / "truncated.dcm")
    add("truncated-dicom", _truncate(dcm, 0.6), "error", r"truncated|not a readable DICOM",
        "DICOM with half its pixel data")

    text = root / "notes.nii.gz"
    text.write_text("Patient report: no findings.\n" * 10)
    add("text-as-nifti", text, "error", r"not a readable NIfTI", "text file named .nii.gz")

    noise_dcm = root / "noise.dcm"
    noise_dcm.write_bytes(_noise(4096, 4).tobytes())
    add("random-bytes-dcm", noise_dcm, "error", r"not a readable DICOM", "random bytes named .dcm")

    # cases that were once separate tests in tests/io/test_io_errors.py
    whole = write_nifti(root / "truncated-uncompressed.nii",
                        np.random.default_rng(5).integers(-1000, 1000, (SIZE, SIZE, 8), dtype=np.int16))
    add("truncated-nifti-uncompressed", _truncate(whole, 0.7), "error", r"may be truncated",
        "uncompressed .nii missing its last voxels")
    garbage = root / "garbage.nii.gz"
    garbage.write_bytes(gzip.compress(b"definitely not a nifti header" * 20))
    add("gzip-garbage-as-nifti", garbage, "error", r"not a readable NIfTI", "valid gzip of garbage named .nii.gz")
    notes = root / "notes.txt"
    notes.write_text("a CT report, not an image\n")
    add("unsupported-file", notes, "error", r"unsupported file type; covidseg reads .*\.nii\.gz",
        ".txt file given directly: says what is supported")

    # --- NIfTI values and geometry
    nan = _ct_volume().astype(np.float32)
    nan[3, 4, 1] = np.nan
    nan[5, 6, 2] = np.inf
    nan[7, 8, 3] = -np.inf
    add("nifti-nan-inf", write_nifti(root / "nan.nii.gz", nan), "error", r"\b3 of \d+ voxels are NaN or infinite",
        "float NIfTI with 1 NaN, 2 Inf")
    add("nifti-zero-spacing", write_nifti(root / "zero-spacing.nii.gz", _ct_volume(), sform_code=0,
                                                  pixdim=[1, 0.8, 0.8, 0.0, 1, 1, 1, 1]),
        "error", r"spacing .*must be positive", "pixdim[3] = 0")
    add("nifti-negative-spacing",
        write_nifti(root / "negative-spacing.nii.gz", _ct_volume(), sform_code=0,
               pixdim=[1, 0.8, -0.8, 2.5, 1, 1, 1, 1]),
        "error", r"spacing .*must be positive", "pixdim[2] = -0.8")
    singular = write_nifti(root / "singular.nii.gz", _ct_volume(), qform_code=0, sform_code=1,
                      srow_x=[0.8, 0, 0, 0], srow_y=[0.8, 0, 0, 0], srow_z=[0, 0, 2.5, 0])
    add("nifti-singular-affine", singular, "error",
        r"degenerate", "sform with two identical axes")
    add("nifti-4d", write_nifti(root / "4d.nii.gz", np.stack([_ct_volume()] * 3, axis=-1)), "error",
        r"4 dimensions", "3 volumes (x, y, z, t)")
    add("nifti-4d-one-volume", write_nifti(root / "4d-one.nii.gz", _ct_volume()[..., None]), "ok", "",
        "trailing axis of length 1: squeezed")
    add("nifti-1d", write_nifti(root / "1d.nii.gz", np.full(64, -1000, np.int16)), "error",
        r"need 2 or 3 dimensions", "shape (64,)")
    add("nifti-one-pixel-row", write_nifti(root / "row.nii.gz", np.full((64, 1), -1000, np.int16)), "error",
        r"too small", "2-D, 64 x 1 pixels")
    huge = write_nifti(root / "huge-header.nii", np.full((SIZE, SIZE, 2), -1000, np.int16),
                  dim=[3, 30_000, 30_000, 5_000, 1, 1, 1, 1])
    add("nifti-huge-header", huge, "error", r"too large",
        "header claims 30000x30000x5000 voxels, file holds 6 kB")

    mha = root / "negative-spacing.mha"
    mha.write_bytes(
        b"ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
        b"TransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\nElementSpacing = 0.8 -0.8 2.5\n"
        + f"DimSize = {SIZE} {SIZE} 2\nElementType = MET_SHORT\nElementDataFile = LOCAL\n".encode()
        + bytes(SIZE * SIZE * 2 * 2)
    )
    add("mha-negative-spacing", mha, "error", r"spacing .*must be positive", "MetaImage ElementSpacing -0.8")

    one_lung, one_lung_affine, _ = one_lung_volume()
    add("nifti-one-lung", write_nifti(root / "one-lung.nii.gz", one_lung, one_lung_affine), "ok", "",
        "chest with an airless right lung: right 0 mL, a warning (tests/hostile/test_predict_one_lung.py)")
    white_lung, white_lung_affine, _, _ = white_lung_volume()
    add("nifti-white-lung", write_nifti(root / "white-lung.nii.gz", white_lung, white_lung_affine), "ok", "",
        "chest with a consolidated right lung carrying air bronchograms: counted as lung and consolidation, "
        "a warning (tests/hostile/test_predict_white_lung.py)")

    # --- DICOM objects
    add("dicom-mr", write_dicom(root / "mr.dcm", modality="MR", sop_class="1.2.840.10008.5.1.4.1.1.4"),
        "error", r"'MR'", "Modality MR")
    add("dicom-secondary-capture",
        write_dicom(root / "screenshot.dcm", sop_class="1.2.840.10008.5.1.4.1.1.7"),
        "error", r"Secondary Capture", "Modality CT but Secondary Capture SOP class")
    add("dicom-zero-pixel-spacing", write_dicom(root / "zero-pixel-spacing.dcm", PixelSpacing=[0, 0]),
        "error", r"PixelSpacing .*must be positive", "PixelSpacing 0\\0")
    zs = [SLICE_STEP * k for k in range(N_SLICES)]
    add("dicom-series-gap", write_series(sub("series-gap"), zs[:3] + zs[4:]), "error", r"gap",
        "6 positions, the 4th missing")
    add("dicom-series-duplicate", write_series(sub("series-duplicate"), zs[:3] + [zs[2]] + zs[3:]), "error",
        r"share a slice position", "two images at one position")
    add("dicom-series-mixed-size", write_series(sub("series-mixed-size"), zs, sizes={2: (SIZE, SIZE + 8)}),
        "error", r"image size .*differs", "one image 40x48 among 40x40")
    mixed = write_series(sub("series-mixed-spacing"), zs)
    write_dicom(mixed / f"IM{N_SLICES - 2:04d}.dcm", z=zs[2], instance=3, PixelSpacing=[0.9, 0.9])
    add("dicom-series-mixed-spacing", mixed, "error", r"PixelSpacing .*differs",
        "one image with PixelSpacing 0.9 among 0.75\\0.8")
    add("dicom-series-no-rescale", write_series(sub("series-no-rescale"), zs, rescale=False), "error",
        r"RescaleSlope", "no RescaleSlope/RescaleIntercept")

    # --- DICOM as hospitals send it: localizers, Enhanced CT, compression, gantry tilt
    add("dicom-localizer-file", write_dicom(root / "localizer.dcm", ImageType=LOCALIZER, ImageOrientationPatient=CORONAL),
        "error", r"localizer/scout image", "one localizer (scout) image given as the input")
    scouts = sub("series-localizers-only")
    write_dicom(scouts / "AP.dcm", instance=1, ImageType=LOCALIZER, ImageOrientationPatient=CORONAL)
    write_dicom(scouts / "LAT.dcm", instance=2, ImageType=LOCALIZER, ImageOrientationPatient=[0, 1, 0, 0, 0, -1])
    add("dicom-series-localizers-only", scouts, "error", r"localizer", "a series of 2 localizers, nothing else")
    with_scouts = write_series(sub("series-with-localizers"), zs)
    write_dicom(with_scouts / "SCOUT1.dcm", instance=90, ImageType=LOCALIZER, ImageOrientationPatient=CORONAL)
    write_dicom(with_scouts / "SCOUT2.dcm", instance=91, ImageOrientationPatient=[0, 1, 0, 0, 0, -1])
    add("dicom-series-with-localizers", with_scouts, "ok", "",
        "6 axial slices + a LOCALIZER image + an image of another orientation (skipped)")
    mixed_orientation = write_series(sub("series-mixed-orientation"), zs)
    for k in range(4):
        write_dicom(mixed_orientation / f"COR{k}.dcm", instance=50 + k, z=float(k), ImageOrientationPatient=CORONAL)
    add("dicom-series-mixed-orientation", mixed_orientation, "error", r"ImageOrientationPatient differs",
        "6 axial + 4 coronal images: two reconstructions, not localizers")
    tilted = sub("series-gantry-tilt")
    shift = SLICE_STEP * float(np.tan(np.radians(20)))
    for k, z in enumerate(zs):
        write_dicom(tilted / f"IM{k + 1:04d}.dcm", z=z, instance=k + 1, GantryDetectorTilt=20,
                    ImagePositionPatient=[-SIZE * PIXEL_SPACING[1] / 2, -SIZE * PIXEL_SPACING[0] / 2 + shift * k, z])
    add("dicom-series-gantry-tilt", tilted, "error", r"gantry-tilted",
        "slice positions move 0.91 mm in y per 2.5 mm in z (20 degree tilt)")
    add("dicom-series-rle", compress_series(write_series(sub("series-rle"), zs)), "ok", "",
        "RLE Lossless (compressed transfer syntax)")
    damaged = write_dicom(root / "damaged-rle.dcm")
    _damage_rle(damaged)
    add("dicom-damaged-rle", damaged, "error", r"cannot decode .*transfer syntax RLE Lossless",
        "RLE Lossless cut to a third of its data")
    unknown = compress_series_file(write_dicom(root / "unknown-syntax.dcm"))
    # same length (20 bytes): the file stays well formed, only the syntax is unknown
    unknown.write_bytes(unknown.read_bytes().replace(b"1.2.840.10008.1.2.5\x00", b"1.2.840.10008.1.2.77", 1))
    add("dicom-unknown-transfer-syntax", unknown, "error", r"transfer syntax 1\.2\.840\.10008\.1\.2\.77\b",
        "encapsulated pixel data in a transfer syntax no decoder knows")
    add("dicom-enhanced-ct", write_enhanced(root / "enhanced.dcm", zs[::-1]), "ok", "",
        "Enhanced CT: 6 frames in one file, frames stored top-down")
    add("dicom-enhanced-no-rescale", write_enhanced(root / "enhanced-no-rescale.dcm", zs, rescale=False), "error",
        r"RescaleSlope", "Enhanced CT without PixelValueTransformationSequence")
    add("dicom-enhanced-gantry-tilt", write_enhanced(root / "enhanced-tilt.dcm", zs, shift_mm=shift), "error",
        r"gantry-tilted", "Enhanced CT whose frame positions drift in-plane (20 degree tilt)")

    # --- plain images
    deep = root / "deep16.png"
    ramp = np.linspace(0, PNG16_MAX, SIZE * SIZE).reshape(SIZE, SIZE).astype(np.uint16)
    Image.fromarray(ramp).save(deep)
    add("png-16bit", deep, "ok", "", f"16-bit grey 0..{PNG16_MAX}")

    grey = np.where(_disc() > 0, 200, 30).astype(np.uint8)
    rgba = np.dstack([grey, grey, grey, np.full_like(grey, 255)])
    Image.fromarray(rgba, mode="RGBA").save(root / "rgba-opaque.png")
    add("png-rgba-opaque", root / "rgba-opaque.png", "ok", "", "RGBA, alpha 255 everywhere")
    clear = rgba.copy()
    clear[:4, :, :3] = 255  # white under fully transparent pixels: must not show through
    clear[:4, :, 3] = 0
    Image.fromarray(clear, mode="RGBA").save(root / "rgba-transparent.png")
    add("png-rgba-transparent", root / "rgba-transparent.png", "ok", "",
        "top 4 rows fully transparent (white beneath) -> black")
    half = rgba.copy()
    half[10:12, 10:12, 3] = 128
    Image.fromarray(half, mode="RGBA").save(root / "rgba-translucent.png")
    add("png-rgba-translucent", root / "rgba-translucent.png", "error", r"partially transparent",
        "4 pixels with alpha 128")

    Image.fromarray(grey).save(root / "jpeg-content.png", format="JPEG", quality=100)
    add("jpg-named-png", root / "jpeg-content.png", "ok", "", "JPEG data in a file named .png")

    Image.fromarray(np.zeros((1, 1), np.uint8)).save(root / "one-pixel.png")
    add("png-1x1", root / "one-pixel.png", "error", r"too small", "1 x 1 pixel")
    add("png-bomb", _bomb_png(root / "bomb.png"), "error", r"too large",
        f"valid {BOMB_SIDE}x{BOMB_SIDE} PNG, refused from its header")

    # --- more formats (once separate tests in tests/io/test_io_errors.py)
    import pydicom
    import SimpleITK as sitk

    add("dicom-seg", write_dicom(root / "seg.dcm", modality="SEG", sop_class="1.2.840.10008.5.1.4.1.1.66.4"),
        "error", r"modality is 'SEG'.*not CT", "a DICOM segmentation object")
    multi = write_dicom(root / "multiframe.dcm")
    ds = pydicom.dcmread(multi)
    ds.PixelData, ds.NumberOfFrames = ds.PixelData * 2, 2
    ds.save_as(multi)
    add("dicom-multiframe-ct", multi, "error", r"multi-frame DICOM .*convert it",
        "2 frames in a classic CT Image without per-frame geometry")
    nrrd4 = root / "4d.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((2, 3, SIZE, SIZE), np.int16), isVector=False), str(nrrd4))
    add("nrrd-4d", nrrd4, "error", r"4 dimensions", "4-D NRRD")
    nan_mha = np.full((3, SIZE, SIZE), -1000, np.float32)
    nan_mha[0, 0, 0] = np.nan
    sitk.WriteImage(sitk.GetImageFromArray(nan_mha), str(root / "nan.mha"))
    add("mha-nan", root / "nan.mha", "error", r"\b1 of \d+ voxels are NaN or infinite", "MetaImage with a NaN")
    vol = sitk.GetImageFromArray(np.ascontiguousarray(_ct_volume(8).transpose(2, 1, 0)))
    vol.SetSpacing((PIXEL_SPACING[1], PIXEL_SPACING[0], SLICE_STEP))
    whole_nrrd = root / "whole.nrrd"
    sitk.WriteImage(vol, str(whole_nrrd), useCompression=False)
    cut_nrrd = root / "truncated.nrrd"
    cut_nrrd.write_bytes(whole_nrrd.read_bytes()[: whole_nrrd.stat().st_size // 2])
    whole_nrrd.unlink()
    add("truncated-nrrd", cut_nrrd, "error", r"not a readable nrrd file", "raw NRRD cut in half")
    singular_mha = root / "singular.mha"
    singular_mha.write_bytes(
        b"ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
        b"TransformMatrix = 1 0 0 1 0 0 0 0 1\nOffset = 0 0 0\nElementSpacing = 1 1 1\n"
        + f"DimSize = {SIZE} {SIZE} 3\nElementType = MET_SHORT\nElementDataFile = LOCAL\n".encode()
        + bytes(SIZE * SIZE * 3 * 2))
    add("mha-singular-direction", singular_mha, "error", r"not a readable metaimage file .*direction",
        "MetaImage whose TransformMatrix repeats an axis (ITK refuses it)")
    empty_axis = root / "empty-axis.nii"
    nib.save(nib.Nifti1Image(np.zeros((4, 0, 3), np.int16), np.eye(4)), str(empty_axis))
    add("nifti-empty-axis", empty_axis, "error", r"empty|too small", "NIfTI with an axis of length 0")

    # --- folders
    add("empty-folder", sub("empty-folder"), "error", r"folder is empty", "no file at all")
    unrelated = sub("unrelated-files")
    (unrelated / "notes.txt").write_text("not an image\n")
    (unrelated / "table.csv").write_text("a,b\n1,2\n")
    add("unrelated-files", unrelated, "error", r"supported type", ".txt and .csv only")

    # --- awkward but valid paths
    uni = root / "CT scans" / "患者 ñ"
    uni.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grey).save(uni / "slice 1 é.png")
    add("unicode-image", uni / "slice 1 é.png", "ok", "", "space + non-ASCII path")
    add("unicode-dicom-series", write_series(uni / "série 1", zs), "ok", "", "space + non-ASCII path")
    return cases


def _main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/hostile/corpus.py OUTDIR", file=sys.stderr)
        return 2
    import time

    t0 = time.perf_counter()
    cases = make_corpus(Path(argv[0]))
    dt = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in Path(argv[0]).rglob("*") if p.is_file())
    width = max(len(c.name) for c in cases)
    print(f"{'case':{width}}  expect  {'match':32}  note / path")
    for c in cases:
        print(f"{c.name:{width}}  {c.expect:6}  {c.match:32}  {c.note} ({c.path})")
    print(f"{len(cases)} cases in {dt:.2f} s, {size / 1e6:.2f} MB on disk")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
