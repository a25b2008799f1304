"""Views, registered by their scene `type`. Matplotlib only: views never import torch."""
from .base import View, ViewCtx, ViewDef
from .boundary import ACCURACY, BOUNDARY
from .contour import CONTOUR
from .curves import LOSS, LR
from .ema import EMA_VIEW
from .fit_line import FIT_LINE
from .grads import GRADS
from .grid import GRID
from .heatmap import HEATMAP
from .basins import BASINS
from .landscape import LANDSCAPE
from .params import PARAMS
from .surface import SURFACE
from .update import UPDATE

VIEWS: dict[str, ViewDef] = {v.name: v for v in (FIT_LINE, LOSS, LR, CONTOUR, SURFACE, PARAMS, GRADS, EMA_VIEW,
                                                 HEATMAP, GRID, LANDSCAPE, BOUNDARY, ACCURACY, UPDATE)}
VIEWS[BASINS.name] = BASINS

__all__ = ["View", "ViewCtx", "ViewDef", "VIEWS"]
