"""Augmentation for 2-D CT slices, built from MONAI dictionary transforms.

Geometric transforms act on image and label together (bilinear / nearest); intensity
transforms on the image only. Every sample is augmented from its own seed
(run seed, epoch, sample index), so a run gives the same augmentations whatever the
number of loader workers and whether it was resumed (see docs/training.md).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch


@dataclass
class AugmentConfig:
    enabled: bool = True
    flip_lr: float = 0.5  # probability of a left-right flip
    flip_ud: float = 0.0  # up-down flips are anatomically implausible; off by default
    affine: float = 0.7  # probability of rotation + scale + shift
    rotate_deg: float = 15.0
    scale: float = 0.15  # scale factor in [1 - scale, 1 + scale]
    translate: float = 0.05  # fraction of the side
    elastic: float = 0.2  # probability of an elastic deformation
    elastic_spacing: int = 32
    elastic_magnitude: float = 1.5
    gamma: float = 0.3  # probability of a gamma change in [0.7, 1.5]
    intensity: float = 0.3  # probability of a brightness/contrast change
    noise: float = 0.2  # probability of Gaussian noise (std up to noise_std)
    noise_std: float = 0.02
    blur: float = 0.15  # probability of a Gaussian blur (sigma 0.25-1 px)
    # probability that labelled lesions of another slice are pasted into this slice's lung
    # (data/copy_paste.py; needs lung labels: task "all"); applied before the transforms above
    copy_paste: float = 0.0

    def __post_init__(self):
        for name, value in asdict(self).items():
            if name == "enabled":
                continue
            if not isinstance(value, (int, float)) or value < 0 or (
                name in ("flip_lr", "flip_ud", "affine", "elastic", "gamma", "intensity", "noise", "blur", "copy_paste")
                and value > 1
            ):
                raise ValueError(f"augment.{name} must be a probability/non-negative number, got {value!r}")


class SliceAugment:
    """Callable ``(image (1,H,W) float32 [0,1], label (1,H,W) float32, seed) -> (image, label)``."""

    def __init__(self, config: AugmentConfig, size: int):
        from monai.transforms import (
            Compose,
            Rand2DElasticd,
            RandAdjustContrastd,
            RandAffined,
            RandFlipd,
            RandGaussianNoised,
            RandGaussianSmoothd,
            RandScaleIntensityd,
            RandShiftIntensityd,
        )

        c = config
        keys = ("image", "label")
        rot = math.radians(c.rotate_deg)
        t: list = []
        if c.flip_lr:
            t.append(RandFlipd(keys, prob=c.flip_lr, spatial_axis=1))
        if c.flip_ud:
            t.append(RandFlipd(keys, prob=c.flip_ud, spatial_axis=0))
        if c.affine:
            t.append(
                RandAffined(
                    keys,
                    prob=c.affine,
                    rotate_range=(rot,),
                    scale_range=(c.scale, c.scale),
                    translate_range=(c.translate * size, c.translate * size),
                    mode=("bilinear", "nearest"),
                    padding_mode="zeros",
                    cache_grid=True,
                    spatial_size=(size, size),
                )
            )
        if c.elastic:
            t.append(
                Rand2DElasticd(
                    keys,
                    spacing=(c.elastic_spacing, c.elastic_spacing),
                    magnitude_range=(0.0, c.elastic_magnitude),
                    prob=c.elastic,
                    mode=("bilinear", "nearest"),
                    padding_mode="zeros",
                    spatial_size=(size, size),
                )
            )
        if c.gamma:
            t.append(RandAdjustContrastd("image", prob=c.gamma, gamma=(0.7, 1.5)))
        if c.intensity:
            t.append(RandScaleIntensityd("image", factors=0.1, prob=c.intensity))
            t.append(RandShiftIntensityd("image", offsets=0.05, prob=c.intensity))
        if c.noise:
            t.append(RandGaussianNoised("image", prob=c.noise, std=c.noise_std))
        if c.blur:
            t.append(RandGaussianSmoothd("image", sigma_x=(0.25, 1.0), sigma_y=(0.25, 1.0), prob=c.blur))
        self.compose = Compose(t) if t else None

    def __call__(self, image: np.ndarray, label: np.ndarray, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.compose is None:
            return torch.as_tensor(image), torch.as_tensor(label)
        self.compose.set_random_state(seed=int(seed) % (2**32))
        out = self.compose({"image": image, "label": label})
        img = torch.as_tensor(np.asarray(out["image"]), dtype=torch.float32).clamp_(0.0, 1.0)
        lab = torch.as_tensor(np.asarray(out["label"]), dtype=torch.float32).round_()
        return img, lab
