"""The ablation table is regenerated from saved evaluations: mean ± sd over seeds, rows not yet
run marked, the hand-written notes below the generated part kept."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import ablation  # noqa: E402
import ablation_report  # noqa: E402


def fake_result(folder: Path, job: str, dice: float, pub: float) -> None:
    row, seed = ablation.split_job(job)
    mean_b = {"dice": dice, "sensitivity": 0.7, "specificity": 0.95, "iou": dice - 0.1, "hd95": 40.0}
    mean_p = {"mean_dice": pub, "mean_sensitivity": 0.7, "mean_specificity": 0.95, "mean_iou": pub - 0.1}
    data = {"protocols": {"binary": {"infection": {"mean": mean_b}}, "published": {"infection": {"mean": mean_p}}},
            "row": {"job": job, "name": row.name, "label": row.label, "seed": seed},
            "training": {"train_seconds": 600, "val_dice": 0.7, "threshold": 0.4, "best_epoch": 90, "code_version": "x"}}
    (folder / f"{job}.json").write_text(json.dumps(data))


def test_table_aggregates_seeds_and_marks_missing_rows(tmp_path):
    fake_result(tmp_path, "unet-s0", 0.70, 0.60)
    fake_result(tmp_path, "unet-s1", 0.74, 0.64)
    fake_result(tmp_path, "maunet-s0", 0.75, 0.69)
    md = ablation_report.results_markdown(ablation.ROWS, tmp_path)
    unet = next(line for line in md.splitlines() if line.startswith("| U-Net |"))
    assert "| 2 | 0.620 ± 0.028 |" in unet and "0.720 ± 0.028" in unet
    full = next(line for line in md.splitlines() if line.startswith("| MA-UNet (all four) |"))
    assert "| 1 | 0.690 |" in full
    assert "| + CBAM | 0 | not run yet" in md
    assert "| Semi-Inf-Net | 0.739 | 0.725 | 0.960 |" in md


def test_write_results_keeps_the_hand_written_notes(tmp_path):
    (tmp_path / "r").mkdir()
    fake_result(tmp_path / "r", "unet-s0", 0.7, 0.6)
    (tmp_path / "docs").mkdir()
    out = tmp_path / "docs" / "results.md"
    out.write_text("old table\n" + ablation_report.END + "\nmy notes\n")
    ablation_report.write_results(tmp_path, ablation.ROWS, tmp_path / "r")
    text = out.read_text()
    assert "old table" not in text and text.endswith(ablation_report.END + "\nmy notes\n")
    assert "| U-Net | 1 | 0.600 |" in text


@pytest.mark.parametrize("job", ["nope-s0", "unet", "unet-sX"])
def test_run_refuses_an_unknown_job_before_training_any(job, monkeypatch):
    trained = []
    monkeypatch.setattr(ablation, "run_job", lambda name, threads: trained.append(name))
    with pytest.raises(SystemExit, match="unknown job"):
        ablation.main(["run", "--only", "unet-s0", job])
    assert trained == []
