from covidseg.models.nets.maunet import MAUNet, MAUNetConfig, UNet, UNetConfig
from covidseg.models.nets.ensemble import Ensemble, EnsembleConfig, combine

__all__ = ["Ensemble", "EnsembleConfig", "MAUNet", "MAUNetConfig", "UNet", "UNetConfig", "combine"]
