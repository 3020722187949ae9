"""Reading a training/evaluation folder (COVID-SemiSeg layout, or NIfTI image/label pairs).

Layout (see docs/training.md)::

    <split>/images/<name>.jpg|.png|.nii.gz   8-bit windowed slices, or CT volumes in HU
    <split>/infection/<name>.png|.nii.gz     lesion mask (0/1 or 0/255)
    <split>/classes/<name>.png|.nii.gz       lesion type: 0 background, 1 GGO, 2 consolidation
    <split>/lung/<name>.png|.nii.gz          lung mask (0/1 or 0/255)
    <split>/pseudo-infection/<name>.png      (unlabeled/ only) machine lesion labels

Mask files share the image's stem. Only the mask folders the task needs must exist. A mask
with other values is refused (:func:`check_mask_values`), never guessed.
A NIfTI volume becomes one 2-D sample per axial slice (slices with lung, or with lesion
if there is no lung mask), transposed from radiological display into the axes of the 8-bit
COVID-SemiSeg slices (``covidseg.io.slice_axes``), the axes inference gives every network.

Files are read through ``covidseg.io`` (``read_image`` for images, ``read_label_map`` for
masks), with the readers' checks and one-line errors, and only in the formats
``covidseg.io.formats`` lists (JPG/PNG slices, NIfTI volumes); NIfTI volumes come in the
readers' canonical orientation, whose axial slices are in radiological display.

Intensities go through the same mapping as inference (``covidseg.io.to_unit``), stored as
8-bit grey: NIfTI HU through ``hu_window`` (default ``covidseg.io.MODEL_WINDOW``, the
window the trainer records in the model's metadata), 16-bit images min..max like predict
does, 8-bit images as they are.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from covidseg.tasks import IGNORE, build_label, get_task
from covidseg.errors import EmptyFolderError, FileMissingError, InputError
from covidseg.io.formats import NIFTI_SUFFIXES, RASTER_SUFFIXES, file_kind, is_nifti, strip_suffix
from covidseg.io.readers import read_image, read_label_map
from covidseg.io.slice_axes import display_to_model
from covidseg.io.windowing import MODEL_WINDOW, Window, intensity_range, to_uint8, to_unit

#: Files of images/ and of the mask folders: 2-D slices or NIfTI volumes (covidseg.io.formats).
SAMPLE_SUFFIXES = RASTER_SUFFIXES + NIFTI_SUFFIXES
#: The order in which a mask of a given stem is looked for (PNG first: lossless masks).
MASK_SUFFIXES = (".png", *NIFTI_SUFFIXES, *(s for s in RASTER_SUFFIXES if s != ".png"))
MASK_FOLDERS = ("infection", "classes", "lung", "pseudo-infection")


@dataclass
class Sample:
    """One 2-D training/evaluation sample at its original size."""

    name: str
    image: np.ndarray  # uint8 (H, W)
    label: np.ndarray | None  # uint8 (H, W), task label map; None for unlabeled
    files: list[Path] = field(default_factory=list)


def _stem(path: Path) -> str:
    return strip_suffix(path)


def _is_nifti(path: Path) -> bool:
    return is_nifti(path)


def list_images(folder: Path) -> list[Path]:
    """Image files of ``folder/images`` sorted by name (numbers in numeric order)."""
    images = Path(folder) / "images"
    if not images.is_dir():
        raise FileMissingError("no images/ folder (expected <folder>/images/ + one folder per mask kind)", folder)
    files = [p for p in images.iterdir()
             if p.is_file() and not p.name.startswith(".") and file_kind(p) in ("image", "nifti")]
    if not files:
        raise EmptyFolderError(f"images/ holds no {'/'.join(SAMPLE_SUFFIXES)} file", images)

    def key(p: Path):
        s = _stem(p)
        return (0, int(s), s) if s.isdigit() else (1, 0, s)

    return sorted(files, key=key)


def _find_mask(folder: Path, kind: str, stem: str) -> Path | None:
    d = folder / kind
    for suf in MASK_SUFFIXES:
        p = d / f"{stem}{suf}"
        if p.is_file():
            return p
    return None


def read_slice(path: Path) -> np.ndarray:
    """A 2-D image file as the 8-bit grey training sees: 8-bit images as stored, 16-bit ones
    min..max (:func:`to_grey`, as predict reads them)."""
    img = read_image(path)
    if img.array.ndim != 2:
        raise InputError(f"expected a 2-D slice, got shape {img.array.shape}", path)
    if img.metadata.get("bit_depth") == 8:
        return img.array.astype(np.uint8)
    return to_grey(img.array, False)  # 16-bit: not HU (unknown unit), as predict reads them


def read_volume(path: Path) -> np.ndarray:
    """A NIfTI volume as float32 ``(Z, Y, X)`` in the readers' canonical orientation (axial
    slices in radiological display: rows → posterior, columns → patient's left)."""
    return read_image(path).array


#: Values a mask file may hold: binary masks are 0/1 or 0/255 (each file one encoding),
#: lesion-type maps 0 background / 1 GGO / 2 consolidation.
BINARY_ENCODINGS = (frozenset({0, 1}), frozenset({0, 255}))
CLASS_VALUES = frozenset({0, 1, 2})


def _values(mask: np.ndarray) -> list:
    """The distinct values of ``mask`` (bincount for 8-bit masks: no sort of a big volume)."""
    if mask.dtype == np.uint8:
        return np.flatnonzero(np.bincount(mask.ravel(), minlength=256)).tolist()
    return np.unique(mask).tolist()


def check_mask_values(mask: np.ndarray, kind: str, path: Path) -> None:
    """Refuse a mask whose values covidseg would misread, naming the file and the values.

    A binary mask (``infection``, ``lung``, ``pseudo-infection``) holds 0/1 or 0/255; a
    ``classes`` map holds 0, 1 (GGO), 2 (consolidation). Anything else (0/127, a 0/50/100
    label map, a JPEG-compressed mask, a mix of both encodings) has no safe reading: a
    threshold would silently empty or fill it, so training and evaluation stop instead."""
    if mask.dtype == bool:
        return
    values = _values(mask)
    if kind == "classes":
        ok = set(values) <= CLASS_VALUES
        expected = "0 background, 1 GGO, 2 consolidation"
    else:
        ok = any(set(values) <= allowed for allowed in BINARY_ENCODINGS)
        expected = "0/1 or 0/255"
    if not ok:
        shown = ", ".join(f"{v:g}" for v in values[:8]) + (f", ... ({len(values)} values)" if len(values) > 8 else "")
        raise InputError(f"{kind} mask holds values {shown}; expected {expected} (a mask in another encoding would "
                         f"be misread: convert it)", path)


def _binary(mask: np.ndarray) -> np.ndarray:
    # Checked to be 0/1 or 0/255 (check_mask_values): any non-zero pixel is foreground.
    return mask > 0


def to_grey(values: np.ndarray, is_hu: bool, hu_window: Window = MODEL_WINDOW) -> np.ndarray:
    """8-bit grey of a slice or volume as inference would feed it (``to_unit``, then x 255):
    HU through ``hu_window``; other data min..max if beyond 0..255, else as they are."""
    value_range = None if is_hu else intensity_range(values)
    return to_uint8(to_unit(values, is_hu, hu_window, value_range))


def check_layout(folder: Path, task: str) -> None:
    """Raise a user error naming the folder if a mask folder the task needs is missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileMissingError("data folder does not exist", folder)
    for options in get_task(task).required:
        if not any((folder / o).is_dir() for o in options):
            raise FileMissingError(f"task {task!r} needs a {' or '.join(o + '/' for o in options)} mask folder", folder)


def load_folder(folder: str | Path, task: str, *, labeled: bool = True, pseudo: str | None = None,
                pseudo_map: bool = False, hu_window: Window = MODEL_WINDOW) -> list[Sample]:
    """All samples of a split folder with the task's label map.

    ``labeled=False`` reads images only; ``pseudo="pseudo-infection"`` reads the machine
    labels of an ``unlabeled/`` folder as the infection mask (label map of task ``lesion``).
    ``pseudo_map=True`` reads the ``pseudo`` files as the task's own label map, values
    0..n-1 plus 255 for pixels to ignore (what ``covidseg pseudolabel`` writes).
    ``hu_window``: the HU window of NIfTI volumes (the model records it; predict reuses it).
    """
    folder = Path(folder)
    if labeled and pseudo is None:
        check_layout(folder, task)
    samples: list[Sample] = []
    for path in list_images(folder):
        stem = _stem(path)
        masks: dict[str, np.ndarray] = {}
        mask_files: dict[str, Path] = {}
        files = [path]
        kinds = ((pseudo,) if pseudo else MASK_FOLDERS[:3]) if labeled else ()
        for kind in kinds:
            if not (folder / kind).is_dir():
                continue
            mpath = _find_mask(folder, kind, stem)
            if mpath is None:
                raise FileMissingError(f"no {kind} mask for image {path.name}", folder / kind)
            masks[kind] = read_label_map(mpath)
            if not (pseudo_map and kind == pseudo):  # teacher label maps: checked by _label_map
                check_mask_values(masks[kind], kind, mpath)
            mask_files[kind] = mpath
            files.append(mpath)
        if _is_nifti(path):
            vol = read_volume(path)
            for kind, m in masks.items():
                if m.shape != vol.shape:
                    raise InputError(f"{kind} mask shape {m.shape} differs from image shape {vol.shape} "
                                     f"of {path.name}", mask_files[kind])
            image = to_grey(vol, True, hu_window)
            keep = masks.get("lung", masks.get("infection", masks.get("classes")))
            zs = range(vol.shape[0]) if keep is None else [z for z in range(vol.shape[0]) if keep[z].any()]
            for z in zs:  # in the axes of the 8-bit slices, as inference hands them to a network
                sl = {k: np.ascontiguousarray(display_to_model(m[z])) for k, m in masks.items()}
                samples.append(Sample(f"{stem}_z{z:03d}", np.ascontiguousarray(display_to_model(image[z])),
                                      _make_label(task, sl, pseudo), files))
        else:
            image = read_slice(path)
            for kind, m in masks.items():
                if m.shape != image.shape:
                    raise InputError(f"{kind} mask shape {m.shape} differs from image shape {image.shape} "
                                     f"of {path.name}", mask_files[kind])
            if pseudo and pseudo_map and labeled:
                label = _label_map(masks[pseudo], task, mask_files[pseudo])
            else:
                label = _make_label(task, masks, pseudo) if labeled else None
            samples.append(Sample(stem, image, label, files))
    return samples


def _label_map(values: np.ndarray, task: str, path: Path) -> np.ndarray:
    """A stored task label map (teacher pseudo-labels): values must be label indices or 255."""

    if values.ndim != 2:
        raise InputError(f"a label map must be a single-channel image, got shape {values.shape}", path)
    allowed = set(range(len(get_task(task).labels))) | {IGNORE}
    found = set(np.unique(values).tolist())
    if not found <= allowed:
        raise InputError(f"label values {sorted(found - allowed)[:8]} are not labels of task {task!r} "
                         f"(allowed: 0..{len(get_task(task).labels) - 1} and {IGNORE} = ignore)", path)
    return values.astype(np.uint8)


def _make_label(task: str, masks: dict[str, np.ndarray], pseudo: str | None) -> np.ndarray | None:
    if not masks:
        return None
    if pseudo:
        return _binary(masks[pseudo]).astype(np.uint8)
    return build_label(
        task,
        lesion=_binary(masks["infection"]) if "infection" in masks else None,
        classes=masks["classes"].astype(np.uint8) if "classes" in masks else None,
        lung=_binary(masks["lung"]) if "lung" in masks else None,
    )


def data_checksum(samples: list[Sample], root: str | Path | None = None) -> str:
    """sha256 over (relative path, file sha256) of every file the samples were read from."""
    files = sorted({f for s in samples for f in s.files})
    h = hashlib.sha256()
    for f in files:
        rel = str(f.relative_to(root)) if root is not None and f.is_relative_to(root) else f.name
        fh = hashlib.sha256(f.read_bytes()).hexdigest()
        h.update(f"{rel}\0{fh}\n".encode())
    return h.hexdigest()
