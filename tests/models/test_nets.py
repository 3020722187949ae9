import math

import pytest
import torch

from covidseg.models import MAUNet, MAUNetConfig, UNet, UNetConfig
from covidseg.models.blocks import ASPP, CBAM

SWITCHES = ("attention", "aspp", "multiscale", "deep_supervision")


def _small(**kw) -> MAUNetConfig:
    return MAUNetConfig(base_channels=8, **kw)


@pytest.mark.parametrize("net", ["maunet", "unet"])
@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("classes", [1, 2, 4])
@pytest.mark.parametrize("size", [(64, 64), (235, 320), (512, 512)])
def test_output_shape_matches_input(net, batch, classes, size):
    torch.manual_seed(0)
    model = (MAUNet(_small(num_classes=classes)) if net == "maunet"
             else UNet(UNetConfig(base_channels=8, num_classes=classes))).eval()
    with torch.inference_mode():
        out = model(torch.rand(batch, 1, *size))
    assert isinstance(out, torch.Tensor)
    assert out.shape == (batch, classes, *size)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("depth", [2, 3, 4, 5])
def test_deep_supervision_only_in_training(depth):
    model = MAUNet(_small(num_classes=3, depth=depth))
    x = torch.rand(2, 1, 75, 130)
    model.train()
    outs = model(x)
    assert isinstance(outs, list) and len(outs) == depth
    for k, o in enumerate(outs):
        assert o.shape == (2, 3, math.ceil(75 / 2**k), math.ceil(130 / 2**k))
    model.eval()
    with torch.inference_mode():
        assert model(x).shape == (2, 3, 75, 130)


def test_no_deep_supervision_returns_tensor_in_training():
    model = MAUNet(_small(deep_supervision=False)).train()
    assert isinstance(model(torch.rand(2, 1, 32, 32)), torch.Tensor)


@pytest.mark.parametrize("switch", SWITCHES)
def test_each_switch_changes_parameter_count(switch):
    count = lambda cfg: sum(p.numel() for p in MAUNet(cfg).parameters())
    on = _small()
    off = _small(**{switch: False})
    assert count(on) > count(off)


def test_all_switches_off_is_unet():
    off = MAUNet(_small(**{s: False for s in SWITCHES}))
    unet = UNet(UNetConfig(base_channels=8))
    assert [k for k in off.state_dict()] == [k for k in unet.state_dict()]
    assert sum(p.numel() for p in off.parameters()) == sum(p.numel() for p in unet.parameters())


@pytest.mark.parametrize("switches", [dict(), {s: False for s in SWITCHES}])
def test_gradients_reach_every_parameter(switches):
    torch.manual_seed(0)
    model = MAUNet(_small(num_classes=2, **switches)).train()
    outs = model(torch.rand(2, 1, 48, 40))
    outs = outs if isinstance(outs, list) else [outs]
    sum(o.square().mean() for o in outs).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert not missing


@pytest.mark.parametrize(
    "kwargs, bad",
    [
        (dict(in_channels=0), "in_channels"),
        (dict(num_classes=-1), "num_classes"),
        (dict(base_channels=0), "base_channels"),
        (dict(depth=0), "depth"),
        (dict(depth=7), "depth"),
        (dict(norm="layer"), "norm"),
        (dict(attention="yes"), "attention"),
    ],
)
def test_bad_config_names_the_argument(kwargs, bad):
    with pytest.raises(ValueError, match=bad):
        MAUNetConfig(**kwargs)


def test_config_and_kwargs_are_exclusive():
    with pytest.raises(ValueError, match="either config"):
        MAUNet(MAUNetConfig(), base_channels=8)


@pytest.mark.parametrize("shape", [(1, 8, 16, 16), (3, 32, 7, 9)])
def test_blocks_keep_shape(shape):
    x = torch.rand(shape)
    assert CBAM(shape[1]).eval()(x).shape == shape
    assert ASPP(shape[1], 12).eval()(x).shape == (shape[0], 12, *shape[2:])


def test_cbam_rescales_not_replaces():
    # Attention multiplies by gates in (0, 1): magnitudes can only shrink, signs are kept.
    x = torch.randn(2, 16, 10, 10)
    y = CBAM(16).eval()(x)
    assert torch.all(y.abs() <= x.abs() + 1e-6)
    assert torch.all((y == 0) | (torch.sign(y) == torch.sign(x)))
