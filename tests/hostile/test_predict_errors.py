"""Exit codes and one-line messages of ``covidseg predict``: failed cases in a batch, a write
failing mid-case, and an output folder that cannot be created or written."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from covidseg.cli import main

from .test_predict_support import leftovers, predict_argv, tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("model") / "tiny-all")


def _png(path: Path, seed: int = 0) -> Path:
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (48, 48), dtype=np.uint8)).save(path)
    return path


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("covidseg: error: ")]


def test_failed_cases_one_line_each_others_finish(tmp_path, model, capsys):
    good = [_png(tmp_path / f"good{k}.png", k) for k in range(2)]
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(good[0].read_bytes()[:60])
    weird = tmp_path / "two\nlines.png"  # a crafted name must not break the one-line rule
    weird.write_bytes(b"not a png")
    bad = {tmp_path / "missing.nii.gz": "no such file", truncated: "PNG", tmp_path / "notes.txt": "unsupported",
           weird: "PNG"}
    (tmp_path / "notes.txt").write_text("hello")
    code = main(predict_argv([good[0], *bad, good[1]], tmp_path / "out", model))
    err = capsys.readouterr().err
    assert code == 2
    lines = _error_lines(err)
    assert len(lines) == len(bad), err
    for path, word in bad.items():
        shown = str(path).replace("\n", "\\x0a")
        [line] = [ln for ln in lines if ln.startswith(f"covidseg: error: {shown}: ")]
        assert word.lower() in line.lower()
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["good0", "good1", "summary.csv"]
    assert leftovers(out) == []
    with open(out / "summary.csv", newline="") as fh:
        status = {r["case"]: r["status"] for r in csv.DictReader(fh)}
    assert list(status.values()).count("failed") == len(bad) and status["good0"] == status["good1"] == "ok"


def test_write_failure_leaves_nothing_of_the_case(tmp_path, model, capsys, monkeypatch):
    from covidseg.batch import case as export

    inputs = [_png(tmp_path / f"im{k}.png", k) for k in range(3)]
    real = export.write_mask

    def failing(mask, image, path):
        if Path(image.source).name == "im1.png" and path.name.startswith("lesion"):
            raise OSError(28, "No space left on device")
        return real(mask, image, path)

    monkeypatch.setattr(export, "write_mask", failing)
    assert main(predict_argv(inputs, tmp_path / "out", model)) == 2
    [line] = _error_lines(capsys.readouterr().err)
    assert re.match(rf"covidseg: error: {re.escape(str(inputs[1]))}: .*No space left on device", line)
    out = tmp_path / "out"
    assert not (out / "im1").exists() and (out / "im0" / "report.json").is_file() and (out / "im2").is_dir()
    assert leftovers(out) == []


def _under_file(tmp_path):
    (tmp_path / "plain").write_text("x")
    return tmp_path / "plain" / "out"


def _existing_file(tmp_path):
    (tmp_path / "plain").write_text("x")
    return tmp_path / "plain"


def _sysfs(tmp_path):
    if not os.path.isdir("/sys/kernel"):
        pytest.skip("no /sys")
    return Path("/sys/kernel")


def _read_only(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    return folder


@pytest.mark.parametrize("make_out", [_under_file, _existing_file, _sysfs, _read_only])
def test_unwritable_output_stops_before_any_work(tmp_path, capsys, make_out):
    out = make_out(tmp_path)
    src = _png(tmp_path / "im.png")
    # A model path that does not exist: the output check must come first (no model loaded).
    code = main(predict_argv([src], out, tmp_path / "no-such-model"))
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"covidseg: error: {out}: ")
    assert "output" in err and "model" not in err.replace("no-such-model", "")


def test_planted_symlink_case_folder_is_not_followed(tmp_path, model, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "im0").symlink_to(elsewhere, target_is_directory=True)
    inputs = [_png(tmp_path / "im0.png"), _png(tmp_path / "im1.png", 1)]
    # The link is not a case covidseg wrote: never followed, never replaced (not even with
    # --overwrite); im0's case takes the next free name.
    assert main(predict_argv(inputs, out, model, "--overwrite")) == 0
    assert _error_lines(capsys.readouterr().err) == []
    assert list(elsewhere.iterdir()) == [] and (out / "im0").is_symlink()
    assert (out / "im0_2" / "report.json").is_file() and (out / "im1" / "report.json").is_file()


def test_unwritable_summary_keeps_finished_cases(tmp_path, model, capsys, monkeypatch):
    from covidseg.batch import outputs

    def full(*a, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs, "rebuild_summary", full)
    inputs = [_png(tmp_path / f"im{k}.png", k) for k in range(2)]
    assert main(predict_argv(inputs, tmp_path / "out", model)) == 2
    [line] = _error_lines(capsys.readouterr().err)
    assert line == f"covidseg: error: {tmp_path / 'out' / 'summary.csv'}: cannot write (No space left on device)"
    assert all((tmp_path / "out" / f"im{k}" / "report.json").is_file() for k in range(2))
