"""benchmarks/cv.py end to end on a tiny synthetic split: every fold trained, every slice scored
once out-of-fold, one self-training round whose students never see their fold's slices."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import cv  # noqa: E402

from covidseg.data.folds import folds_document  # noqa: E402
from covidseg.data.synthetic import make_split  # noqa: E402

TINY = """task: all
base_channels: 4
depth: 2
input_size: 32
batch_size: 2
epochs: 1
steps_per_epoch: 1
checkpoint: last
"""


@pytest.fixture(scope="module")
def cv_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cv")
    data = make_split(root / "train", n=6)
    folds = root / "folds.json"
    folds.write_text(json.dumps(folds_document([str(i) for i in range(6)], 2, 0)))
    config = root / "tiny.yaml"
    config.write_text(TINY)
    assert cv.main(["train", str(config), "--out", str(root / "teacher"), "--data", str(data),
                    "--folds-file", str(folds)]) == 0
    return root, data, folds, config


def test_every_slice_is_scored_once_out_of_fold(cv_run, capsys):
    root, data, folds, _ = cv_run
    assert cv.main(["oof", str(root / "teacher"), "--train", str(data), "--save", str(root / "oof.json")]) == 0
    doc = json.loads((root / "oof.json").read_text())
    assert doc["n_folds"] == 2 and sorted(doc["per_slice"]) == [str(i) for i in range(6)]
    s = doc["summary"]["binary.infection.dice"]
    assert s["n_slices"] == 6 and 0 <= s["fold_mean"] <= 1
    assert set(doc["threshold_sweep"]["infection_dice_by_threshold"]) and 0 < doc["threshold_sweep"]["best"] < 1
    assert cv.main(["table", str(root / "oof.json")]) == 0
    assert "| teacher |" in capsys.readouterr().out


def test_finished_folds_are_not_retrained(cv_run):
    root, data, folds, config = cv_run
    before = (root / "teacher" / "fold0" / "model" / "model.safetensors").stat().st_mtime_ns
    assert cv.main(["train", str(config), "--out", str(root / "teacher"), "--data", str(data),
                    "--folds-file", str(folds)]) == 0
    assert (root / "teacher" / "fold0" / "model" / "model.safetensors").stat().st_mtime_ns == before


def _selftrain(cv_run, name: str, seed: int, *flags: str) -> Path:
    """One tiny self-training round into ROOT/name; returns ROOT."""
    root, data, folds, _ = cv_run
    unl = make_split(root / f"unl-{name}", n=3, seed=seed)
    student = root / f"{name}.yaml"
    student.write_text(TINY + "pseudo_epochs: 1\npseudo_per_epoch: 0\n")
    assert cv.main(["selftrain", str(root / "teacher"), str(student), "--out", str(root / name),
                    "--unlabeled", str(unl), "--data", str(data), "--folds-file", str(folds),
                    "--min-confidence", "0.3", *flags]) == 0
    return root


def test_selftrain_gives_each_student_its_own_fold_teacher(cv_run):
    root = _selftrain(cv_run, "student", 5)
    for k in range(2):
        info = json.loads((root / "student" / f"labels-fold{k}" / "teacher" / "teacher.json").read_text())
        teacher_val = info["teachers"][0]["validation"]["names"]
        split = json.loads((root / "student" / f"fold{k}" / "split.json").read_text())
        assert sorted(split["val"]) == sorted(teacher_val)  # the teacher never trained on them either
        run = json.loads((root / "student" / f"fold{k}" / "run.json").read_text())
        assert run["n_pseudo"] == 3


def test_students_fine_tuned_from_their_own_fold_teacher(cv_run):
    root = _selftrain(cv_run, "student-ft", 6, "--init-from-teacher")
    for k in range(2):
        cfg = json.loads((root / "student-ft" / f"fold{k}" / "config.json").read_text())
        assert Path(cfg["init"]) == root / "teacher" / f"fold{k}" / "model"
        assert cfg["pseudo_kind"] == "teacher"


def test_healthy_scan_burden_per_fold_model_at_one_threshold(cv_run, ct_examples, capsys):
    root, _, _, _ = cv_run
    out = root / "healthy.json"
    assert cv.main(["healthy", str(root / "teacher"), "--scan", str(ct_examples / "cip-ct64.nii.gz"),
                    "--threshold", "0.9", "--save", str(out)]) == 0
    doc = json.loads(out.read_text())
    (recipe,) = doc["recipes"].values()
    assert sorted(recipe["per_fold"]) == ["fold0", "fold1"] and doc["threshold"] == 0.9
    assert all(0.0 <= v <= 100.0 for v in recipe["per_fold"].values())
    assert abs(recipe["mean"] - sum(recipe["per_fold"].values()) / 2) < 1e-9
    # the fold models themselves keep their own threshold (the copy is temporary)
    meta = json.loads((root / "teacher" / "fold0" / "model" / "config.json").read_text())["metadata"]
    assert meta["threshold"] != 0.9
    assert "at threshold 0.9" in capsys.readouterr().out


def test_fold_wise_ensemble_is_scored_like_a_recipe(cv_run, tmp_path):
    import shutil

    import torch

    from covidseg.models import Ensemble, load_pretrained

    root, data, folds, config = cv_run
    other = root / "seed1.yaml"
    other.write_text(TINY + "seed: 1\n")
    assert cv.main(["train", str(other), "--out", str(root / "teacher-s1"), "--data", str(data),
                    "--folds-file", str(folds)]) == 0
    out = root / "ens"
    assert cv.main(["ensemble", str(root / "teacher"), str(root / "teacher-s1"), "--out", str(out)]) == 0
    for k in range(2):
        ens = load_pretrained(out / f"fold{k}" / "model")
        assert isinstance(ens, Ensemble) and len(ens.members) == 2
        own = json.loads((root / "teacher" / f"fold{k}" / "model" / "config.json").read_text())["metadata"]
        assert ens.metadata["validation"] == own["validation"] and ens.metadata["threshold"] == 0.35
        x = torch.rand(1, 1, 32, 32)
        with torch.inference_mode():
            want = sum(torch.softmax(load_pretrained(r / f"fold{k}" / "model")(x), 1)
                       for r in (root / "teacher", root / "teacher-s1")) / 2
            torch.testing.assert_close(torch.softmax(ens(x), 1), want, atol=2e-6, rtol=0)
    assert cv.main(["oof", str(out), "--train", str(data), "--save", str(root / "ens.json")]) == 0
    assert sorted(json.loads((root / "ens.json").read_text())["per_slice"]) == [str(i) for i in range(6)]
    # members that held out different slices are refused
    bad = tmp_path / "bad"
    shutil.copytree(root / "teacher-s1", bad)
    cfg_path = bad / "fold1" / "model" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["metadata"]["validation"]["names"] = ["0"]
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(SystemExit, match="fold1: the members did not hold out the same slices"):
        cv.main(["ensemble", str(root / "teacher"), str(bad), "--out", str(tmp_path / "ens-bad")])
    assert not (tmp_path / "ens-bad").exists()  # fold0 was fine, but nothing is written
