"""Own-teacher self-training: pseudolabel writes ignorable label maps, the loss skips ignored
pixels, and a student trains on labelled + teacher-labelled slices."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from covidseg.cli import main as cli_main
from covidseg.data import IGNORE, TEACHER, load_folder
from covidseg.data.synthetic import make_split
from covidseg.errors import ConfigError, InputError
from covidseg.training import SegLoss, TrainConfig, Trainer
from covidseg.training.pseudolabel import PseudoLabelConfig, label_map, pseudolabel

TINY = dict(base_channels=4, depth=2, input_size=32, batch_size=2, val_count=2, threads=1, log_every=1000)


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """A tiny task-'all' model trained for a few steps, and its data."""
    root = tmp_path_factory.mktemp("st")
    split = make_split(root / "train", n=6)
    c = TrainConfig(**{**TINY, "task": "all", "data": str(split), "out": str(root / "teacher"), "epochs": 2,
                       "steps_per_epoch": 2})
    res = Trainer(c, verbose=False).fit()
    unl = make_split(root / "unl", n=5, seed=3)
    return res.model_dir, split, unl


def test_label_map_ignores_unsure_pixels():
    probs = np.zeros((4, 2, 3), np.float32)
    probs[1] = [[0.9, 0.5, 0.2], [0.1, 0.69, 0.7]]
    probs[2] = 1 - probs[1]
    lab = label_map(probs, 0.7)
    assert lab.tolist() == [[1, IGNORE, 2], [2, IGNORE, 1]]
    with pytest.raises(ValueError, match="min_confidence"):
        PseudoLabelConfig(min_confidence=1.0)


def test_pseudolabel_writes_a_split_folder_the_trainer_reads(teacher, tmp_path):
    model, _, unl = teacher
    out = tmp_path / "teach"
    doc = pseudolabel([model, model], unl, out, PseudoLabelConfig(min_confidence=0.6))
    assert doc["task"] == "all" and doc["n_slices"] == 5 and len(doc["teachers"]) == 2
    info = json.loads((out / "teacher" / "teacher.json").read_text())
    assert info["ignored_fraction"] == doc["ignored_fraction"] and 0 <= info["ignored_fraction"] <= 1
    labels = [np.asarray(Image.open(p)) for p in sorted((out / "teacher").glob("*.png"))]
    assert len(labels) == 5 and all(set(np.unique(lab)) <= {0, 1, 2, 3, IGNORE} for lab in labels)
    assert labels[0].shape == np.asarray(Image.open(next((unl / "images").glob("*.png")))).shape
    samples = load_folder(out, "all", pseudo="teacher", pseudo_map=True)
    assert len(samples) == 5
    with pytest.raises(ConfigError, match="exists already"):
        pseudolabel([model], unl, out)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no staging folder left


def test_pseudolabel_cli(teacher, tmp_path, capsys):
    model, _, unl = teacher
    assert cli_main(["pseudolabel", "--model", str(model), "--data", str(unl), "--out", str(tmp_path / "o"),
                     "--no-tta"]) == 0
    assert "5 slices labelled by 1 teacher(s) of task all" in capsys.readouterr().out
    assert cli_main(["pseudolabel", "--model", str(model), "--data", str(unl), "--out", str(tmp_path / "p"),
                     "--min-confidence", "1.5"]) == 2
    assert "min-confidence" in capsys.readouterr().err and not (tmp_path / "p").exists()


def test_label_maps_with_foreign_values_are_refused(tmp_path):
    split = make_split(tmp_path / "u", n=2)
    (split / "teacher").mkdir()
    for i in range(2):
        Image.fromarray(np.full((48, 40), 7 if i else 0, np.uint8)).save(split / "teacher" / f"{i}.png")
    with pytest.raises(InputError, match=r"1\.png.*\[7\] are not labels of task 'all'"):
        load_folder(split, "all", pseudo="teacher", pseudo_map=True)


@pytest.mark.parametrize("task", ["all", "lesion"])
def test_ignored_pixels_do_not_change_the_loss_or_its_gradient(task):
    torch.manual_seed(0)
    c = 4 if task == "all" else 1
    logits = torch.randn(2, c, 16, 16, requires_grad=True)
    label = torch.randint(0, c if c > 1 else 2, (2, 1, 16, 16)).float()
    label[:, :, :8] = IGNORE
    loss_fn = SegLoss(task)
    kind = torch.full((2,), TEACHER)
    loss = loss_fn(logits, label, kind)
    loss.backward()
    assert torch.isfinite(loss) and logits.grad[:, :, :8].abs().max() == 0  # ignored half: no gradient
    assert logits.grad[:, :, 8:].abs().max() > 0
    other = label.clone()
    other[:, :, :8] = 0  # a different value under the ignored pixels...
    other[:, :, :8] = IGNORE
    assert torch.allclose(loss_fn(logits.detach(), other, kind), loss.detach())
    # ...and the same loss as plain supervision when nothing is ignored
    full = torch.randint(0, c if c > 1 else 2, (2, 1, 16, 16)).float()
    masked = loss_fn(logits.detach(), full, kind)
    plain = loss_fn(logits.detach(), full, torch.zeros(2, dtype=torch.long))
    assert torch.allclose(masked, plain, atol=1e-4)


def test_student_trains_on_teacher_labels(teacher, tmp_path):
    model, split, unl = teacher
    pseudolabel([model], unl, tmp_path / "teach", PseudoLabelConfig(min_confidence=0.5))
    c = TrainConfig(**{**TINY, "task": "all", "data": str(split), "out": str(tmp_path / "student"), "epochs": 2,
                       "steps_per_epoch": 2, "unlabeled": str(tmp_path / "teach"), "pseudo_kind": "teacher",
                       "pseudo_folder": "teacher", "pseudo_epochs": 2, "pseudo_per_epoch": 0,
                       "augment": {"copy_paste": 0.5}})
    res = Trainer(c, verbose=False).fit()
    run = json.loads((tmp_path / "student" / "run.json").read_text())
    assert res.status == "completed" and run["n_pseudo"] == 5 and run["unlabeled_sha256"]
    # a student of another task cannot use these label maps
    bad = TrainConfig(**{**TINY, "task": "lesion", "data": str(split), "out": str(tmp_path / "s2"), "epochs": 1,
                         "unlabeled": str(tmp_path / "teach"), "pseudo_kind": "teacher", "pseudo_folder": "teacher",
                         "pseudo_epochs": 1})
    with pytest.raises(ConfigError, match="task 'all'.*task 'lesion'"):
        Trainer(bad, verbose=False).fit()
