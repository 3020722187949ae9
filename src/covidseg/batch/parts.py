"""Splitting one batch into parts (``covidseg predict --num-parts N --part-id K``).

N processes or cluster jobs (a SLURM array, a Kubernetes indexed job) are given the same
inputs and output folder; each runs the cases of its part. The split is computed from the
cases alone, so every part computes the same one whatever order the shell, the scheduler or
the file system lists the inputs in: cases are sorted by their input key (absolute path and
DICOM series; a discovery error by its input), and case ``i`` of that order belongs to part
``i mod N`` (round-robin, as nnU-Net's ``[part_id::num_parts]``: part sizes differ by at most
one case).
"""

from __future__ import annotations

import os
from typing import Sequence, TypeVar

from covidseg.errors import ConfigError

T = TypeVar("T")

__all__ = ["check_parts", "sort_key", "in_split_order"]


def check_parts(num_parts: int, part_id: int) -> None:
    """One-line :class:`ConfigError` naming the flag when ``--num-parts``/``--part-id`` are invalid."""
    if num_parts < 1:
        raise ConfigError(f"--num-parts must be at least 1, got {num_parts}")
    if not 0 <= part_id < num_parts:
        raise ConfigError(f"--part-id must be in 0..{num_parts - 1} for --num-parts {num_parts}, got {part_id}")


def sort_key(key: tuple[str, str | None] | None, source) -> tuple[str, str, str]:
    """The order a case takes in the split: its input key (:func:`covidseg.batch.outputs.input_key`),
    or for an input that could not be read at discovery, the input's absolute path."""
    if key is None:
        return (os.path.abspath(os.path.expanduser(str(source))), "\0error", "")
    return (key[0], "\0series" if key[1] is None else "series", key[1] or "")


def in_split_order(cases: Sequence[T], keys: Sequence, sources: Sequence) -> tuple[list[T], list]:
    """``cases`` and their input ``keys`` sorted by :func:`sort_key`: the order every part
    computes the same (case names are also given in this order, so ``x`` and ``x_2`` do not
    depend on the order the inputs were listed in)."""
    if not len(cases) == len(keys) == len(sources):
        raise ValueError(f"keys and sources must have one entry per case, got {len(keys)}, {len(sources)} "
                         f"for {len(cases)}")
    order = sorted(range(len(cases)), key=lambda i: sort_key(keys[i], sources[i]))
    return [cases[i] for i in order], [keys[i] for i in order]

