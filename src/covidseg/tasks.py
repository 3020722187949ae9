"""The one task table: what each network task predicts (label names, activation, output
channels, the mask folders it trains on, the Segmenter outputs it provides), and how a label
map is built from masks.

A *task* is what one network learns (``lesion``, ``classes``, ``lung``, ``all``; a model's
metadata ``task``); the Segmenter's *outputs* (``lung``, ``lesion``, ``classes``;
``SegmenterConfig.tasks``, ``covidseg predict --tasks``) are the masks it writes.

The four tasks nest: lesion = GGO ∪ consolidation ⊂ lung. The ``all`` task encodes
that nesting in one label map (0 background, 1 normal lung, 2 GGO, 3 consolidation), so
one network serves the three others (see :func:`derived_probabilities`). The dataset folder
and the label of a lesion model are called ``infection`` (the COVID-SemiSeg name, kept for
existing data and saved models): it is the lesion mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TaskSpec:
    name: str
    labels: tuple[str, ...]  # index = label value; stored in a model's metadata
    activation: str  # "sigmoid" (one output channel) or "softmax"
    # mask folders that must exist for this task (any one of each inner tuple)
    required: tuple[tuple[str, ...], ...]
    # Segmenter outputs a network of this task provides (lung / lesion probability, lesion type)
    outputs: frozenset[str] = frozenset()

    @property
    def num_classes(self) -> int:
        """Output channels of the network (1 for a sigmoid binary task)."""
        return 1 if self.activation == "sigmoid" else len(self.labels)


TASKS: dict[str, TaskSpec] = {
    "lesion": TaskSpec("lesion", ("background", "infection"), "sigmoid", (("infection", "classes"),),
                       frozenset({"lesion"})),
    "classes": TaskSpec("classes", ("background", "ggo", "consolidation"), "softmax", (("classes",),),
                        frozenset({"lesion", "classes"})),
    "lung": TaskSpec("lung", ("background", "lung"), "sigmoid", (("lung",),), frozenset({"lung"})),
    "all": TaskSpec("all", ("background", "lung", "ggo", "consolidation"), "softmax", (("lung",), ("classes",)),
                    frozenset({"lung", "lesion", "classes"})),
}

# Label values (in the task's own label map) that make up the lesion and the lung.
# Label value of pixels left out of the loss (a teacher's unsure pixels in pseudo-label maps).
IGNORE = 255
LESION_VALUES = {"lesion": (1,), "classes": (1, 2), "all": (2, 3)}
LUNG_VALUES = {"lung": (1,), "all": (1, 2, 3)}


def get_task(name: str) -> TaskSpec:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {name!r}") from None


def build_label(
    task: str,
    *,
    lesion: np.ndarray | None = None,
    classes: np.ndarray | None = None,
    lung: np.ndarray | None = None,
) -> np.ndarray:
    """Label map (uint8, values = index into ``TASKS[task].labels``) from the available masks.

    ``lesion`` (the dataset's ``infection/`` mask) and ``lung`` are boolean, ``classes`` holds
    0 / 1 (GGO) / 2 (consolidation). The lesion is the union of the lesion mask and
    ``classes > 0``; a lesion pixel without a lesion type counts as GGO (the more common,
    milder type); lung is extended by the lesion so the nesting always holds.
    """
    spec = get_task(task)
    shape = next((m.shape for m in (lesion, classes, lung) if m is not None), None)
    if shape is None:
        raise ValueError("build_label needs at least one mask")
    inf = np.zeros(shape, bool)
    if lesion is not None:
        inf |= lesion.astype(bool)
    if classes is not None:
        inf |= classes > 0
    if spec.name == "lesion":
        return inf.astype(np.uint8)
    if spec.name == "lung":
        if lung is None:
            raise ValueError("task 'lung' needs a lung mask")
        return (lung.astype(bool) | inf).astype(np.uint8)
    if classes is None:
        raise ValueError(f"task {task!r} needs a lesion-type (classes) mask")
    kind = np.where(inf, np.where(classes == 2, 2, 1), 0).astype(np.uint8)  # 1 GGO, 2 consolidation
    if spec.name == "classes":
        return kind
    if lung is None:
        raise ValueError("task 'all' needs a lung mask")
    out = np.where(lung.astype(bool) | inf, 1, 0).astype(np.uint8)
    out[kind > 0] = kind[kind > 0] + 1
    return out


def derived_probabilities(task: str, probs: np.ndarray) -> dict[str, np.ndarray]:
    """Per-target probability maps from a model's probabilities.

    ``probs`` is (C, H, W): softmax output for softmax tasks, (1, H, W) sigmoid output for
    binary ones. Returns e.g. ``{"infection": ..., "ggo": ..., "consolidation": ..., "lung": ...}``
    with the targets the task can answer (``all`` answers all of them:
    p(infection) = p(ggo) + p(consolidation), p(lung) = 1 - p(background)).
    """
    spec = get_task(task)
    if spec.activation == "sigmoid":
        key = "lung" if task == "lung" else "infection"
        return {key: probs[0]}
    out: dict[str, np.ndarray] = {}
    names = spec.labels
    out["infection"] = sum(probs[v] for v in LESION_VALUES[task])
    out["ggo"] = probs[names.index("ggo")]
    out["consolidation"] = probs[names.index("consolidation")]
    if task == "all":
        out["lung"] = 1.0 - probs[0]
    return out


def derived_masks(task: str, label: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean target masks (same keys as :func:`derived_probabilities`) from a label map."""
    spec = get_task(task)
    if spec.name == "lesion":
        return {"infection": label == 1}
    if spec.name == "lung":
        return {"lung": label == 1}
    names = spec.labels
    out = {
        "infection": np.isin(label, LESION_VALUES[task]),
        "ggo": label == names.index("ggo"),
        "consolidation": label == names.index("consolidation"),
    }
    if task == "all":
        out["lung"] = label > 0
    return out


def targets_for(task: str) -> tuple[str, ...]:
    """Targets (keys of derived masks) a task's model can be scored on."""
    return {
        "lesion": ("infection",),
        "lung": ("lung",),
        "classes": ("infection", "ggo", "consolidation"),
        "all": ("lung", "infection", "ggo", "consolidation"),
    }[get_task(task).name]
