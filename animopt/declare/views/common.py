"""Checks several views share, on a History (numpy only): parameter names, a run by label or index, the
points a problem marks, the state arrows' keys."""
from __future__ import annotations

import numpy as np

from ...spec import Field, did_you_mean
from ...teach import STATES


def check_param_names(names, h, key: str = "params") -> list[tuple[str, str]]:
    """(key, message) for the first name in `names` that is not a parameter of the problem."""
    if names is None:
        return []
    for i, n in enumerate(names):
        if n not in h.param_names:
            known = ", ".join(repr(p) for p in h.param_names[:12]) + (", ..." if len(h.param_names) > 12 else "")
            return [(key, f"{n!r} is not a parameter of this problem" + did_you_mean(str(n), h.param_names)
                     + f"; its parameters are {known}")]
    if len(set(names)) != len(names):
        return [(key, f"a parameter is named twice: {list(names)}")]
    return []


def run_index(h, run) -> int | None:
    """A run given as its label or its index (None when there is no such run)."""
    if isinstance(run, bool):
        return None
    if isinstance(run, int):
        return run if -h.runs <= run < h.runs else None
    if isinstance(run, str):
        if run in h.labels:
            return h.labels.index(run)
        low = [lb.lower() for lb in h.labels]
        return low.index(run.lower()) if run.lower() in low else None
    return None


def check_run(h, run, key: str = "run") -> list[tuple[str, str]]:
    if run is None or run_index(h, run) is not None:
        return []
    names = ", ".join(repr(lb) for lb in h.labels[:8]) + (", ..." if h.runs > 8 else "")
    return [(key, f"no run {run!r}: give a label ({names}) or an index 0..{h.runs - 1}")]


def marked_points(info, P: int) -> tuple[np.ndarray, np.ndarray]:
    """([k, P] minima, [m, P] other stationary points) the views mark: a problem may list several minima
    and its saddles in its data, else its one minimum."""
    def rows(a):
        a = np.asarray(a, dtype=np.float64).reshape(-1, P)
        return a[np.isfinite(a).all(1)]

    d = info.data
    none = np.zeros((0, P))
    mins = rows(d["minima"]) if "minima" in d else (rows(info.minimum) if info.minimum is not None else none)
    return mins, (rows(d["stationary"]) if "stationary" in d else none)


STATE_SCALE_FIELD = Field("number", gt=0, doc="the state arrows' magnification (1: true steps, the update "
                                                "ending on the next point); default: chosen for the clip")

STATE_FIELD = Field("strs", choices=STATES, doc="arrows at each run's current point, in one scale named in the key: "
                                                "\"gradient\" (-lr g), \"momentum\" (-lr times the momentum "
                                                "buffer), \"update\" (the step taken, to the next point); "
                                                "\"scaling\": adaptive rules' per-coordinate step scale as an "
                                                "ellipse")
