"""Training under faults: damaged checkpoints and SIGKILL at random points."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from covidseg.cli import main as cli_main
from covidseg.data.synthetic import make_split
from covidseg.errors import CheckpointError
from covidseg.training import TrainConfig, Trainer
from covidseg.training.checkpoint import load_checkpoint, previous_of, save_rotating

TINY = dict(base_channels=4, depth=2, input_size=32, batch_size=2, val_count=2, threads=1, log_every=1000,
            task="lesion", steps_per_epoch=2, export=False)


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    return make_split(tmp_path_factory.mktemp("data") / "train", n=8)


def cfg(split, out, **kw):
    return TrainConfig(**{**TINY, "data": str(split), "out": str(out), **kw})


def weights(run: Path) -> dict:
    return load_checkpoint(run / "checkpoints" / "last.pt")["model"]


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


class Killed(Exception):
    pass


def run_until_epoch(split, out, stop_at: int, epochs: int) -> None:
    t = Trainer(cfg(split, out, epochs=epochs), verbose=False)
    orig = t._epoch_indices

    def dying(epoch):
        if epoch == stop_at:
            raise Killed
        return orig(epoch)

    t._epoch_indices = dying
    with pytest.raises(Killed):
        t.fit()


@pytest.fixture(scope="module")
def reference(split, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    Trainer(cfg(split, out, epochs=4), verbose=False).fit()
    return weights(out)


def test_save_rotating_keeps_the_replaced_checkpoint(tmp_path):
    path = tmp_path / "last.pt"
    save_rotating({"v": torch.tensor(1)}, path)
    assert not previous_of(path).exists()
    save_rotating({"v": torch.tensor(2)}, path)
    save_rotating({"v": torch.tensor(3)}, path)
    assert int(load_checkpoint(path)["v"]) == 3
    assert int(load_checkpoint(previous_of(path))["v"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.prev.pt", "last.pt"]


@pytest.fixture(scope="module")
def killed_at_3(split, tmp_path_factory):
    run = tmp_path_factory.mktemp("killed") / "run"
    run_until_epoch(split, run, stop_at=3, epochs=4)  # last.pt = after epoch 3, last.prev.pt = after epoch 2
    return run


@pytest.mark.parametrize("damage", ["truncate", "zero", "garbage", "delete"])
def test_damaged_last_checkpoint_falls_back_to_the_previous_one(killed_at_3, tmp_path, reference, capsys, damage):
    run = tmp_path / "run"
    shutil.copytree(killed_at_3, run)
    last = run / "checkpoints" / "last.pt"
    assert load_checkpoint(previous_of(last))["epoch"] == 2
    data = last.read_bytes()
    if damage == "truncate":
        last.write_bytes(data[: len(data) // 2])
    elif damage == "zero":
        last.write_bytes(b"")
    elif damage == "garbage":
        last.write_bytes(os.urandom(len(data)))
    else:
        last.unlink()
    resumed = Trainer.resume(run, verbose=False)
    err = capsys.readouterr().err
    if damage != "delete":
        assert "last.pt is damaged" in err
    assert "resuming from" in err and "last.prev.pt (epoch 2" in err
    assert resumed.fit().status == "completed"
    assert_same_weights(weights(run), reference)  # nothing lost: same end point as an uninterrupted run


def test_no_usable_checkpoint_is_a_clear_error(killed_at_3, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(killed_at_3, run)
    for p in (run / "checkpoints").glob("last*.pt"):
        p.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"no usable checkpoint \(last\.pt: .+; last\.prev\.pt: .+\)"):
        Trainer.resume(run, verbose=False)
    assert cli_main(["train", "--resume", str(run), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("covidseg: error:") and str(run / "checkpoints") in err[-1]


def _train_cmd(split, out: Path, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "covidseg", "train", "--quiet"]
    if resume:
        return cmd + ["--resume", str(out)]
    args = {"data": split, "out": out, "task": "lesion", "epochs": 4, "steps-per-epoch": 2, "base-channels": 4,
            "depth": 2, "input-size": 32, "batch-size": 2, "val-count": 2, "threads": 1}
    return cmd + [x for k, v in args.items() for x in (f"--{k}", str(v))] + ["--no-export"]


def test_sigkill_at_random_points_then_resume_reaches_the_same_weights(split, tmp_path, reference):
    """Kill -9 the CLI at random moments; re-running (``--resume`` once a checkpoint exists)
    always continues from the last good checkpoint and ends where an uninterrupted run ends."""
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    rng = random.Random(7)
    kills = 0
    for attempt in range(12):
        resume = (run / "checkpoints" / "last.pt").exists() or previous_of(run / "checkpoints" / "last.pt").exists()
        proc = subprocess.Popen(_train_cmd(split, run, resume), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        if attempt < 3:
            # die somewhere between start-up and the end of training (the run takes a few seconds)
            deadline = time.monotonic() + rng.uniform(2.0, 6.0)
            while time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.02)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
        _, err = proc.communicate(timeout=300)
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, err
    else:
        pytest.fail("training never completed")
    assert kills >= 1
    assert not list((run / "checkpoints").glob(".*tmp*")), "a killed save left a temporary file"
    assert_same_weights(weights(run), reference)
