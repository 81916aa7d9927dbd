"""meshgate: the operator that compiles gateway and mesh resources into proxy config."""

__version__ = "0.1.0"
