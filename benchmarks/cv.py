"""5-fold cross-validation of a training recipe on COVID-SemiSeg ``train/``: train, out-of-fold score.

    python benchmarks/cv.py train configs/cv/all-e120.yaml --out runs/cv/all-e120 --parallel 2
    python benchmarks/cv.py oof runs/cv/all-e120 [--tta] [--save benchmarks/results/cv/all-e120.json]
    python benchmarks/cv.py selftrain runs/cv/all-e120 configs/cv/student-all-e120.yaml --out runs/cv/student-all-e120
    python benchmarks/cv.py selftrain runs/cv/all-e300 configs/cv/student-ft-e300.yaml --init-from-teacher --out ...
    python benchmarks/cv.py table benchmarks/results/cv/*.json
    python benchmarks/cv.py healthy runs/cv/all-e120 runs/cv/all-e300 [--threshold 0.35] [--save FILE]
    python benchmarks/cv.py ensemble runs/cv/shipped-e120 runs/cv/all-e300 --out runs/cv/ens-shipped-e300

``train`` runs ``covidseg train --folds 5 --fold K`` for every fold into ``OUT/foldK`` with the
committed ``configs/folds.json`` (an unfinished fold is continued with ``--resume``, a finished
one skipped), ``--parallel`` folds at a time, one torch thread each; other flags
(e.g. ``--epochs 300``) are passed to every ``covidseg train``.

``selftrain`` is one Noisy-Student round scored out-of-fold: fold K's teacher (the model of
a finished ``train`` that never saw fold K) labels every unlabeled slice with ``covidseg
pseudolabel`` into ``OUT/labels-foldK``, and fold K's student trains on the other folds'
labelled slices plus those labels (the student config sets the pseudo-label share and the
stronger augmentation). No fold's validation slice reaches its own student, not even through
a teacher, so the students' out-of-fold numbers compare with the teachers'.

``ensemble`` combines fold K of each recipe into one :class:`covidseg.models.Ensemble` (mean of
the members' probabilities) in ``OUT/foldK/model``; the members of a fold must have held out
the same slices. ``oof`` and ``healthy`` then score the ensemble recipe like any other.

``oof`` scores every slice with the one model that did not train on it (its fold's model)
through :func:`covidseg.evaluation.evaluate`, so the numbers are what that function reports on
the test split (binary and published protocols), and sweeps the infection threshold on the
pooled out-of-fold probability maps: the operating threshold of a recipe is chosen there, never
on ``test/``. Numbers: mean ± sd over the 5 fold means, and the mean over all 50 slices.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from select_on_val import link_view  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT.parent / "shared" / "data" / "covid-semiseg" / "train"
FOLDS = ROOT / "configs" / "folds.json"
COVIDSEG = [sys.executable, "-m", "covidseg"]  # this interpreter's covidseg, installed or on PYTHONPATH
THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.05), 2)
TEMPERATURES = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5)
# (protocol, target, metric) columns of the recipe table
COLUMNS = [("published", "infection", "mean_dice"), ("binary", "infection", "dice"), ("binary", "ggo", "dice"),
           ("binary", "consolidation", "dice"), ("binary", "lung", "dice")]


def fold_done(run: Path) -> bool:
    return (run / "model" / "model.safetensors").is_file()


def train(args) -> int:
    folds = json.loads(args.folds_file.read_text())["folds"]
    todo = [k for k in range(len(folds)) if not fold_done(args.out / f"fold{k}")]
    if args.only is not None:
        todo = [k for k in todo if k in args.only]
    running: list[tuple[int, subprocess.Popen]] = []
    failed = []
    while todo or running:
        while todo and len(running) < args.parallel:
            k = todo.pop(0)
            run = args.out / f"fold{k}"
            if (run / "checkpoints" / "last.pt").is_file() or (run / "checkpoints" / "last.prev.pt").is_file():
                cmd = [*COVIDSEG, "train", "--resume", str(run)]
            else:
                cmd = [*COVIDSEG, "train", "--config", str(args.config), "--folds", str(len(folds)), "--fold", str(k),
                       "--folds-file", str(args.folds_file), "--data", str(args.data), "--out", str(run)]
                unl = getattr(args, "unlabeled_for", {}).get(k, args.unlabeled)
                if unl:
                    cmd += ["--unlabeled", str(unl)]
                if k in getattr(args, "init_for", {}):
                    cmd += ["--init", str(args.init_for[k])]
                cmd += getattr(args, "new_run_flags", [])  # settings a resumed run keeps from its config
            cmd += ["--threads", str(args.threads), "--quiet", *args.extra]
            print(f"[{time.strftime('%H:%M:%S')}] fold {k}: {' '.join(cmd)}", flush=True)
            running.append((k, subprocess.Popen(cmd)))
        time.sleep(5)
        for k, proc in list(running):
            if proc.poll() is not None:
                running.remove((k, proc))
                print(f"[{time.strftime('%H:%M:%S')}] fold {k} exited {proc.returncode}", flush=True)
                if proc.returncode != 0:
                    failed.append(k)
    return 1 if failed else 0


def selftrain(args) -> int:
    import shlex

    teachers = {p.parent.name: p for p in fold_models(args.teacher)}
    if args.only is not None:
        teachers = {n: p for n, p in teachers.items() if int(n[4:]) in args.only}
    args.out.mkdir(parents=True, exist_ok=True)
    for name, model in sorted(teachers.items()):
        labels = args.out / f"labels-{name}"
        if not labels.is_dir():
            cmd = [*COVIDSEG, "pseudolabel", "--model", str(model), "--data", str(args.unlabeled), "--out", str(labels),
                   "--min-confidence", str(args.min_confidence), "--device", args.device]
            print(f"[{time.strftime('%H:%M:%S')}] {shlex.join(cmd)}", flush=True)
            if subprocess.run(cmd).returncode != 0:
                return 1
    args.only = [int(n[4:]) for n in teachers]
    args.unlabeled_for = {int(n[4:]): args.out / f"labels-{n}" for n in teachers}
    if args.init_from_teacher:  # fold K's student starts from fold K's teacher (never saw fold K either)
        args.init_for = {int(n[4:]): p for n, p in teachers.items()}
    args.new_run_flags = ["--pseudo-kind", "teacher", "--pseudo-folder", "teacher"]
    return train(args)


def fold_models(root: Path) -> list[Path]:
    models = sorted((p / "model" for p in root.glob("fold*") if fold_done(p)), key=lambda p: p.parent.name)
    if not models:
        sys.exit(f"{root}: no finished fold (foldK/model)")
    return models


def _dice(pred: np.ndarray, gt: np.ndarray) -> float:
    s = pred.sum() + gt.sum()
    return 1.0 if s == 0 else float(2 * np.logical_and(pred, gt).sum() / s)


def oof(args) -> int:
    from covidseg.evaluation import evaluate, load_ground_truth
    from covidseg.evaluation.evaluate import predict_probabilities
    from covidseg.models import load_pretrained

    from covidseg.evaluation.calibration import sharpen
    from covidseg.evaluation.metrics import published_image

    per_fold, slices, sweep = [], {}, {float(t): [] for t in THRESHOLDS}
    maps: list[tuple[int, np.ndarray, np.ndarray]] = []  # (fold index, raw infection map, ground truth)
    seen: set[str] = set()
    for model_dir in fold_models(args.root):
        meta = json.loads((model_dir / "config.json").read_text()).get("metadata", {})
        names = (meta.get("validation") or {}).get("names")
        if not names:
            sys.exit(f"{model_dir}: the model does not record its validation slices (train it with --folds)")
        if seen & set(names):
            sys.exit(f"{model_dir}: validation slices overlap another fold's: {sorted(seen & set(names))}")
        seen |= set(names)
        with tempfile.TemporaryDirectory() as tmp:
            view = link_view(args.train, names, Path(tmp) / "val")
            result = evaluate(view, model=model_dir, tta=args.tta, threshold=args.threshold)
            prot = result.to_dict()["protocols"]
            row = {"fold": model_dir.parent.name, "threshold": result.threshold, "n": len(names)}
            for p, t, k in COLUMNS:
                row[f"{p}.{t}.{k}"] = prot[p].get(t, {}).get("mean", {}).get(k)
                for r in prot[p].get(t, {}).get("per_image", []):
                    slices.setdefault(r["name"], {})[f"{p}.{t}.{k}"] = r.get(k)
            per_fold.append(row)
            # the threshold sweep on the raw infection map (the same map for every threshold)
            net = load_pretrained(model_dir)
            net.eval()
            for gt in load_ground_truth(view):
                p = predict_probabilities(net, gt.image, tta=args.tta)["infection"]
                maps.append((len(per_fold) - 1, p, gt.masks["infection"]))
                for t in THRESHOLDS:
                    sweep[float(t)].append(_dice(p > t, gt.masks["infection"]))
    summary = {}
    for p, t, k in COLUMNS:
        key = f"{p}.{t}.{k}"
        folds = [r[key] for r in per_fold if r[key] is not None]
        pooled = [s[key] for s in slices.values() if s.get(key) is not None]
        if folds:
            summary[key] = {"fold_mean": float(np.mean(folds)), "fold_sd": float(np.std(folds, ddof=1)) if len(folds) > 1 else 0.0,
                            "slice_mean": float(np.mean(pooled)), "n_slices": len(pooled)}
    curve = {t: float(np.mean(v)) for t, v in sweep.items()}
    best = max(curve, key=curve.get)
    # Temperature about the chosen threshold for the published protocol only (changes no mask):
    # published infection Dice per temperature, as fold means, on the same out-of-fold maps.
    def published_by_fold(transform) -> list[float]:
        per = [[] for _ in per_fold]
        for k, p, g in maps:
            per[k].append(float(np.mean(published_image(transform(p), g)["curves"]["dice"])))
        return [float(np.mean(v)) for v in per if v]

    # the temperature sharpens about the operating threshold: the given one, else the sweep's best
    centre = args.threshold if args.threshold is not None else best
    raw_pub = published_by_fold(lambda p: p)
    temps = {}
    for temp in TEMPERATURES:
        f = published_by_fold(lambda p, temp=temp: sharpen(p, temp, centre))
        temps[temp] = {"fold_mean": float(np.mean(f)), "fold_sd": float(np.std(f, ddof=1)) if len(f) > 1 else 0.0}
    best_t = max(temps, key=lambda t: temps[t]["fold_mean"])
    doc = {"root": str(args.root), "tta": args.tta, "n_folds": len(per_fold), "n_slices": len(slices),
           "summary": summary, "per_fold": per_fold, "per_slice": slices,
           "threshold_sweep": {"infection_dice_by_threshold": curve, "best": best, "best_dice": curve[best]},
           "temperature_sweep": {"centre": centre, "raw_published_fold_mean": float(np.mean(raw_pub)),
                                 "published_by_temperature": {str(t): v for t, v in temps.items()}, "best": best_t}}
    print(f"{args.root}{' +TTA' if args.tta else ''}: {len(per_fold)} folds, {len(slices)} out-of-fold slices")
    for key, s in summary.items():
        print(f"  {key:32s} {s['fold_mean']:.3f} ± {s['fold_sd']:.3f} (folds)   {s['slice_mean']:.3f} (all slices)")
    print(f"  infection threshold sweep (raw map): best {best:.2f} -> Dice {curve[best]:.3f}")
    print(f"  published infection Dice by temperature about {centre:.2f} (raw {np.mean(raw_pub):.3f}): "
          + ", ".join(f"T={t}: {v['fold_mean']:.3f}" for t, v in temps.items()) + f"; best T={best_t}")
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


def healthy(args) -> int:
    """Lesion share of lung on a real CT without COVID-19, for every fold model of each recipe.

    One model's false-positive burden is not a property of its recipe: training runs of one
    recipe differ by up to 5x on the same scan (docs/results.md, session 6), so recipes are
    compared by the mean over their fold models, at one common threshold.
    """
    from covidseg.evaluation.as_predicted import as_loaded_model, build_segmenter
    from covidseg.io import read_image
    from covidseg.models import load_pretrained

    image = read_image(args.scan)
    doc = {"scan": str(args.scan), "threshold": args.threshold, "recipes": {}}
    for root in args.roots:
        shares = {}
        for model_dir in fold_models(root):
            # predict's Segmenter for this model, at the common threshold (as evaluate --threshold)
            loaded = as_loaded_model(load_pretrained(model_dir), model_dir, args.threshold)
            m = build_segmenter(loaded).predict(image).measurements
            shares[model_dir.parent.name] = float(m.whole.lesion_percent or 0.0)
        values = list(shares.values())
        doc["recipes"][str(root)] = {"per_fold": shares, "mean": float(np.mean(values)),
                                     "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}
        print(f"{root}: lesion {np.mean(values):.2f} ± {doc['recipes'][str(root)]['sd']:.2f} % of lung "
              f"({', '.join(f'{k} {v:.2f}' for k, v in shares.items())}) at threshold {args.threshold}", flush=True)
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


def ensemble(args) -> int:
    from covidseg.models import combine

    per_root = [{p.parent.name: p for p in fold_models(r)} for r in args.roots]
    common = sorted(set.intersection(*(set(m) for m in per_root)))
    if not common:
        sys.exit("no fold is finished in every recipe")
    held_out = {}
    for name in common:  # every fold checked before anything is written
        seen = [json.loads((m[name] / "config.json").read_text())["metadata"].get("validation") for m in per_root]
        if any(v != seen[0] for v in seen):
            sys.exit(f"{name}: the members did not hold out the same slices")
        held_out[name] = seen[0]
    for name in common:
        members = [m[name] for m in per_root]
        ens = combine(members, {"validation": held_out[name], "threshold": args.threshold})
        ens.save_pretrained(args.out / name / "model")
        print(f"{args.out / name / 'model'}: {' + '.join(str(d) for d in members)}", flush=True)
    return 0


def table(args) -> int:
    print("| recipe | " + " | ".join(f"{t} {'published' if p == 'published' else 'binary'} Dice" for p, t, _ in COLUMNS)
          + " | best thr |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for f in args.files:
        doc = json.loads(f.read_text())
        cells = []
        for p, t, k in COLUMNS:
            s = doc["summary"].get(f"{p}.{t}.{k}")
            cells.append("-" if s is None else f"{s['fold_mean']:.3f} ± {s['fold_sd']:.3f}")
        sweep = doc.get("threshold_sweep", {})
        name = Path(doc["root"]).name + (" +TTA" if doc.get("tta") else "")
        print(f"| {name} | " + " | ".join(cells) + f" | {sweep.get('best', math.nan):.2f} |")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train every fold of a recipe")
    t.add_argument("config", type=Path)
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--data", type=Path, default=TRAIN)
    t.add_argument("--unlabeled", type=Path, default=None)
    t.add_argument("--folds-file", type=Path, default=FOLDS)
    t.add_argument("--parallel", type=int, default=1)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--only", type=int, nargs="*", default=None, help="fold numbers to run")
    st = sub.add_parser("selftrain", help="one Noisy-Student round: fold K's teacher labels the unlabeled slices "
                                          "for fold K's student")
    st.add_argument("teacher", type=Path, help="root of a finished cv train (foldK/model)")
    st.add_argument("config", type=Path, help="the students' training config")
    st.add_argument("--out", type=Path, required=True)
    st.add_argument("--unlabeled", type=Path, default=TRAIN.parent / "unlabeled")
    st.add_argument("--min-confidence", type=float, default=0.7)
    st.add_argument("--init-from-teacher", action="store_true",
                    help="each student starts from its teacher's weights (fine-tuning) instead of random ones")
    st.add_argument("--device", default="cpu")
    st.add_argument("--data", type=Path, default=TRAIN)
    st.add_argument("--folds-file", type=Path, default=FOLDS)
    st.add_argument("--parallel", type=int, default=1)
    st.add_argument("--threads", type=int, default=1)
    st.add_argument("--only", type=int, nargs="*", default=None, help="fold numbers to run")
    o = sub.add_parser("oof", help="out-of-fold scores of a trained recipe")
    o.add_argument("root", type=Path)
    o.add_argument("--train", type=Path, default=TRAIN)
    o.add_argument("--tta", action="store_true")
    o.add_argument("--threshold", type=float, default=None, help="override the folds' thresholds")
    o.add_argument("--save", type=Path, default=None)
    h = sub.add_parser("healthy", help="false-positive burden of every fold model on a CT without COVID-19")
    h.add_argument("roots", type=Path, nargs="+", help="roots of finished cv trains")
    h.add_argument("--scan", type=Path, default=TRAIN.parents[1] / "ct-examples" / "cip-ct64.nii.gz")
    h.add_argument("--threshold", type=float, default=0.35)
    h.add_argument("--save", type=Path, default=None)
    e = sub.add_parser("ensemble", help="fold-wise ensembles of finished cv trains (mean of probabilities)")
    e.add_argument("roots", type=Path, nargs="+", help="roots of finished cv trains, two or more")
    e.add_argument("--out", type=Path, required=True)
    e.add_argument("--threshold", type=float, default=0.35)
    tb = sub.add_parser("table", help="markdown table of saved out-of-fold results")
    tb.add_argument("files", type=Path, nargs="+")
    args, extra = ap.parse_known_args(argv)  # train: unknown flags go to every covidseg train
    if extra and args.cmd not in ("train", "selftrain"):
        ap.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = [a for a in extra if a != "--"]
    return {"train": train, "selftrain": selftrain, "oof": oof, "healthy": healthy, "ensemble": ensemble,
            "table": table}[args.cmd](args)


if __name__ == "__main__":
    raise SystemExit(main())
