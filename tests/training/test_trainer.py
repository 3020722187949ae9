"""Trainer: loss goes down, exact resume, recorded config/checksum/seed, export, config handling."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from covidseg.data import data_checksum, load_folder
from covidseg.data.dataset import FULL, LESION_ONLY
from covidseg.data.synthetic import make_split
from covidseg.errors import ConfigError
from covidseg.training import SegLoss, TrainConfig, Trainer
from covidseg.training.checkpoint import load_checkpoint
from covidseg.training.config import read_config_file

TINY = dict(base_channels=4, depth=2, input_size=32, batch_size=2, val_count=2, threads=1, log_every=1000)


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    return make_split(tmp_path_factory.mktemp("data") / "train", n=8)


def cfg(split, out, **kw):
    return TrainConfig(**{**TINY, "data": str(split), "out": str(out), **kw})


def test_a_few_steps_lower_the_loss(split, tmp_path):
    c = cfg(split, tmp_path / "r", task="lesion", epochs=8, steps_per_epoch=3, lr=1e-2, warmup_epochs=0,
            schedule="constant", augment={"enabled": False}, export=False)
    res = Trainer(c, verbose=False).fit()
    losses = [r["train_loss"] for r in res.history]
    assert res.status == "completed" and len(losses) == 8
    assert np.mean(losses[-2:]) < 0.8 * np.mean(losses[:2])


@pytest.mark.parametrize("task", ["all", "classes"])
def test_multiclass_tasks_train_and_export(split, tmp_path, task):
    from covidseg.models import load_pretrained

    res = Trainer(cfg(split, tmp_path / task, task=task, epochs=1, steps_per_epoch=2), verbose=False).fit()
    model = load_pretrained(res.model_dir)
    meta = model.metadata
    assert meta["task"] == task and meta["activation"] == "softmax"
    assert model.config.num_classes == len(meta["labels"]) == {"all": 4, "classes": 3}[task]
    assert 0 < meta["threshold"] < 1 and meta["input_size"] == 32


def _state(run):
    return load_checkpoint(run / "checkpoints" / "last.pt")["model"]


class Killed(Exception):
    pass


@pytest.mark.parametrize("how, at", [("kill", 1), ("stop", 3), ("stop", 4)])
def test_killed_and_resumed_run_matches_uninterrupted(split, tmp_path, how, at):
    """kill: the process dies at the start of epoch ``at`` (only the epoch-end checkpoint exists);
    stop: Ctrl-C after global step ``at`` (3: mid-epoch, 4: last step of an epoch)."""
    kw = dict(task="all", epochs=3, steps_per_epoch=2, export=False)
    full = Trainer(cfg(split, tmp_path / "full", **kw), verbose=False)
    full.fit()
    cut = Trainer(cfg(split, tmp_path / "cut", **kw), verbose=False)
    if how == "kill":
        orig = cut._epoch_indices

        def dying(epoch):
            if epoch == at:
                raise Killed
            return orig(epoch)

        cut._epoch_indices = dying
        with pytest.raises(Killed):
            cut.fit()
        expected = (at, 0)
    else:
        cut._stop_requested = lambda: cut.global_step >= at  # what Ctrl-C does after a step
        assert cut.fit().status == "interrupted"
        expected = divmod(at - 1, 2)
        expected = (expected[0], expected[1] + 1)
    ck = load_checkpoint(tmp_path / "cut" / "checkpoints" / "last.pt")
    assert (ck["epoch"], ck["step_in_epoch"]) == expected
    resumed = Trainer.resume(tmp_path / "cut", verbose=False)
    assert resumed.fit().status == "completed"
    a, b = _state(tmp_path / "full"), _state(tmp_path / "cut")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    for key in ("train_loss", "val_loss", "val_dice"):
        assert [r[key] for r in full.history] == pytest.approx([r[key] for r in resumed.history], rel=1e-9)


def test_run_folder_records_config_checksum_seed(split, tmp_path):
    from covidseg.models import load_pretrained

    run = tmp_path / "r"
    res = Trainer(cfg(split, run, task="lesion", epochs=2, steps_per_epoch=1, seed=7), verbose=False).fit()
    config = json.loads((run / "config.json").read_text())
    assert TrainConfig.from_dict(config) == TrainConfig.from_dict({**config})  # round-trips
    assert config["seed"] == 7 and config["task"] == "lesion" and config["augment"]["enabled"] is True
    info = json.loads((run / "run.json").read_text())
    assert info["data_sha256"] == data_checksum(load_folder(split, "lesion"), split)
    assert info["seed"] == 7 and info["code_version"]
    sp = json.loads((run / "split.json").read_text())
    assert len(sp["val"]) == 2 and len(sp["train"]) == 6 and not set(sp["val"]) & set(sp["train"])
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2] and all(r["val_dice"] for r in rows)
    assert (run / "curves.png").stat().st_size > 1000
    assert (run / "checkpoints" / "best.pt").is_file()
    meta = load_pretrained(res.model_dir).metadata
    for key in ("task", "labels", "activation", "input_size", "threshold", "val_dice", "epochs", "data_sha256", "seed",
                "code_version"):
        assert key in meta, key
    assert meta["data_sha256"] == info["data_sha256"] and meta["labels"] == ["background", "infection"]


def test_existing_run_and_changed_data_are_refused(split, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(split, data)
    c = cfg(data, tmp_path / "r", task="lesion", epochs=2, steps_per_epoch=1, export=False)
    t = Trainer(c, verbose=False)
    t._stop_requested = lambda: True
    t.fit()
    with pytest.raises(ConfigError, match="--resume"):
        Trainer(c, verbose=False)
    with pytest.raises(ConfigError, match="cannot be changed"):
        Trainer.resume(tmp_path / "r", {"lr": 0.1})
    (data / "images" / "0.png").write_bytes((data / "images" / "1.png").read_bytes())
    with pytest.raises(ConfigError, match="changed"):
        Trainer.resume(tmp_path / "r", verbose=False).fit()


@pytest.mark.parametrize("bad, match", [
    ({"task": "liver"}, "task"),
    ({"epochs": 0}, "epochs"),
    ({"input_size": 30, "depth": 2}, "input_size"),
    ({"lr": -1.0}, "lr"),
    ({"unlabeled": "u", "task": "lung"}, "unlabeled"),
    ({"typo_key": 1}, "typo_key"),
    ({"augment": {"flip_lr": 2.0}}, "flip_lr"),
])
def test_bad_config_values_name_the_setting(bad, match):
    with pytest.raises(ConfigError, match=match):
        TrainConfig.from_dict(bad)


def test_unknown_model_option_is_refused():
    c = TrainConfig(model="unet", model_options={"attention": True})
    with pytest.raises(ConfigError, match="attention"):
        c.model_config(1)
    assert TrainConfig(model_options={"norm": "instance"}).model_config(4).norm == "instance"


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_cli_config_file_then_flags(split, tmp_path, suffix):
    import yaml

    from covidseg.cli import main

    settings = {**TINY, "task": "lesion", "epochs": 5, "steps_per_epoch": 1, "model": "unet", "export": False}
    f = tmp_path / f"c{suffix}"
    f.write_text(yaml.safe_dump(settings) if suffix == ".yaml" else json.dumps(settings))
    assert read_config_file(f)["model"] == "unet"
    run = tmp_path / "r"
    rc = main(["train", "--config", str(f), "--data", str(split), "--out", str(run), "--epochs", "1", "--quiet",
               "--no-augment", "--model-opt", "norm=instance"])
    assert rc == 0
    config = json.loads((run / "config.json").read_text())
    assert config["epochs"] == 1 and config["model"] == "unet" and config["augment"]["enabled"] is False
    assert config["model_options"] == {"norm": "instance"}
    assert main(["train", "--config", str(tmp_path / "missing.yaml"), "--data", str(split), "--out", str(run)]) == 2


def test_lesion_only_loss_ignores_lung_and_lesion_type():
    """Pseudo-labelled samples (infection only) must not push lung vs background or GGO vs consolidation."""
    torch.manual_seed(0)
    loss = SegLoss("all")
    logits = torch.randn(2, 4, 8, 8)
    label = (torch.rand(2, 1, 8, 8) > 0.5).float()
    kind = torch.full((2,), LESION_ONLY)
    base = loss(logits, label, kind)
    swapped = logits[:, [1, 0, 3, 2]]  # swap bg<->lung and ggo<->consolidation
    assert torch.allclose(base, loss(swapped, label, kind))
    assert not torch.allclose(loss(logits, label, torch.full((2,), FULL)), loss(swapped, label, torch.full((2,), FULL)))
    # weights scale a group's contribution
    assert torch.allclose(loss(logits, label, kind, torch.full((2,), 0.5)), 0.5 * base)


def test_deep_supervision_weights_apply_to_downsampled_targets():
    loss = SegLoss("lesion", ds_weights=[1.0, 0.0])
    main = torch.randn(2, 1, 8, 8)
    label = (torch.rand(2, 1, 8, 8) > 0.5).float()
    aux = torch.randn(2, 1, 4, 4)
    assert torch.allclose(loss([main, aux], label), loss(main, label))
    assert not torch.allclose(SegLoss("lesion")([main, aux], label), SegLoss("lesion")(main, label))


def test_semi_supervised_pseudo_epochs(split, tmp_path):
    unl = tmp_path / "unl"
    make_split(unl, n=6, seed=5)
    (unl / "infection").rename(unl / "pseudo-infection")
    res = Trainer(cfg(split, tmp_path / "r", task="all", epochs=2, unlabeled=str(unl), pseudo_epochs=1,
                      pseudo_per_epoch=4, export=False), verbose=False).fit()
    assert [r["pseudo"] for r in res.history] == [1, 0]
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    assert info["n_pseudo"] == 6 and info["unlabeled_sha256"]


def test_ctrl_c_saves_a_checkpoint_and_stops_cleanly(split, tmp_path):
    import os
    import signal

    t = Trainer(cfg(split, tmp_path / "r", task="lesion", epochs=3, steps_per_epoch=2, export=False), verbose=False)
    calls = {"n": 0}
    orig = SegLoss.forward  # the criterion is created inside fit(): patch the class

    def forward_then_sigint(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, delivered to our handler
        return orig(self, *a, **k)

    SegLoss.forward = forward_then_sigint
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when a shell started the tests in the background
    try:
        res = t.fit()
    finally:
        SegLoss.forward = orig
    assert res.status == "interrupted"
    ck = load_checkpoint(tmp_path / "r" / "checkpoints" / "last.pt")
    assert (ck["epoch"], ck["step_in_epoch"], ck["global_step"]) == (1, 1, 3)
    assert signal.getsignal(signal.SIGINT) is before  # handler restored


def test_loader_workers_do_not_change_the_run(split, tmp_path):
    kw = dict(task="lesion", epochs=1, steps_per_epoch=3, export=False)
    a = Trainer(cfg(split, tmp_path / "a", num_workers=0, **kw), verbose=False).fit()
    b = Trainer(cfg(split, tmp_path / "b", num_workers=2, **kw), verbose=False).fit()
    assert a.history[0]["train_loss"] == b.history[0]["train_loss"]


def test_cli_resume_extends_a_finished_run(split, tmp_path):
    from covidseg.cli import main

    run = tmp_path / "r"
    args = ["--data", str(split), "--base-channels", "4", "--depth", "2", "--input-size", "32", "--batch-size", "2",
            "--val-count", "2", "--steps-per-epoch", "1", "--quiet"]
    assert main(["train", "--task", "lesion", "--out", str(run), "--epochs", "1", *args]) == 0
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet"]) == 0
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert json.loads((run / "config.json").read_text())["epochs"] == 2
    assert main(["train", "--resume", str(run), "--lr", "0.5", "--quiet"]) == 2  # would change the optimisation


def test_bfloat16_autocast_on_cpu_trains(split, tmp_path):
    t = Trainer(cfg(split, tmp_path / "r", task="all", epochs=1, steps_per_epoch=2, amp="on", export=False), verbose=False)
    res = t.fit()
    assert t.amp_dtype == torch.bfloat16 and np.isfinite(res.history[0]["train_loss"])
    assert all(v.dtype == torch.float32 for v in t.net.state_dict().values() if v.is_floating_point())


def test_train_count_takes_a_seeded_subset_and_keeps_validation(split, tmp_path):
    def split_of(name, **kw):
        Trainer(cfg(split, tmp_path / name, task="lesion", epochs=1, steps_per_epoch=1, export=False, **kw),
                verbose=False).fit()
        return json.loads((tmp_path / name / "split.json").read_text())

    full, a, b = split_of("full"), split_of("a", train_count=3), split_of("b", train_count=3)
    assert a["val"] == full["val"]  # the learning curve is measured on the same slices
    assert len(a["train"]) == 3 and set(a["train"]) < set(full["train"])
    assert a == b  # seeded
    with pytest.raises(ConfigError, match="train_count: 7 exceeds the 6"):
        Trainer(cfg(split, tmp_path / "big", task="lesion", train_count=7), verbose=False).fit()


def test_finished_run_re_exported_with_the_last_checkpoint(split, tmp_path):
    from covidseg.cli import main
    from covidseg.models import load_pretrained

    run = tmp_path / "r"
    assert main(["train", "--task", "lesion", "--out", str(run), "--epochs", "4", "--data", str(split),
                 "--base-channels", "4", "--depth", "2", "--input-size", "32", "--batch-size", "2", "--val-count", "2",
                 "--steps-per-epoch", "1", "--lr", "0.05", "--threads", "1", "--quiet"]) == 0
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    best = load_pretrained(run / "model")
    assert best.metadata["checkpoint"] == "best"
    assert best.metadata["best_epoch"] == 1 + max(range(4), key=lambda i: float(rows[i]["val_dice"]))
    assert main(["train", "--resume", str(run), "--checkpoint", "last", "--quiet"]) == 0
    last = load_pretrained(run / "model")
    assert last.metadata["checkpoint"] == "last" and last.metadata["best_epoch"] == 4
    assert last.metadata["val_dice"] == pytest.approx(float(rows[-1]["val_dice"]))
    ref = _state(run)
    assert all(torch.equal(last.state_dict()[k], ref[k].cpu()) for k in ref)
    assert json.loads((run / "config.json").read_text())["checkpoint"] == "last"


def test_init_starts_from_a_model_folder_and_refuses_another_network(split, tmp_path):
    from covidseg.models import load_pretrained

    first = Trainer(cfg(split, tmp_path / "teacher", task="lesion", epochs=1, steps_per_epoch=1), verbose=False).fit()
    teacher = load_pretrained(first.model_dir).state_dict()
    # built but not trained: the network is exactly the warm start, unlike a fresh seed-1 init
    warm = Trainer(cfg(split, tmp_path / "student", task="lesion", epochs=1, steps_per_epoch=1, seed=1,
                       init=str(first.model_dir)), verbose=False)
    cold = Trainer(cfg(split, tmp_path / "cold", task="lesion", epochs=1, steps_per_epoch=1, seed=1), verbose=False)
    warm._setup(), cold._setup()
    assert str(first.model_dir) in warm.init_note and cold.init_note == ""
    for name, tensor in teacher.items():
        assert torch.equal(warm.net.state_dict()[name], tensor), name
    assert any(not torch.equal(cold.net.state_dict()[n], t) for n, t in teacher.items() if t.is_floating_point())
    with pytest.raises(ConfigError, match="^init: .*base_channels=4.*base_channels=8"):
        Trainer(cfg(split, tmp_path / "wide", task="lesion", epochs=1, base_channels=8, init=str(first.model_dir)),
                verbose=False).fit()
    with pytest.raises(ConfigError, match="^init: .*missing"):
        Trainer(cfg(split, tmp_path / "none", task="lesion", epochs=1, init=str(tmp_path / "missing")),
                verbose=False).fit()
    from covidseg.models import combine

    second = Trainer(cfg(split, tmp_path / "second", task="lesion", epochs=1, steps_per_epoch=1, seed=2),
                     verbose=False).fit()
    combine([first.model_dir, second.model_dir]).save_pretrained(tmp_path / "ens")
    with pytest.raises(ConfigError, match="^init: .*ens is an ensemble of 2 networks; start from one member"):
        Trainer(cfg(split, tmp_path / "from-ens", task="lesion", epochs=1, init=str(tmp_path / "ens")),
                verbose=False).fit()
