"""``covidseg predict --num-parts N --part-id K``: N concurrent processes given the same
inputs (each listed in its own order) and one output folder do every case exactly once, and
the summary.csv the last of them leaves holds every case."""

from __future__ import annotations

import csv
import json
import random

import pytest

from covidseg.batch.outputs import validate_case
from covidseg.batch.parts import in_split_order, sort_key
from covidseg.cli import main

from .test_predict_support import leftovers, predict_argv, run_cli, spawn, synthetic_ct, tiny_model

# Hold the output lock a little longer on every summary rebuild, so the parts' rebuilds (and
# their last ones, when the parts end together) queue on the lock instead of slipping past.
SLOW_SUMMARY = """
import time, covidseg.batch.outputs as out
_orig = out.rebuild_summary
def _slow(folder, failures, lock):
    with lock:
        time.sleep(0.2)
        return _orig(folder, failures, lock)
out.rebuild_summary = _slow
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("model") / "tiny-all")


def _summary(out):
    with open(out / "summary.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_split_is_independent_of_the_listing_order():
    keys = [(f"/data/{name}", None) for name in ("b", "a", "c", "a2", "d")] + [("/data/s", "2"), ("/data/s", None)]
    cases = list(range(len(keys)))
    reference = in_split_order(cases, keys, cases)[0]
    for seed in range(5):
        order = random.Random(seed).sample(range(len(keys)), len(keys))
        shuffled = in_split_order([cases[i] for i in order], [keys[i] for i in order], order)[0]
        assert shuffled == reference
    parts = [reference[k::3] for k in range(3)]
    assert sorted(sum(parts, [])) == cases  # every case in exactly one part
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert sort_key(None, "x.nii.gz") != sort_key(None, "y.nii.gz")


def test_three_parts_run_concurrently_into_one_folder(tmp_path, model):
    inputs = [synthetic_ct(tmp_path / f"ct{k}.nii.gz", seed=k, slices=6, side=48) for k in range(7)]
    bad = tmp_path / "broken.nii.gz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    inputs.append(bad)
    out = tmp_path / "out"
    procs = []
    for k in range(3):  # each part lists the inputs in another order
        listed = random.Random(k).sample(inputs, len(inputs))
        procs.append(spawn(predict_argv(listed, out, model, "--num-parts", 3, "--part-id", k), SLOW_SUMMARY))
    results = [p.communicate(timeout=600) for p in procs]
    codes = [p.returncode for p in procs]
    errors = [line for _, err in results for line in err.splitlines() if "error" in line]
    assert len(errors) == 1 and str(bad) in errors[0], results  # the bad case, by one part only
    assert sorted(codes) == [0, 0, 2], results
    done = []
    for k, (_, err) in enumerate(results):
        line = next(ln for ln in err.splitlines() if ln.startswith(f"covidseg predict: part {k} of 3:"))
        done.append(int(line.split(": ")[2].split()[0]))
    assert sorted(done) == [2, 3, 3], results  # round-robin: sizes differ by at most one

    assert leftovers(out) == []
    rows = _summary(out)
    assert sorted(r["case"] for r in rows) == sorted([f"ct{k}" for k in range(7)] + ["broken"])
    by_case = {r["case"]: r for r in rows}
    assert by_case["broken"]["status"] == "failed" and str(bad) in by_case["broken"]["input"]
    for k in range(7):
        case = out / f"ct{k}"
        report = json.loads((case / "report.json").read_text())
        assert validate_case(case, report["run"]) is None
        assert report["run"]["input"]["path"] == str(inputs[k])
        assert by_case[f"ct{k}"]["status"] == "ok"


def test_resume_per_part_and_a_part_started_late(tmp_path, model):
    inputs = [synthetic_ct(tmp_path / f"ct{k}.nii.gz", seed=k, slices=6, side=48) for k in range(4)]
    out = tmp_path / "out"
    first = run_cli(predict_argv(inputs, out, model, "--num-parts", 2, "--part-id", 0))
    assert first.returncode == 0, first.stderr
    mine = sorted(p.name for p in out.iterdir() if not p.name.startswith(".") and p.is_dir())
    assert len(mine) == 2
    assert [r["case"] for r in _summary(out)] == mine  # summary so far: this part's cases
    # The same part again with --resume skips its finished cases and touches nothing else.
    again = run_cli(predict_argv(inputs, out, model, "--num-parts", 2, "--part-id", 0, "--resume"))
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("skipped") >= 2 and "2 skipped" in again.stderr
    # The other part, started later without --resume: its cases are not there yet, so it runs.
    second = run_cli(predict_argv(inputs[::-1], out, model, "--num-parts", 2, "--part-id", 1))
    assert second.returncode == 0, second.stderr
    assert "2 ok, 0 failed, 0 skipped" in second.stderr
    assert sorted(r["case"] for r in _summary(out)) == [f"ct{k}" for k in range(4)]
    assert leftovers(out) == []


@pytest.mark.parametrize("flags, word", [
    (["--num-parts", "0"], "--num-parts must be at least 1, got 0"),
    (["--num-parts", "2", "--part-id", "2"], "--part-id must be in 0..1"),
    (["--part-id", "1"], "--part-id must be in 0..0"),
    (["--num-parts", "3", "--part-id", "-1"], "--part-id"),
])
def test_bad_part_flags_are_one_line_config_errors(tmp_path, model, capsys, flags, word):
    ct = synthetic_ct(tmp_path / "ct.nii.gz", slices=4, side=32)
    assert main(predict_argv([ct], tmp_path / "out", model, *flags)) == 2
    err = capsys.readouterr().err
    assert word in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists() or not any(p for p in (tmp_path / "out").iterdir()
                                                       if not p.name.startswith("."))
