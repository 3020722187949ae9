"""Segmentation networks: MA-UNet, the plain U-Net baseline, and their save/load."""

from covidseg.models.nets import MAUNet, MAUNetConfig, UNet, UNetConfig
from covidseg.models.pretrained import (ARCHITECTURES, load_pretrained, read_config, save_pretrained, sha256_file,
                                       verify_weights)

__all__ = [
    "ARCHITECTURES", "MAUNet", "MAUNetConfig", "UNet", "UNetConfig",
    "load_pretrained", "read_config", "save_pretrained", "sha256_file", "verify_weights",
]
