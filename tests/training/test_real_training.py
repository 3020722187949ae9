"""Real COVID-SemiSeg training, end to end. Slow: run on purpose with ``pytest -m slow``."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_short_real_run_then_evaluate_on_the_48_test_slices(semiseg, tmp_path):
    from covidseg.evaluation import evaluate
    from covidseg.training import TrainConfig, Trainer

    cfg = TrainConfig(task="lesion", data=str(semiseg / "train"), out=str(tmp_path / "run"), epochs=5,
                      steps_per_epoch=20, base_channels=8, input_size=160, batch_size=8, lr=2e-3,
                      warmup_epochs=0.5, threads=2)
    res = Trainer(cfg, verbose=False).fit()
    assert res.status == "completed" and len(res.history) == 5
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]
    ev = evaluate(semiseg / "test", model=res.model_dir, out=tmp_path / "eval")
    assert len(ev.names) == 48
    b, p = ev.binary["infection"]["mean"], ev.published["infection"]["mean"]
    assert 0.3 < b["dice"] <= 1.0 and b["specificity"] > 0.8  # finds lesions, not just everything
    assert 0.0 < p["mean_dice"] < b["dice"] + 0.2 and 0.0 <= p["mae"] <= 1.0
