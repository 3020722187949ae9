"""The tools that choose and compare models: validation-only views and bootstrap intervals."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bootstrap  # noqa: E402
import select_on_val  # noqa: E402


def _results(path: Path, binary: list[float], published: list[float]) -> Path:
    prot = {
        "binary": {"infection": {"per_image": [{"name": str(i), "dice": d} for i, d in enumerate(binary)]}},
        "published": {"infection": {"per_image": [{"name": str(i), "mean_dice": d} for i, d in enumerate(published)]}},
    }
    path.write_text(json.dumps({"protocols": prot}))
    return path


def test_bootstrap_paired_difference(tmp_path, capsys):
    base = [0.5, 0.7, 0.6, 0.9, 0.8, 0.4]
    a = _results(tmp_path / "a.json", [d + 0.1 for d in base], base)
    b = _results(tmp_path / "b.json", base, base)
    assert bootstrap.main([str(a), str(b), "--n", "500"]) == 0
    out = capsys.readouterr().out
    # every image improved by exactly 0.1 under binary: the interval collapses on it
    assert "binary    difference +0.100 95% CI [0.100, 0.100], P(difference <= 0) = 0.000" in out
    assert "published difference +0.000 95% CI [0.000, 0.000], P(difference <= 0) = 1.000" in out


def test_bootstrap_refuses_different_images(tmp_path):
    a = _results(tmp_path / "a.json", [0.5, 0.6, 0.7], [0.5, 0.6, 0.7])
    b = _results(tmp_path / "b.json", [0.5, 0.6], [0.5, 0.6])
    with pytest.raises(SystemExit):
        bootstrap.main([str(a), str(b)])


def test_validation_view_holds_only_the_named_slices(tmp_path):
    train = tmp_path / "train"
    for sub, ext in (("images", ".jpg"), ("infection", ".png"), ("lung", ".png")):
        (train / sub).mkdir(parents=True)
        for n in range(6):
            (train / sub / f"{n}{ext}").write_bytes(b"x")
    view = select_on_val.link_view(train, ["1", "4"], tmp_path / "view")
    assert sorted(p.name for p in (view / "images").iterdir()) == ["1.jpg", "4.jpg"]
    assert sorted(p.name for p in (view / "lung").iterdir()) == ["1.png", "4.png"]
    assert (view / "infection" / "4.png").resolve() == (train / "infection" / "4.png").resolve()
    with pytest.raises(SystemExit, match="missing"):
        select_on_val.link_view(train, ["1", "9"], tmp_path / "view2")


def test_a_model_trained_on_other_validation_slices_is_refused(tmp_path):
    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    (run / "split.json").write_text(json.dumps({"train": ["1", "2"], "val": ["3", "4"]}))
    select_on_val.check_split(run / "model", ["4", "3"])  # same slices: accepted
    with pytest.raises(SystemExit, match="different validation split"):
        select_on_val.check_split(run / "model", ["1", "3"])


def test_by_lesion_size_groups_slices_by_area(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    import by_lesion_size

    split = tmp_path / "test"
    (split / "infection").mkdir(parents=True)
    (split / "images").mkdir()
    areas = {"a": 2, "b": 10, "c": 30, "d": 40}  # lesion rows of a 100x100 mask = percent of the image
    for name, rows in areas.items():
        m = np.zeros((100, 100), np.uint8)
        m[:rows] = 255
        Image.fromarray(m).save(split / "infection" / f"{name}.png")
        Image.fromarray(np.full((100, 100), 90, np.uint8)).save(split / "images" / f"{name}.png")
    dice = {"a": 0.2, "b": 0.4, "c": 0.8, "d": 1.0}
    prot = {"binary": {"infection": {"per_image": [{"name": n, "dice": d} for n, d in dice.items()]}},
            "published": {"infection": {"per_image": [{"name": n, "mean_dice": d / 2} for n, d in dice.items()]}}}
    res = tmp_path / "results.json"
    res.write_text(json.dumps({"split": str(split), "protocols": prot}))
    assert by_lesion_size.main([str(res), "--groups", "2"]) == 0
    out = capsys.readouterr().out
    assert "| 2.0–10.0 | 2 | 0.300 | 0.150 |" in out and "| 30.0–40.0 | 2 | 0.900 | 0.450 |" in out
    assert "lowest binary Dice: a (0.20, lesion 2.0 %), b (0.40, lesion 10.0 %)" in out
