"""Case folders: safe names, staging + install, resume validation, stale clean-up, summary."""

from __future__ import annotations

import csv
import fcntl
import json
import os
from pathlib import Path

import numpy as np
import pytest

from covidseg.cli import main
from covidseg.batch import outputs
from covidseg.batch.outputs import (OutputLock, clean_stale, install, safe_case_name, staged_folder,
                                        unique_names, validate_case)


@pytest.mark.parametrize("raw", [
    "../../etc/passwd", "..", ".", ".hidden", "a/b", "a\\b", "new\nline", "tab\there", "nul\x00byte",
    "/abs/path", "C:\\x", "con", "CON.txt", "", "   ", "\u202eexe.gpj", "é" * 300, ".covidseg-tmp-x", "-rf",
])
def test_safe_case_name_stays_inside(tmp_path, raw):
    name = safe_case_name(raw)
    assert name and len(name) <= outputs.MAX_NAME_CHARS
    assert not name.startswith((".", "-")) and ".." not in name
    assert not set(name) & set("/\\\x00\n\t \u202e") and name.isprintable()
    assert name.split(".")[0].lower() not in {"con", "prn", "aux", "nul"}
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()
    assert safe_case_name(name) == name  # idempotent


def test_unique_names_disambiguate_ignoring_case():
    assert unique_names(["Scan", "scan", "a/scan", "scan", "summary"]) == ["Scan", "scan_2", "a_scan", "scan_3",
                                                                             "summary_2"]
    long = "x" * 73 + "_y" + "z" * 20  # the suffix lands right after a cut at an underscore
    names = unique_names([long, long, long])
    assert len(set(names)) == 3 and all(n == safe_case_name(n) and len(n) <= 80 for n in names)


def _case(folder: Path, run: dict, files=("lung.nii.gz", "overlay.png")) -> dict:
    folder.mkdir(parents=True)
    for k, name in enumerate(files):
        (folder / name).write_bytes(bytes([k]) * 100)
    report = {"run": run, "manifest": outputs.manifest_of(folder)}
    (folder / "report.json").write_text(json.dumps(report))
    return report


RUN = {"input": {"path": "/x", "size": 1, "mtime_ns": 2}, "models_sha256": ["ab"], "settings": {"tasks": ["lung"]}}


@pytest.mark.parametrize("damage, reason", [
    (None, None),
    (lambda f: (f / "overlay.png").write_bytes(b"x" * 100), "overlay.png is missing or changed"),
    (lambda f: (f / "lung.nii.gz").unlink(), "lung.nii.gz is missing or changed"),
    (lambda f: (f / "report.json").write_text("{trunc"), "report.json unreadable"),
    (lambda f: (f / "report.json").unlink(), "no report.json"),
    (lambda f: (f / "report.json").write_text(json.dumps({"run": RUN})), "report.json has no file manifest"),
])
def test_validate_case_detects_damage(tmp_path, damage, reason):
    _case(tmp_path / "c", RUN)
    if damage:
        damage(tmp_path / "c")
    got = validate_case(tmp_path / "c", RUN)
    assert got == reason if reason is None else got.startswith(reason)


@pytest.mark.parametrize("field, value", [("input", {"path": "/x", "size": 1, "mtime_ns": 3}),
                                          ("models_sha256", ["cd"]), ("settings", {"tasks": ["lesion"]})])
def test_validate_case_rejects_other_run(tmp_path, field, value):
    _case(tmp_path / "c", RUN)
    assert validate_case(tmp_path / "c", {**RUN, field: value}) == "written for another input, model or settings"


def test_input_identity_changes_with_folder_content(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "1.dcm").write_bytes(b"a")
    first = outputs.input_identity(tmp_path / "s")
    assert outputs.input_identity(tmp_path / "s") == first
    (tmp_path / "s" / "2.dcm").write_bytes(b"b")
    assert outputs.input_identity(tmp_path / "s") != first
    os.utime(tmp_path / "s" / "2.dcm", ns=(1, 1))
    assert outputs.input_identity(tmp_path / "s")["listing_sha256"] != first["listing_sha256"]


@pytest.mark.parametrize("exists", [False, True])
def test_install_replaces_whole_folder(tmp_path, exists):
    final = tmp_path / "case"
    if exists:
        _case(final, RUN, files=("old.png",))
    with staged_folder(final) as tmp:
        (tmp / "new.png").write_bytes(b"n")
        (tmp / "report.json").write_text("{}")
        assert install(tmp, final, replace=True)
    assert sorted(p.name for p in final.iterdir()) == ["new.png", "report.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case"]  # no staging or old folder left


def test_install_without_replace_keeps_existing(tmp_path):
    final = tmp_path / "case"
    _case(final, RUN)
    before = sorted(p.name for p in final.iterdir())
    with staged_folder(final) as tmp:
        (tmp / "report.json").write_text("{}")
        assert not install(tmp, final, replace=False)
    assert sorted(p.name for p in final.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case"]


def test_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with staged_folder(tmp_path / "case") as tmp:
            (tmp / "half.nii.gz").write_bytes(b"x")
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_clean_stale_spares_live_staging_folders(tmp_path):
    dead = tmp_path / ".covidseg-tmp-a.123"
    dead.mkdir()
    (dead / "lung.nii.gz").write_bytes(b"x")
    (tmp_path / ".summary.csv.abc.tmp.csv").write_text("half")
    (tmp_path / "done").mkdir()
    with staged_folder(tmp_path / "b") as live:
        # Another process's live folder: its flock is held (flock is per open file description).
        assert clean_stale(tmp_path) == [".covidseg-tmp-a.123", ".summary.csv.abc.tmp.csv"]
        assert live.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done"]


def test_clean_stale_sees_a_dead_holder(tmp_path):
    folder = tmp_path / ".covidseg-tmp-x.1"
    folder.mkdir()
    fd = os.open(folder, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.close(fd)  # the holder died: its lock went with its descriptor
    assert clean_stale(tmp_path) == [".covidseg-tmp-x.1"]


def test_summary_keeps_other_runs_failures_until_done(tmp_path):
    lock = OutputLock(tmp_path)
    report = {"input": {"path": "/in/a.nii.gz", "kind": "nifti"}, "unit": "mL", "manifest": {},
              "measurements": {"whole": {"lung": 1000.0, "lesion": 100.0, "lesion_percent": 10.0}},
              "severity": {"mosmed_grade": "CT-1"}, "timings_s": {"read": 1.0, "network": 2.5}}
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "report.json").write_text(json.dumps(report))
    outputs.rebuild_summary(tmp_path, {"b": outputs.failure_row("b", "/in/b.png", "broken")}, lock)
    outputs.rebuild_summary(tmp_path, {}, lock)  # another process: b's failure survives
    with open(tmp_path / "summary.csv", newline="") as fh:
        rows = {r["case"]: r for r in csv.DictReader(fh)}
    assert rows["a"]["status"] == "ok" and rows["a"]["lesion_percent"] == "10.00" and rows["a"]["seconds"] == "3.50"
    assert rows["b"]["status"] == "failed" and rows["b"]["error"] == "broken"
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "report.json").write_text(json.dumps(report))
    outputs.rebuild_summary(tmp_path, {}, lock)
    with open(tmp_path / "summary.csv", newline="") as fh:
        assert {r["case"]: r["status"] for r in csv.DictReader(fh)} == {"a": "ok", "b": "ok"}


def test_resume_redoes_damaged_and_changed_cases(tmp_path, tiny_all):
    from PIL import Image

    rng = np.random.default_rng(0)
    inputs = []
    for k in range(3):
        Image.fromarray(rng.integers(0, 255, (48, 48), dtype=np.uint8)).save(tmp_path / f"im{k}.png")
        inputs.append(tmp_path / f"im{k}.png")
    out = tmp_path / "out"
    argv = ["predict", "-q", *map(str, inputs), "-o", str(out), "--model", str(tiny_all), "--no-pictures"]
    assert main(argv) == 0
    stamp = {k: (out / f"im{k}" / "report.json").stat().st_mtime_ns for k in range(3)}
    (out / "im1" / "lesion.png").write_bytes(b"tampered")
    os.utime(inputs[2], ns=(1, 1))  # the input changed since
    assert main(argv + ["--resume"]) == 0
    now = {k: (out / f"im{k}" / "report.json").stat().st_mtime_ns for k in range(3)}
    assert now[0] == stamp[0] and now[1] != stamp[1] and now[2] != stamp[2]
    for k in range(3):
        run = json.loads((out / f"im{k}" / "report.json").read_text())["run"]
        assert validate_case(out / f"im{k}", run) is None


def test_without_flock_staging_folders_age_out(tmp_path, monkeypatch):
    monkeypatch.setattr(outputs, "fcntl", None)  # as on Windows
    fresh, old = tmp_path / ".covidseg-tmp-a.1", tmp_path / ".covidseg-tmp-b.2"
    fresh.mkdir()
    old.mkdir()
    os.utime(old, (1, 1))
    with OutputLock(tmp_path):
        assert clean_stale(tmp_path) == [".covidseg-tmp-b.2"]
    with staged_folder(tmp_path / "c") as tmp:
        (tmp / "report.json").write_text("{}")
        assert install(tmp, tmp_path / "c", replace=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".covidseg-tmp-a.1", ".covidseg.lock", "c"]
