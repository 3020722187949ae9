"""Convolution + normalisation + activation units."""

from __future__ import annotations

from torch import nn

NORMS = ("batch", "instance", "group")


def make_norm(norm: str, channels: int) -> nn.Module:
    """Return a 2-D normalisation layer by name (``batch``, ``instance`` or ``group``)."""
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if norm == "group":
        # 8 channels per group, at least one group: stable for batch size 1 on CPU.
        return nn.GroupNorm(max(1, channels // 8), channels)
    raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")


class ConvNormAct(nn.Sequential):
    """``k x k`` convolution (no bias: the norm has one) → norm → ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, dilation: int = 1,
                 norm: str = "batch"):
        padding = dilation * (kernel_size - 1) // 2
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, dilation=dilation, bias=False),
            make_norm(norm, out_channels),
            nn.ReLU(inplace=True),
        )


class DoubleConv(nn.Sequential):
    """The U-Net stage: two 3x3 ConvNormAct units."""

    def __init__(self, in_channels: int, out_channels: int, norm: str = "batch"):
        super().__init__(
            ConvNormAct(in_channels, out_channels, norm=norm),
            ConvNormAct(out_channels, out_channels, norm=norm),
        )
