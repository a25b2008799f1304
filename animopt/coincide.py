"""Runs drawn on top of each other: found from the History alone (numpy), so that the views can draw
them apart (dash pattern, marker shape, order) and the legend can say so.

Two runs coincide where every parameter of one is within `TOLERANCE` of the other's, as a share of
that parameter's drawn range (about two pixels of a 500-pixel panel). Measured over the frames of the
clip (`steps`, the step each frame shows), a pair is

- `path`:  close in at least `MOST` of the frames: the same path ("Keras = torch, same path");
- `until`: close over a first stretch of at least `PART` of the frames, then parting at step k;
- `from`:  their markers (within `MARKER_TOLERANCE`) overlap over a last stretch of at least
  `END_PART` of the frames, from step k on (the same end), elsewhere than at the known minimum (the
  star there says that every run that gets there is there);
- `loss`:  the parameters differ but the loss curves (log axis where the loss spans decades) are
  close in at least `MOST` of the frames.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .history import History

TOLERANCE = 0.004       # share of an axis's drawn range: about two pixels of a 500-pixel panel
MARKER_TOLERANCE = 0.015   # the same for the runs' current points: markers of about 8 pixels overlap
MOST = 0.8              # share of the frames: the same path
PART = 0.2              # share of the frames: a shared start (more than the start's hold)
END_PART = 0.1          # share of the frames: a shared end (the last frames and the hold: the poster)
MAX_RUNS = 8            # past this the legend cannot name every run (a sweep, read as a colour scale): not compared


@dataclass(frozen=True)
class Coincidence:
    run: int            # the later run, drawn on top of `under` and told apart from it
    under: int          # the earlier run it would hide
    kind: str           # "path", "until", "from" or "loss" (see the module's note)
    step: int = -1      # where they part ("until") or meet ("from")

    def note(self, labels) -> str:
        """The legend entry of `run`: `Keras = torch, same path`."""
        ahead, under = labels[self.run], labels[self.under]
        return {"path": f"{ahead} = {under}, same path",
                "until": f"{ahead} = {under} until step {self.step}",
                "from": f"{ahead} = {under} from step {self.step}",
                "loss": f"{ahead} = {under}, same loss"}[self.kind]


def drawn_range(values: np.ndarray) -> np.ndarray:
    """[K] range of each column of `values` [T, R, K] over the bulk of its finite values (pass the
    runs that did not diverge: a blow-up must not set it); 1 where a column does not vary."""
    v = values.reshape(-1, values.shape[-1])
    out = np.ones(v.shape[1])
    for k in range(v.shape[1]):
        col = v[np.isfinite(v[:, k]), k]
        if col.size:
            lo, hi = np.percentile(col, [0.5, 99.5])
            out[k] = hi - lo if hi > lo else 1.0
    return out


def close_steps(scaled: np.ndarray, a: int, b: int, tolerance: float = TOLERANCE) -> np.ndarray:
    """[T] True where runs `a` and `b` are within `tolerance` in every column of `scaled` [T, R, K]
    (values divided by their `drawn_range`; NaN, a run gone, is never close)."""
    with np.errstate(invalid="ignore"):
        return (np.abs(scaled[:, a] - scaled[:, b]) <= tolerance).all(axis=-1)


def loss_as_drawn(loss: np.ndarray) -> np.ndarray:
    """[T, R, 1] the loss as its axis shows it: log10 when every finite value is positive and they
    span more than two decades, else as it is."""
    finite = loss[np.isfinite(loss)]
    if finite.size and (finite > 0).all() and np.log10(finite.max() / finite.min()) > 2:
        with np.errstate(divide="ignore", invalid="ignore"):
            loss = np.log10(loss)
    return loss[..., None]


def leading(close: np.ndarray) -> int:
    """How many of the first values of `close` are True."""
    return int(np.argmin(close)) if not close.all() else close.size


def ends_at_minimum(h: History, span: np.ndarray, run: int) -> bool:
    """Whether `run`'s last point is within `MARKER_TOLERANCE` of the problem's known minimum, as a
    share of each parameter's drawn range `span`."""
    info = h.problem
    if info is None or info.minimum is None or len(info.minimum) != h.params.shape[-1]:
        return False
    gap = np.abs(h.params[-1, run] - np.asarray(info.minimum, dtype=np.float64)) / span
    return bool((gap <= MARKER_TOLERANCE).all())


def pair_coincidence(later: int, under: int, line: np.ndarray, marker: np.ndarray, steps: np.ndarray,
                     loss: np.ndarray | None) -> Coincidence | None:
    """The coincidence of two runs, from their closeness at every step: `line` (within `TOLERANCE`),
    `marker` (within `MARKER_TOLERANCE`; None: not compared) and `loss` (loss curves within
    `TOLERANCE`); `steps` are the frames' steps (see the module's note)."""
    n = steps.size
    if line is not None and line[steps].mean() >= MOST:
        return Coincidence(later, under, "path")
    if line is not None and leading(line[steps]) >= PART * n:
        return Coincidence(later, under, "until", leading(line))
    if loss is not None and loss[steps].mean() >= MOST:
        return Coincidence(later, under, "loss")
    if marker is not None and leading(marker[steps][::-1]) >= END_PART * n:
        return Coincidence(later, under, "from", marker.size - leading(marker[::-1]))
    return None


def coincidences(h: History, steps=None, params: bool = True) -> list[Coincidence]:
    """Every pair of runs that coincide over the frames showing `steps` (default: every step), the
    later run first in each; none past `MAX_RUNS` runs. `params=False` when no panel draws the
    parameters (only loss curves): then only the loss is compared."""
    if not 2 <= h.runs <= MAX_RUNS:
        return []
    steps = np.arange(h.steps + 1) if steps is None else np.clip(np.asarray(steps, dtype=np.int64), 0, h.steps)
    if steps.size == 0:
        return []
    steps = steps[:int(np.argmax(steps == steps[-1])) + 1]    # the final hold is one moment, not a stretch
    healthy = h.diverged_at < 0 if (h.diverged_at < 0).any() else np.ones(h.runs, bool)
    span = drawn_range(h.params[:, healthy])
    scaled = h.params / span
    loss = loss_as_drawn(h.loss)
    loss = loss / drawn_range(loss[:, healthy])
    found = []
    for later in range(1, h.runs):
        for under in range(later):
            line = close_steps(scaled, later, under) if params else None
            marker = close_steps(scaled, later, under, MARKER_TOLERANCE) if params else None
            c = pair_coincidence(later, under, line, marker, steps, close_steps(loss, later, under))
            if c is not None and not (c.kind == "from" and ends_at_minimum(h, span, later)):
                found.append(c)
    return found


def rank_in_group(h: History, found: list[Coincidence]) -> tuple[np.ndarray, np.ndarray]:
    """([R] rank, [R] size): each run's place among the runs it coincides with (connected through any
    pair), 0 for the first (one that hides no earlier run), 1 for the second, ...; and how many
    runs its group holds (1: a run alone)."""
    group = np.arange(h.runs)
    for c in found:                                    # union of the two runs' groups (lowest index)
        a, b = group[c.run], group[c.under]
        group[group == max(a, b)] = min(a, b)
    # members in order of index within each group (a stable sort): no loop over the groups, which for
    # a sweep of many runs (a grid of starts) would be quadratic
    _, inverse, counts = np.unique(group, return_inverse=True, return_counts=True)
    order = np.argsort(inverse, kind="stable")
    rank = np.empty(h.runs, dtype=np.int64)
    rank[order] = np.arange(h.runs) - np.repeat(np.cumsum(counts) - counts, counts)
    return rank, counts[inverse].astype(np.int64)
