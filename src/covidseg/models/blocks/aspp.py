"""ASPP: Atrous Spatial Pyramid Pooling (Chen et al., DeepLab v3) for the U-Net bottleneck.

Parallel branches see the bottleneck at several receptive fields: a 1x1 convolution,
3x3 convolutions at dilations (3, 5, 7 by default) and an image-pooling branch carrying
global context. They are concatenated and fused back to ``out_channels`` by a 1x1 unit.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from covidseg.models.blocks.conv import ConvNormAct


class ASPP(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, dilations: Sequence[int] = (3, 5, 7),
                 branch_channels: int | None = None, norm: str = "batch"):
        super().__init__()
        if not dilations or any(d < 1 for d in dilations):
            raise ValueError(f"dilations must be a non-empty list of positive ints, got {dilations!r}")
        bc = branch_channels or max(in_channels // 4, 8)
        self.branches = nn.ModuleList(
            [ConvNormAct(in_channels, bc, kernel_size=1, norm=norm)]
            + [ConvNormAct(in_channels, bc, kernel_size=3, dilation=d, norm=norm) for d in dilations]
        )
        # No norm on the pooled branch: a 1x1 map of batch 1 cannot be batch-normalised.
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, bc, 1), nn.ReLU(inplace=True))
        self.fuse = ConvNormAct(bc * (len(dilations) + 2), out_channels, kernel_size=1, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [branch(x) for branch in self.branches]
        feats.append(F.interpolate(self.pool(x), size=x.shape[-2:], mode="nearest"))
        return self.fuse(torch.cat(feats, dim=1))
