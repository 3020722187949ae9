"""Segmentation networks: MA-UNet, the plain U-Net baseline, and their save/load."""

from covidseg.models.nets import Ensemble, EnsembleConfig, MAUNet, MAUNetConfig, UNet, UNetConfig, combine
from covidseg.models.pretrained import (ARCHITECTURES, load_pretrained, read_config, save_pretrained, sha256_file,
                                       verify_weights)

__all__ = [
    "ARCHITECTURES", "Ensemble", "EnsembleConfig", "MAUNet", "MAUNetConfig", "UNet", "UNetConfig", "combine",
    "load_pretrained", "read_config", "save_pretrained", "sha256_file", "verify_weights",
]
