"""Mask clean-up after the networks: lesions only inside the lung, no specks, tidy lungs."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from covidseg.inference.morph import dilate_in_plane, fill_holes_in_plane, lookup


def _bbox(mask: np.ndarray) -> tuple[slice, ...] | None:
    found = ndi.find_objects(mask.astype(np.uint8, copy=False))
    return found[0] if found else None


def remove_small_components(mask: np.ndarray, min_voxels: float) -> np.ndarray:
    """Drop connected components (face-connected, 3-D for volumes) smaller than ``min_voxels``."""
    mask = np.asarray(mask, bool)
    if min_voxels <= 1 or not mask.any():
        return mask
    box = _bbox(mask)
    sub = mask[box]
    labels, n = ndi.label(sub)
    sizes = np.bincount(labels.ravel())
    small = sizes < min_voxels
    small[0] = False
    if small.any():
        sub = sub & ~small[labels]  # table lookup: one pass
    out = np.zeros_like(mask)
    out[box] = sub
    return out


def fill_holes_per_slice(mask: np.ndarray) -> np.ndarray:
    """Fill holes in every axial slice (vessels in the lung); 3-D filling would also fill the
    mediastinum between lungs that meet at the apex or base."""
    return fill_holes_in_plane(mask)


def keep_largest(mask: np.ndarray, n: int = 2, min_fraction: float = 0.1) -> np.ndarray:
    """Keep the ``n`` largest components, the 2nd.. only if >= ``min_fraction`` of the largest."""
    mask = np.asarray(mask, bool)
    labels, count = ndi.label(mask)
    if count <= 1:
        return mask
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    order = np.argsort(sizes)[::-1][:n]
    keep = [order[0]] + [o for o in order[1:] if sizes[o] >= min_fraction * sizes[order[0]]]
    return lookup(labels, keep, count)


def clean_lung(mask: np.ndarray) -> np.ndarray:
    """A network's lung mask: the two lungs (largest components), holes filled."""
    return fill_holes_per_slice(keep_largest(mask))


def extend_lung_with_lesions(lung: np.ndarray, lesion: np.ndarray, reach_voxels: int) -> np.ndarray:
    """Add to ``lung`` the lesion voxels within ``reach_voxels`` (in-plane) of it.

    An HU threshold leaves out dense subpleural consolidation that is not enclosed by aerated
    lung; the network sees it as lesion, and lesion tissue next to the lung is lung.
    """
    if reach_voxels <= 0 or not lesion.any() or not lung.any():
        return lung
    extra = lesion & ~lung
    if not extra.any():
        return lung
    box = _bbox(extra | lung)
    near = dilate_in_plane(lung[box], int(reach_voxels))
    out = lung.copy()
    out[box] |= extra[box] & near
    return out


def split_classes(lesion: np.ndarray, ggo: np.ndarray | None, consolidation: np.ndarray | None) -> np.ndarray:
    """Class map (0 background, 1 GGO, 2 consolidation) over ``lesion``: the likelier type per
    voxel; GGO when no type probabilities are known (the commoner pattern in COVID-19)."""
    classes = np.zeros(lesion.shape, np.uint8)
    classes[lesion] = 1
    if ggo is not None and consolidation is not None:
        classes[lesion & (consolidation > ggo)] = 2
    return classes
