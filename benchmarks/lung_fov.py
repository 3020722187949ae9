"""Lung Dice of the classical HU lung on reduced fields of view made from cip-ct64, and the
time of the HU lung step on a synthetic 300x512x512 volume (docs/predict.md, "Field of view").

    PYTHONPATH=src .venv/bin/python benchmarks/lung_fov.py [--ct-examples DIR] [--skip-timing]

Each case crops cip-ct64 to inside the body / through the lungs, pads it with soft tissue
(+40 HU) or blanks a circular field of view, runs the HU lung and compares it with the lung
of the full field of view on the same voxels (and with the reference mask).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from covidseg.inference.lung_hu import segment_lungs_hu
from covidseg.inference.morph import IN_PLANE_3D, border_labels, lookup
from covidseg.io import read_image

ROOT = Path(__file__).resolve().parents[1]


def dice(a, b) -> float:
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    return 2.0 * np.count_nonzero(a & b) / max(1, np.count_nonzero(a) + np.count_nonzero(b))


def outside_air(hu):
    labels, n = ndi.label(hu < -400, structure=IN_PLANE_3D)
    return lookup(labels, border_labels(labels), n)


def cases(hu):
    """name -> (volume, in-plane box of original voxels, padding, keep-mask or None)."""
    filled = np.where(outside_air(hu), 40.0, hu)
    y, x = np.mgrid[: hu.shape[1], : hu.shape[2]]
    circle = (y - 30) ** 2 + (x - 32) ** 2 > 26 ** 2
    inside, through = (slice(6, 54), slice(2, 62)), (slice(12, 50), slice(8, 56))
    full = (slice(None), slice(None))
    return {
        "crop inside the body (48x60)": (hu[:, inside[0], inside[1]], inside, 0, None),
        "crop inside the body, outside air -> +40 HU": (filled[:, inside[0], inside[1]], inside, 0, None),
        "crop inside the body, padded 16 px with +40 HU": (
            np.pad(filled[:, inside[0], inside[1]], ((0, 0), (16, 16), (16, 16)), constant_values=40), inside, 16,
            None),
        "crop through both lungs (38x48)": (hu[:, through[0], through[1]], through, 0, None),
        "crop through both lungs, outside air -> +40 HU": (filled[:, through[0], through[1]], through, 0, None),
        "crop through both lungs, padded 8 px with +40 HU": (
            np.pad(filled[:, through[0], through[1]], ((0, 0), (8, 8), (8, 8)), constant_values=40), through, 8, None),
        "lateral crop x 10:54 (cuts both lungs)": (hu[:, :, 10:54], (slice(None), slice(10, 54)), 0, None),
        "one side cropped x 0:40": (hu[:, :, 0:40], (slice(None), slice(0, 40)), 0, None),
        "circular FOV r = 108 mm, outside -3024": (np.where(circle, -3024.0, hu), full, 0, ~circle),
        "circular FOV r = 108 mm, outside -1024": (np.where(circle, -1024.0, hu), full, 0, ~circle),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ct-examples", default=str(ROOT.parent / "shared" / "data" / "ct-examples"))
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args(argv)
    ct = Path(args.ct_examples)
    img = read_image(ct / "cip-ct64.nii.gz")
    ref = read_image(ct / "cip-ct64-lung.nii.gz").array > 0
    hu = img.array.astype(np.float32)
    full = segment_lungs_hu(hu, img.spacing)
    print(f"full field of view: Dice vs reference {dice(full, ref):.4f}")
    print("| volume | Dice vs full-FOV lung (same voxels) | Dice vs reference |")
    print("|---|---|---|")
    for name, (vol, (ys, xs), pad, keep) in cases(hu).items():
        mask = segment_lungs_hu(vol, img.spacing)
        if pad:
            mask = mask[:, pad:-pad, pad:-pad]
        same, truth = full[:, ys, xs], ref[:, ys, xs]
        if keep is not None:
            mask, same, truth = mask & keep, same & keep, truth & keep
        print(f"| {name} | {dice(mask, same):.3f} | {dice(mask, truth):.3f} |")
    if not args.skip_timing:
        from covidseg.bench import _synthetic_volume

        with tempfile.TemporaryDirectory() as tmp:
            big = read_image(_synthetic_volume(ct, 300, Path(tmp) / "synthetic.nii.gz"))
            for _ in range(2):
                wall, cpu = time.perf_counter(), time.process_time()
                segment_lungs_hu(big.array, big.spacing)
                print(f"HU lung, synthetic 300x512x512: {time.perf_counter() - wall:.2f} s wall, "
                      f"{time.process_time() - cpu:.2f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
