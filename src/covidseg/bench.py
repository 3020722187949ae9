"""``covidseg bench``: time the inference pipeline on this machine, beside two peer networks.

Scenarios (each in its own process, so the peak memory is that scenario's own):
  slice   one 512x512 HU slice through the full pipeline (lung + lesion + classes + report)
  ct64    the 79-slice cip-ct64 scan (NIfTI) through the full pipeline (needs --ct-examples)
  vol     a synthetic 300x512x512 HU volume: a generated chest phantom (body, two lungs with
          vessels and ground-glass patches, spine), or with --ct-examples cip-ct64 resampled
  peers   MONAI BasicUNet (2-D, 512x512 slices) and lungmask's R231 U-Net architecture
          (re-implemented from its published description, 256x256 slices, as lungmask
          resamples), random weights; network-only time per slice, extrapolated to the volume.

Without ``--model`` the shipped weights are used (else a random MA-UNet; speed does not
depend on the weights). Everything it needs is generated: it runs from an installed package,
no checkout or data download (``--ct-examples`` adds the real scan of the project's data).
Results print as JSON and, with ``--json``, are saved.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

SCENARIOS = ("slice", "ct64", "vol", "peers")


def configure(parser: argparse.ArgumentParser) -> None:
    from covidseg.inference.config import SegmenterConfig
    from covidseg.inference.engine import PRECISIONS

    seg = SegmenterConfig()
    parser.add_argument("--model", default=None, help="model folder (default: shipped weights, else random MA-UNet)")
    parser.add_argument("--base-channels", type=int, default=32, help="random MA-UNet width (default 32)")
    parser.add_argument("--input-size", type=int, default=352, help="random MA-UNet input_size metadata (default 352)")
    parser.add_argument("--inference-size", type=int, default=None, help="override the network input side")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", choices=PRECISIONS, default=seg.precision,
                        help="covidseg's network arithmetic (peers always run fp32, as shipped) (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=seg.batch_size, help="(default: %(default)s)")
    parser.add_argument("--slices", type=int, default=300, help="synthetic volume depth (default 300)")
    parser.add_argument("--peer-slices", type=int, default=16, help="slices timed per peer network (default 16)")
    parser.add_argument("--scenarios", nargs="+", default=None, choices=SCENARIOS,
                        help="default: slice vol peers, and ct64 with --ct-examples")
    parser.add_argument("--ct-examples", default=None, metavar="DIR",
                        help="folder with cip-ct64.nii.gz (the project's shared data): adds the ct64 scenario "
                             "and builds the volume from its anatomy (default: a generated phantom)")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")


# ----------------------------------------------------------------------------- peers
def r231_unet():
    """lungmask's R231 architecture from its description: U-Net, depth 5, 64 filters at the top
    (2**6, doubling per level), padded 3x3 convolutions each followed by ReLU then batch norm,
    max-pool down, bilinear upsampling + 1x1 convolution up, 3 output classes."""
    import torch
    from torch import nn

    def block(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True), nn.BatchNorm2d(cout),
                             nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(inplace=True), nn.BatchNorm2d(cout))

    class Up(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                    nn.Conv2d(cin, cout, 1))
            self.conv = block(cin, cout)

        def forward(self, x, skip):
            return self.conv(torch.cat([self.up(x), skip], 1))

    class R231(nn.Module):
        def __init__(self, depth=5, wf=6, n_classes=3):
            super().__init__()
            widths = [2 ** (wf + i) for i in range(depth)]
            self.down = nn.ModuleList(block(1 if i == 0 else widths[i - 1], w) for i, w in enumerate(widths))
            self.up = nn.ModuleList(Up(widths[i + 1], widths[i]) for i in reversed(range(depth - 1)))
            self.last = nn.Conv2d(widths[0], n_classes, 1)

        def forward(self, x):
            skips = []
            for i, d in enumerate(self.down):
                x = d(x)
                if i < len(self.down) - 1:
                    skips.append(x)
                    x = nn.functional.max_pool2d(x, 2)
            for u in self.up:
                x = u(x, skips.pop())
            return self.last(x)

    return R231()


def _time_network(net, size: int, n: int, batch: int, bf16: bool = False) -> float:
    """Seconds per slice of ``net`` alone (channels-last, inference mode, optional bf16)."""
    import torch

    net = net.eval().to(memory_format=torch.channels_last)
    x = torch.rand(batch, 1, size, size).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        net(x[:1])  # warm-up
        t0 = time.perf_counter()
        done = 0
        while done < n:
            net(x[: min(batch, n - done)])
            done += batch
    return (time.perf_counter() - t0) / n


# ----------------------------------------------------------------------------- scenarios
def _model(args, tmp: Path) -> str | None:
    if args.model:
        return args.model
    from covidseg.inference.loading import shipped_models
    from covidseg.errors import ModelError

    try:
        shipped_models()
        return None
    except ModelError:
        pass
    import torch

    from covidseg.models import MAUNet, MAUNetConfig

    torch.manual_seed(0)
    folder = tmp / "random-maunet"
    from covidseg.tasks import TASKS

    spec = TASKS["all"]
    MAUNet(MAUNetConfig(num_classes=spec.num_classes, base_channels=args.base_channels, depth=4)).save_pretrained(
        folder, metadata={"task": spec.name, "labels": list(spec.labels), "activation": spec.activation,
                          "input_size": args.input_size, "threshold": 0.5})
    return str(folder)


def synthetic_chest(slices: int = 300, size: int = 512, seed: int = 0):
    """A chest CT phantom in HU, int16 ``(z, y, x)`` (rows → posterior, columns → patient's
    left): air, a body ellipse with a fat ring, two lungs (-850 HU) that grow and shrink along
    z, vessels in them, ground-glass patches (-550 HU) in the lower half, a spine; Gaussian
    noise of 15 HU. Enough for the HU lung segmentation and the network to do their usual work."""
    import numpy as np

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    body = (xx / 0.42) ** 2 + (yy / 0.30) ** 2 <= 1
    fat = body & ((xx / 0.40) ** 2 + (yy / 0.28) ** 2 > 1)
    spine = (xx / 0.05) ** 2 + ((yy - 0.2) / 0.05) ** 2 <= 1
    vessels = np.zeros((size, size), bool)
    for vx, vy in rng.uniform(-0.4, 0.4, (60, 2)):
        vessels |= (xx - vx) ** 2 + (yy - vy) ** 2 <= 0.006 ** 2
    vol = np.empty((slices, size, size), np.int16)
    for z in range(slices):
        t = z / max(slices - 1, 1)
        s = float(np.sqrt(np.sin(np.pi * (t - 0.05) / 0.9))) if 0.05 < t < 0.95 else 0.0
        sl = np.full((size, size), -1000.0, np.float32)
        sl[body] = 40.0
        sl[fat] = -100.0
        if s > 0:
            lungs = np.zeros((size, size), bool)
            for cx in (-0.17, 0.17):
                lungs |= ((xx - cx) / (0.12 * s)) ** 2 + ((yy + 0.01) / (0.21 * s)) ** 2 <= 1
            sl[lungs] = -850.0
            sl[lungs & vessels] = 40.0
            if 0.4 < t < 0.8:
                for cx in (-0.2, 0.15):
                    sl[lungs & ((xx - cx) ** 2 + (yy - 0.1) ** 2 <= (0.05 * s) ** 2)] = -550.0
        sl[spine] = 700.0
        sl += rng.normal(0, 15, sl.shape).astype(np.float32)
        vol[z] = np.clip(sl, -1024, 3000).astype(np.int16)
    return vol


def _synthetic_volume(ct_examples: Path | None, slices: int, out: Path) -> Path:
    """A slices x 512 x 512 HU volume as NIfTI: cip-ct64 resampled (0.52 mm pixels, real
    anatomy at clinical size) when ``ct_examples`` holds it, else :func:`synthetic_chest`."""
    import nibabel as nib
    import numpy as np
    from scipy import ndimage as ndi

    if ct_examples is None:
        vol = synthetic_chest(slices)  # (z, y → posterior, x → left): RAS axes flipped in x and y
        nib.save(nib.Nifti1Image(np.ascontiguousarray(vol.transpose(2, 1, 0)), np.diag([-0.7, -0.7, 1.0, 1.0])), out)
        return out

    src = nib.load(ct_examples / "cip-ct64.nii.gz")
    data = np.asarray(src.dataobj, np.float32)
    factors = (512 / data.shape[0], 512 / data.shape[1], slices / data.shape[2])
    vol = ndi.zoom(data, factors, order=1).astype(np.int16)
    affine = src.affine.copy()
    affine[:3, :3] = affine[:3, :3] / np.asarray(factors)[None, :]
    nib.save(nib.Nifti1Image(vol, affine), out)
    return out


def _run_case(model, source, args, workdir, queue):
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from covidseg.inference import Segmenter

    seg = Segmenter(model, threads=args.threads, batch_size=args.batch_size, inference_size=args.inference_size,
                    keep_probabilities=False, precision=args.precision)
    t0 = time.perf_counter()
    if source == "slice":
        from covidseg.io import read_image

        img = read_image(args._volume_path)
        k = img.shape[0] // 2
        from dataclasses import replace

        slice_img = replace(img, array=np.ascontiguousarray(img.array[k]), spacing=img.spacing[1:],
                            orientation=img.orientation[1:], kind="image", affine=None, native=None)
        seg.predict(slice_img)  # warm-up (first call initialises oneDNN kernels)
        t0 = time.perf_counter()
        n = 5
        for _ in range(n):
            pred = seg.predict(slice_img)
        seconds = (time.perf_counter() - t0) / n
        timings = pred.timings
    else:
        pred = seg.predict(source)
        pred.save(workdir / "case", pictures=True)
        seconds = time.perf_counter() - t0
        timings = pred.timings
        timings["network_slices"] = int(pred.lung.any(axis=(1, 2)).sum()) if pred.lung is not None else None
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"seconds": seconds, "timings": timings, "peak_rss_mb": round(peak_mb)})


def _run_peers(args, queue):
    import torch

    torch.set_num_threads(args.threads)
    from monai.networks.nets import BasicUNet

    from covidseg.inference.engine import resolve_precision

    out = {}
    basic = BasicUNet(spatial_dims=2, in_channels=1, out_channels=4)
    r231 = r231_unet()
    out["monai_basicunet_512"] = _time_network(basic, 512, args.peer_slices, args.batch_size)
    out["lungmask_r231_256"] = _time_network(r231, 256, args.peer_slices, args.batch_size)
    if resolve_precision(args.precision, "cpu") == "bf16":  # the same arithmetic as covidseg, for fairness
        out["monai_basicunet_512_bf16"] = _time_network(basic, 512, args.peer_slices, args.batch_size, True)
        out["lungmask_r231_256_bf16"] = _time_network(r231, 256, args.peer_slices, args.batch_size, True)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    queue.put(out)


def _in_child(target, *a):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*a, q))
    p.start()
    result = q.get()
    p.join()
    return result


def main(args: argparse.Namespace) -> int:
    import platform

    from covidseg.inference.engine import resolve_precision

    results: dict = {"cpu": platform.processor() or platform.machine(), "cores_used": args.threads,
                     "os_cpus": os.cpu_count(), "batch_size": args.batch_size,
                     "precision": resolve_precision(args.precision, "cpu"),
                     "load_average_at_start": os.getloadavg()}
    from covidseg.errors import ConfigError, FileMissingError

    examples = Path(args.ct_examples).expanduser() if args.ct_examples else None
    if args.scenarios is None:
        args.scenarios = ["slice", "vol", "peers"] + (["ct64"] if examples else [])
    if examples is not None and not (examples / "cip-ct64.nii.gz").is_file():
        raise FileMissingError("--ct-examples: no cip-ct64.nii.gz in this folder", examples)
    if "ct64" in args.scenarios and examples is None:
        raise ConfigError("the ct64 scenario needs --ct-examples DIR (the folder holding cip-ct64.nii.gz)")
    if args.slices < 1 or args.threads < 1:
        raise ConfigError("--slices and --threads must be >= 1")
    results["volume"] = "cip-ct64 resampled" if examples else "synthetic chest phantom"
    with tempfile.TemporaryDirectory(prefix="covidseg-bench-") as tmp:
        tmp = Path(tmp)
        model = _model(args, tmp)
        results["model"] = model or "shipped"
        ct64 = examples / "cip-ct64.nii.gz" if examples else None
        need_vol = {"slice", "vol"} & set(args.scenarios)
        if need_vol:
            print(f"building a synthetic {args.slices}x512x512 volume ...", file=sys.stderr)
            args._volume_path = str(_synthetic_volume(examples, args.slices, tmp / "synthetic.nii.gz"))
        if "slice" in args.scenarios:
            results["slice_512"] = _in_child(_run_case, model, "slice", args, tmp / "s")
        if "ct64" in args.scenarios:
            results["ct64_79_slices"] = _in_child(_run_case, model, str(ct64), args, tmp / "c")
        if "vol" in args.scenarios:
            results[f"synthetic_{args.slices}x512"] = _in_child(_run_case, model, args._volume_path, args, tmp / "v")
        if "peers" in args.scenarios:
            peers = _in_child(_run_peers, args)
            results["peers_seconds_per_slice"] = peers
            results["peers_extrapolated_volume_s"] = {
                k: round(v * args.slices, 1) for k, v in peers.items() if k != "peak_rss_mb"}
    results["load_average_at_end"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    if args.json:
        from covidseg.io import atomic_write

        with atomic_write(args.json) as t:
            Path(t).write_text(json.dumps(results, indent=2) + "\n")
    return 0
