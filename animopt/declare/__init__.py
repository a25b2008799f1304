"""What a scene may say, importable without torch or matplotlib (design: "Declarations apart from
implementations"): each problem, optimizer, schedule and view is declared by its name, its `Field`s, its
checks and its docs; its torch or matplotlib implementation is named by a dotted path and imported only
when a scene is simulated or drawn (`lookup`)."""
from __future__ import annotations

import importlib
from typing import Any


def lookup(dotted: str) -> Any:
    """The object a dotted path names, "package.module.name", imported on first use."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


class LazyModule:
    """A module imported on its first attribute access: declarations name the torch code of their builders
    through it, which loading and validating a scene never run."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)
