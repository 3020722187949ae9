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
if there is no lung mask), rotated to radiological display like the 8-bit slices.

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
from PIL import Image

from covidseg.errors import EmptyFolderError, FileMissingError, InputError, UnreadableFileError
from covidseg.data.tasks import build_label, get_task
from covidseg.io.windowing import MODEL_WINDOW, Window, intensity_range, to_uint8, to_unit

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
NIFTI_SUFFIXES = (".nii.gz", ".nii")
MASK_FOLDERS = ("infection", "classes", "lung", "pseudo-infection")


@dataclass
class Sample:
    """One 2-D training/evaluation sample at its original size."""

    name: str
    image: np.ndarray  # uint8 (H, W)
    label: np.ndarray | None  # uint8 (H, W), task label map; None for unlabeled
    files: list[Path] = field(default_factory=list)


def _stem(path: Path) -> str:
    name = path.name
    for suf in NIFTI_SUFFIXES:
        if name.lower().endswith(suf):
            return name[: -len(suf)]
    return path.stem


def _is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def list_images(folder: Path) -> list[Path]:
    """Image files of ``folder/images`` sorted by name (numbers in numeric order)."""
    images = Path(folder) / "images"
    if not images.is_dir():
        raise FileMissingError("no images/ folder (expected <folder>/images/ + one folder per mask kind)", folder)
    files = [p for p in images.iterdir() if p.is_file() and (p.suffix.lower() in IMAGE_SUFFIXES or _is_nifti(p))]
    if not files:
        raise EmptyFolderError("images/ holds no .jpg/.png/.nii(.gz) file", images)

    def key(p: Path):
        s = _stem(p)
        return (0, int(s), s) if s.isdigit() else (1, 0, s)

    return sorted(files, key=key)


def _find_mask(folder: Path, kind: str, stem: str) -> Path | None:
    d = folder / kind
    for suf in (".png", *NIFTI_SUFFIXES, ".bmp", ".tif", ".jpg"):
        p = d / f"{stem}{suf}"
        if p.is_file():
            return p
    return None


def _read_2d(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            if im.mode not in ("L", "P", "1", "I", "I;16"):
                im = im.convert("L")
            return np.asarray(im)
    except (OSError, ValueError) as exc:
        raise UnreadableFileError(f"cannot decode image ({exc})", path) from None


def _read_nifti(path: Path) -> np.ndarray:
    """Volume as (Z, Y, X) in radiological display orientation (rows→posterior, cols→patient left)."""
    import nibabel as nib

    try:
        img = nib.as_closest_canonical(nib.load(str(path)))  # RAS+
        data = np.asarray(img.dataobj)
    except Exception as exc:  # nibabel raises many types for corrupt files
        raise UnreadableFileError(f"cannot read NIfTI ({exc})", path) from None
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InputError(f"expected a 3-D volume, got shape {data.shape}", path)
    # (X: →right, Y: →anterior, Z) → (Z, Y: →posterior, X: →left)
    return np.ascontiguousarray(data[::-1, ::-1, :].transpose(2, 1, 0))


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
            masks[kind] = _read_nifti(mpath) if _is_nifti(mpath) else _read_2d(mpath)
            if not (pseudo_map and kind == pseudo):  # teacher label maps: checked by _label_map
                check_mask_values(masks[kind], kind, mpath)
            mask_files[kind] = mpath
            files.append(mpath)
        if _is_nifti(path):
            vol = _read_nifti(path)
            for kind, m in masks.items():
                if m.shape != vol.shape:
                    raise InputError(f"{kind} mask shape {m.shape} differs from image shape {vol.shape} "
                                     f"of {path.name}", mask_files[kind])
            image = to_grey(vol, True, hu_window)
            keep = masks.get("lung", masks.get("infection", masks.get("classes")))
            zs = range(vol.shape[0]) if keep is None else [z for z in range(vol.shape[0]) if keep[z].any()]
            for z in zs:
                sl = {k: m[z] for k, m in masks.items()}
                samples.append(Sample(f"{stem}_z{z:03d}", image[z], _make_label(task, sl, pseudo), files))
        else:
            image = _read_2d(path)
            if image.ndim != 2:
                raise InputError(f"expected a grayscale slice, got shape {image.shape}", path)
            if image.dtype != np.uint8:  # 16-bit / 32-bit: not HU (unknown unit), as predict reads them
                image = to_grey(image.astype(np.float32), False)
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
    from covidseg.data.dataset import IGNORE

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
        infection=_binary(masks["infection"]) if "infection" in masks else None,
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
