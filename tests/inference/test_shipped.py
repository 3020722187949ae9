"""With the shipped weights (skipped until they exist): the README demo and the real pipeline."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from covidseg.cli import main
from covidseg.inference.models import WEIGHTS_DIR

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.skipif(
    not any((p / "config.json").is_file() for p in WEIGHTS_DIR.glob("*")) if WEIGHTS_DIR.is_dir() else True,
    reason="no shipped weights in covidseg/weights yet",
)


def test_readme_demo_on_examples(tmp_path):
    assert main(["predict", "-q", str(EXAMPLES), "-o", str(tmp_path)]) == 0
    with open(tmp_path / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 and all(r["status"] == "ok" for r in rows)
    assert all(r["mosmed_grade"].startswith("CT-") for r in rows)


def test_real_pipeline_lung_dice_on_hu_scan(ct_examples):
    from covidseg import Segmenter
    from covidseg.io import read_image

    reference = read_image(ct_examples / "cip-ct64-lung.nii.gz").array > 0
    pred = Segmenter().predict(ct_examples / "cip-ct64.nii.gz")
    d = 2 * np.count_nonzero(pred.lung & reference) / (np.count_nonzero(pred.lung) + np.count_nonzero(reference))
    assert d >= 0.95
    assert pred.models and all(len(m["sha256"]) == 64 for m in pred.models)
