"""Training/evaluation data: folder layout, task label maps, cached datasets, augmentation."""

from covidseg.data.augment import AugmentConfig, SliceAugment
from covidseg.data.dataset import FULL, IGNORE, LESION_ONLY, TEACHER, SliceDataset, resize_image, resize_label, split_train_val
from covidseg.data.folder import Sample, check_layout, data_checksum, list_images, load_folder
from covidseg.tasks import (
    TASKS,
    TaskSpec,
    build_label,
    derived_masks,
    derived_probabilities,
    get_task,
    targets_for,
)

__all__ = [
    "AugmentConfig", "SliceAugment", "SliceDataset", "FULL", "IGNORE", "LESION_ONLY", "TEACHER", "resize_image", "resize_label",
    "split_train_val", "Sample", "check_layout", "data_checksum", "list_images", "load_folder", "TASKS",
    "TaskSpec", "build_label", "derived_masks", "derived_probabilities", "get_task", "targets_for",
]
