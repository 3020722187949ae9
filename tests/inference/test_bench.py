"""``covidseg bench`` works from an installed package: it generates what it times (issue 16)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from covidseg.bench import synthetic_chest

SRC = Path(__file__).resolve().parents[2] / "src" / "covidseg"


def test_the_phantom_is_segmented_as_a_chest():
    from covidseg.inference import Segmenter

    vol = synthetic_chest(slices=24, size=256)
    pred = Segmenter(None, tasks=("lung",), lung_method="hu").predict(vol, spacing=(5.0, 1.4, 1.4))
    m = pred.report()["measurements"]
    left, right = m["left"]["lung"], m["right"]["lung"]
    assert left > 100 and right > 100 and abs(left - right) / (left + right) < 0.1  # two lungs, mirror images
    lungs = (vol > -950) & (vol < -400)  # aerated and ground-glass lung of the phantom
    dice = 2 * (pred.lung & lungs).sum() / (pred.lung.sum() + lungs.sum())
    assert dice > 0.85
    assert not pred.lung[0].any() and not pred.lung[-1].any()  # no lung above or below the lungs


def test_ct64_scenario_asks_for_the_data_in_one_line(capsys, tmp_path, monkeypatch):
    from covidseg.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--scenarios", "ct64"]) == 2
    err = capsys.readouterr().err
    assert "--ct-examples" in err and err.count("\n") == 1
    assert main(["bench", "--ct-examples", str(tmp_path)]) == 2
    assert "cip-ct64.nii.gz" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_runs_from_an_installed_copy(tmp_path):
    # the package alone, as pip installs it: no checkout, no ../shared/data beside it
    site = tmp_path / "site"
    shutil.copytree(SRC, site / "covidseg", ignore=shutil.ignore_patterns("__pycache__"))
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run([sys.executable, "-m", "covidseg", "bench", "--scenarios", "slice", "vol", "--slices", "4",
                           "--threads", "1", "--json", "out.json"], cwd=work, env={"PYTHONPATH": str(site),
                          "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((work / "out.json").read_text())
    assert result["volume"] == "synthetic chest phantom" and result["model"] == "shipped"
    assert result["slice_512"]["seconds"] > 0 and result["synthetic_4x512"]["timings"]["network_slices"] >= 1
    assert np.isfinite(result["synthetic_4x512"]["seconds"])
