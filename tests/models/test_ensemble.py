"""Ensemble: the mean of its members' probabilities, saved and loaded as one checksummed folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from covidseg.errors import ChecksumError
from covidseg.models import Ensemble, EnsembleConfig, MAUNet, MAUNetConfig, combine, load_pretrained

ROOT = Path(__file__).resolve().parents[2]
LABELS = {"all": ["background", "lung", "ggo", "consolidation"], "lesion": ["background", "infection"]}


def member(folder: Path, task: str = "all", seed: int = 0, **meta) -> Path:
    torch.manual_seed(seed)
    softmax = task == "all"
    net = MAUNet(MAUNetConfig(num_classes=4 if softmax else 1, base_channels=4, depth=2, cbam_reduction=2))
    metadata = {"task": task, "labels": LABELS[task], "activation": "softmax" if softmax else "sigmoid",
                "input_size": 32, "threshold": 0.5, **meta}
    net.save_pretrained(folder, metadata=metadata)
    return folder


@pytest.mark.parametrize("task,act", [("all", torch.softmax), ("lesion", None)])
@pytest.mark.parametrize("n_members", [2, 3])
def test_activation_of_the_output_is_the_mean_of_member_probabilities(tmp_path, task, act, n_members):
    folders = [member(tmp_path / f"m{k}", task, seed=k) for k in range(n_members)]
    ens = combine(folders)
    x = torch.rand(2, 1, 32, 32)
    with torch.inference_mode():
        out = ens(x)
        ps = [load_pretrained(f)(x) for f in folders]
    if task == "all":
        want = torch.stack([torch.softmax(p, 1) for p in ps]).mean(0)
        got = torch.softmax(out, 1)
    else:
        want = torch.stack([torch.sigmoid(p) for p in ps]).mean(0)
        got = torch.sigmoid(out)
    assert out.shape == ps[0].shape
    torch.testing.assert_close(got, want, atol=2e-6, rtol=0)
    # not just one member's answer
    assert (got - torch.softmax(ps[0], 1) if task == "all" else got - torch.sigmoid(ps[0])).abs().max() > 1e-4


def test_saved_ensemble_loads_verified_and_predicts_the_same(tmp_path):
    ens = combine([member(tmp_path / "a"), member(tmp_path / "b", seed=1)], {"threshold": 0.35})
    ens.save_pretrained(tmp_path / "ens", dtype="float32")
    back = load_pretrained(tmp_path / "ens")
    assert isinstance(back, Ensemble) and len(back.members) == 2
    assert back.metadata["threshold"] == 0.35
    assert [m["name"] for m in back.metadata["members"]] == ["a", "b"]
    assert back.metadata["task"] == "all" and back.metadata["slice_axes"] == "LP"
    x = torch.rand(1, 1, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(back(x), ens(x))
    weights = tmp_path / "ens" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ChecksumError):
        load_pretrained(tmp_path / "ens")


@pytest.mark.parametrize("meta", [{"input_size": 64}, {"slice_axes": "PL"}, {"hu_window": [-1000.0, 200.0]}])
def test_members_that_see_the_slices_differently_are_refused(tmp_path, meta):
    a = member(tmp_path / "a")
    b = member(tmp_path / "b", seed=1, **meta)
    key = next(iter(meta))
    with pytest.raises(ValueError, match=rf"b: metadata '{key}'"):
        combine([a, b])


def test_a_default_window_equals_the_same_window_written_out(tmp_path):
    from covidseg.io.windowing import MODEL_WINDOW

    a = member(tmp_path / "a")
    b = member(tmp_path / "b", seed=1, hu_window=[MODEL_WINDOW.lower, MODEL_WINDOW.upper])
    assert len(combine([a, b]).members) == 2


@pytest.mark.parametrize("members,match", [
    ([], "at least two"),
    ([{"architecture": "MAUNet", "config": {}}], "at least two"),
    ([{"architecture": "Nope", "config": {}}] * 2, "unknown or nested"),
    ([{"architecture": "Ensemble", "config": {}}] * 2, "unknown or nested"),
    ([{"architecture": "MAUNet"}] * 2, r"members\[0\]"),
    ([{"architecture": "MAUNet", "config": {"num_classes": 4}}, {"architecture": "MAUNet", "config": {"num_classes": 2}}],
     "disagree on num_classes"),
])
def test_config_errors_name_the_problem(members, match):
    with pytest.raises(ValueError, match=match):
        EnsembleConfig(members=members)


def test_config_round_trips_and_rejects_unknown_keys():
    cfg = EnsembleConfig(members=[{"architecture": "MAUNet", "config": {"num_classes": 4}}] * 2)
    assert EnsembleConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))).to_dict() == cfg.to_dict()
    assert cfg.num_classes == 4 and cfg.in_channels == 1
    with pytest.raises(ValueError, match="unknown EnsembleConfig keys"):
        EnsembleConfig.from_dict({**cfg.to_dict(), "weights": 1})
    with pytest.raises(ValueError, match="activation"):
        EnsembleConfig(members=cfg.members, activation="relu")


def test_an_ensemble_cannot_be_put_in_training_mode(tmp_path):
    ens = combine([member(tmp_path / "a"), member(tmp_path / "b", seed=1)])
    assert not ens.training and not any(m.training for m in ens.members)
    with pytest.raises(RuntimeError, match="inference only"):
        ens.train()


def test_combine_refuses_one_folder_and_a_nested_ensemble(tmp_path):
    a, b = member(tmp_path / "a"), member(tmp_path / "b", seed=1)
    with pytest.raises(ValueError, match="at least two"):
        combine([a])
    combine([a, b]).save_pretrained(tmp_path / "ab")
    with pytest.raises(ValueError, match="already an ensemble"):
        combine([a, tmp_path / "ab"])
    with pytest.raises(ValueError, match="ab: is already an ensemble"):
        combine([tmp_path / "ab", a])


def test_segmenter_runs_an_ensemble_folder_like_any_model(tmp_path):
    from covidseg import Segmenter

    folders = [member(tmp_path / f"m{k}", seed=k) for k in range(2)]
    combine(folders, {"threshold": 0.4}).save_pretrained(tmp_path / "ens")
    img = (np.random.default_rng(0).random((48, 48)) * 255).astype(np.uint8)
    pred = Segmenter(tmp_path / "ens", device="cpu").predict(img)
    assert pred.lesion.shape == (48, 48) and pred.lung.shape == (48, 48)
    from covidseg.inference.loading import discover, load_models

    loaded = load_models(discover(tmp_path / "ens"))[0]
    assert loaded.describe()["architecture"] == "Ensemble" and loaded.threshold == 0.4


def test_ship_ensemble_script_writes_a_loadable_folder_and_fails_cleanly(tmp_path):
    a, b = member(tmp_path / "a"), member(tmp_path / "b", seed=1)
    script = ROOT / "scripts" / "ship_ensemble.py"
    ok = subprocess.run([sys.executable, str(script), str(a), str(b), str(tmp_path / "out"), "--threshold", "0.3"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert load_pretrained(tmp_path / "out").metadata["threshold"] == 0.3
    assert json.loads((tmp_path / "out" / "config.json").read_text())["weights"]["dtype"] == "float16"
    c = member(tmp_path / "c", seed=2, input_size=64)
    bad = subprocess.run([sys.executable, str(script), str(a), str(c), str(tmp_path / "bad"), "--threshold", "0.3"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "input_size" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists() and not (tmp_path / "bad.new").exists()
