"""Colours and fonts. Runs keep one colour in every panel (Okabe-Ito, colour-blind safe)."""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
# on white, Okabe-Ito's yellow is too faint for a line and its black reads as the dashed truth: those two
# give way to Paul Tol's olive and wine (still colour-blind safe)
LIGHT_PALETTE = OKABE_ITO[:6] + ("#999933", "#882255")


@dataclass(frozen=True)
class Theme:
    name: str
    background: str
    foreground: str
    muted: str
    grid: str
    data: str          # data points
    truth: str         # true values / minimum
    palette: tuple[str, ...]
    cmap: str          # loss surfaces
    fill_alpha: float = 0.32   # shading between contour levels
    run_cmap: str = "plasma"   # runs past the palette: evenly spaced colours of this map ...
    run_range: tuple[float, float] = (0.0, 0.85)   # ... over this part of it (what stands out on the background)
    font_size: float = 13.0    # points at the scene's dpi: 18 px at dpi 100, legible in a 720p embed

    def rc(self) -> dict:
        return {
            "font.family": "DejaVu Sans", "font.size": self.font_size,
            "axes.titlesize": self.font_size + 1, "axes.labelsize": self.font_size,
            "legend.fontsize": self.font_size - 2, "xtick.labelsize": self.font_size - 2,
            "ytick.labelsize": self.font_size - 2,
            "figure.facecolor": self.background, "axes.facecolor": self.background,
            "savefig.facecolor": self.background, "text.color": self.foreground,
            "axes.edgecolor": self.muted, "axes.labelcolor": self.foreground,
            "xtick.color": self.foreground, "ytick.color": self.foreground,
            "grid.color": self.grid, "grid.linewidth": 0.6, "axes.grid": True,
            "legend.facecolor": self.background, "legend.edgecolor": self.grid, "legend.framealpha": 0.85,
            "axes.spines.top": False, "axes.spines.right": False,
            "path.simplify": True, "agg.path.chunksize": 10000,
        }


LIGHT = Theme("light", "#ffffff", "#222222", "#777777", "#e4e4e4", "#555555", "#222222",
              LIGHT_PALETTE, "viridis")
DARK = Theme("dark", "#16181d", "#e8e8e8", "#9a9a9a", "#2c2f36", "#bbbbbb", "#f0f0f0",
             ("#56B4E9", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#F0E442", "#0072B2", "#ffffff"), "magma",
             fill_alpha=0.5, run_cmap="viridis", run_range=(0.35, 1.0))
THEMES = {"light": LIGHT, "dark": DARK}


def run_colors(n: int, theme: Theme) -> list:
    """One colour per run: the palette while it lasts, then evenly spaced colours of a colour map."""
    if n <= len(theme.palette):
        return list(theme.palette[:n])
    cmap = matplotlib.colormaps.get_cmap(theme.run_cmap)     # (not pyplot's: 0.1-0.4 s to import)
    return [tuple(float(v) for v in c) for c in cmap(np.linspace(*theme.run_range, n))]   # one call: a sweep has many runs
