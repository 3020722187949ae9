"""Two ``covidseg predict`` processes writing into one output folder at the same time, with
overlapping and distinct cases: no corrupt file, every case valid, summary.csv has both."""

from __future__ import annotations

import csv
import json

import pytest

from covidseg.batch.outputs import validate_case

from .test_predict_support import leftovers, predict_argv, spawn, synthetic_ct, tiny_model

# Slow every case's pictures a little so the two runs interleave case by case.
SLOWER = """
import time, covidseg.batch.case as ex
_orig = ex.write_pictures
def _slow(pred, folder):
    time.sleep(0.4)
    return _orig(pred, folder)
ex.write_pictures = _slow
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("model") / "tiny-all")


def test_two_processes_share_an_output_folder(tmp_path, model):
    inputs = [synthetic_ct(tmp_path / f"ct{k}.nii.gz", seed=k) for k in range(5)]
    out = tmp_path / "out"
    first = spawn(predict_argv(inputs[:3], out, model, "--resume"), SLOWER)
    second = spawn(predict_argv(inputs[1:][::-1], out, model, "--resume"), SLOWER)  # overlap ct1, ct2
    results = [p.communicate(timeout=300) for p in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), results
    assert not any("error" in err for _, err in results), results

    assert leftovers(out) == []
    for k in range(5):
        case = out / f"ct{k}"
        report = json.loads((case / "report.json").read_text())
        assert validate_case(case, report["run"]) is None
        assert report["run"]["input"]["path"] == str(inputs[k])
    with open(out / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # ct0 was only in the first run, ct3/ct4 only in the second: the table holds both runs.
    assert sorted(r["case"] for r in rows) == [f"ct{k}" for k in range(5)]
    assert all(r["status"] == "ok" and r["lung"] for r in rows)
