"""MA-UNet: a U-Net with four independent improvements, and the plain U-Net baseline.

- ``attention``: CBAM after every encoder stage;
- ``aspp``: ASPP at the bottleneck;
- ``multiscale``: every decoder scale is reduced, upsampled to full resolution and
  concatenated before the head (multi-scale aggregation);
- ``deep_supervision``: an auxiliary 1x1 head at every coarser decoder scale, returned only
  in training mode.

All switches off gives the plain U-Net (:class:`UNet`). Any input height/width works: the
input is padded to a multiple of ``2**depth`` and the output cropped back.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from covidseg.models.blocks import ASPP, CBAM, ConvNormAct, DoubleConv
from covidseg.models.blocks.conv import NORMS
from covidseg.models.pretrained import PretrainedMixin


MAX_DILATION = 64


class _ConfigDict:
    """``from_dict`` shared by the config dataclasses: unknown keys are an error, not ignored."""

    @classmethod
    def from_dict(cls, d: dict):
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
        return cls(**d)


@dataclass
class MAUNetConfig(_ConfigDict):
    in_channels: int = 1
    num_classes: int = 1
    base_channels: int = 32
    depth: int = 4
    attention: bool = True
    aspp: bool = True
    multiscale: bool = True
    deep_supervision: bool = True
    norm: str = "batch"
    cbam_reduction: int = 16
    aspp_dilations: tuple[int, ...] = (3, 5, 7)

    def __post_init__(self):
        for name in ("in_channels", "num_classes", "base_channels"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not isinstance(self.depth, int) or not 1 <= self.depth <= 6:
            raise ValueError(f"depth must be an int in 1..6, got {self.depth!r}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        for name in ("attention", "aspp", "multiscale", "deep_supervision"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if not isinstance(self.cbam_reduction, int) or isinstance(self.cbam_reduction, bool) or self.cbam_reduction < 1:
            raise ValueError(f"cbam_reduction must be a positive int, got {self.cbam_reduction!r}")
        self.aspp_dilations = tuple(int(d) for d in self.aspp_dilations)
        # A dilation pads every bottleneck map by that many pixels on each side: bound it so a
        # config value cannot size memory (the bottleneck of a 2048 input is at most 1024 wide).
        if not self.aspp_dilations or any(not 1 <= d <= MAX_DILATION for d in self.aspp_dilations):
            raise ValueError(f"aspp_dilations must be ints in 1..{MAX_DILATION}, got {list(self.aspp_dilations)}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["aspp_dilations"] = list(self.aspp_dilations)
        return d

    @property
    def channels(self) -> list[int]:
        """Feature channels of encoder stages 0..depth (stage ``depth`` is the bottleneck)."""
        return [self.base_channels * 2**i for i in range(self.depth + 1)]


class Encoder(nn.Module):
    """Stage 0 at full resolution, then ``depth`` max-pool + DoubleConv stages."""

    def __init__(self, cfg: MAUNetConfig):
        super().__init__()
        ch = cfg.channels
        self.stages = nn.ModuleList([DoubleConv(cfg.in_channels, ch[0], cfg.norm)])
        self.stages.extend(DoubleConv(ch[i - 1], ch[i], cfg.norm) for i in range(1, len(ch)))
        self.attention = nn.ModuleList(
            [CBAM(c, cfg.cbam_reduction) if cfg.attention else nn.Identity() for c in ch]
        )
        self.aspp = ASPP(ch[-1], ch[-1], cfg.aspp_dilations, norm=cfg.norm) if cfg.aspp else nn.Identity()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for i, (stage, att) in enumerate(zip(self.stages, self.attention)):
            if i > 0:
                x = F.max_pool2d(x, 2)
            x = att(stage(x))
            feats.append(x)
        feats[-1] = self.aspp(feats[-1])
        return feats


class Decoder(nn.Module):
    """Transposed-conv upsampling + skip concatenation + DoubleConv, coarse to fine.

    Returns the decoder features of every scale, coarsest first, finest (full resolution) last.
    """

    def __init__(self, cfg: MAUNetConfig):
        super().__init__()
        ch = cfg.channels
        self.up = nn.ModuleList()
        self.blocks = nn.ModuleList()
        for i in range(cfg.depth, 0, -1):
            self.up.append(nn.ConvTranspose2d(ch[i], ch[i - 1], kernel_size=2, stride=2))
            self.blocks.append(DoubleConv(2 * ch[i - 1], ch[i - 1], cfg.norm))

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        x = feats[-1]
        outs = []
        for up, block, skip in zip(self.up, self.blocks, reversed(feats[:-1])):
            x = block(torch.cat([up(x), skip], dim=1))
            outs.append(x)
        return outs


class MultiScaleAggregation(nn.Module):
    """Reduce every decoder scale to ``base`` channels, upsample to full size, concat, fuse."""

    def __init__(self, cfg: MAUNetConfig):
        super().__init__()
        base = cfg.base_channels
        scale_channels = [cfg.channels[i] for i in range(cfg.depth - 1, -1, -1)]  # coarsest first
        self.reduce = nn.ModuleList(
            [nn.Identity() if c == base else ConvNormAct(c, base, kernel_size=1, norm=cfg.norm)
             for c in scale_channels]
        )
        self.fuse = ConvNormAct(base * cfg.depth, base, kernel_size=3, norm=cfg.norm)

    def forward(self, dec: list[torch.Tensor]) -> torch.Tensor:
        size = dec[-1].shape[-2:]
        maps = [
            f if f.shape[-2:] == size else F.interpolate(f, size=size, mode="bilinear", align_corners=False)
            for f in (reduce(d) for reduce, d in zip(self.reduce, dec))
        ]
        return self.fuse(torch.cat(maps, dim=1))


class MAUNet(PretrainedMixin, nn.Module):
    """2-D MA-UNet: encoder + decoder (+ aggregation) + segmentation head.

    ``forward`` returns logits ``(B, num_classes, H, W)``. In training mode with deep
    supervision it returns ``[main, aux_1, ..., aux_{depth-1}]`` where ``aux_k`` has size
    ``ceil(H / 2**k) x ceil(W / 2**k)``.
    """

    config_class = MAUNetConfig
    architecture = "MAUNet"

    def __init__(self, config: MAUNetConfig | None = None, **kwargs):
        super().__init__()
        if config is None:
            config = self.config_class(**kwargs)
        elif kwargs:
            raise ValueError(f"pass either config or keyword arguments, not both: {sorted(kwargs)}")
        if not isinstance(config, self.config_class):
            raise ValueError(f"config must be a {self.config_class.__name__}, got {type(config).__name__}")
        self.config = config
        cfg = self._arch_config()
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.aggregate = MultiScaleAggregation(cfg) if cfg.multiscale else None
        self.head = nn.Conv2d(cfg.base_channels, cfg.num_classes, 1)
        # Auxiliary heads at decoder scales 1/2 ... 1/2**(depth-1), finest first.
        self.aux_heads = nn.ModuleList(
            [nn.Conv2d(cfg.channels[k], cfg.num_classes, 1) for k in range(1, cfg.depth)]
            if cfg.deep_supervision else []
        )
        self.metadata: dict = {}

    def _arch_config(self) -> MAUNetConfig:
        return self.config

    @property
    def stride(self) -> int:
        return 2 ** self._arch_config().depth

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        if x.ndim != 4:
            raise ValueError(f"input must be (B, C, H, W), got shape {tuple(x.shape)}")
        h, w = x.shape[-2:]
        m = self.stride
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        dec = self.decoder(self.encoder(x))
        feat = self.aggregate(dec) if self.aggregate is not None else dec[-1]
        main = self.head(feat)[..., :h, :w]
        if not (self.training and len(self.aux_heads)):
            return main
        outs = [main]
        for k, head in enumerate(self.aux_heads, start=1):
            d = dec[-1 - k]
            outs.append(head(d)[..., : math.ceil(h / 2**k), : math.ceil(w / 2**k)])
        return outs


@dataclass
class UNetConfig(_ConfigDict):
    in_channels: int = 1
    num_classes: int = 1
    base_channels: int = 32
    depth: int = 4
    norm: str = "batch"

    def __post_init__(self):
        self.to_maunet()  # validates with the same rules

    def to_maunet(self) -> MAUNetConfig:
        return MAUNetConfig(
            **asdict(self), attention=False, aspp=False, multiscale=False, deep_supervision=False
        )

    def to_dict(self) -> dict:
        return asdict(self)


class UNet(MAUNet):
    """The plain U-Net baseline: MA-UNet with every switch off."""

    config_class = UNetConfig
    architecture = "UNet"

    def _arch_config(self) -> MAUNetConfig:
        return self.config.to_maunet()
