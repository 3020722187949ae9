"""DistributedDataParallel: two gloo processes on CPU under torchrun."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import torch

from covidseg.data.synthetic import make_split
from covidseg.training.checkpoint import load_checkpoint


def test_two_gloo_processes_train_and_write_one_checkpoint(tmp_path):
    data = make_split(tmp_path / "train", n=10)
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "covidseg",
           "train", "--task", "lesion", "--data", str(data), "--out", str(run), "--epochs", "2", "--device", "cpu",
           "--base-channels", "4", "--depth", "2", "--input-size", "32", "--batch-size", "2", "--val-count", "2",
           "--threads", "1"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpts = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert ckpts == ["best.pt", "last.prev.pt", "last.pt"]  # rank 0 only: no per-rank files
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    # 8 training slices, 2 processes x batch 2: 2 steps per epoch in each process
    assert state["epoch"] == 2 and state["global_step"] == 4
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"]  # one writer: no duplicated rows
    assert json.loads((run / "run.json").read_text())["world_size"] == 2
    assert (run / "model" / "model.safetensors").is_file()
    assert (proc.stderr + proc.stdout).count("2 epochs on cpu") == 1  # only rank 0 logs
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
