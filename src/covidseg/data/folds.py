"""K-fold cross-validation splits over the labelled slices of a training folder.

Every recipe, epoch count, threshold and ensemble choice is made on out-of-fold predictions
over all labelled slices (each slice predicted by the one model that did not train on it),
not on one small validation split. Folds are defined over slice *names*, so they do not move
when files are added, and are fixed by a seed independent of the training seed (two seeds
of one recipe see the same folds). ``configs/folds.json`` is the committed record for
COVID-SemiSeg ``train/``; a folder without a folds file gets the same function's result.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from covidseg.errors import ConfigError, FileMissingError

FOLDS_FORMAT = 1


def make_folds(names: list[str], k: int, seed: int = 0) -> list[list[str]]:
    """``k`` disjoint folds covering ``names``: a seeded permutation of the sorted names
    dealt round-robin, so fold sizes differ by at most one; each fold sorted by name."""
    if not isinstance(k, int) or isinstance(k, bool) or k < 2:
        raise ValueError(f"k must be an integer >= 2, got {k!r}")
    ordered = sorted(set(names))
    if len(ordered) != len(names):
        raise ValueError("names must be unique")
    if len(ordered) < k:
        raise ValueError(f"k={k} folds need at least {k} names, got {len(ordered)}")
    perm = np.random.default_rng(seed).permutation(len(ordered))
    folds: list[list[str]] = [[] for _ in range(k)]
    for i, j in enumerate(perm):
        folds[i % k].append(ordered[j])
    return [sorted(f, key=_natural) for f in folds]


def _natural(name: str):
    return (0, int(name), name) if name.isdigit() else (1, 0, name)


def folds_document(names: list[str], k: int, seed: int, data: str = "") -> dict:
    return {"format": FOLDS_FORMAT, "k": k, "seed": seed, "data": data, "folds": make_folds(names, k, seed)}


def read_folds(path: str | Path) -> dict:
    """A folds file (JSON with ``k`` and ``folds``: k lists of slice names), checked for shape."""
    path = Path(path)
    if not path.is_file():
        raise FileMissingError("folds file does not exist", path)
    try:
        doc = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"folds file is not JSON ({exc})", path) from None
    folds = doc.get("folds") if isinstance(doc, dict) else None
    if (not isinstance(folds, list) or len(folds) < 2
            or not all(isinstance(f, list) and f and all(isinstance(n, str) for n in f) for f in folds)):
        raise ConfigError("folds file needs 'folds': at least 2 non-empty lists of slice names", path)
    flat = [n for f in folds for n in f]
    if len(set(flat)) != len(flat):
        raise ConfigError("folds file lists a slice in more than one fold", path)
    if doc.get("k", len(folds)) != len(folds):
        raise ConfigError(f"folds file says k={doc.get('k')} but holds {len(folds)} folds", path)
    return doc


def fold_indices(names: list[str], k: int, fold: int, *, seed: int = 0,
                 folds_file: str | Path | None = None) -> tuple[list[int], list[int]]:
    """(train, validation) indices into ``names`` for fold ``fold`` of ``k``.

    With ``folds_file`` the folds are read from it and must cover exactly ``names``;
    otherwise they are :func:`make_folds` (``names``, ``k``, ``seed``)."""
    if not 0 <= fold < k:
        raise ConfigError(f"fold: must be in 0..{k - 1} for {k} folds (got {fold})")
    if folds_file:
        doc = read_folds(folds_file)
        folds = doc["folds"]
        if len(folds) != k:
            raise ConfigError(f"folds file holds {len(folds)} folds, but --folds {k} was asked", folds_file)
        listed, present = {n for f in folds for n in f}, set(names)
        if listed != present:
            missing, extra = sorted(present - listed)[:5], sorted(listed - present)[:5]
            raise ConfigError(f"folds file does not match the data (slices not in any fold: {missing}; "
                              f"listed but absent: {extra})", folds_file)
    else:
        folds = make_folds(list(names), k, seed)
    val = set(folds[fold])
    tr = [i for i, n in enumerate(names) if n not in val]
    va = [i for i, n in enumerate(names) if n in val]
    return tr, va
