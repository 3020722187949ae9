"""The benchmark's peer network is the published R231 layout (smoke test only, no timing)."""

import torch

from covidseg.bench import r231_unet


def test_r231_layout():
    net = r231_unet().eval()
    with torch.inference_mode():
        out = net(torch.zeros(1, 1, 64, 64))
    assert out.shape == (1, 3, 64, 64)
    widths = [m.out_channels for m in net.down.modules() if isinstance(m, torch.nn.Conv2d)][::2]
    assert widths == [64, 128, 256, 512, 1024]  # depth 5, 2**6 filters at the top
    # The classic depth-5 / 64-filter U-Net has 31.0 M parameters with 2x2 transposed
    # convolutions; bilinear upsampling + 1x1 convolutions save 2.1 M of them.
    assert 28.5e6 < sum(p.numel() for p in net.parameters()) < 29.5e6
