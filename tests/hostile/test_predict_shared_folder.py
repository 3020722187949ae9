"""An output folder shared by runs over different inputs (issue 15, points 2 and 3).

* Two inputs with the same file name get ``scan`` and ``scan_2``; a later run over only one of
  them must find its own folder again and never replace the other input's case (``--resume``
  and ``--overwrite`` alike), and a folder covidseg did not write is never touched.
* An output folder inside an input folder holds covidseg's own masks and pictures: the next
  run over the input folder must not segment them as new cases.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from covidseg.cli import main
from covidseg.errors import InputError
from covidseg.io import find_cases

from .test_predict_support import file_states, leftovers, predict_argv, tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("model") / "tiny-all")


def _png(path: Path, seed: int, side: int = 48) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (side, side), dtype=np.uint8)).save(path)
    return path


def _summary(out: Path) -> dict[str, dict]:
    with open(out / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = [r["case"] for r in rows]
    assert len(names) == len(set(names)), names
    return {r["case"]: r for r in rows}


def _owner(case: Path) -> str:
    return json.loads((case / "report.json").read_text())["run"]["input"]["path"]


def test_resume_never_replaces_another_inputs_case(tmp_path, model):
    a, b, c = (_png(tmp_path / d / "scan.png", seed) for d, seed in (("nA", 0), ("nB", 1), ("nC", 2)))
    out = tmp_path / "X"
    assert main(predict_argv([a, b], out, model, "--no-pictures")) == 0
    assert _owner(out / "scan") == str(a) and _owner(out / "scan_2") == str(b)
    before = {name: file_states(out / name) for name in ("scan", "scan_2")}

    # Only nB again: it finds its own folder (scan_2, valid: skipped); nA's scan is untouched.
    assert main(predict_argv([b], out, model, "--no-pictures", "--resume")) == 0
    assert {name: file_states(out / name) for name in before} == before
    rows = _summary(out)
    assert {n: r["input"] for n, r in rows.items()} == {"scan": str(a), "scan_2": str(b)}

    # --overwrite redoes nB in its own folder, still not nA's.
    assert main(predict_argv([b], out, model, "--no-pictures", "--overwrite")) == 0
    assert file_states(out / "scan") == before["scan"]
    assert file_states(out / "scan_2") != before["scan_2"] and _owner(out / "scan_2") == str(b)

    # A third input of the same name, and a folder covidseg did not write, get new names.
    user = out / "scan_3"
    user.mkdir()
    (user / "notes.txt").write_text("mine")
    assert main(predict_argv([c], out, model, "--no-pictures", "--resume")) == 0
    assert (user / "notes.txt").read_text() == "mine" and sorted(p.name for p in user.iterdir()) == ["notes.txt"]
    assert _owner(out / "scan_4") == str(c) and file_states(out / "scan") == before["scan"]
    rows = _summary(out)
    assert {n: r["input"] for n, r in rows.items()} == {"scan": str(a), "scan_2": str(b), "scan_4": str(c)}
    assert leftovers(out) == []


def test_case_folder_of_another_input_is_kept_when_two_runs_pick_one_name(tmp_path, model, monkeypatch, capsys):
    """Names are chosen at start, but a concurrent run may install a case of the same name
    first: the install step itself must not replace another input's folder."""
    from covidseg.batch import outputs

    a, b = _png(tmp_path / "nA" / "scan.png", 0), _png(tmp_path / "nB" / "scan.png", 1)
    out = tmp_path / "X"
    assert main(predict_argv([a], out, model, "--no-pictures")) == 0
    before = file_states(out / "scan")
    # As if nA's folder appeared after this run had chosen its names.
    monkeypatch.setattr(outputs, "existing_owners", lambda folder: {})
    capsys.readouterr()
    assert main(predict_argv([b], out, model, "--no-pictures", "--resume")) == 0
    assert "writing scan_2 instead" in capsys.readouterr().err
    assert file_states(out / "scan") == before
    assert _owner(out / "scan_2") == str(b)
    assert {n: r["input"] for n, r in _summary(out).items()} == {"scan": str(a), "scan_2": str(b)}


def test_output_folder_inside_the_input_folder_is_not_an_input(tmp_path, model):
    nest = tmp_path / "nest"
    _png(nest / "a.png", 0, 48)
    _png(nest / "b.png", 1, 64)  # two sizes: one case per image
    out = nest / "out"
    assert main(predict_argv([nest], out, model)) == 0
    assert set(_summary(out)) == {"a", "b"}
    states = {n: file_states(out / n) for n in ("a", "b")}
    for _ in range(2):  # each rerun would have found more of its own outputs
        assert main(predict_argv([nest], out, model, "--resume")) == 0
        assert set(_summary(out)) == {"a", "b"}
        assert {n: file_states(out / n) for n in states} == states
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["a", "b", "summary.csv"]
    # Discovery alone: the output folder's cases are skipped, also without the lock file.
    (out / ".covidseg.lock").unlink()
    assert sorted(c.name for c in find_cases(nest)) == ["a", "b"]
    # A case folder given as the input is refused on one line, not segmented.
    with pytest.raises(InputError, match="covidseg case folder"):
        find_cases(out / "a")
