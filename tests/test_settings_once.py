"""Settings once (issue 16): the config dataclasses are the one source of the CLI's and the
GUI's defaults, and one function checks device names."""

from __future__ import annotations

import argparse
import dataclasses
import functools

import pytest

from covidseg.cli import build_parser
from covidseg.devices import device_option, parse_device
from covidseg.inference.config import SegmenterConfig
from covidseg.inference.postprocess import LesionFilterConfig
from covidseg.quantify import SeverityConfig

# predict flag dest -> (dataclass, field): every flag that mirrors a field
MIRRORED = {
    "device": (SegmenterConfig, "device"), "batch_size": (SegmenterConfig, "batch_size"),
    "threads": (SegmenterConfig, "threads"), "inference_size": (SegmenterConfig, "inference_size"),
    "precision": (SegmenterConfig, "precision"), "tta": (SegmenterConfig, "tta"),
    "lung_method": (SegmenterConfig, "lung_method"), "min_lesion_mm3": (SegmenterConfig, "min_lesion_mm3"),
    "min_lesion_mm2": (SegmenterConfig, "min_lesion_mm2"), "min_lesion_px": (SegmenterConfig, "min_lesion_px"),
    "noise_floor_percent": (SeverityConfig, "noise_floor_percent"), "noise_floor_ml": (SeverityConfig, "noise_floor_ml"),
    "noise_floor_mm2": (SeverityConfig, "noise_floor_mm2"), "noise_floor_px": (SeverityConfig, "noise_floor_px"),
    "vessel_filter": (LesionFilterConfig, "vessels"), "dependent_filter": (LesionFilterConfig, "dependent"),
    "dependent_side": (LesionFilterConfig, "dependent_side"),
}


def _predict_parser() -> argparse.ArgumentParser:
    parser = build_parser("predict")
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["predict"]


def test_every_mirrored_predict_flag_defaults_to_its_dataclass_field():
    parser = _predict_parser()
    for dest, (klass, name) in MIRRORED.items():
        assert parser.get_default(dest) == getattr(klass(), name), dest


def test_predict_without_flags_is_the_default_segmenter_config():
    from covidseg.batch.cli import _config

    args = build_parser("predict").parse_args(["predict", "x.png", "-o", "out"])
    assert _config(args) == dataclasses.replace(SegmenterConfig(), keep_probabilities=False)


@pytest.mark.parametrize("module, name, field_name, dest, value", [
    ("covidseg.inference.config", "SegmenterConfig", "batch_size", "batch_size", 3),
    ("covidseg.inference.config", "SegmenterConfig", "tta", "tta", True),
    ("covidseg.quantify", "SeverityConfig", "noise_floor_ml", "noise_floor_ml", 2.5),
    ("covidseg.inference.postprocess", "LesionFilterConfig", "vessels", "vessel_filter", False),
])
def test_changing_a_dataclass_default_changes_the_cli_default(monkeypatch, module, name, field_name, dest, value):
    import importlib

    mod = importlib.import_module(module)
    monkeypatch.setattr(mod, name, functools.partial(getattr(mod, name), **{field_name: value}))
    assert _predict_parser().get_default(dest) == value


def test_gui_preferences_take_the_segmenter_defaults():
    pytest.importorskip("PySide6")
    from covidseg.gui.settings import Preferences

    prefs, seg = Preferences(), SegmenterConfig()
    assert (prefs.device, prefs.batch_size, prefs.tta) == (seg.device, seg.batch_size, seg.tta)


def test_train_help_shows_the_trainconfig_defaults():
    from covidseg.training.config import TrainConfig

    parser = build_parser("train")
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["train"]
    helps = {a.dest: a.help for a in sub._actions}
    cfg = TrainConfig()
    for dest in ("epochs", "input_size", "lr", "batch_size", "val_count", "pseudo_per_epoch"):
        assert helps[dest].endswith(f"[{getattr(cfg, dest)}]"), dest


@pytest.mark.parametrize("name, normal", [("cpu", "cpu"), (" CUDA:1 ", "cuda:1"), ("cuda", "cuda"),
                                          ("auto", "auto"), ("mps", "mps")])
def test_device_names_are_normalised(name, normal):
    assert parse_device(name) == normal


@pytest.mark.parametrize("bad", ["gpu", "cuda:", "cuda:x", "cuda:-1", "", "cpu0", "xpu"])
def test_bad_device_names_are_refused_everywhere(bad):
    with pytest.raises(ValueError, match="device must be"):
        parse_device(bad)
    from covidseg.errors import ConfigError

    with pytest.raises(ConfigError, match="--device"):
        device_option(bad)
    with pytest.raises(ValueError, match="device must be"):
        SegmenterConfig(device=bad)
    from covidseg.training.config import TrainConfig

    with pytest.raises(ConfigError, match="device"):
        TrainConfig(device=bad)


@pytest.mark.parametrize("command", [["predict", "x.png", "-o", "o"], ["train"], ["evaluate", "--data", "d"], ["gui"],
                                     ["pseudolabel", "--model", "m", "--data", "d", "--out", "o"]])
def test_every_command_refuses_a_bad_device_in_one_line(command, capsys, tmp_path, monkeypatch):
    from covidseg.cli import main

    monkeypatch.chdir(tmp_path)
    assert main([*command, "--device", "gpu"]) == 2
    err = capsys.readouterr().err
    assert "device must be" in err and err.count("\n") == 1


def test_auto_resolves_to_a_real_device():
    import torch

    assert SegmenterConfig(device="auto").device == ("cuda" if torch.cuda.is_available() else "cpu")
