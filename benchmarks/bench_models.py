"""Parameter counts and CPU forward time of the networks on one 512x512 slice.

Usage: python benchmarks/bench_models.py [--threads 2] [--repeats 5] [--width 32]
Prints a table; times are the median of ``--repeats`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from covidseg.models import MAUNet, MAUNetConfig, UNet, UNetConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--widths", type=int, nargs="+", default=[16, 32])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.rand(1, 1, args.size, args.size)
    print(f"torch {torch.__version__}, {args.threads} threads, input 1x1x{args.size}x{args.size}")
    print(f"{'model':<28}{'params':>12}{'forward (s)':>14}{'channels_last (s)':>20}")
    for width in args.widths:
        variants = [
            ("UNet", UNet(UNetConfig(base_channels=width))),
            ("MAUNet (all switches)", MAUNet(MAUNetConfig(base_channels=width))),
        ]
        for name, model in variants:
            model.eval()
            times = []
            for fmt in (torch.contiguous_format, torch.channels_last):
                m, xi = model.to(memory_format=fmt), x.contiguous(memory_format=fmt)
                with torch.inference_mode():
                    m(xi)
                    runs = []
                    for _ in range(args.repeats):
                        t = time.perf_counter()
                        m(xi)
                        runs.append(time.perf_counter() - t)
                times.append(statistics.median(runs))
            n = sum(p.numel() for p in model.parameters())
            print(f"{name + f' w={width}':<28}{n:>12,}{times[0]:>14.3f}{times[1]:>20.3f}")


if __name__ == "__main__":
    main()
