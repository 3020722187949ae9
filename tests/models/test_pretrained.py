import json

import pytest
import torch

from covidseg.errors import ChecksumError, ModelError
from covidseg.models import MAUNet, MAUNetConfig, UNet, UNetConfig, load_pretrained
from covidseg.models.pretrained import CHECKSUM_NAME, CONFIG_NAME, WEIGHTS_NAME


def _trained_like(model):
    # Non-default BN statistics so the round trip covers buffers too.
    torch.manual_seed(1)
    model.train()
    with torch.no_grad():
        model(torch.rand(2, 1, 40, 40))
    return model.eval()


@pytest.mark.parametrize("cls, cfg", [
    (MAUNet, MAUNetConfig(base_channels=8, num_classes=4, depth=3)),
    (UNet, UNetConfig(base_channels=8, num_classes=1)),
])
def test_round_trip_is_bit_exact(tmp_path, cls, cfg):
    model = _trained_like(cls(cfg))
    model.save_pretrained(tmp_path / "m", metadata={"task": "all", "threshold": 0.4})
    assert {p.name for p in (tmp_path / "m").iterdir()} == {CONFIG_NAME, WEIGHTS_NAME, CHECKSUM_NAME}
    loaded = load_pretrained(tmp_path / "m")
    assert type(loaded) is cls and not loaded.training
    assert loaded.config == cfg
    assert loaded.metadata == {"task": "all", "threshold": 0.4}
    a, b = model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    x = torch.rand(1, 1, 57, 61)
    with torch.inference_mode():
        assert torch.equal(model(x), loaded(x))
    assert cls.from_pretrained(tmp_path / "m").config == cfg


def test_tampered_weights_are_refused(tmp_path):
    MAUNet(MAUNetConfig(base_channels=8)).save_pretrained(tmp_path)
    data = bytearray((tmp_path / WEIGHTS_NAME).read_bytes())
    data[-10] ^= 0xFF
    (tmp_path / WEIGHTS_NAME).write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        load_pretrained(tmp_path)


def test_weights_without_checksum_are_refused(tmp_path):
    MAUNet(MAUNetConfig(base_channels=8)).save_pretrained(tmp_path)
    (tmp_path / CHECKSUM_NAME).unlink()
    cfg = json.loads((tmp_path / CONFIG_NAME).read_text())
    del cfg["weights"]
    (tmp_path / CONFIG_NAME).write_text(json.dumps(cfg))
    with pytest.raises(ChecksumError, match="no recorded sha256"):
        load_pretrained(tmp_path)


def test_config_that_does_not_fit_weights(tmp_path):
    MAUNet(MAUNetConfig(base_channels=8)).save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / CONFIG_NAME).read_text())
    cfg["config"]["base_channels"] = 16
    (tmp_path / CONFIG_NAME).write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="does not match"):
        load_pretrained(tmp_path)


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "does not exist"),
    (lambda p: p.mkdir(), "no config.json"),
    (lambda p: (p.mkdir(), (p / CONFIG_NAME).write_text("{nope")), "invalid JSON"),
    (lambda p: (p.mkdir(), (p / CONFIG_NAME).write_text('{"architecture": "X", "config": {}}')), "unknown architecture"),
])
def test_bad_model_folders(tmp_path, setup, message):
    folder = tmp_path / "model"
    setup(folder)
    with pytest.raises(ModelError, match=message):
        load_pretrained(folder)


def test_from_pretrained_checks_the_class(tmp_path):
    UNet(UNetConfig(base_channels=8)).save_pretrained(tmp_path)
    assert isinstance(MAUNet.from_pretrained(tmp_path), UNet)  # a UNet is a MAUNet
    MAUNet(MAUNetConfig(base_channels=8)).save_pretrained(tmp_path / "ma")
    with pytest.raises(ModelError, match="not a UNet"):
        UNet.from_pretrained(tmp_path / "ma")


@pytest.mark.parametrize("attack", ["flip-byte", "pickle-instead"])
def test_cli_refuses_tampered_weights_on_one_line_and_writes_nothing(tmp_path, capsys, attack):
    """The same refusal through ``covidseg predict``: exit 2, one line naming the weights, no output."""
    import shutil

    from covidseg.cli import main
    from covidseg.inference.loading import shipped_models

    model = tmp_path / "model"
    shutil.copytree(shipped_models()[0], model)
    weights = model / WEIGHTS_NAME
    if attack == "flip-byte":
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 0x01
        weights.write_bytes(bytes(data))
    else:  # a pickle (which could run code when loaded) put in place of the safetensors file
        torch.save({"x": torch.zeros(1)}, weights)
    img = tmp_path / "in.png"
    from PIL import Image

    Image.new("L", (64, 64), 90).save(img)
    out = tmp_path / "out"
    assert main(["predict", str(img), "-o", str(out), "--model", str(model), "--quiet"]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("covidseg: error:") and "sha256" in err[0] and str(model) in err[0]
    assert not out.exists() or not [p for p in out.iterdir() if not p.name.startswith(".")]


def test_half_storage_halves_the_file_and_loads_as_float32(tmp_path):
    model = _trained_like(MAUNet(MAUNetConfig(base_channels=8, num_classes=4, depth=3)))
    model.save_pretrained(tmp_path / "full")
    model.save_pretrained(tmp_path / "half", dtype="float16")
    full, half = (tmp_path / d / WEIGHTS_NAME for d in ("full", "half"))
    assert half.stat().st_size < 0.55 * full.stat().st_size
    assert json.loads((tmp_path / "half" / CONFIG_NAME).read_text())["weights"]["dtype"] == "float16"
    loaded = load_pretrained(tmp_path / "half")
    state = loaded.state_dict()
    assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())
    # integer buffers (BatchNorm's num_batches_tracked) keep their type and value
    ref = model.state_dict()
    assert all(torch.equal(state[k], ref[k]) for k in ref if not ref[k].is_floating_point())
    x = torch.rand(1, 1, 48, 48)
    with torch.inference_mode():
        diff = (torch.softmax(model(x), 1) - torch.softmax(loaded(x), 1)).abs().max()
    assert 0 < diff < 1e-2


def test_unknown_storage_dtype_is_refused(tmp_path):
    with pytest.raises(ValueError, match="dtype"):
        MAUNet(MAUNetConfig(base_channels=8)).save_pretrained(tmp_path, dtype="int8")
