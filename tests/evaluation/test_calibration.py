"""Temperature scaling for the published protocol: monotone, centred on the threshold, no mask changes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from covidseg.cli import main
from covidseg.data.synthetic import make_split
from covidseg.evaluation import evaluate
from covidseg.evaluation.calibration import sharpen
from covidseg.evaluation.metrics import published_image


@pytest.mark.parametrize("temperature,centre", [(0.2, 0.35), (0.5, 0.2), (1.0, 0.5), (2.0, 0.7)])
def test_sharpen_keeps_order_and_every_mask(temperature, centre):
    p = np.random.default_rng(0).random(5000).astype(np.float32)
    q = sharpen(p, temperature, centre)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(q[order]) >= 0)  # monotone: every threshold of p is a threshold of q
    assert np.array_equal(p > centre, q > 0.5)  # the operating mask is unchanged
    assert q.min() >= 0 and q.max() <= 1


def test_identity_and_saturation():
    p = np.linspace(0.01, 0.99, 99)
    assert np.allclose(sharpen(p, 1.0, 0.5), p, atol=1e-6)
    sharp = sharpen(p, 0.05, 0.4)
    assert (sharp[p < 0.3] < 0.01).all() and (sharp[p > 0.5] > 0.99).all()


@pytest.mark.parametrize("kwargs,bad", [({"temperature": 0.0}, "temperature"), ({"temperature": -1.0}, "temperature"),
                                        ({"temperature": 1.0, "centre": 1.0}, "centre")])
def test_bad_arguments_name_themselves(kwargs, bad):
    with pytest.raises(ValueError, match=bad):
        sharpen(np.zeros(3), **kwargs)


def test_sharpening_a_mid_probability_band_raises_published_dice():
    # a correct mask whose map sits in a wide mid band: the published protocol punishes the band
    gt = np.zeros((64, 64), bool)
    gt[16:48, 16:48] = True
    p = np.where(gt, 0.45, 0.25) + np.random.default_rng(1).normal(0, 0.08, gt.shape)
    p = np.clip(p, 0, 1)
    raw = np.mean(published_image(p, gt)["curves"]["dice"])
    cal = np.mean(published_image(sharpen(p, 0.2, 0.35), gt)["curves"]["dice"])
    assert cal > raw + 0.05


def test_evaluate_reports_calibrated_published_beside_raw(tmp_path):
    from covidseg.training import TrainConfig, Trainer

    split = make_split(tmp_path / "test", n=4, size=(40, 36), seed=3)
    train = make_split(tmp_path / "train", n=6, seed=9)
    Trainer(TrainConfig(task="all", data=str(train), out=str(tmp_path / "run"), epochs=1, steps_per_epoch=2,
                        base_channels=4, depth=2, input_size=32, batch_size=2, val_count=2, threads=1),
            verbose=False).fit()
    plain = evaluate(split, model=tmp_path / "run", targets=["infection"])
    assert plain.published_calibrated == {} and plain.temperature is None  # the model has no temperature
    cal = evaluate(split, model=tmp_path / "run", targets=["infection"], temperature=0.3)
    # masks and raw published numbers are untouched; the calibrated table is added
    assert cal.binary["infection"]["mean"] == plain.binary["infection"]["mean"]
    assert cal.published["infection"]["mean"] == plain.published["infection"]["mean"]
    assert cal.temperature == 0.3 and 0 <= cal.published_calibrated["infection"]["mean"]["mean_dice"] <= 1
    out = tmp_path / "eval"
    assert main(["evaluate", "--model", str(tmp_path / "run"), "--data", str(split), "--targets", "infection",
                 "--temperature", "0.3", "--out", str(out)]) == 0
    data = json.loads((out / "results.json").read_text())
    assert data["protocols"]["published_calibrated"]["temperature"] == 0.3
    assert data["protocols"]["published_calibrated"]["infection"]["mean"]["mean_dice"] == pytest.approx(
        cal.published_calibrated["infection"]["mean"]["mean_dice"])
    assert "published_calibrated" in (out / "summary.csv").read_text()
    assert main(["evaluate", "--model", str(tmp_path / "run"), "--data", str(split), "--temperature", "-1"]) == 2
