"""Overlapped I/O in ``covidseg predict`` (the default; ``--no-overlap`` turns it off): the
same bytes either way, errors reported for their own case in case order, bounded memory,
and an interrupt leaves no staging folder behind."""

from __future__ import annotations

import csv
import hashlib
import json
import signal
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

import covidseg.batch.case as case_module
from covidseg.batch.outputs import validate_case
from covidseg.cli import main

from .test_predict_support import leftovers, predict_argv, spawn, synthetic_ct, tiny_model
from .test_predict_crash import SLOW_PICTURES


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("model") / "tiny-all", seed=2)


@pytest.fixture()
def inputs(tmp_path):
    found = [synthetic_ct(tmp_path / f"ct{k}.nii.gz", seed=k, slices=6, side=48) for k in range(3)]
    for k in range(2):
        path = tmp_path / f"slice{k}.png"
        Image.fromarray(np.random.default_rng(k).integers(0, 255, (40, 40), dtype=np.uint8)).save(path)
        found.append(path)
    return found


def _files(out):
    return {p.relative_to(out).as_posix(): p for p in sorted(out.rglob("*")) if p.is_file()}


def _report(path):
    report = json.loads(path.read_text())
    report.pop("timings_s")  # wall-clock times: the only thing allowed to differ
    return report


def test_overlap_gives_byte_identical_outputs(tmp_path, model, inputs):
    outs = {mode: tmp_path / mode for mode in ("overlap", "serial")}
    assert main(predict_argv(inputs, outs["overlap"], model)) == 0
    assert main(predict_argv(inputs, outs["serial"], model, "--no-overlap")) == 0
    files = {mode: _files(out) for mode, out in outs.items()}
    assert files["overlap"].keys() == files["serial"].keys()
    assert sum(name.endswith(".png") for name in files["serial"]) >= 10  # pictures were drawn
    for name, path in files["serial"].items():
        other = files["overlap"][name]
        if name.endswith("report.json"):
            assert _report(path) == _report(other), name
        elif name == "summary.csv":
            rows = [[{k: v for k, v in r.items() if k not in ("seconds", "output")}
                     for r in csv.DictReader(p.open(newline=""))] for p in (path, other)]
            assert rows[0] == rows[1] and len(rows[0]) == 5
        else:
            assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(other.read_bytes()).digest(), name


@pytest.mark.parametrize("mode", [[], ["--no-overlap"]])
def test_read_error_is_reported_for_its_case_in_order(tmp_path, model, monkeypatch, capsys, mode):
    cts = [synthetic_ct(tmp_path / f"ct{k}.nii.gz", seed=k, slices=6, side=48) for k in (0, 2)]
    bad = tmp_path / "ct1.nii.gz"
    bad.write_bytes(b"\x1f\x8b damaged")
    original = case_module.write_pictures

    def slow(pred, folder):  # case k is still being written when case k+1 fails to read
        time.sleep(1.0)
        written = original(pred, folder)
        print(f"MARK wrote {pred.image.source.name}", file=sys.stderr)
        return written

    monkeypatch.setattr(case_module, "write_pictures", slow)
    assert main(predict_argv([cts[0], bad, cts[1]], tmp_path / "out", model, *mode)) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith(("MARK", "covidseg: error"))]
    assert len(lines) == 3, lines
    assert lines[0] == "MARK wrote ct0.nii.gz"
    assert lines[1].startswith(f"covidseg: error: {bad}: ")
    assert lines[2] == "MARK wrote ct2.nii.gz"
    out = tmp_path / "out"
    rows = {r["case"]: r["status"] for r in csv.DictReader((out / "summary.csv").open(newline=""))}
    assert rows == {"ct0": "ok", "ct1": "failed", "ct2": "ok"}
    assert not (out / "ct1").exists() and leftovers(out) == []


@pytest.mark.parametrize("mode", [[], ["--no-overlap"]])
def test_write_error_fails_only_its_case(tmp_path, model, inputs, monkeypatch, capsys, mode):
    original = case_module.write_pictures

    def failing(pred, folder):
        if pred.image.source.name == "ct1.nii.gz":
            raise OSError(28, "No space left on device")
        return original(pred, folder)

    monkeypatch.setattr(case_module, "write_pictures", failing)
    out = tmp_path / "out"
    assert main(predict_argv(inputs, out, model, *mode)) == 2
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("covidseg: error")]
    assert len(errors) == 1 and str(inputs[1]) in errors[0] and "No space left" in errors[0]
    assert not (out / "ct1").exists() and leftovers(out) == []
    for name in ("ct0", "ct2", "slice0", "slice1"):
        assert validate_case(out / name, json.loads((out / name / "report.json").read_text())["run"]) is None


def test_writer_back_pressure_bounds_the_cases_in_flight(tmp_path, model, monkeypatch):
    cts = [synthetic_ct(tmp_path / f"ct{k}.nii.gz", seed=k, slices=4, side=40) for k in range(6)]
    from covidseg.inference.segmenter import Segmenter

    predicted: list[str] = []
    seen: list[int] = []
    original_predict, original_pictures = Segmenter.predict, case_module.write_pictures

    def counting(self, image, **kw):
        predicted.append(image.source.name)
        return original_predict(self, image, **kw)

    def stalled(pred, folder):
        if not seen:  # the first case's writer stalls: the network may run only so far ahead
            deadline = time.monotonic() + 60
            while len(predicted) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.5)
            seen.append(len(predicted))
        return original_pictures(pred, folder)

    monkeypatch.setattr(Segmenter, "predict", counting)
    monkeypatch.setattr(case_module, "write_pictures", stalled)
    assert main(predict_argv(cts, tmp_path / "out", model)) == 0
    # case 0 being written, case 1 queued, case 2 finished and waiting to be queued
    assert seen == [3]
    assert len(predicted) == 6


def test_ctrl_c_removes_the_background_writers_staging_folder(tmp_path, model):
    inputs = [synthetic_ct(tmp_path / f"ct{k}.nii.gz", seed=k, slices=6, side=48) for k in range(3)]
    out = tmp_path / "out"
    # SIGINT as a terminal delivers it (a shell may start background jobs with it ignored)
    prelude = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n" + SLOW_PICTURES
    proc = spawn(predict_argv(inputs, out, model), prelude)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            if (out / "ct0").is_dir() and any(out.glob(".covidseg-tmp-*")):
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        else:
            pytest.fail("the first case never finished")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert time.monotonic() - t0 < 30  # did not wait for the stalled writer (60 s)
    assert leftovers(out) == []
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["ct0", "summary.csv"]


def test_no_overlap_uses_no_threads(tmp_path, model, monkeypatch):
    started: list[str] = []
    original = threading.Thread.start

    def record(self):
        started.append(self.name)
        return original(self)

    monkeypatch.setattr(threading.Thread, "start", record)
    ct = synthetic_ct(tmp_path / "ct.nii.gz", slices=4, side=40)
    assert main(predict_argv([ct, ct.with_name("missing.nii.gz")], tmp_path / "out", model, "--no-overlap")) == 2
    assert not [n for n in started if n.startswith("covidseg-")]
