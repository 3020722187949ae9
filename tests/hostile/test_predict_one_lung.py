"""The one-lung volume of the hostile corpus through ``covidseg predict``: the missing lung is
0 mL on its own side (not half of the other lung renamed), lesions stay on the real side, and
the user is warned on the terminal and in report.json (issue: right 1089 / left 1142 mL)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from covidseg.cli import main

from .corpus import ONE_LUNG_SPACING, make_corpus, one_lung_volume
from .test_predict_support import predict_argv, tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("model") / "tiny-all")


@pytest.mark.parametrize("tasks", [("lung", "--lung-method", "hu"), ("all",)])
def test_one_lung_volume_reports_the_missing_lung_as_missing(tmp_path, model, capsys, tasks):
    (case,) = [c for c in make_corpus(tmp_path / "corpus") if c.name == "nifti-one-lung"]
    out = tmp_path / "out"
    assert main(predict_argv([case.path], out, model, "--no-pictures", "--tasks", *tasks)) == 0
    err = capsys.readouterr().err
    report = json.loads((out / "one-lung" / "report.json").read_text())
    m = report["measurements"]
    _, _, lung = one_lung_volume()
    expected_ml = lung.sum() * np.prod(ONE_LUNG_SPACING) / 1000
    assert m["right"]["lung"] == 0 and m["right"]["lesion"] == 0
    assert m["left"]["lung"] == pytest.approx(m["whole"]["lung"])
    if tasks[0] == "lung":
        assert m["left"]["lung"] == pytest.approx(expected_ml, rel=0.05)
    else:  # the random network's "lesions" next to the lung extend it (extend_lung_with_lesions)
        assert m["left"]["lung"] >= 0.95 * expected_ml
    assert m["left"]["lesion"] == pytest.approx(m["whole"]["lesion"])
    if report["severity"]["zone_scores"]:
        assert all(v == 0 for k, v in report["severity"]["zone_scores"].items() if k.startswith("right"))
    (warning,) = [w for w in report["warnings"] if w.startswith("only the left lung was found")]
    assert f"covidseg: warning: {case.path}: {warning}" in err.splitlines()
