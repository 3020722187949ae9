"""An ensemble of trained networks saved and loaded as one model folder.

The members' probabilities are averaged (softmax or sigmoid, the mean nnU-Net and the
fold-ensemble measurements in docs/results.md use), and ``forward`` returns logits whose
activation gives back that mean: ``log p`` for softmax (``softmax(log p) = p`` because the
classes sum to one), ``logit p`` for sigmoid. So everything that runs a network (predict,
evaluate, TTA, mixed precision) runs an ensemble unchanged, and a folder written by
:func:`combine` loads through the same checksummed ``load_pretrained`` as any model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
import torch.nn as nn

from covidseg.models.pretrained import ARCHITECTURES, PretrainedMixin

#: Probabilities are clamped to [EPS, 1 - EPS] before the log: a member certain of a class
#: must not turn the returned logits infinite.
EPS = 1e-6
ACTIVATIONS = ("softmax", "sigmoid")
#: Metadata the members must share: it decides what each input slice looks like (window,
#: axes, size) and what the output channels mean.
SHARED_METADATA = ("task", "labels", "activation", "input_size", "hu_window", "slice_axes")


@dataclass
class EnsembleConfig:
    """``members``: ``[{"architecture": name, "config": {...}}, ...]`` (at least two, no nested
    ensembles); ``activation``: how each member's logits become probabilities."""

    members: tuple = ()
    activation: str = "softmax"

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if not isinstance(self.members, (list, tuple)) or len(self.members) < 2:
            raise ValueError(f"members must list at least two networks, got {self.members!r}")
        built = []
        for k, m in enumerate(self.members):
            if not isinstance(m, dict) or set(m) != {"architecture", "config"}:
                raise ValueError(f"members[{k}] must be {{'architecture': ..., 'config': {{...}}}}, got {m!r}")
            cls = ARCHITECTURES.get(m["architecture"])
            if cls is None or cls is Ensemble:
                raise ValueError(f"members[{k}]: unknown or nested architecture {m['architecture']!r}")
            if not isinstance(m["config"], dict):
                raise ValueError(f"members[{k}]: 'config' must be an object")
            cfg = cls.config_class.from_dict(m["config"])
            built.append({"architecture": m["architecture"], "config": cfg.to_dict()})
        for name in ("in_channels", "num_classes"):
            values = {m["config"].get(name) for m in built}
            if len(values) != 1:
                raise ValueError(f"members disagree on {name}: {sorted(values)}")
        self.members = tuple(built)

    @property
    def in_channels(self) -> int:
        return self.members[0]["config"]["in_channels"]

    @property
    def num_classes(self) -> int:
        return self.members[0]["config"]["num_classes"]

    @classmethod
    def from_dict(cls, d: dict) -> "EnsembleConfig":
        unknown = set(d) - {"members", "activation"}
        if unknown:
            raise ValueError(f"unknown EnsembleConfig keys: {sorted(unknown)}")
        return cls(**d)

    def to_dict(self) -> dict:
        return {"members": [dict(m) for m in self.members], "activation": self.activation}


class Ensemble(PretrainedMixin, nn.Module):
    """Mean of the members' probabilities, returned as logits (see the module docstring)."""

    config_class = EnsembleConfig
    architecture = "Ensemble"

    def __init__(self, config: EnsembleConfig):
        super().__init__()
        if not isinstance(config, EnsembleConfig):
            raise ValueError(f"config must be an EnsembleConfig, got {type(config).__name__}")
        self.config = config
        nets = []
        for m in config.members:
            cls = ARCHITECTURES[m["architecture"]]
            nets.append(cls(cls.config_class.from_dict(m["config"])))
        self.members = nn.ModuleList(nets)
        self.metadata: dict = {}
        super().train(False)

    def train(self, mode: bool = True) -> "Ensemble":
        if mode:
            raise RuntimeError("an Ensemble is for inference only: train its members, then combine them")
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probs = []
        for net in self.members:
            logits = net(x)
            with torch.autocast(x.device.type, enabled=False):
                logits = logits.float()
                probs.append(torch.softmax(logits, 1) if self.config.activation == "softmax"
                             else torch.sigmoid(logits))
        with torch.autocast(x.device.type, enabled=False):
            p = torch.stack(probs).mean(0).clamp(EPS, 1 - EPS)
            return p.log() if self.config.activation == "softmax" else p.log() - torch.log1p(-p)


def _resolved(meta: dict, key: str):
    """``meta[key]`` with its default filled in (an absent window or axes means the default)."""
    if key == "hu_window":
        from covidseg.io.windowing import model_window, window_metadata

        return window_metadata(model_window(meta))
    if key == "slice_axes":
        from covidseg.io.slice_axes import model_slice_axes

        return model_slice_axes(meta)
    value = meta.get(key)
    return list(value) if isinstance(value, tuple) else value


def combine(folders: Sequence[str | os.PathLike], metadata: dict | None = None) -> Ensemble:
    """Load the model folders ``folders`` (each checksum-verified) into one :class:`Ensemble`.

    The members must agree on :data:`SHARED_METADATA` (else ``ValueError`` naming the folder);
    the ensemble's metadata is the first member's, with ``members`` (name, sha256, training
    metadata of each) and the keys of ``metadata`` on top (e.g. the operating ``threshold``).
    """
    from covidseg.models.pretrained import load_pretrained

    if len(folders) < 2:
        raise ValueError(f"folders must name at least two model folders, got {len(folders)}")
    nets = [load_pretrained(f) for f in folders]
    first = nets[0].metadata
    for folder, net in zip(folders, nets):
        if isinstance(net, Ensemble):
            raise ValueError(f"{folder}: is already an ensemble")
        for key in SHARED_METADATA:
            mine, theirs = _resolved(net.metadata, key), _resolved(first, key)
            if mine != theirs:
                raise ValueError(f"{folder}: metadata {key!r} is {mine!r}, the first member's is {theirs!r}")
    activation = first.get("activation") or "softmax"
    config = EnsembleConfig(members=[{"architecture": n.architecture, "config": n.config.to_dict()} for n in nets],
                            activation=activation)
    ens = Ensemble(config)
    for target, net in zip(ens.members, nets):
        target.load_state_dict(net.state_dict(), strict=True)
    meta = {k: _resolved(first, k) for k in SHARED_METADATA}
    meta["members"] = [{"name": Path(f).name, "sha256": n.sha256,
                        **{k: v for k, v in n.metadata.items() if k not in SHARED_METADATA}}
                       for f, n in zip(folders, nets)]
    meta.update(metadata or {})
    ens.metadata = meta
    return ens.eval()
