"""The model's public names in one place: `from lenet.model import Architecture, Net`."""

from lenet.network.architecture import TUTORIAL, Architecture, ArchitectureError
from lenet.network.model import Net, parameter_count

__all__ = ["TUTORIAL", "Architecture", "ArchitectureError", "Net", "parameter_count"]
