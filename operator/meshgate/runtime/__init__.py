"""The operator's one controller runtime: a debounced loop that runs every controller."""

from .loop import Controller, Key, Runtime, Wake

__all__ = ["Controller", "Key", "Runtime", "Wake"]
