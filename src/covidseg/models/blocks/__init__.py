"""Small composable building blocks that the networks in ``covidseg.models.nets`` assemble."""

from covidseg.models.blocks.aspp import ASPP
from covidseg.models.blocks.cbam import CBAM, ChannelAttention, SpatialAttention
from covidseg.models.blocks.conv import ConvNormAct, DoubleConv, make_norm

__all__ = ["ASPP", "CBAM", "ChannelAttention", "SpatialAttention", "ConvNormAct", "DoubleConv", "make_norm"]
