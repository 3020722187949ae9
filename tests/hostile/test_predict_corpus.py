"""One ``covidseg predict`` run over the whole hostile corpus plus a good scan: exit 2, one
error line per bad input naming it with its expected reason, every "ok" input finished,
nothing partial left behind."""

from __future__ import annotations

import json
import re

import pytest

from covidseg.cli import main
from covidseg.batch.outputs import validate_case

from .corpus import make_corpus
from .test_predict_support import leftovers, predict_argv, synthetic_ct, tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("model") / "tiny-all")


def test_predict_over_hostile_corpus(tmp_path, model, capsys):
    corpus = make_corpus(tmp_path / "corpus")
    good = synthetic_ct(tmp_path / "good.nii.gz")
    out = tmp_path / "out"
    code = main(predict_argv([*(c.path for c in corpus), good], out, model, "--no-pictures"))
    err = capsys.readouterr().err
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.startswith("covidseg: error: ")]
    bad = [c for c in corpus if c.expect == "error"]
    assert len(lines) == len(bad), err
    for case in bad:
        mine = [ln for ln in lines if ln.startswith(f"covidseg: error: {case.path}: ")]
        assert len(mine) == 1, (case.name, err)
        assert re.search(case.match, mine[0]), (case.name, mine[0])

    assert leftovers(out) == []
    folders = {p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")}
    reports = {}
    for name in folders:
        report = json.loads((out / name / "report.json").read_text())
        assert validate_case(out / name, report["run"]) is None
        reports[report["input"]["path"]] = name
    expected_ok = {str(c.path) for c in corpus if c.expect == "ok"} | {str(good)}
    assert set(reports) == expected_ok  # every ok input finished, no folder for a bad one
