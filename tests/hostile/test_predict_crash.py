"""A real SIGKILL in the middle of ``covidseg predict``, then ``--resume``: finished cases stay
byte- and mtime-identical, the rest is done, no temporary or partial file survives."""

from __future__ import annotations

import csv
import json
import os
import signal
import time

import pytest

from covidseg.cli import main
from covidseg.batch.outputs import validate_case

from .test_predict_support import file_states, leftovers, predict_argv, spawn, synthetic_ct, tiny_model

# Every case after the first sleeps while its pictures are drawn: the kill then lands while a
# staging folder holds that case's half-written files.
SLOW_PICTURES = """
import time, covidseg.batch.case as ex
_orig, _calls = ex.write_pictures, [0]
def _slow(pred, folder):
    _calls[0] += 1
    if _calls[0] > 1:
        time.sleep(60)
    return _orig(pred, folder)
ex.write_pictures = _slow
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("model") / "tiny-all")


def test_sigkill_then_resume(tmp_path, model):
    inputs = [synthetic_ct(tmp_path / f"ct{k}.nii.gz", seed=k) for k in range(4)]
    out = tmp_path / "out"
    proc = spawn(predict_argv(inputs, out, model), SLOW_PICTURES)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            staged = list(out.glob(".covidseg-tmp-*")) if out.is_dir() else []
            if (out / "ct0").is_dir() and any(p.is_dir() for p in staged):
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        else:
            pytest.fail("the first case never finished")
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    # The kill left a partial case in a hidden staging folder, and no partial case folder.
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] in (["ct0"], ["ct0", "summary.csv"],
                                                                             ["summary.csv", "ct0"])
    assert leftovers(out)
    finished = file_states(out / "ct0")
    report = json.loads((out / "ct0" / "report.json").read_text())
    assert set(report["manifest"]) | {"report.json"} == set(finished)

    assert main(predict_argv(inputs, out, model, "--resume")) == 0
    assert file_states(out / "ct0") == finished  # untouched: same sha256 and mtime
    assert leftovers(out) == []
    for k in range(4):
        case = out / f"ct{k}"
        run = json.loads((case / "report.json").read_text())["run"]
        assert validate_case(case, run) is None
        assert run["input"]["path"] == str(inputs[k])
    with open(out / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["case"] for r in rows) == [f"ct{k}" for k in range(4)]
    assert {r["status"] for r in rows} == {"ok"}


def test_sigterm_removes_the_case_being_written(tmp_path, model):
    inputs = [synthetic_ct(tmp_path / f"ct{k}.nii.gz", seed=k) for k in range(3)]
    out = tmp_path / "out"
    proc = spawn(predict_argv(inputs, out, model), SLOW_PICTURES)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            if (out / "ct0").is_dir() and out.is_dir() and any(out.glob(".covidseg-tmp-*")):
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        else:
            pytest.fail("the first case never finished")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM
    assert leftovers(out) == []  # unwound: no staging folder waits for the next run
    assert validate_case(out / "ct0", json.loads((out / "ct0" / "report.json").read_text())["run"]) is None
