"""Cross-validation folds: fixed by seed and names, disjoint, complete, and used by the trainer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from covidseg.data.folds import fold_indices, folds_document, make_folds, read_folds
from covidseg.data.synthetic import make_split
from covidseg.errors import ConfigError
from covidseg.training import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT.parent / "shared" / "data" / "covid-semiseg" / "train"


@pytest.mark.parametrize("n,k", [(50, 5), (11, 5), (7, 2), (5, 5)])
def test_folds_are_disjoint_complete_and_balanced(n, k):
    names = [str(i) for i in range(n)]
    folds = make_folds(names, k, seed=0)
    flat = [x for f in folds for x in f]
    assert sorted(flat) == sorted(names) and len(flat) == n
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) <= 1


def test_folds_depend_on_seed_and_names_not_on_their_order():
    names = [f"s{i}" for i in range(20)]
    assert make_folds(names, 4, 1) == make_folds(list(reversed(names)), 4, 1)
    assert make_folds(names, 4, 1) != make_folds(names, 4, 2)


@pytest.mark.parametrize("k", [1, 0, 2.0, True])
def test_bad_k_is_refused(k):
    with pytest.raises(ValueError, match="k must be"):
        make_folds(["a", "b", "c"], k)


def test_fold_indices_partition_and_bad_fold():
    names = [str(i) for i in range(12)]
    seen = []
    for fold in range(3):
        tr, va = fold_indices(names, 3, fold, seed=5)
        assert not set(tr) & set(va) and sorted(tr + va) == list(range(12))
        seen += va
    assert sorted(seen) == list(range(12))  # every slice is validated exactly once
    with pytest.raises(ConfigError, match="fold"):
        fold_indices(names, 3, 3)


def test_folds_file_must_match_the_data(tmp_path):
    names = [str(i) for i in range(10)]
    path = tmp_path / "folds.json"
    path.write_text(json.dumps(folds_document(names, 2, 0)))
    assert fold_indices(names, 2, 1, folds_file=path) == fold_indices(names, 2, 1, seed=0)
    with pytest.raises(ConfigError, match="does not match the data"):
        fold_indices(names + ["extra"], 2, 0, folds_file=path)
    with pytest.raises(ConfigError, match="holds 2 folds"):
        fold_indices(names, 5, 0, folds_file=path)
    path.write_text(json.dumps({"folds": [["1", "2"], ["2", "3"]]}))
    with pytest.raises(ConfigError, match="more than one fold"):
        read_folds(path)
    path.write_text("{")
    with pytest.raises(ConfigError, match="not JSON"):
        read_folds(path)


@pytest.mark.skipif(not TRAIN.is_dir(), reason="needs ../shared/data")
def test_committed_folds_are_the_seeded_folds_of_the_benchmark():
    from covidseg.data import list_images
    from covidseg.data.folder import _stem

    doc = read_folds(ROOT / "configs" / "folds.json")
    names = [_stem(p) for p in list_images(TRAIN)]
    assert doc["k"] == 5 and doc["folds"] == make_folds(names, 5, doc["seed"])


def test_trainer_validates_on_the_requested_fold(tmp_path):
    split = make_split(tmp_path / "train", n=6)
    names = sorted(p.stem for p in (split / "images").iterdir())
    c = TrainConfig(task="lesion", data=str(split), out=str(tmp_path / "run"), base_channels=4, depth=2,
                    input_size=32, batch_size=2, threads=1, epochs=1, steps_per_epoch=1, folds=3, fold=2,
                    folds_seed=4)
    res = Trainer(c, verbose=False).fit()
    split_doc = json.loads((tmp_path / "run" / "split.json").read_text())
    expected = make_folds(names, 3, 4)[2]
    assert sorted(split_doc["val"]) == sorted(expected) and split_doc["fold"] == 2
    assert not set(split_doc["train"]) & set(expected)
    from covidseg.models import load_pretrained

    meta = load_pretrained(res.model_dir).metadata
    assert sorted(meta["validation"]["names"]) == sorted(expected) and meta["validation"]["folds"] == 3


@pytest.mark.parametrize("kw,match", [(dict(folds=1), "folds"), (dict(folds=3, fold=3), "fold"),
                                      (dict(folds_file="x.json"), "folds_file")])
def test_bad_fold_settings_are_config_errors(kw, match):
    with pytest.raises(ConfigError, match=match):
        TrainConfig(data="d", out="o", **kw)
