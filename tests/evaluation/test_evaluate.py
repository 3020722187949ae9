"""``evaluate`` / ``covidseg evaluate`` on a small fixture with known answers."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from covidseg.cli import main
from covidseg.data.synthetic import make_split
from covidseg.errors import FileMissingError, InputError
from covidseg.evaluation import evaluate, masks_from_probabilities


@pytest.fixture()
def split(tmp_path):
    return make_split(tmp_path / "test", n=4, size=(40, 36), seed=3)


def write_perfect_predictions(split, out, targets=("infection",), low=40, high=230):
    """Two-level maps equal to the truth (any two levels normalise to 0/1)."""
    for target in targets:
        folder = out / target if len(targets) > 1 else out
        folder.mkdir(parents=True, exist_ok=True)
        for f in sorted((split / "classes").iterdir()):
            cls = np.asarray(Image.open(f))
            m = {"infection": cls > 0, "ggo": cls == 1, "consolidation": cls == 2}[target]
            Image.fromarray(np.where(m, high, low).astype(np.uint8)).save(folder / f.name)
    return out


def expected_published_dice(masks):
    """Mean Dice of perfect two-level maps: 1 at 255 thresholds, 2g/(g+n) at threshold 0;
    an image with empty truth scores 0 everywhere (no true positive)."""
    per = []
    for m in masks:
        g, n = m.sum(), m.size
        per.append(0.0 if g == 0 else (255 + 2 * g / (g + n)) / 256)
    return float(np.mean(per))


def truth(split, target):
    out = []
    for f in sorted((split / "classes").iterdir()):
        cls = np.asarray(Image.open(f))
        out.append({"infection": cls > 0, "ggo": cls == 1, "consolidation": cls == 2}[target])
    return out


def test_perfect_predictions_folder(split, tmp_path):
    preds = write_perfect_predictions(split, tmp_path / "pred")
    res = evaluate(split, predictions=preds)
    b = res.binary["infection"]["mean"]
    assert b["dice"] == 1.0 and b["iou"] == 1.0 and b["hd95"] == 0.0 and b["mae"] == 0.0
    p = res.published["infection"]["mean"]
    assert p["mean_dice"] == pytest.approx(expected_published_dice(truth(split, "infection")))
    assert p["mae"] == pytest.approx(0.0) and p["max_dice"] == pytest.approx(1.0)
    assert len(res.names) == 4 and list(res.binary) == ["infection"]


def test_per_class_targets_with_empty_truth(split, tmp_path):
    preds = write_perfect_predictions(split, tmp_path / "pred", targets=("infection", "ggo", "consolidation"))
    res = evaluate(split, predictions=preds)
    assert list(res.binary) == ["infection", "ggo", "consolidation"]
    cons = truth(split, "consolidation")
    assert any(not m.any() for m in cons)  # the fixture has slices without consolidation
    # binary: an all-background map on an empty truth is a perfect answer (Dice 1)
    assert res.binary["consolidation"]["mean"]["dice"] == 1.0
    # published: the no-true-positive convention gives those slices 0
    assert res.published["consolidation"]["mean"]["mean_dice"] == pytest.approx(expected_published_dice(cons))


def test_cli_writes_all_outputs(split, tmp_path, capsys):
    preds = write_perfect_predictions(split, tmp_path / "pred")
    out = tmp_path / "eval"
    assert main(["evaluate", "--predictions", str(preds), "--data", str(split), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "binary (given maps" in printed and "published" in printed
    data = json.loads((out / "results.json").read_text())
    assert data["n_images"] == 4
    assert data["protocols"]["published"]["infection"]["mean"]["mean_dice"] == pytest.approx(
        expected_published_dice(truth(split, "infection")))
    assert len(data["protocols"]["published"]["infection"]["curves"]["dice"]) == 256
    summary = list(csv.DictReader(open(out / "summary.csv")))
    assert {(r["protocol"], r["target"]) for r in summary} == {("binary", "infection"), ("published", "infection")}
    per = list(csv.DictReader(open(out / "per_image.csv")))
    assert len(per) == 8 and {r["name"] for r in per} == {"0", "1", "2", "3"}
    md = (out / "results.md").read_text()
    assert "| infection |" in md and "## published" in md


def test_threshold_changes_binary_only(split, tmp_path):
    preds = write_perfect_predictions(split, tmp_path / "pred", low=100, high=150)  # 0.39 / 0.59
    a = evaluate(split, predictions=preds, threshold=0.5)
    b = evaluate(split, predictions=preds, threshold=0.7)
    assert a.binary["infection"]["mean"]["dice"] == 1.0
    assert b.binary["infection"]["mean"]["dice"] == 0.0
    assert a.published["infection"]["mean"] == b.published["infection"]["mean"]


def test_user_errors(split, tmp_path):
    preds = write_perfect_predictions(split, tmp_path / "pred")
    with pytest.raises(InputError, match="lung"):
        evaluate(split, predictions=preds, targets=["lung"])
    (preds / "2.png").unlink()
    with pytest.raises(FileMissingError, match="2"):
        evaluate(split, predictions=preds)
    assert main(["evaluate", "--predictions", str(tmp_path / "nope"), "--data", str(split)]) == 2


def test_masks_from_probabilities_nest():
    p = {
        "infection": np.array([0.1, 0.6, 0.9, 0.3]),
        "ggo": np.array([0.05, 0.4, 0.2, 0.2]),
        "consolidation": np.array([0.05, 0.2, 0.7, 0.1]),
        "lung": np.array([0.2, 0.9, 0.95, 0.8]),
    }
    m = masks_from_probabilities("all", p, threshold=0.5)
    assert m["infection"].tolist() == [False, True, True, False]
    assert m["ggo"].tolist() == [False, True, False, False]
    assert m["consolidation"].tolist() == [False, False, True, False]
    assert m["lung"].tolist() == [False, True, True, True]
    assert not (m["infection"] & ~m["lung"]).any()


def test_all_task_model_reports_every_target(split, tmp_path):
    from covidseg.training import TrainConfig, Trainer

    train = make_split(tmp_path / "train", n=6, seed=9)
    res = Trainer(TrainConfig(task="all", data=str(train), out=str(tmp_path / "run"), epochs=1, steps_per_epoch=2,
                              base_channels=4, depth=2, input_size=32, batch_size=2, val_count=2, threads=1),
                  verbose=False).fit()
    ev = evaluate(split, model=tmp_path / "run", out=tmp_path / "eval")  # a run folder means RUN/model
    assert ev.source == str(res.model_dir)
    assert list(ev.binary) == ["infection", "ggo", "consolidation", "lung"]
    assert ev.task == "all" and ev.threshold == res.threshold
    for target in ev.binary:
        for key in ("dice", "s_measure", "e_measure"):
            assert 0.0 <= ev.binary[target]["mean"][key] <= 1.01
        assert 0.0 <= ev.published[target]["mean"]["mean_dice"] <= 1.0


def test_cli_without_model_evaluates_the_shipped_model(split, tmp_path):
    from covidseg.inference.loading import shipped_models

    shipped = shipped_models()[0]
    out = tmp_path / "eval"
    assert main(["evaluate", "--data", str(split), "--out", str(out), "--targets", "infection,lung"]) == 0
    data = json.loads((out / "results.json").read_text())
    assert data["source"] == str(shipped)
    meta = json.loads((shipped / "config.json").read_text())["metadata"]
    assert data["task"] == meta["task"] and data["threshold"] == meta["threshold"]
    assert set(data["protocols"]["binary"]) >= {"infection", "lung"}


def test_tta_prediction_is_the_mean_of_both_orientations(tmp_path):
    import torch

    from covidseg.evaluation.evaluate import predict_probabilities
    from covidseg.models import MAUNet, MAUNetConfig

    torch.manual_seed(0)
    net = MAUNet(MAUNetConfig(num_classes=4, base_channels=4, depth=2, cbam_reduction=2)).eval()
    net.metadata = {"task": "all", "input_size": 32, "activation": "softmax"}
    img = np.random.default_rng(1).integers(0, 256, (37, 45), dtype=np.uint8)
    plain = predict_probabilities(net, img)
    mirrored = predict_probabilities(net, np.ascontiguousarray(img[:, ::-1]))
    tta = predict_probabilities(net, img, tta=True)
    assert set(tta) == set(plain)
    for k in plain:
        np.testing.assert_allclose(tta[k], (plain[k] + mirrored[k][:, ::-1]) / 2, atol=1e-5)
    assert not np.allclose(tta["infection"], plain["infection"], atol=1e-4)


def test_cli_tta_is_recorded_in_the_source(split, tmp_path):
    out = tmp_path / "eval"
    assert main(["evaluate", "--data", str(split), "--out", str(out), "--targets", "infection", "--tta"]) == 0
    assert json.loads((out / "results.json").read_text())["source"].endswith("(mirror TTA)")


def _split_view(semiseg, names, root):
    """A labelled split holding only ``names`` of the COVID-SemiSeg test split (symlinks)."""
    for kind in ("images", "infection", "classes", "lung"):
        (root / kind).mkdir(parents=True)
        for name in names:
            src = next((semiseg / "test" / kind).glob(f"{name}.*"))
            (root / kind / src.name).symlink_to(src)
    return root


def test_binary_scores_the_masks_predict_writes(semiseg, tmp_path):
    """Issue 13: the binary numbers are those of the masks ``covidseg predict`` writes (lesion
    inside the lung, small components removed, class split); the raw network masks are
    reported beside them. Slices 74, 69, 36 are where the two differ most."""
    from covidseg.evaluation import binary_metrics, load_ground_truth
    from covidseg.inference.loading import shipped_models

    split = _split_view(semiseg, ["74", "69", "36"], tmp_path / "view")
    out = tmp_path / "pred"
    images = sorted(str(p) for p in (split / "images").iterdir())
    assert main(["predict", *images, "-o", str(out), "--no-pictures", "-q", "--precision", "fp32"]) == 0
    res = evaluate(split, model=shipped_models()[0], precision="fp32")
    assert res.binary_kind == "predict" and set(res.binary_raw) == set(res.binary)
    gts = {g.name: g for g in load_ground_truth(split)}
    raw_differs = False
    for target, file, pick in (("infection", "lesion", lambda a: a > 0), ("ggo", "classes", lambda a: a == 1),
                               ("consolidation", "classes", lambda a: a == 2), ("lung", "lung", lambda a: a > 0)):
        for row, raw in zip(res.binary[target]["per_image"], res.binary_raw[target]["per_image"]):
            written = np.asarray(Image.open(out / row["name"] / f"{file}.png"))
            expected = binary_metrics(pick(written), gts[row["name"]].masks[target])["dice"]
            assert row["dice"] == pytest.approx(expected, abs=1e-12), (target, row["name"])
            raw_differs |= abs(raw["dice"] - row["dice"]) > 1e-3
    assert raw_differs  # the post-processing matters on these slices: the test can tell the two apart


def test_lesion_only_model_on_plain_images_reports_raw_binary(split, tmp_path):
    """predict cannot segment plain images with a lesion-only model (no lung): evaluate then
    scores the raw network masks and says so."""
    from covidseg.training import TrainConfig, Trainer

    train = make_split(tmp_path / "train", n=4, seed=5)
    Trainer(TrainConfig(task="lesion", data=str(train), out=str(tmp_path / "run"), epochs=1, steps_per_epoch=1,
                        base_channels=4, depth=2, input_size=32, batch_size=2, val_count=1, threads=1),
            verbose=False).fit()
    res = evaluate(split, model=tmp_path / "run")
    assert res.binary_kind == "raw" and not res.binary_raw
    assert "raw network" in res.to_dict()["protocols"]["binary"]["description"]
