"""Segmentation networks: MA-UNet, the plain U-Net baseline, and their save/load."""

from covidseg.models.nets import MAUNet, MAUNetConfig, UNet, UNetConfig
from covidseg.models.pretrained import load_pretrained, read_config, save_pretrained, sha256_file, verify_weights

ARCHITECTURES = {cls.architecture: cls for cls in (MAUNet, UNet)}

__all__ = [
    "ARCHITECTURES", "MAUNet", "MAUNetConfig", "UNet", "UNetConfig",
    "load_pretrained", "read_config", "save_pretrained", "sha256_file", "verify_weights",
]
