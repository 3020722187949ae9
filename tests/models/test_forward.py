"""One forward pass for training validation, evaluate and predict (covidseg.models.forward)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from covidseg.models import MAUNet, MAUNetConfig
from covidseg.models.forward import probabilities


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return MAUNet(MAUNetConfig(num_classes=4, base_channels=4, depth=2)).eval()


@pytest.mark.parametrize("activation,channels", [("softmax", 4), ("sigmoid", 4)])
def test_activation_and_shape(net, activation, channels):
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        p = probabilities(net, x, activation)
        logits = net(x)
    assert p.shape == (2, channels, 32, 32) and p.dtype == torch.float32
    ref = torch.softmax(logits, 1) if activation == "softmax" else torch.sigmoid(logits)
    assert torch.allclose(p, ref, atol=1e-5)


def test_tta_is_the_mean_with_the_mirror(net):
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        plain = probabilities(net, x, "softmax")
        mirrored = probabilities(net, x.flip(-1), "softmax").flip(-1)
        both = probabilities(net, x, "softmax", tta=True)
    assert torch.allclose(both, (plain + mirrored) / 2, atol=1e-6)
    assert not torch.allclose(plain, mirrored, atol=1e-4)  # the mirror really is a second opinion


def test_size_upsamples_logits_before_the_activation(net):
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        p = probabilities(net, x, "softmax", size=(40, 36))
        ref = torch.softmax(torch.nn.functional.interpolate(net(x), size=(40, 36), mode="bilinear",
                                                            align_corners=False), 1)
    assert p.shape[-2:] == (40, 36) and torch.allclose(p, ref, atol=1e-5)
    assert torch.allclose(p.sum(1), torch.ones(1, 40, 36), atol=1e-5)


def test_bfloat16_autocast_stays_close_and_returns_float32(net):
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        full = probabilities(net, x, "softmax")
        half = probabilities(net, x, "softmax", amp_dtype=torch.bfloat16)
    assert half.dtype == torch.float32
    assert float((full - half).abs().max()) < 0.1


def test_bad_activation_is_named(net):
    with pytest.raises(ValueError, match="activation"):
        probabilities(net, torch.rand(1, 1, 32, 32), "relu")


def test_evaluate_runs_the_network_through_it(monkeypatch, net):
    """evaluate calls it once per image size (patched here to count calls); the engine and the trainer import it."""
    import covidseg.models.forward as fw
    from covidseg.evaluation.evaluate import model_probabilities

    calls = []
    real = fw.probabilities

    def counting(*a, **k):
        calls.append(k.get("tta", False))
        return real(*a, **k)

    monkeypatch.setattr(fw, "probabilities", counting)
    net.metadata = {"task": "all", "input_size": 32, "activation": "softmax"}
    images = [np.zeros((40, 36), np.uint8), np.zeros((30, 30), np.uint8), np.full((40, 36), 200, np.uint8)]
    out = model_probabilities(net, images)
    assert [o.shape for o in out] == [(4, 40, 36), (4, 30, 30), (4, 40, 36)] and len(calls) == 2
    # batched by size, each result is still its own image's
    from covidseg.data import resize_image

    alone = real(net, torch.from_numpy(resize_image(images[2], 32).astype(np.float32) / 255)[None, None], "softmax",
                 channels_last=False, size=(40, 36))[0].detach().numpy()
    assert np.allclose(out[2], alone, atol=1e-5)
