"""Tiny synthetic splits in the COVID-SemiSeg layout, for smoke tests and tests.

Each slice: a dark background, two bright-ish "lungs" (ellipses), and inside them a
brighter GGO blob and sometimes a brightest consolidation blob. Masks: infection/,
classes/ (0/1/2), lung/ (0/255), like the real data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def make_slice(rng: np.random.Generator, h: int, w: int, consolidation: bool = True):
    yy, xx = np.mgrid[:h, :w]
    lung = np.zeros((h, w), bool)
    for cx in (w * 0.3, w * 0.7):
        lung |= ((yy - h / 2) / (h * 0.35)) ** 2 + ((xx - cx) / (w * 0.16)) ** 2 <= 1
    classes = np.zeros((h, w), np.uint8)
    cy, cx = rng.uniform(0.35, 0.65) * h, rng.choice([0.3, 0.7]) * w
    r = rng.uniform(0.08, 0.14) * min(h, w)
    classes[((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r) & lung] = 1
    if consolidation:
        classes[((yy - cy) ** 2 + (xx - cx) ** 2 <= (r / 2) ** 2) & lung] = 2
    image = np.full((h, w), 20.0)
    image[lung] = 60
    image[classes == 1] = 140
    image[classes == 2] = 220
    image += rng.normal(0, 8, (h, w))
    return np.clip(image, 0, 255).astype(np.uint8), classes, lung


def make_split(folder: str | Path, n: int = 8, size: tuple[int, int] = (48, 40), seed: int = 0) -> Path:
    """Write ``n`` synthetic slices with all three mask kinds into ``folder``; returns it."""
    folder = Path(folder)
    for sub in ("images", "infection", "classes", "lung"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        h, w = size
        image, classes, lung = make_slice(rng, h, w, consolidation=i % 2 == 0)
        Image.fromarray(image).save(folder / "images" / f"{i}.png")
        Image.fromarray(((classes > 0) * 255).astype(np.uint8)).save(folder / "infection" / f"{i}.png")
        Image.fromarray(classes).save(folder / "classes" / f"{i}.png")
        Image.fromarray((lung * 255).astype(np.uint8)).save(folder / "lung" / f"{i}.png")
    return folder
