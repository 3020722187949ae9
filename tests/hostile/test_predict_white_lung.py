"""The white-lung volume of the hostile corpus through ``covidseg predict``: a right lung
replaced by consolidation that carries air bronchograms is counted as right lung and as
consolidation, with a warning naming it (issue 15: it used to be reported as 0 mL, like a
pneumonectomy). ``--no-airless-lung`` gives the old result back."""

from __future__ import annotations

import json

import numpy as np
import pytest

from covidseg.cli import main

from .corpus import WHITE_LUNG_SPACING, make_corpus, white_lung_volume
from .test_predict_support import predict_argv, tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("model") / "tiny-all")


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    (found,) = [c for c in make_corpus(tmp_path_factory.mktemp("corpus")) if c.name == "nifti-white-lung"]
    return found


@pytest.mark.parametrize("tasks", [("lung", "--lung-method", "hu"), ("all",)])
def test_white_lung_is_counted_as_consolidated_lung(tmp_path, model, case, capsys, tasks):
    out = tmp_path / "out"
    assert main(predict_argv([case.path], out, model, "--no-pictures", "--tasks", *tasks)) == 0
    err = capsys.readouterr().err
    report = json.loads((out / "white-lung" / "report.json").read_text())
    m = report["measurements"]
    _, _, right, left = white_lung_volume()
    voxel_ml = np.prod(WHITE_LUNG_SPACING) / 1000
    right_ml, left_ml = right.sum() * voxel_ml, left.sum() * voxel_ml
    if tasks[0] == "lung":  # the mirror image of the left lung, which here is the right lung
        assert m["right"]["lung"] == pytest.approx(right_ml, rel=0.05)
        assert m["left"]["lung"] == pytest.approx(left_ml, rel=0.05)
    else:  # the random network's "lesions" next to the lungs widen them (extend_lung_with_lesions)
        assert m["right"]["lung"] >= 0.95 * right_ml and m["left"]["lung"] >= 0.95 * left_ml
        assert m["right"]["lesion"] >= 0.95 * right_ml  # the whole airless lung is lesion ...
        assert m["whole"]["consolidation"] >= 0.95 * right_ml  # ... and consolidation
        assert report["severity"]["mosmed_grade"] in ("CT-3", "CT-4")  # about half of all lung
        assert all(report["severity"]["zone_scores"][f"right_{z}"] >= 3 for z in ("upper", "middle", "lower"))
    (warning,) = [w for w in report["warnings"] if w.startswith("the right lung was airless")]
    assert "air bronchograms" in warning and "consolidation" in warning
    assert f"covidseg: warning: {case.path}: {warning}" in err.splitlines()
    assert not any(w.startswith("only the left lung was found") for w in report["warnings"])


def test_no_airless_lung_flag_restores_the_missing_lung(tmp_path, model, case):
    out = tmp_path / "out"
    assert main(predict_argv([case.path], out, model, "--no-pictures", "--tasks", "lung", "--lung-method", "hu",
                             "--no-airless-lung")) == 0
    report = json.loads((out / "white-lung" / "report.json").read_text())
    assert report["measurements"]["right"]["lung"] == 0
    assert any(w.startswith("only the left lung was found") for w in report["warnings"])
    assert report["run"]["settings"]["hu_lung"]["airless"]["enabled"] is False
