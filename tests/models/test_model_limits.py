"""A model folder cannot size memory beyond reason (issue 15, point 4).

A copied config.json with ``base_channels: 4096`` made ``covidseg predict --model copy`` grow
to 24 GB while building the network and be killed, with no line and no summary; a metadata
``input_size: 60000`` failed every case with out-of-memory. The config is now checked against
the safetensors header (names and shapes) and against size limits before anything is built.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from covidseg.errors import ConfigError, ModelError
from covidseg.inference import Segmenter, SegmenterConfig
from covidseg.models import MAUNet, MAUNetConfig, load_pretrained
from covidseg.models.pretrained import CONFIG_NAME, MAX_INPUT_SIZE, weight_shapes
from covidseg.training.config import TrainConfig

LABELS = ["background", "lung", "ggo", "consolidation"]


def _model(folder, **meta):
    MAUNet(MAUNetConfig(num_classes=4, base_channels=4, depth=2, cbam_reduction=2)).save_pretrained(
        folder, metadata={"task": "all", "labels": LABELS, "activation": "softmax", "input_size": 32,
                          "threshold": 0.5, **meta})
    return folder


def _edit(folder, section, **values):
    cfg = json.loads((folder / CONFIG_NAME).read_text())
    cfg[section].update(values)
    (folder / CONFIG_NAME).write_text(json.dumps(cfg))


def _limit_memory():  # runs in the child: a build of the huge network fails fast instead of swapping
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def test_copied_config_with_huge_base_channels_is_one_line_not_a_killed_process(tmp_path):
    model = _model(tmp_path / "copy")
    _edit(model, "config", base_channels=4096)
    img = tmp_path / "in.png"
    Image.fromarray(np.full((64, 64), 90, np.uint8)).save(img)
    code = "import sys; from covidseg.cli import main; sys.exit(main(sys.argv[1:]))"
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code, "predict", "-q", str(img), "-o", str(tmp_path / "out"),
                           "--model", str(model)], capture_output=True, text=True, timeout=300,
                          preexec_fn=_limit_memory)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"covidseg: error: {model / CONFIG_NAME}: "), proc.stderr
    assert "parameters" in lines[0]
    assert time.monotonic() - t0 < 120


@pytest.mark.parametrize("values, words", [
    ({"base_channels": 8}, ["does not match", "[8, 1, 3, 3]", "[4, 1, 3, 3]"]),   # another network
    ({"depth": 3}, ["does not match", "missing from the weights"]),
    ({"attention": False}, ["does not match", "unexpected tensor"]),
    ({"base_channels": 4096}, ["parameters", "over the limit"]),
    ({"aspp_dilations": [60000]}, ["aspp_dilations"]),
    ({"cbam_reduction": 0}, ["cbam_reduction"]),
])
def test_config_is_checked_against_the_weights_before_building(tmp_path, monkeypatch, values, words):
    model = _model(tmp_path / "m")
    _edit(model, "config", **values)
    built = []
    real_init = MAUNet.__init__

    def spy(self, cfg):  # records networks built on a real device (the check builds on "meta")
        real_init(self, cfg)
        built.append(next(self.parameters()).device.type)

    monkeypatch.setattr(MAUNet, "__init__", spy)
    with pytest.raises(ModelError) as err:
        load_pretrained(model)
    assert str(err.value).startswith(f"{model / CONFIG_NAME}: ")
    for word in words:
        assert word in str(err.value)
    assert "cpu" not in built


def test_matching_config_still_loads_and_header_lists_the_weights(tmp_path):
    model = _model(tmp_path / "m")
    shapes = weight_shapes(model / "model.safetensors")
    net = load_pretrained(model)
    assert shapes == {k: tuple(v.shape) for k, v in net.state_dict().items()}


@pytest.mark.parametrize("size", [60000, 8, "big", MAX_INPUT_SIZE + 1])
def test_metadata_input_size_is_a_model_error(tmp_path, size):
    model = _model(tmp_path / "m")
    _edit(model, "metadata", input_size=size)
    with pytest.raises(ModelError, match="input_size"):
        Segmenter(model)


def test_garbage_safetensors_header_is_a_model_error(tmp_path):
    from covidseg.models.pretrained import CHECKSUM_NAME, WEIGHTS_NAME

    model = _model(tmp_path / "m")
    blob = (2**60).to_bytes(8, "little") + b"{}"  # claims an exabyte of header
    (model / WEIGHTS_NAME).write_bytes(blob)
    import hashlib

    digest = hashlib.sha256(blob).hexdigest()
    (model / CHECKSUM_NAME).write_text(f"{digest}  {WEIGHTS_NAME}\n")
    _edit(model, "weights", sha256=digest)
    with pytest.raises(ModelError, match="not a safetensors file"):
        load_pretrained(model)


@pytest.mark.parametrize("field, value", [("inference_size", 60000), ("batch_size", 100000)])
def test_segmenter_settings_that_size_memory_are_bounded(field, value):
    with pytest.raises(ValueError, match=field):
        SegmenterConfig(**{field: value})


@pytest.mark.parametrize("values, name", [({"input_size": 60000}, "input_size"), ({"batch_size": 100000}, "batch_size")])
def test_training_settings_that_size_memory_are_bounded(values, name):
    with pytest.raises(ConfigError, match=name):
        TrainConfig(**values)


def test_training_network_size_is_bounded():
    with pytest.raises(ConfigError, match="parameters"):
        TrainConfig(base_channels=4096).model_config(4)
