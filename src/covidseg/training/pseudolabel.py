"""Own-teacher pseudo-labels for self-training (Noisy Student) on unlabeled slices.

    covidseg pseudolabel --model runs/cv/all-e120/fold*/model --data DATA/unlabeled \
        --out runs/teacher-all --tta --min-confidence 0.7
    covidseg train ... --unlabeled runs/teacher-all --pseudo-kind teacher --pseudo-folder teacher

The teachers (one or more models of one task, e.g. the cross-validation fold models) each
predict every slice the way training sees it (the slice resized to the model's input size),
optionally with the mirror image too; their class probabilities are averaged. The label map
is the arg-max class, except where the averaged top probability is below ``min_confidence``:
those pixels are written as 255 and the student's loss leaves them out. The output is a
split folder: ``images/`` (links to the source slices) and ``teacher/`` (one PNG label map per
slice + ``teacher.json`` with the teachers' identities, the settings and the share of ignored
pixels), so training reads it like any other unlabeled folder.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from covidseg.data import IGNORE, get_task, list_images
from covidseg.data.folder import _is_nifti, _stem
from covidseg.devices import DEVICE_HELP, device_option
from covidseg.errors import ConfigError, InputError, ModelError
from covidseg.io.readers import read_image

LABEL_FOLDER = "teacher"


@dataclass
class PseudoLabelConfig:
    tta: bool = True  # average with the left-right mirrored slice
    min_confidence: float = 0.7  # averaged top-class probability below this → IGNORE
    device: str = "cpu"
    batch_size: int = 8

    def __post_init__(self):
        if not 0.0 <= float(self.min_confidence) < 1.0:
            raise ValueError(f"min_confidence must be in [0, 1), got {self.min_confidence!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")


def class_probabilities(models: list, images: list[np.ndarray], tta: bool = True, device: str = "cpu") -> list[np.ndarray]:
    """Class probabilities (C, H, W) at each image's own size, averaged over the models; for a
    sigmoid task the two classes (background, foreground). Each model sees the images at its
    own input size, as one batch (:func:`covidseg.evaluation.evaluate.model_probabilities`)."""
    from covidseg.evaluation.evaluate import model_probabilities

    totals: list = [None] * len(images)
    for model in models:
        for i, p in enumerate(model_probabilities(model, images, device, tta=tta)):
            if p.shape[0] == 1:  # sigmoid: background is 1 - p
                p = np.concatenate([1.0 - p, p])
            totals[i] = p if totals[i] is None else totals[i] + p
    return [t / len(models) for t in totals]


def label_map(probs: np.ndarray, min_confidence: float) -> np.ndarray:
    """Arg-max labels (uint8), IGNORE where the top probability is below ``min_confidence``."""
    label = probs.argmax(0).astype(np.uint8)
    label[probs.max(0) < min_confidence] = IGNORE
    return label


def _load_teachers(model_dirs: list[str | Path], device: str) -> tuple[list, str]:
    from covidseg.models import load_pretrained

    if not model_dirs:
        raise ConfigError("pseudolabel: at least one teacher model is needed (--model)")
    models, tasks = [], set()
    for d in model_dirs:
        d = Path(d)
        if not (d / "model.safetensors").is_file() and (d / "model" / "model.safetensors").is_file():
            d = d / "model"  # a training run folder
        m = load_pretrained(d, device=device)
        m.eval()
        meta = m.metadata or {}
        if "task" not in meta or "input_size" not in meta:
            raise ModelError("model metadata lacks 'task'/'input_size' (was it exported by covidseg train?)", d)
        m.source_dir = d
        tasks.add(meta["task"])
        models.append(m)
    if len(tasks) != 1:
        raise ConfigError(f"pseudolabel: the teachers must share one task, got {sorted(tasks)}")
    return models, tasks.pop()


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.symlink(src.resolve(), dst)
    except OSError:  # file systems without symlinks
        shutil.copy2(src, dst)


def pseudolabel(model_dirs: list[str | Path], data: str | Path, out: str | Path,
                config: PseudoLabelConfig | None = None, progress=None) -> dict:
    """Label every slice of ``data/images`` with the teachers; write the split folder ``out``
    (built beside it and renamed into place, so a cut-short run leaves no half folder).
    Returns the teacher.json document."""
    from PIL import Image

    from covidseg.models.pretrained import sha256_file

    cfg = config or PseudoLabelConfig()
    data, out = Path(data), Path(out)
    if out.exists():
        raise ConfigError("pseudolabel: the output folder exists already; choose another --out", out)
    models, task = _load_teachers(model_dirs, cfg.device)
    files = list_images(data)
    if any(_is_nifti(f) for f in files):
        raise InputError("pseudolabel reads 2-D slices (.jpg/.png); NIfTI volumes are not supported here", data)
    tmp = out.with_name(f".{out.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "images").mkdir(parents=True)
    (tmp / LABEL_FOLDER).mkdir()
    t0 = time.perf_counter()
    ignored = labelled = 0
    counts = np.zeros(len(get_task(task).labels), np.int64)
    try:
        for start in range(0, len(files), cfg.batch_size):
            batch = files[start : start + cfg.batch_size]
            images = []
            for f in batch:
                img = read_image(f)
                if img.metadata.get("bit_depth") != 8:
                    raise InputError(f"pseudolabel reads 8-bit grayscale slices, got a "
                                     f"{img.metadata.get('bit_depth')}-bit image", f)
                images.append(img.array.astype(np.uint8))
            for f, probs in zip(batch, class_probabilities(models, images, tta=cfg.tta, device=cfg.device)):
                lab = label_map(probs, cfg.min_confidence)
                Image.fromarray(lab).save(tmp / LABEL_FOLDER / f"{_stem(f)}.png")
                _link_or_copy(f, tmp / "images" / f.name)
                ignored += int((lab == IGNORE).sum())
                labelled += lab.size
                counts += np.bincount(lab[lab != IGNORE], minlength=len(counts))[: len(counts)]
            if progress:
                progress(start + len(batch), len(files))
        doc = {
            "task": task,
            "labels": list(get_task(task).labels),
            "ignore_value": IGNORE,
            "teachers": [{"path": str(m.source_dir), "sha256": sha256_file(m.source_dir / "model.safetensors"),
                          "run": m.metadata.get("run"), "validation": m.metadata.get("validation")} for m in models],
            "settings": asdict(cfg),
            "source": str(data.resolve()),
            "n_slices": len(files),
            "ignored_fraction": round(ignored / max(labelled, 1), 6),
            "class_fractions": {name: round(int(c) / max(labelled, 1), 6)
                                for name, c in zip(get_task(task).labels, counts)},
            "wall_time_s": round(time.perf_counter() - t0, 1),
        }
        (tmp / LABEL_FOLDER / "teacher.json").write_text(json.dumps(doc, indent=2) + "\n")
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return doc


def configure(parser) -> None:
    parser.add_argument("--model", nargs="+", required=True, metavar="DIR",
                        help="teacher model folders (or training run folders), all of one task")
    parser.add_argument("--data", required=True, metavar="DIR", help="folder with images/ (e.g. COVID-SemiSeg unlabeled/)")
    parser.add_argument("--out", required=True, metavar="DIR", help="new split folder: images/ + teacher/")
    parser.add_argument("--tta", action=__import__("argparse").BooleanOptionalAction, default=True,
                        help="also average the mirrored slice's prediction [on]")
    parser.add_argument("--min-confidence", type=float, default=0.7,
                        help="pixels whose averaged top-class probability is lower are ignored in training [0.7]")
    parser.add_argument("--device", default=PseudoLabelConfig.device, help=DEVICE_HELP)


def main(args) -> int:
    from rich.progress import Progress

    device = device_option(args.device)
    try:
        cfg = PseudoLabelConfig(tta=args.tta, min_confidence=args.min_confidence, device=device)
    except ValueError as exc:
        raise ConfigError(f"--min-confidence: {exc}") from None
    with Progress(transient=True) as bar:
        job = bar.add_task("pseudo-labelling", total=None)
        doc = pseudolabel(args.model, args.data, args.out, cfg,
                          progress=lambda i, n: bar.update(job, completed=i, total=n))
    print(f"{doc['n_slices']} slices labelled by {len(doc['teachers'])} teacher(s) of task {doc['task']} in "
          f"{doc['wall_time_s']} s; {100 * doc['ignored_fraction']:.1f} % of pixels ignored; wrote {args.out}")
    return 0
