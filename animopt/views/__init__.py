"""Views, registered by their scene `type`. Matplotlib only: views never import torch."""
from .base import View, ViewCtx, ViewDef
from .curves import LOSS, LR
from .fit_line import FIT_LINE
from .grid import GRID
from .heatmap import HEATMAP

VIEWS: dict[str, ViewDef] = {v.name: v for v in (FIT_LINE, LOSS, LR, HEATMAP, GRID)}

__all__ = ["View", "ViewCtx", "ViewDef", "VIEWS"]
