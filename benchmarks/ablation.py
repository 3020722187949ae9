"""The MA-UNet ablation study on COVID-SemiSeg: train every row, evaluate it, tabulate.

    python benchmarks/ablation.py run            # train + evaluate every missing row (resumable)
    python benchmarks/ablation.py run --only unet-s0
    python benchmarks/ablation.py table          # docs/results.md from the saved evaluations
    python benchmarks/ablation.py figure         # docs/images/ablation-test-slices.png

Each row is one ``covidseg train`` command with ``configs/ablation/base.yaml`` plus the
row's switches, so every row gets the same data, schedule, budget and seeds. Runs live in
``runs/ablation/`` (git-ignored; an interrupted run is continued with ``--resume``); the
test evaluation of each finished row is copied to ``benchmarks/results/ablation/ROW.json``,
which is what ``table`` reads. The test split is only evaluated, never used for choices:
checkpoint and threshold come from the validation slices carved out of ``train/``.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "covid-semiseg"
RUNS = ROOT / "runs" / "ablation"
RESULTS = ROOT / "benchmarks" / "results" / "ablation"
BASE = ROOT / "configs" / "ablation" / "base.yaml"
SWITCHES = ("attention", "aspp", "multiscale", "deep_supervision")


@dataclass(frozen=True)
class Row:
    name: str
    label: str
    model: str = "maunet"
    on: tuple[str, ...] = ()  # MA-UNet switches turned on
    unlabeled: bool = False

    def flags(self) -> list[str]:
        out = ["--model", self.model]
        if self.model == "maunet":
            out += [f"--{s.replace('_', '-')}" if s in self.on else f"--no-{s.replace('_', '-')}" for s in SWITCHES]
        if self.unlabeled:
            # first 50 of 120 epochs draw from the 40 labelled + 80 pseudo-labelled slices
            # (pseudo loss weight 0.5); the last 70 fine-tune on the radiologist labels only
            out += ["--unlabeled", str(DATA / "unlabeled"), "--pseudo-epochs", "50",
                    "--pseudo-per-epoch", "80", "--pseudo-weight", "0.5"]
        return out


ROWS = [
    Row("unet", "U-Net"),
    Row("cbam", "+ CBAM", on=("attention",)),
    Row("aspp", "+ ASPP", on=("aspp",)),
    Row("msa", "+ multi-scale aggregation", on=("multiscale",)),
    Row("ds", "+ deep supervision", on=("deep_supervision",)),
    Row("maunet", "MA-UNet (all four)", on=SWITCHES),
    Row("maunet-unl", "MA-UNet + unlabeled", on=SWITCHES, unlabeled=True),
]
ROW = {r.name: r for r in ROWS}
# Priority order: the main rows and their second seeds first, so a partial study already
# answers the main question.
QUEUE = ["unet-s0", "maunet-s0", "maunet-unl-s0", "unet-s1", "maunet-s1",
         "cbam-s0", "aspp-s0", "msa-s0", "ds-s0", "maunet-unl-s1"]


def split_job(job: str) -> tuple[Row, int]:
    name, _, seed = job.rpartition("-s")
    if name not in ROW or not seed.isdigit():
        raise SystemExit(f"ablation: unknown job {job!r} (rows: {sorted(ROW)}, e.g. unet-s0)")
    return ROW[name], int(seed)


def covidseg(*args: str) -> None:
    cmd = [str(Path(sys.executable).with_name("covidseg")), *args]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def train_and_evaluate(job: str, run: Path, out: Path, train_flags: list[str], threads: int, record: dict) -> Path:
    """Train ``run`` (or resume it) with ``train_flags``, evaluate it on the test split and
    write the evaluation plus ``record`` and the training summary to ``out`` (atomically)."""
    if out.exists():
        print(f"{job}: done ({out.relative_to(ROOT)})", flush=True)
        return out
    if not (run / "model" / "config.json").exists():
        if (run / "checkpoints" / "last.pt").exists():
            covidseg("train", "--resume", str(run), "--threads", str(threads), "--quiet")
        else:
            covidseg("train", "--config", str(BASE), *train_flags, "--threads", str(threads),
                     "--data", str(DATA / "train"), "--out", str(run), "--quiet")
    ev = run / "eval-test"
    covidseg("evaluate", "--model", str(run / "model"), "--data", str(DATA / "test"), "--out", str(ev))
    result = json.loads((ev / "results.json").read_text())
    result.update(record)
    result["training"] = training_summary(run)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(out)
    print(f"{job}: wrote {out.relative_to(ROOT)}", flush=True)
    return out


def run_job(job: str, threads: int) -> Path:
    row, seed = split_job(job)
    record = {"row": {"job": job, "name": row.name, "label": row.label, "seed": seed, "flags": row.flags()}}
    return train_and_evaluate(job, RUNS / job, RESULTS / f"{job}.json", [*row.flags(), "--seed", str(seed)],
                              threads, record)


def training_summary(run: Path) -> dict:
    with open(run / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    meta = json.loads((run / "model" / "config.json").read_text())["metadata"]
    info = json.loads((run / "run.json").read_text())
    return {
        "epochs": len(rows),
        "train_seconds": round(sum(float(r["epoch_time_s"]) for r in rows), 1),
        "best_epoch": meta.get("best_epoch"),
        "val_dice": meta.get("val_dice"),
        "threshold": meta.get("threshold"),
        "parameters": info.get("parameters"),
        "code_version": meta.get("code_version"),
        "data_sha256": meta.get("data_sha256"),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="train and evaluate the missing rows")
    r.add_argument("--only", nargs="*", default=None, help=f"jobs to run (default, in order: {' '.join(QUEUE)})")
    r.add_argument("--threads", type=int, default=2)
    sub.add_parser("cost", help="measure parameters, MACs and CPU ms per row into benchmarks/results/ablation/cost.json")
    sub.add_parser("table", help="write docs/results.md from benchmarks/results/ablation/")
    sub.add_parser("figure", help="write docs/images/ablation-test-slices.png")
    args = p.parse_args(argv)
    if args.cmd == "run":
        jobs = args.only or QUEUE
        for job in jobs:  # a typo in the last job must not surface after hours of training the others
            split_job(job)
        for job in jobs:
            t = time.perf_counter()
            run_job(job, args.threads)
            print(f"{job}: {time.perf_counter() - t:.0f} s", flush=True)
        return 0
    if args.cmd == "cost":
        import yaml

        from ablation_report import measure_cost

        cost = measure_cost(ROWS, yaml.safe_load(BASE.read_text()))
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "cost.json").write_text(json.dumps(cost, indent=1) + "\n")
        return 0
    if args.cmd == "table":
        from ablation_report import write_results

        write_results(ROOT, ROWS, RESULTS)
        return 0
    if args.cmd == "figure":
        from ablation_report import write_figure

        write_figure(ROOT, DATA, RUNS)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
