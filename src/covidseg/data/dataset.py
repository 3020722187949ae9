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
from covidseg.tasks import IGNORE

# Supervision kinds of a sample: full task label, infection-only (the benchmark's machine
# pseudo-labels), or a teacher's full task label map in which IGNORE marks the pixels the
# teacher was not confident about (left out of the loss).
FULL, LESION_ONLY, TEACHER = 0, 1, 2


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
        task: str | None = None,
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
        # copy-paste needs the task's lung/lesion label values (task "all")
        on = augment is not None and augment.enabled and augment.copy_paste > 0
        if on and task != "all":
            raise ValueError(f"augment.copy_paste needs task 'all' (lung and lesion labels), got task {task!r}")
        self.copy_paste = float(augment.copy_paste) if on else 0.0
        self.task = task
        self._donors = None

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
        out.copy_paste, out.task, out._donors = parts[0].copy_paste, parts[0].task, None
        return out

    def donors(self) -> list:
        """Lesion donors for copy-paste: the radiologist-labelled (FULL) slices with lesions."""
        if self._donors is None:
            from covidseg.data.copy_paste import make_donor

            found = [(i, make_donor(self.images[i], self.labels[i], self.task)) for i in range(len(self))
                     if self.kinds[i] == FULL]
            self._donors = [(i, d) for i, d in found if d is not None]
        return self._donors

    def __len__(self) -> int:
        return len(self.names)

    def sample_seed(self, index: int, epoch: int) -> int:
        return int(np.random.SeedSequence([self.seed, epoch, index]).generate_state(1)[0])

    def __getitem__(self, key):
        index, epoch = key if isinstance(key, tuple) else (key, 0)
        image = self.images[index][None].astype(np.float32) / 255.0
        label = self.labels[index][None].astype(np.float32)
        if self.copy_paste and self.kinds[index] != LESION_ONLY:
            image, label = self._paste(index, epoch, image, label)
        if self.augment is not None:
            img, lab = self.augment(image, label, self.sample_seed(index, epoch))
        else:
            img, lab = torch.from_numpy(image), torch.from_numpy(label)
        return img, lab, int(self.kinds[index]), float(self.weights[index])

    def _paste(self, index: int, epoch: int, image: np.ndarray, label: np.ndarray):
        from covidseg.data.copy_paste import paste

        rng = np.random.default_rng([self.seed, epoch, index, 11])  # its own stream: other transforms unchanged
        if rng.random() >= self.copy_paste:
            return image, label
        donors = [d for i, d in self.donors() if i != index]
        if not donors:
            return image, label
        img, lab = paste(image[0], label[0].astype(np.uint8), donors[rng.integers(len(donors))], rng, self.task)
        return img[None], lab[None].astype(np.float32)


def split_train_val(n: int, val_count: int, seed: int) -> tuple[list[int], list[int]]:
    """Seeded split of ``range(n)`` into (train, val) index lists, each sorted."""
    if not 0 <= val_count < n:
        raise ValueError(f"val_count must be in [0, {n - 1}] for {n} samples, got {val_count}")
    perm = np.random.default_rng(seed).permutation(n)
    return sorted(perm[val_count:].tolist()), sorted(perm[:val_count].tolist())
