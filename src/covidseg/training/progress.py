"""Live progress (rich bar on a terminal, plain lines otherwise), metrics CSV and curves PNG."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from covidseg.evaluation.evaluate import rows_to_csv
from covidseg.training.checkpoint import atomic_write_text


class Progress:
    """Epoch/step progress with loss, validation Dice, samples/s and ETA.

    On a terminal a rich progress bar; otherwise (background job, CI) one line every
    ``log_every`` steps and one per epoch, so a log file stays readable.
    """

    def __init__(self, total_steps: int, done_steps: int, *, enabled: bool = True, log_every: int = 10, stream=None):
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.total, self.done = total_steps, done_steps
        self.log_every = log_every
        self.start_time = time.perf_counter()
        self.start_done = done_steps
        self.bar = None
        if enabled and getattr(self.stream, "isatty", lambda: False)():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeRemainingColumn

            self.bar = RichProgress(
                TextColumn("[bold]epoch {task.fields[epoch]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}  val Dice {task.fields[val]}  {task.fields[speed]} samples/s"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self.task = self.bar.add_task("train", total=total_steps, completed=done_steps, epoch="-", loss="-", val="-", speed="-")
            self.bar.start()

    def eta(self) -> float:
        steps = self.done - self.start_done
        if steps <= 0:
            return math.nan
        return (time.perf_counter() - self.start_time) / steps * (self.total - self.done)

    def step(self, epoch: int, epochs: int, step: int, steps: int, loss: float, val: float | None, speed: float) -> None:
        self.done += 1
        if not self.enabled:
            return
        vtxt = "-" if val is None else f"{val:.4f}"
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done, epoch=f"{epoch + 1}/{epochs}", loss=f"{loss:.4f}", val=vtxt, speed=f"{speed:.1f}")
        elif step % self.log_every == 0 or step == steps:
            self.line(f"epoch {epoch + 1}/{epochs} step {step}/{steps} loss {loss:.4f} val Dice {vtxt} "
                      f"{speed:.1f} samples/s ETA {_fmt(self.eta())}")

    def line(self, text: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.console.print(text)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _fmt(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "-"
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def write_metrics_csv(path: Path, history: list[dict]) -> None:
    if history:
        atomic_write_text(path, rows_to_csv(history))


def plot_curves(path: Path, history: list[dict]) -> None:
    """Loss and validation Dice per epoch (rewritten after every epoch)."""
    if not history:
        return
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    ep = [r["epoch"] for r in history]
    fig = Figure(figsize=(10, 4), dpi=100)
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(ep, [r["train_loss"] for r in history], label="train loss")
    vl = [(r["epoch"], r["val_loss"]) for r in history if r.get("val_loss") not in (None, "")]
    if vl:
        ax1.plot(*zip(*vl), label="val loss")
    ax1.set_xlabel("epoch"); ax1.set_ylabel("loss"); ax1.legend(); ax1.grid(alpha=0.3)
    for key in [k for k in history[-1] if k.startswith("val_dice")]:
        pts = [(r["epoch"], r[key]) for r in history if r.get(key) not in (None, "")]
        if pts:
            ax2.plot(*zip(*pts), label=key.replace("val_dice_", "").replace("val_dice", "mean"),
                     linewidth=2.5 if key == "val_dice" else 1.0)
    ax2.set_xlabel("epoch"); ax2.set_ylabel("validation Dice"); ax2.set_ylim(0, 1); ax2.legend(); ax2.grid(alpha=0.3)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    tmp.replace(path)
