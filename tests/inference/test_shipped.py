"""With the shipped weights (skipped until they exist): the README demo and the real pipeline."""

from __future__ import annotations

import csv
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from covidseg.cli import main
from covidseg.inference.loading import WEIGHTS_DIR

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.skipif(
    not any((p / "config.json").is_file() for p in WEIGHTS_DIR.glob("*")) if WEIGHTS_DIR.is_dir() else True,
    reason="no shipped weights in covidseg/weights yet",
)


def _readme_demo_args() -> list[str]:
    """The arguments of set-up command 1 in the README (the demo), exactly as written there."""
    readme = (EXAMPLES.parent / "README.md").read_text()
    match = re.search(r"\.venv/bin/covidseg predict ([^\n`]+)", readme)
    assert match, "README has no 'covidseg predict' demo command"
    return shlex.split(match.group(1))


def test_readme_demo_on_examples(tmp_path, monkeypatch):
    args = _readme_demo_args()
    out = args.index("-o")
    args[out + 1] = str(tmp_path / "out")
    monkeypatch.chdir(EXAMPLES.parent)  # the README runs from the checkout's root
    assert main(["predict", "-q", *args]) == 0
    with open(tmp_path / "out" / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    inputs = [a for a in args[:out] if not a.startswith("-")]
    assert len(rows) == len(inputs) and all(r["status"] == "ok" for r in rows)
    assert all(r["mosmed_grade"].startswith("CT-") for r in rows)
    for case in ("covid-semiseg-test-60", "cip-ct64"):
        assert (tmp_path / "out" / case / "report.json").is_file()
        assert (tmp_path / "out" / case / "overlay.png").is_file()


def test_real_pipeline_lung_dice_on_hu_scan(ct_examples):
    from covidseg import Segmenter
    from covidseg.io import read_image

    reference = read_image(ct_examples / "cip-ct64-lung.nii.gz").array > 0
    pred = Segmenter().predict(ct_examples / "cip-ct64.nii.gz")
    d = 2 * np.count_nonzero(pred.lung & reference) / (np.count_nonzero(pred.lung) + np.count_nonzero(reference))
    assert d >= 0.95
    assert pred.models and all(len(m["sha256"]) == 64 for m in pred.models)
