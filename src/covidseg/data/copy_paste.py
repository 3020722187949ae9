"""Copy-paste lesion augmentation: radiologist-labelled lesions moved into the lung of other slices.

40 labelled slices hold only a few hundred lesions; pasting them, with their type labels,
into the lungs of other slices (labelled or pseudo-labelled) shows the network lesions in
new surroundings. The donor's grey levels are blended in over a soft (Gaussian) edge so the
paste is not a cut-out patch, and the pasted label is kept only inside the receiver's lung.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from covidseg.tasks import LESION_VALUES, LUNG_VALUES


@dataclass(frozen=True)
class Donor:
    image: np.ndarray  # float32 (H, W) in [0, 1]
    label: np.ndarray  # uint8 (H, W) task label map
    components: np.ndarray  # int32 (H, W) connected lesion components, 0 elsewhere
    count: int


def make_donor(image_u8: np.ndarray, label: np.ndarray, task: str) -> Donor | None:
    """A donor from a labelled slice with lesions and lung (task ``all``); None if it has none."""
    inf = np.isin(label, LESION_VALUES[task])
    lung = np.isin(label, LUNG_VALUES[task]) & ~inf
    if not inf.any() or lung.sum() < 50:
        return None
    comps, n = ndi.label(inf)
    img = image_u8.astype(np.float32) / 255.0
    return Donor(img, label, comps.astype(np.int32), int(n))


def paste(image: np.ndarray, label: np.ndarray, donor: Donor, rng: np.random.Generator, task: str,
          *, edge_sigma: float = 1.0, min_lung: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """``image`` float32 (H, W) in [0, 1] and ``label`` (H, W) with some of ``donor``'s lesions
    pasted into the receiver's lung at a random place (receiver and donor share the size).
    Returns new arrays; the inputs are unchanged when the receiver has too little lung."""
    lung_values = LUNG_VALUES[task]
    lung = np.isin(label, lung_values)
    if lung.sum() < min_lung:
        return image, label
    keep = rng.random(donor.count) < 0.5
    if not keep.any():
        keep[rng.integers(donor.count)] = True
    chosen = np.isin(donor.components, np.nonzero(keep)[0] + 1)
    img, lab = donor.image, donor.label
    if rng.random() < 0.5:  # mirror the lesion (a left-lung lesion can sit in the right lung)
        chosen, img, lab = chosen[:, ::-1], img[:, ::-1], lab[:, ::-1]
    ys, xs = np.nonzero(chosen)
    ty, tx = np.argwhere(lung)[rng.integers(lung.sum())]
    dy, dx = int(ty - round(ys.mean())), int(tx - round(xs.mean()))
    moved = _shift(chosen, dy, dx) & lung
    if not moved.any():
        return image, label
    alpha = np.clip(ndi.gaussian_filter(moved.astype(np.float32), edge_sigma), 0.0, 1.0) if edge_sigma else moved.astype(np.float32)
    # the donor's own grey levels (every slice of the benchmark is in one lung window), blended
    # in over a soft edge; adding the donor's contrast to the receiver instead saturates
    # consolidation pasted into an already dense lung (looked at: white blobs)
    lesion = _shift(img, dy, dx)
    out_img = np.clip((1 - alpha) * image + alpha * lesion, 0.0, 1.0)
    out_lab = label.copy()
    out_lab[moved] = _shift(lab, dy, dx)[moved]
    return out_img.astype(np.float32), out_lab


def _shift(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``a`` moved by (dy, dx) with zero fill (no wrap-around)."""
    out = np.zeros_like(a)
    h, w = a.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = a[ys, xs]
    return out
