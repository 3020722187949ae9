"""Load test: one ``covidseg predict`` run over 200 slices and 3 volumes, back to back.

    .venv/bin/python benchmarks/bench_load.py [--slices 200] [--threads 2] [--json out.json]

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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--slices", type=int, default=200)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)

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
