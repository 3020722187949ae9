"""In-memory slice dataset: every sample resized once to the training size and cached.

Decoding JPEG/PNG and resizing happen once at construction (uint8 arrays, ~0.25 MB per
352x352 sample), so an epoch only pays for augmentation and the network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from covidseg.data.augment import AugmentConfig, SliceAugment
from covidseg.data.folder import Sample

# Supervision kinds of a sample: full task label, or infection-only (machine pseudo-labels).
FULL, INFECTION_ONLY = 0, 1


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """uint8 (H, W) → uint8 (size, size), bilinear (as the benchmark's loaders do, aspect not kept)."""
    if image.shape == (size, size):
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))


def resize_label(label: np.ndarray, size: int) -> np.ndarray:
    if label.shape == (size, size):
        return label
    return np.asarray(Image.fromarray(label).resize((size, size), Image.NEAREST))


@dataclass
class Item:
    image: torch.Tensor  # (1, S, S) float32 in [0, 1]
    label: torch.Tensor  # (1, S, S) float32 label values
    kind: int
    weight: float


class SliceDataset(torch.utils.data.Dataset):
    """Samples resized to ``size``; indexed by ``(index, epoch)`` so augmentation is seeded per sample."""

    def __init__(
        self,
        samples: list[Sample],
        size: int,
        *,
        augment: AugmentConfig | None = None,
        seed: int = 0,
        kind: int = FULL,
        weight: float = 1.0,
    ):
        if not samples:
            raise ValueError("SliceDataset needs at least one sample")
        self.names = [s.name for s in samples]
        self.size = int(size)
        self.images = np.stack([resize_image(s.image, self.size) for s in samples])
        self.labels = np.stack(
            [resize_label(s.label, self.size) if s.label is not None else np.zeros((self.size,) * 2, np.uint8) for s in samples]
        )
        self.kinds = np.full(len(samples), kind, np.int64)
        self.weights = np.full(len(samples), weight, np.float32)
        self.seed = int(seed)
        self.augment = SliceAugment(augment, self.size) if augment is not None and augment.enabled else None

    @classmethod
    def concat(cls, parts: list["SliceDataset"]) -> "SliceDataset":
        out = cls.__new__(cls)
        out.names = [n for p in parts for n in p.names]
        out.size = parts[0].size
        out.images = np.concatenate([p.images for p in parts])
        out.labels = np.concatenate([p.labels for p in parts])
        out.kinds = np.concatenate([p.kinds for p in parts])
        out.weights = np.concatenate([p.weights for p in parts])
        out.seed = parts[0].seed
        out.augment = parts[0].augment
        return out

    def __len__(self) -> int:
        return len(self.names)

    def sample_seed(self, index: int, epoch: int) -> int:
        return int(np.random.SeedSequence([self.seed, epoch, index]).generate_state(1)[0])

    def __getitem__(self, key):
        index, epoch = key if isinstance(key, tuple) else (key, 0)
        image = self.images[index][None].astype(np.float32) / 255.0
        label = self.labels[index][None].astype(np.float32)
        if self.augment is not None:
            img, lab = self.augment(image, label, self.sample_seed(index, epoch))
        else:
            img, lab = torch.from_numpy(image), torch.from_numpy(label)
        return img, lab, int(self.kinds[index]), float(self.weights[index])


def split_train_val(n: int, val_count: int, seed: int) -> tuple[list[int], list[int]]:
    """Seeded split of ``range(n)`` into (train, val) index lists, each sorted."""
    if not 0 <= val_count < n:
        raise ValueError(f"val_count must be in [0, {n - 1}] for {n} samples, got {val_count}")
    perm = np.random.default_rng(seed).permutation(n)
    return sorted(perm[val_count:].tolist()), sorted(perm[:val_count].tolist())
