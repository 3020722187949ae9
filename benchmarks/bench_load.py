"""Load test: one ``covidseg predict`` run over 200 slices and 3 volumes, back to back;
with ``--throughput``: cases/s of batch prediction with and without overlapped I/O and split
into parts.

    .venv/bin/python benchmarks/bench_load.py [--slices 200] [--threads 2] [--json out.json]
    .venv/bin/python benchmarks/bench_load.py --throughput [--slices 200] [--volumes 20] [--repeat 2]

``--throughput`` links N COVID-SemiSeg slices (the first of ``unlabeled/images``) and M
copies of ``cip-ct64.nii.gz`` (79 slices) into two temporary input folders and times
``covidseg predict`` on each, end to end (start to exit, model loading included; shipped
weights, pictures on), in three set-ups: one process with 2 threads and ``--no-overlap``
(before), the same with overlapped I/O (after), and two concurrent processes with
``--threads 1`` each and ``--num-parts 2`` into one output folder. Prints a markdown table.

The command runs as a child process exactly as a user would start it; this script samples
the child's resident memory (``/proc/PID/status``) every 0.1 s and counts finished cases
(case folders with a ``report.json``), so it can show memory against the number of cases
done. Prints throughput per phase, peak memory, and the resident memory after 10, 50, 100,
150 and 200 slices with the fitted growth in MB per 100 cases; a leak shows as a slope that
stays positive across the whole run, not as the one-off growth while the first cases warm
up caches (oneDNN kernels, matplotlib fonts).

Inputs: the first N slices (natural order) of ``covid-semiseg/unlabeled/images``, then
``cip-ct64.nii.gz`` (79 slices), the ``cip-ct64-dicom`` series, and a synthetic
300x512x512 volume (cip-ct64 resampled; built once into a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def rss_mb(pid: int) -> tuple[float, float] | None:
    """(VmRSS, VmHWM) of a live process in MB."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    vals = {}
    for line in text.splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, kb = line.split()[:2]
            vals[key] = int(kb) / 1024
    return vals.get("VmRSS:", 0.0), vals.get("VmHWM:", 0.0)


def slope_mb_per_100(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of RSS against cases done, in MB per 100 cases."""
    if len(points) < 2:
        return float("nan")
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in points)
    return 100 * sxy / sxx if sxx else float("nan")


SETUPS = {
    "1 process, 2 threads, --no-overlap": (1, 2, ["--no-overlap"]),
    "1 process, 2 threads, overlap": (1, 2, []),
    "2 parts (2 processes, --threads 1 each), overlap": (2, 1, []),
}


def timed_predict(inputs: Path, out: Path, parts: int, threads: int, extra: list[str], model: str | None) -> float:
    """Wall seconds of ``covidseg predict`` over ``inputs`` into ``out`` in ``parts`` concurrent
    processes (``--num-parts``), each with ``threads`` torch/OpenMP threads."""
    cmd = [str(Path(sys.executable).with_name("covidseg")), "predict", str(inputs), "-o", str(out),
           "--threads", str(threads), "--quiet", *extra]
    if model:
        cmd += ["--model", model]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    t0 = time.perf_counter()
    procs = [subprocess.Popen(cmd + (["--num-parts", str(parts), "--part-id", str(k)] if parts > 1 else []),
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for k in range(parts)]
    errors = [p.communicate()[1] for p in procs]
    seconds = time.perf_counter() - t0
    for p, err in zip(procs, errors):
        if p.returncode != 0:
            raise RuntimeError(f"covidseg predict exited {p.returncode}:\n{err[-2000:]}")
    return seconds


def throughput(args) -> int:
    from covidseg.io.cases import natural_key

    images = sorted((SHARED / "covid-semiseg" / "unlabeled" / "images").glob("*.jpg"), key=lambda q: natural_key(q.name))
    volume = SHARED / "ct-examples" / "cip-ct64.nii.gz"
    if len(images) < args.slices or not volume.is_file():
        print(f"bench_load: need {args.slices} slices and cip-ct64.nii.gz under {SHARED}", file=sys.stderr)
        return 2
    load = os.getloadavg()[0]
    results: dict = {"slices": args.slices, "volumes": args.volumes, "repeat": args.repeat,
                     "cpus": os.cpu_count(), "load_average_at_start": round(load, 2), "runs": []}
    with tempfile.TemporaryDirectory(prefix="covidseg-throughput-") as tmp:
        tmp = Path(tmp)
        workloads = {f"{args.slices} slices (JPG)": tmp / "slices", f"{args.volumes} volumes (cip-ct64, 79 slices)": tmp / "volumes"}
        folders = list(workloads.values())
        for folder in folders:
            folder.mkdir()
        for path in images[: args.slices]:
            (folders[0] / path.name).symlink_to(path)
        for k in range(args.volumes):
            (folders[1] / f"vol{k:03d}.nii.gz").symlink_to(volume)
        for rep in range(args.repeat):  # set-ups interleaved, so a change in machine load hits all alike
            for work, inputs in workloads.items():
                n = args.slices if inputs == folders[0] else args.volumes
                for setup, (parts, threads, extra) in SETUPS.items():
                    out = tmp / "out"
                    seconds = timed_predict(inputs, out, parts, threads, extra, args.model)
                    done = sum(1 for _ in out.glob("*/report.json"))
                    shutil.rmtree(out)
                    if done != n:
                        raise RuntimeError(f"{setup}: {done} of {n} cases written")
                    run = {"work": work, "setup": setup, "repeat": rep, "seconds": round(seconds, 2),
                           "cases_per_s": round(n / seconds, 3), "load_average": round(os.getloadavg()[0], 2)}
                    results["runs"].append(run)
                    print(json.dumps(run), file=sys.stderr, flush=True)
    print(throughput_table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


def throughput_table(results: dict) -> str:
    """Markdown: one row per workload and set-up, cases/s of each repeat."""
    rows = {}
    for run in results["runs"]:
        rows.setdefault((run["work"], run["setup"]), []).append(run)
    lines = ["| work | set-up | cases/s (each run) | seconds (each run) |", "|---|---|---|---|"]
    for (work, setup), runs in rows.items():
        speeds = ", ".join(f"{r['cases_per_s']:.2f}" for r in runs)
        seconds = ", ".join(f"{r['seconds']:.1f}" for r in runs)
        lines.append(f"| {work} | {setup} | {speeds} | {seconds} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--slices", type=int, default=200)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--throughput", action="store_true",
                   help="cases/s with and without overlap and with 2 parts, instead of the memory load test")
    p.add_argument("--volumes", type=int, default=20, help="--throughput: copies of cip-ct64.nii.gz")
    p.add_argument("--repeat", type=int, default=2, help="--throughput: runs of each set-up")
    args = p.parse_args(argv)
    if args.throughput:
        return throughput(args)

    from covidseg.bench import _synthetic_volume
    from covidseg.io.cases import natural_key

    images = sorted((SHARED / "covid-semiseg" / "unlabeled" / "images").glob("*.jpg"), key=lambda q: natural_key(q.name))
    if len(images) < args.slices:
        print(f"bench_load: only {len(images)} slices found under {SHARED}", file=sys.stderr)
        return 2
    slices = images[: args.slices]
    with tempfile.TemporaryDirectory(prefix="covidseg-load-") as tmp:
        tmp = Path(tmp)
        print("building the synthetic 300x512x512 volume ...", file=sys.stderr, flush=True)
        synthetic = _synthetic_volume(SHARED / "ct-examples", 300, tmp / "synthetic-300.nii.gz")
        volumes = [SHARED / "ct-examples" / "cip-ct64.nii.gz", SHARED / "ct-examples" / "cip-ct64-dicom", synthetic]
        inputs = [*slices, *volumes]
        out = tmp / "out"
        cmd = [str(Path(sys.executable).with_name("covidseg")), "predict", *map(str, inputs), "-o", str(out),
               "--threads", str(args.threads), "--quiet"]
        if args.model:
            cmd += ["--model", args.model]
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        samples = []  # (seconds, cases done, rss MB)
        peak = 0.0
        while proc.poll() is None:
            m = rss_mb(proc.pid)
            if m:
                peak = max(peak, m[1])
                done = sum(1 for _ in out.glob("*/report.json")) if out.is_dir() else 0
                samples.append((time.perf_counter() - t0, done, m[0]))
            time.sleep(0.1)
        stdout, stderr = proc.communicate()
        total = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"bench_load: covidseg predict exited {proc.returncode}:\n{stderr[-2000:]}", file=sys.stderr)
            return 1
        n_done = sum(1 for _ in out.glob("*/report.json"))

    # phase boundaries from the case counter
    def first_time(done: int) -> float:
        return next((t for t, d, _ in samples if d >= done), total)

    t_slices = first_time(args.slices)
    t_vols = [first_time(args.slices + i) for i in (1, 2, 3)]
    rss_at = {}
    for k in (10, 50, 100, 150, args.slices - 1):
        # while case k+1 runs; after the last slice the first volume is already being read
        after = [r for _, d, r in samples if d == k]
        if after:
            rss_at[k] = round(sorted(after)[len(after) // 2], 1)
    steady = [(d, r) for _, d, r in samples if 20 <= d < args.slices]
    result = {
        "cases": n_done,
        "threads": args.threads,
        "total_seconds": round(total, 1),
        "slices": {"n": args.slices, "seconds": round(t_slices, 1), "per_second": round(args.slices / t_slices, 2)},
        "volumes": {
            "cip-ct64.nii.gz (79x64x64)": round(t_vols[0] - t_slices, 1),
            "cip-ct64-dicom (79 files)": round(t_vols[1] - t_vols[0], 1),
            "synthetic 300x512x512": round(t_vols[2] - t_vols[1], 1),
        },
        "peak_rss_mb": round(peak, 1),
        "rss_mb_after_n_slices": rss_at,
        "rss_growth_mb_per_100_slices_after_20": round(slope_mb_per_100(steady), 2),
        "rss_trace": [[round(t, 1), d, round(r)] for t, d, r in samples[::5]],
        "rss_mb_after_volumes": round(next((r for _, _, r in reversed(samples) if r > 0), 0.0), 1),
    }
    print(json.dumps({k: v for k, v in result.items() if k != "rss_trace"}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
