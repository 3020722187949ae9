"""The trainer behind ``covidseg train``.

Run folder (``config.out``)::

    config.json          fully resolved TrainConfig (what ``--resume`` reads back)
    run.json             code version, git commit, data sha256, seed, torch/python, command
    split.json           names of the training and validation slices (seeded split)
    metrics.csv          one row per epoch; curves.png: loss and validation Dice
    train.log            the progress lines and library warnings raised during the run
    checkpoints/last.pt  every epoch and on Ctrl-C (atomic); the one it replaced stays as last.prev.pt,
                         the fallback when last.pt is damaged; checkpoints/best.pt by validation Dice
    model/               the best model, ``save_pretrained`` format (what ``predict`` loads)

Reproducibility: the slice order of an epoch and every sample's augmentation derive from
(seed, epoch, index), and checkpoints carry the model, optimizer, scheduler, scaler and RNG
states plus the position inside the epoch, so a resumed run reaches the same weights as an
uninterrupted one (on the same device and thread count).

Multi-process: under ``torchrun`` (``WORLD_SIZE`` > 1) the model is wrapped in
DistributedDataParallel (NCCL on CUDA, gloo on CPU), each process reads its shard through
torch's ``DistributedSampler``, and only rank 0 logs, validates and writes files.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from covidseg.data import (
    FULL,
    LESION_ONLY,
    TEACHER,
    SliceDataset,
    data_checksum,
    derived_masks,
    derived_probabilities,
    get_task,
    load_folder,
    split_train_val,
    targets_for,
)
from covidseg.data.folds import fold_indices
from covidseg.devices import resolve_device
from covidseg.models.forward import probabilities
from covidseg.errors import ConfigError, CovidsegError, FileMissingError
from covidseg.io.windowing import WINDOW_KEY, Window, window_metadata
from covidseg.training.checkpoint import (
    atomic_torch_save,
    atomic_write_text,
    load_checkpoint,
    load_latest,
    previous_of,
    rng_state,
    save_rotating,
    set_rng_state,
)
from covidseg.training.config import TrainConfig
from covidseg.training.losses import SegLoss
from covidseg.training.progress import Progress, plot_curves, write_metrics_csv

CHECKPOINT_FORMAT = 1
THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.05), 2)


@dataclass
class TrainResult:
    run_dir: Path
    status: str  # "completed" | "interrupted"
    epochs_done: int
    best_val_dice: float
    best_epoch: int
    threshold: float | None = None
    model_dir: Path | None = None
    history: list = field(default_factory=list)


def code_version() -> str:
    """covidseg version plus the git commit (``+dirty`` if the tree has changes) when run from a checkout."""
    from covidseg import __version__

    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return __version__
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "."], cwd=here.parent,
                               capture_output=True, text=True, timeout=5)
        return f"{__version__}+g{commit.stdout.strip()}{'.dirty' if dirty.stdout.strip() else ''}"
    except (OSError, subprocess.SubprocessError):
        return __version__


def _dist_info() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return world, rank, local


class Trainer:
    """Train one model as described by a :class:`TrainConfig`.

    ``Trainer(cfg).fit()`` starts a new run in ``cfg.out``; ``Trainer.resume(run_dir).fit()``
    continues one. ``request_stop()`` (also bound to Ctrl-C during ``fit``) makes the loop save
    a checkpoint after the current step and return with status ``"interrupted"``.
    """

    def __init__(self, config: TrainConfig, *, verbose: bool = True, _resume_state: dict | None = None):
        self.cfg = config
        self.verbose = verbose
        self.run_dir = Path(config.out)
        self.spec = get_task(config.task)
        self._resume_state = _resume_state
        self.init_note = ""
        self._stop = False
        self.world, self.rank, self.local_rank = _dist_info()
        self.distributed = self.world > 1
        if not config.data:
            raise ConfigError("data: a training folder is required (--data)")
        if not config.out:
            raise ConfigError("out: a run folder is required (--out)")
        if _resume_state is None and (self.run_dir / "checkpoints" / "last.pt").exists():
            raise ConfigError(f"out: {self.run_dir} already holds a run; continue it with --resume {self.run_dir} "
                              "or choose another --out")

    # ------------------------------------------------------------------ construction
    @classmethod
    def resume(cls, run_dir: str | Path, overrides: dict | None = None, *, verbose: bool = True) -> "Trainer":
        """Continue the run in ``run_dir``. ``overrides`` may change only settings that do not
        alter the optimisation path (epochs to extend, device, workers, threads, logging)."""
        run_dir = Path(run_dir)
        cfg_path, ckpt = run_dir / "config.json", run_dir / "checkpoints" / "last.pt"
        if not cfg_path.is_file() or not (ckpt.is_file() or previous_of(ckpt).is_file()):
            raise FileMissingError("not a run folder (needs config.json and checkpoints/last.pt)", run_dir)
        data = json.loads(cfg_path.read_text())
        allowed = {"epochs", "device", "num_workers", "threads", "log_every", "export", "val_every", "checkpoint"}
        for key, value in (overrides or {}).items():
            if key not in allowed:
                raise ConfigError(f"{key}: cannot be changed when resuming (changeable: {sorted(allowed)})")
            data[key] = value
        data["out"] = str(run_dir)
        cfg = TrainConfig.from_dict(data, source=str(cfg_path))
        def usable(state: dict) -> None:
            if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
                raise ValueError("checkpoint format not supported by this covidseg version")
            missing = [k for k in ("model", "optimizer", "scheduler", "epoch", "step_in_epoch") if k not in state]
            if missing:
                raise ValueError(f"checkpoint lacks {missing}")

        def warn(text: str) -> None:
            print(f"covidseg: warning: {text}", file=sys.stderr, flush=True)

        # A damaged last.pt (disk full, copy cut short) falls back to the one before it.
        state, used = load_latest(ckpt, usable, warn=warn)
        if used != ckpt:
            warn(f"resuming from {used} (epoch {state['epoch']}, step {state['step_in_epoch']})")
        return cls(cfg, verbose=verbose, _resume_state=state)

    def request_stop(self) -> None:
        self._stop = True

    # ------------------------------------------------------------------ setup
    def _setup(self) -> None:
        cfg = self.cfg
        if self.distributed:
            import torch.distributed as dist

            if not dist.is_initialized():
                backend = "nccl" if (cfg.device != "cpu" and torch.cuda.is_available()) else "gloo"
                dist.init_process_group(backend=backend)
        self.device = resolve_device(cfg.device, self.local_rank)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.is_main = self.rank == 0

        # Data: labelled slices, seeded split, optional pseudo-labelled slices. NIfTI HU go
        # through the window save_model() records, the one predict then uses for this model.
        self.hu_window = Window.from_range(*cfg.hu_window)
        samples = load_folder(cfg.data, cfg.task, hu_window=self.hu_window)
        if cfg.folds:
            if len(samples) < cfg.folds:
                raise ConfigError(f"folds: {cfg.folds} folds need at least {cfg.folds} slices ({len(samples)} in {cfg.data})")
            tr_idx, va_idx = fold_indices([s.name for s in samples], cfg.folds, cfg.fold, seed=cfg.folds_seed,
                                          folds_file=cfg.folds_file or None)
        elif len(samples) <= cfg.val_count:
            raise ConfigError(f"val_count: {cfg.val_count} validation slices leave none to train on "
                              f"({len(samples)} in {cfg.data})")
        else:
            tr_idx, va_idx = split_train_val(len(samples), cfg.val_count, cfg.seed)
        self.data_sha256 = data_checksum(samples, cfg.data)
        if cfg.train_count:
            if cfg.train_count > len(tr_idx):
                raise ConfigError(f"train_count: {cfg.train_count} exceeds the {len(tr_idx)} non-validation slices "
                                  f"in {cfg.data}")
            # A seeded subset (not the first N names, which would favour some patients' slices).
            pick = np.random.default_rng(cfg.seed).permutation(len(tr_idx))[:cfg.train_count]
            tr_idx = [tr_idx[i] for i in sorted(pick)]
        self.split = {"train": [samples[i].name for i in tr_idx], "val": [samples[i].name for i in va_idx]}
        try:
            train = SliceDataset([samples[i] for i in tr_idx], cfg.input_size, augment=cfg.augment, seed=cfg.seed,
                                 task=cfg.task)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.n_labeled = len(train)
        self.val_set = SliceDataset([samples[i] for i in va_idx], cfg.input_size, augment=None) if va_idx else None
        self.pseudo_sha256 = None
        if cfg.unlabeled and cfg.pseudo_epochs:
            teacher = cfg.pseudo_kind == "teacher"
            if teacher:
                check_teacher(cfg.unlabeled, cfg.pseudo_folder, cfg.task)
            unl = load_folder(cfg.unlabeled, cfg.task, pseudo=cfg.pseudo_folder, pseudo_map=teacher,
                              hu_window=self.hu_window)
            self.pseudo_sha256 = data_checksum(unl, cfg.unlabeled)
            kind = TEACHER if teacher else FULL if self.spec.activation == "sigmoid" else LESION_ONLY
            pseudo = SliceDataset(unl, cfg.input_size, augment=cfg.augment, seed=cfg.seed + 1, kind=kind,
                                  weight=cfg.pseudo_weight, task=cfg.task)
            self.n_pseudo = len(pseudo)
            train = SliceDataset.concat([train, pseudo])
        else:
            self.n_pseudo = 0
        self.train_set = train

        # Model, loss, optimizer, schedule.
        from covidseg.models import MAUNet, UNet

        self.model_cfg = cfg.model_config(self.spec.num_classes)
        torch.manual_seed(cfg.seed)  # weight init is re-seeded so it does not depend on prior RNG use
        net = (MAUNet if cfg.model == "maunet" else UNet)(self.model_cfg)
        if cfg.init and self._resume_state is None:  # a resumed run has its own weights
            self._warm_start(net, Path(cfg.init))
        self.memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
        net = net.to(self.device, memory_format=self.memory_format)
        self.net = net
        if self.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            self.model = DDP(net, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        else:
            self.model = net
        self.criterion = SegLoss(cfg.task, dice=cfg.loss_dice, ce=cfg.loss_ce, ds_weights=cfg.ds_weights)
        self.optimizer = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.steps_per_epoch = [self._steps_in_epoch(e) for e in range(cfg.epochs)]
        self.total_steps = sum(self.steps_per_epoch)
        warm = int(round(cfg.warmup_epochs * self.steps_per_epoch[0])) if cfg.epochs else 0
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, _lr_lambda(cfg, warm, self.total_steps))
        amp_on = cfg.amp == "on" or (cfg.amp == "auto" and self.device.type == "cuda")
        self.amp_dtype = (torch.float16 if self.device.type == "cuda" else torch.bfloat16) if amp_on else None
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)

        # State.
        self.epoch, self.step_in_epoch, self.global_step = 0, 0, 0
        self.best_val, self.best_epoch = -math.inf, -1
        self.history: list[dict] = []
        self.accum = {"loss": 0.0, "n": 0, "samples": 0, "time": 0.0}
        if self._resume_state is not None:
            self._load_state(self._resume_state)
            if self.is_main:  # temporary files and links of a save that a kill cut short
                ck = self.run_dir / "checkpoints"
                for stale in [*ck.glob(".*.tmp*"), *ck.glob(".*.link")]:
                    stale.unlink(missing_ok=True)

    def _epoch_indices(self, epoch: int) -> list[int]:
        """Indices (into train_set) this process visits in ``epoch``, in order."""
        cfg = self.cfg
        pool = list(range(self.n_labeled))
        if self.n_pseudo and epoch < cfg.pseudo_epochs:
            pseudo = np.arange(self.n_labeled, self.n_labeled + self.n_pseudo)
            if cfg.pseudo_per_epoch and cfg.pseudo_per_epoch < self.n_pseudo:
                pseudo = np.random.default_rng([cfg.seed, epoch, 7]).choice(pseudo, cfg.pseudo_per_epoch, replace=False)
            pool += sorted(int(i) for i in pseudo)
        from torch.utils.data.distributed import DistributedSampler

        def shard(sub_epoch: int) -> list[int]:
            sampler = DistributedSampler(pool, num_replicas=self.world, rank=self.rank, shuffle=True, seed=cfg.seed)
            sampler.set_epoch(sub_epoch)
            return [pool[i] for i in sampler]

        if not cfg.steps_per_epoch:
            return shard(epoch)
        need = cfg.steps_per_epoch * cfg.batch_size
        out: list[int] = []
        k = 0
        while len(out) < need:  # several shuffled passes when an epoch is longer than the data
            out += shard(epoch * 1009 + k)
            k += 1
        return out[:need]

    def _steps_in_epoch(self, epoch: int) -> int:
        if self.cfg.steps_per_epoch:
            return self.cfg.steps_per_epoch
        n = self.n_labeled
        if self.n_pseudo and epoch < self.cfg.pseudo_epochs:
            n += min(self.n_pseudo, self.cfg.pseudo_per_epoch or self.n_pseudo)
        per_rank = math.ceil(n / self.world)
        return math.ceil(per_rank / self.cfg.batch_size)

    # ------------------------------------------------------------------ state
    def _state(self) -> dict:
        return {
            "format": CHECKPOINT_FORMAT,
            "model": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "best_val": self.best_val,
            "best_epoch": self.best_epoch,
            "history": self.history,
            "accum": dict(self.accum),
            "rng": rng_state(),
            "data_sha256": self.data_sha256,
        }

    def _warm_start(self, net: torch.nn.Module, folder: Path) -> None:
        """Copy the weights of the model folder ``folder`` into ``net``; the architecture and the
        network config must be this run's, or the run would silently train something else."""
        from covidseg.models import Ensemble, load_pretrained

        try:
            source = load_pretrained(folder)
        except (OSError, CovidsegError) as exc:
            raise ConfigError(f"init: {folder}: {exc}") from None
        if isinstance(source, Ensemble):
            raise ConfigError(f"init: {folder} is an ensemble of {len(source.members)} networks; start from one "
                              f"member's own model folder (metadata.members of its config.json names them)")
        if type(source) is not type(net) or source.config != net.config:
            raise ConfigError(f"init: {folder} holds a {type(source).__name__} with {source.config}, "
                              f"but this run builds a {type(net).__name__} with {net.config}")
        net.load_state_dict(source.state_dict())
        self.init_note = f", initialised from {folder} (sha256 {getattr(source, 'sha256', '')[:12]})"

    def _load_state(self, s: dict) -> None:
        if s["data_sha256"] != self.data_sha256:
            raise ConfigError("the training data changed since this run started (data sha256 differs); "
                              "start a new run instead of resuming", self.cfg.data)
        self.net.load_state_dict(s["model"])
        self.optimizer.load_state_dict(s["optimizer"])
        self.scheduler.load_state_dict(s["scheduler"])
        self.scaler.load_state_dict(s["scaler"])
        self.epoch, self.step_in_epoch, self.global_step = s["epoch"], s["step_in_epoch"], s["global_step"]
        self.best_val, self.best_epoch = s["best_val"], s["best_epoch"]
        self.history = list(s["history"])
        self.accum = dict(s["accum"])
        set_rng_state(s["rng"])

    def _write_run_files(self) -> None:
        cfg = self.cfg
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "checkpoints").mkdir(exist_ok=True)
        atomic_write_text(self.run_dir / "config.json", json.dumps(cfg.to_dict(), indent=2) + "\n")
        fold = {"folds": cfg.folds, "fold": cfg.fold, "folds_seed": cfg.folds_seed} if cfg.folds else {}
        atomic_write_text(self.run_dir / "split.json", json.dumps({"seed": cfg.seed, **fold, **self.split}, indent=2) + "\n")
        run_path = self.run_dir / "run.json"
        info = json.loads(run_path.read_text()) if run_path.is_file() else {}
        info.setdefault("started", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        info.update({
            "code_version": code_version(),
            "seed": cfg.seed,
            "data": str(Path(cfg.data).resolve()),
            "data_sha256": self.data_sha256,
            "unlabeled_sha256": self.pseudo_sha256,
            "n_train": self.n_labeled, "n_val": len(self.split["val"]), "n_pseudo": self.n_pseudo,
            "model_config": self.model_cfg.to_dict(),
            "parameters": sum(p.numel() for p in self.net.parameters()),
            "world_size": self.world,
            "device": str(self.device),
            "torch": torch.__version__, "python": platform.python_version(), "host": platform.node(),
        })
        info.setdefault("commands", []).append(" ".join(sys.argv))
        atomic_write_text(run_path, json.dumps(info, indent=2) + "\n")

    # ------------------------------------------------------------------ loop
    def fit(self) -> TrainResult:
        self._setup()
        cfg = self.cfg
        log_file = log_handler = None
        if self.is_main:
            self._write_run_files()
            log_file = open(self.run_dir / "train.log", "a")
            from covidseg import logs

            # Library warnings (torch, numpy, nibabel ...) kept in the run's log; the CLI
            # keeps them off the terminal unless --verbose.
            log_handler = logs.stream_handler(log_file)
        progress = Progress(self.total_steps, self.global_step, enabled=self.verbose and self.is_main, log_every=cfg.log_every)
        prev_handler = None
        if threading_main():
            prev_handler = signal.signal(signal.SIGINT, self._on_sigint)
        status = "completed"

        def say(text: str) -> None:
            progress.line(text)
            if log_file:
                log_file.write(text + "\n")
                log_file.flush()

        try:
            if self.epoch == 0 and self.step_in_epoch == 0:
                say(f"run {self.run_dir}: task {cfg.task}, {cfg.model} ({sum(p.numel() for p in self.net.parameters()) / 1e6:.2f} M "
                    f"parameters), {self.n_labeled} training + {len(self.split['val'])} validation slices"
                    f"{f' + {self.n_pseudo} pseudo-labelled' if self.n_pseudo else ''}, {cfg.epochs} epochs on {self.device}"
                    f"{f' x {self.world} processes' if self.distributed else ''}{self.init_note}")
            else:
                say(f"resuming {self.run_dir} at epoch {self.epoch + 1}, step {self.step_in_epoch}")
            while self.epoch < cfg.epochs:
                if not self._run_epoch(progress, say):
                    status = "interrupted"
                    break
        finally:
            if prev_handler is not None:
                signal.signal(signal.SIGINT, prev_handler)
            progress.close()
            if log_handler is not None:
                logging.getLogger().removeHandler(log_handler)

        result = TrainResult(self.run_dir, status, self.epoch, self.best_val, self.best_epoch, history=self.history)
        if status == "interrupted":
            say(f"stopped; checkpoint saved. Continue with: covidseg train --resume {self.run_dir}")
        elif cfg.export and self.is_main:
            result.model_dir, result.threshold = self.save_model()
            say(f"best validation Dice {self.best_val:.4f} (epoch {self.best_epoch + 1}); exported the "
                f"{cfg.checkpoint} checkpoint; "
                f"threshold {result.threshold:.2f}; model saved to {result.model_dir}")
        if log_file:
            log_file.close()
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()
        return result

    def _on_sigint(self, signum, frame):
        if self._stop:  # second Ctrl-C: give up immediately
            raise KeyboardInterrupt
        self._stop = True
        print("\ncovidseg: stopping after this step (Ctrl-C again to abort without saving)", file=sys.stderr)

    def _stop_requested(self) -> bool:
        if not self.distributed:
            return self._stop
        import torch.distributed as dist

        flag = torch.tensor([1.0 if self._stop else 0.0], device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)  # all ranks stop at the same step
        return bool(flag.item())

    def _run_epoch(self, progress: Progress, say) -> bool:
        cfg = self.cfg
        epoch = self.epoch
        steps = self.steps_per_epoch[epoch]
        order = self._epoch_indices(epoch)
        batches = [order[i : i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)][:steps]
        loader = torch.utils.data.DataLoader(
            self.train_set,
            batch_sampler=[[(i, epoch) for i in b] for b in batches[self.step_in_epoch :]],
            num_workers=cfg.num_workers,
            pin_memory=self.device.type == "cuda",
            worker_init_fn=_ignore_sigint if cfg.num_workers else None,
        )
        self.model.train()
        t_last = time.perf_counter()
        last_val = self.history[-1].get("val_dice") if self.history else None
        for image, label, kind, weight in loader:
            image = image.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
            label = label.to(self.device, non_blocking=True)
            with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None):
                outputs = self.model(image)
            loss = self.criterion(outputs, label, kind, weight)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if cfg.grad_clip:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.net.parameters(), cfg.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.scheduler.step()
            now = time.perf_counter()
            dt, t_last = now - t_last, now
            lv = float(loss.detach())
            if not math.isfinite(lv):
                raise FloatingPointError(f"training loss is {lv} at epoch {epoch + 1}, step {self.step_in_epoch + 1}; "
                                         "lower --lr or turn off --amp")
            self.accum["loss"] += lv * len(image)
            self.accum["n"] += len(image)
            self.accum["samples"] += len(image) * self.world
            self.accum["time"] += dt
            self.step_in_epoch += 1
            self.global_step += 1
            speed = len(image) * self.world / max(dt, 1e-9)
            progress.step(epoch, cfg.epochs, self.step_in_epoch, steps, self.accum["loss"] / self.accum["n"], last_val, speed)
            if self._stop_requested():
                if self.is_main:
                    save_rotating(self._state(), self.run_dir / "checkpoints" / "last.pt")
                return False
        self._end_epoch(say)
        return True

    def _end_epoch(self, say) -> None:
        cfg = self.cfg
        train_loss = self.accum["loss"] / max(self.accum["n"], 1)
        if self.distributed:
            import torch.distributed as dist

            t = torch.tensor([self.accum["loss"], self.accum["n"]], dtype=torch.float64,
                             device=self.device if self.device.type == "cuda" else "cpu")
            dist.all_reduce(t)
            train_loss = float(t[0] / t[1])
        row = {
            "epoch": self.epoch + 1,
            "lr": self.optimizer.param_groups[0]["lr"],
            "train_loss": round(train_loss, 6),
            "samples_per_sec": round(self.accum["samples"] / max(self.accum["time"], 1e-9), 3),
            "epoch_time_s": round(self.accum["time"], 2),
            "pseudo": int(bool(self.n_pseudo) and self.epoch < cfg.pseudo_epochs),
        }
        is_best = False
        if self.val_set is not None and ((self.epoch + 1) % cfg.val_every == 0 or self.epoch + 1 == cfg.epochs) and self.is_main:
            val = self.validate()
            row.update({k: round(v, 6) for k, v in val.items()})
            if val["val_dice"] > self.best_val:
                self.best_val, self.best_epoch, is_best = val["val_dice"], self.epoch, True
        elif self.val_set is None and self.is_main:
            self.best_val, self.best_epoch, is_best = -train_loss, self.epoch, True  # no validation: keep the last
        self.history.append(row)
        self.epoch += 1
        self.step_in_epoch = 0
        self.accum = {"loss": 0.0, "n": 0, "samples": 0, "time": 0.0}
        if self.is_main:
            ck = self.run_dir / "checkpoints"
            if is_best:
                atomic_torch_save({"format": CHECKPOINT_FORMAT, "model": self.net.state_dict(), "epoch": self.epoch,
                                   "val_dice": self.best_val}, ck / "best.pt")
            save_rotating(self._state(), ck / "last.pt")
            write_metrics_csv(self.run_dir / "metrics.csv", self.history)
            try:
                plot_curves(self.run_dir / "curves.png", self.history)
            except Exception as exc:  # a plotting problem must never stop training
                say(f"warning: could not draw curves.png ({exc})")
            vtxt = " ".join(f"{k} {v:.4f}" for k, v in row.items() if k.startswith("val_"))
            say(f"epoch {row['epoch']}/{cfg.epochs} train_loss {row['train_loss']:.4f} {vtxt} "
                f"lr {row['lr']:.2e} {row['samples_per_sec']:.1f} samples/s{' *best*' if is_best else ''}")
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()

    # ------------------------------------------------------------------ validation / export
    @torch.no_grad()
    def predict_val(self) -> tuple[np.ndarray, np.ndarray]:
        """Validation probabilities (N, C, S, S) and labels (N, S, S) at the training size."""
        self.net.eval()
        probs = []
        for i in range(0, len(self.val_set), self.cfg.batch_size):
            x = torch.from_numpy(self.val_set.images[i : i + self.cfg.batch_size][:, None].astype(np.float32) / 255.0)
            p = probabilities(self.net, x.to(self.device), self.spec.activation, amp_dtype=self.amp_dtype,
                              channels_last=self.memory_format == torch.channels_last)
            probs.append(p.cpu().numpy())
        self.net.train()
        return np.concatenate(probs), self.val_set.labels

    def validate(self) -> dict:
        """Validation loss and Dice (pooled over the validation slices) per target, and their mean ``val_dice``."""
        probs, labels = self.predict_val()
        lab_t = torch.from_numpy(labels[:, None].astype(np.float32))
        p_t = torch.from_numpy(probs).clamp(1e-7, 1 - 1e-7)
        logits = torch.logit(p_t) if self.spec.activation == "sigmoid" else torch.log(p_t)
        out = {"val_loss": float(self.criterion(logits, lab_t))}
        if self.spec.activation == "sigmoid":
            pred_label = (probs[:, 0] > 0.5).astype(np.uint8)
        else:
            pred_label = probs.argmax(1).astype(np.uint8)
        dices = []
        for target in targets_for(self.cfg.task):
            pm = derived_masks(self.cfg.task, pred_label)[target]
            gm = derived_masks(self.cfg.task, labels)[target]
            d = _pooled_dice(pm, gm)
            out[f"val_dice_{target}"] = d
            dices.append(d)
        out["val_dice"] = float(np.mean(dices))
        return out

    def choose_threshold(self) -> float:
        """Operating point on p(infection) (p(lung) for the lung task) maximising pooled validation Dice."""
        if self.val_set is None:
            return 0.5
        probs, labels = self.predict_val()
        key = "lung" if self.cfg.task == "lung" else "infection"
        p = np.stack([derived_probabilities(self.cfg.task, pr)[key] for pr in probs])
        g = derived_masks(self.cfg.task, labels)[key]
        scores = [_pooled_dice(p > t, g) for t in THRESHOLDS]
        return float(THRESHOLDS[int(np.argmax(scores))])

    def save_model(self) -> tuple[Path, float]:
        """Save the chosen checkpoint's weights (``checkpoint``: best or last) with
        ``save_pretrained`` into ``run/model``; the threshold is chosen for those weights."""
        best = self.run_dir / "checkpoints" / "best.pt"
        if self.cfg.checkpoint == "best" and best.is_file():
            self.net.load_state_dict(load_checkpoint(best, map_location=self.device)["model"])
            val, epoch = self.best_val, self.best_epoch + 1
        else:  # the weights in memory are the last epoch's
            last = self.history[-1] if self.history else {}
            val, epoch = last.get("val_dice", math.nan), self.epoch
        threshold = self.choose_threshold()
        metadata = {
            "task": self.cfg.task,
            "labels": list(self.spec.labels),
            "activation": self.spec.activation,
            "input_size": self.cfg.input_size,
            "threshold": threshold,
            WINDOW_KEY: window_metadata(Window.from_range(*self.cfg.hu_window)),
            "val_dice": None if not math.isfinite(val) or self.val_set is None else round(float(val), 6),
            "epochs": self.epoch,
            "checkpoint": self.cfg.checkpoint,
            "best_epoch": epoch,
            "data_sha256": self.data_sha256,
            "seed": self.cfg.seed,
            "code_version": code_version(),
            "model": self.cfg.model,
            "run": self.run_dir.name,
            # which slices the threshold was chosen on (out-of-fold evaluation needs them)
            "validation": {"folds": self.cfg.folds, "fold": self.cfg.fold, "folds_seed": self.cfg.folds_seed,
                           "names": list(self.split["val"])},
        }
        folder = self.run_dir / "model"
        self.net.eval()
        self.net.to("cpu").save_pretrained(folder, metadata=metadata)
        self.net.to(self.device)
        return folder, threshold


def check_teacher(folder: str | Path, labels: str, task: str) -> None:
    """Teacher label maps must be of the student's task (their values are its label indices)."""
    info = Path(folder) / labels / "teacher.json"
    if not info.is_file():
        raise FileMissingError("teacher labels need the teacher.json written by covidseg pseudolabel", info)
    try:
        teacher_task = json.loads(info.read_text()).get("task")
    except (ValueError, AttributeError):
        raise ConfigError("teacher.json is not a JSON object", info) from None
    if teacher_task != task:
        raise ConfigError(f"teacher labels are of task {teacher_task!r}, this run trains task {task!r}", info)


def _pooled_dice(pred: np.ndarray, gt: np.ndarray) -> float:
    inter = np.logical_and(pred, gt).sum()
    denom = pred.sum() + gt.sum()
    return 1.0 if denom == 0 else float(2 * inter / denom)


def _lr_lambda(cfg: TrainConfig, warmup: int, total: int):
    """Multiplier of the base lr at a global step: linear warm-up, then poly(0.9) / cosine / constant."""
    floor = min(cfg.min_lr / cfg.lr, 1.0)

    def f(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        t = min(max(step - warmup, 0) / max(total - warmup, 1), 1.0)
        if cfg.schedule == "poly":
            return max((1 - t) ** 0.9, floor)
        if cfg.schedule == "cosine":
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))
        return 1.0

    return f


def _ignore_sigint(_worker_id: int) -> None:
    # Ctrl-C reaches the whole process group: workers must not die before the main process
    # has saved its checkpoint.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
