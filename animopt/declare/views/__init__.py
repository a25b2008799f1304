"""The views a scene may name (`[render] views = [...]`): keys, checks and docs, without matplotlib. Each
declaration names its matplotlib class (animopt/views/) by a dotted path, which animopt/layout.py looks up
when drawing. The checks read a History (numpy only): the simulated one, or the outline `animopt validate`
makes without simulating."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ...spec import Errors, Field
from .. import lookup


@dataclass(frozen=True)
class ViewDef:
    """One view type: its keys, its class (a dotted path to an animopt.views.base.View), its docs, and a
    check of its options against the History (returning (key, message) pairs, `key` relative to the view)."""

    name: str
    fields: dict[str, Field]
    view: str
    doc: str = ""
    check: Callable[[dict, Any], list[tuple[str, str]]] = field(default=lambda options, history: [])
    shows_runs: bool = False        # draws the runs in their colours: a figure with two such panels gets
                                    # one shared legend of the runs instead of one per panel

    @property
    def cls(self):
        """The matplotlib View class (imports its module on first use)."""
        return lookup(self.view)


def _registry() -> dict[str, ViewDef]:
    from .basins import BASINS
    from .curves import ACCURACY, EMA, FIT_LINE, GRADS, LOSS, LR, PARAMS, UPDATE
    from .space import BOUNDARY, CONTOUR, LANDSCAPE, SURFACE
    from .sweeps import GRID, HEATMAP

    return {v.name: v for v in (FIT_LINE, LOSS, LR, CONTOUR, SURFACE, PARAMS, GRADS, EMA, HEATMAP, GRID,
                                LANDSCAPE, BOUNDARY, ACCURACY, UPDATE, BASINS)}


VIEWS: dict[str, ViewDef] = _registry()


def check_views(render, history, file: str) -> None:
    """View checks that need the History (a view that cannot draw this problem), and the captions' labels
    and mathtext; raises SceneError."""
    errors = Errors(file)
    for r, row in enumerate(render.views):
        for c, spec in enumerate(row):
            path = f"render.views[{r}][{c}]" if len(render.views) > 1 else f"render.views[{c}]"
            for key, msg in VIEWS[spec.type].check(dict(spec.options), history):
                errors.add(f"{path}.{key}" if key else path, msg)
    if getattr(render, "captions", ()):
        from ...teach import check_labels, check_mathtext

        for key, msg in check_labels(render, history):
            errors.add(key, msg)
        check_mathtext(render.captions, errors)
    errors.raise_if_any()


__all__ = ["ViewDef", "VIEWS", "check_views"]
