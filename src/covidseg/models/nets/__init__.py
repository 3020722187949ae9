from covidseg.models.nets.maunet import MAUNet, MAUNetConfig, UNet, UNetConfig

__all__ = ["MAUNet", "MAUNetConfig", "UNet", "UNetConfig"]
