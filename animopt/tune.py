"""Fair tuning: `lr = { tune = [lo, hi], num = 64, score = "final_loss" }` (spec.Tune).

The candidates of a tuned key are an ordinary sweep: every candidate of every entry runs in the same
batched simulation, with the same data order, noise and start. Each candidate then gets its score
(below) and the entry keeps its best, ties going to the smaller value; a run that diverged scores
infinity. Runs that differ in something else (another swept key, a start, a batch size) are tuned
separately. Deterministic: the same scene gives the same choice on every machine that gives the
same losses.

Scores (lower is better), each at the run's own last update:
- `final_loss`: the full-data loss at the end;
- `mean_loss`: the mean of the full-data loss over every recorded step, start and end included
  (the area under the loss curve, per step);
- `distance`: the Euclidean distance from the end point to the problem's known minimum.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from .history import History
from .spec import SceneError, Tune
from .sweep import _fmt

PER_RUN_AXIS0 = ("diverged_at", "optimizer")


@dataclass(frozen=True)
class Candidates:
    entry: int
    key: str
    score: str
    runs: tuple[int, ...]          # run indices, in the order of the candidate values
    values: tuple[float, ...]


def tuned_keys(scene) -> dict[int, tuple[str, Tune]]:
    """Entry index -> (key, Tune) of every [[optimizer]] with a tuned key; more than one is an error."""
    out = {}
    for o in scene.optimizers:
        keys = [(k, v) for k, v in o.hparams.items() if isinstance(v, Tune)]
        if len(keys) > 1:
            raise SceneError.one(scene.file, f"optimizer[{o.index}].{keys[1][0]}",
                                 f"one tuned key per entry ({keys[0][0]} is tuned already)")
        if keys:
            out[o.index] = keys[0]
    return out


def candidate_groups(plan) -> list[Candidates]:
    """The runs that compete with each other: one group per tuned entry and per combination of what
    else varies (other swept keys, start, batch size). torch.optim twins (compare) do not compete."""
    tuned = tuned_keys(plan.scene)
    if not tuned:
        return []
    groups: dict = {}
    for i, r in enumerate(plan.runs):
        if r.entry not in tuned or i in plan.twins:
            continue
        key, _ = tuned[r.entry]
        rest = repr(sorted((k, v) for k, v in r.swept.items() if k != key))
        groups.setdefault((r.entry, rest, repr(r.init), r.batch_size), []).append(i)
    out = []
    for (entry, *_), idx in groups.items():
        key, t = tuned[entry]
        out.append(Candidates(entry, key, t.score, tuple(idx), tuple(plan.runs[i].hparams[key] for i in idx)))
    return out


def scores(plan, h: History, score: str, runs) -> np.ndarray:
    """The score of each of `runs` (lower is better; inf for a run that diverged or has none)."""
    out = np.full(len(runs), np.inf)
    for j, r in enumerate(runs):
        n = int(plan.run_steps[r])
        if h.diverged_at[r] >= 0:
            continue
        if score == "final_loss":
            v = h.loss[n, r]
        elif score == "mean_loss":
            v = np.mean(h.loss[:n + 1, r])
        else:
            m = plan.problem.minimum
            v = np.linalg.norm(h.params[n, r] - np.asarray(m, dtype=np.float64)) if m is not None else np.inf
        out[j] = v if np.isfinite(v) else np.inf
    return out


def check_plan(plan) -> None:
    """Errors a tuned scene can have before it runs: `distance` on a problem without a known minimum."""
    for o in plan.scene.optimizers:
        for k, v in o.hparams.items():
            if isinstance(v, Tune) and v.score == "distance" and plan.problem.minimum is None:
                raise SceneError.one(plan.scene.file, f"optimizer[{o.index}].{k}",
                                     f"score \"distance\" needs a problem with a known minimum; "
                                     f"'{plan.scene.problem.type}' has none (use final_loss or mean_loss)")
    tuned_keys(plan.scene)


def choose(plan, h: History) -> list[dict]:
    """Every group's candidates with their scores and the chosen one (the lowest score; ties to the
    smaller value): [{entry, key, score, values, scores, runs, best}] (best: index into runs)."""
    out = []
    for g in candidate_groups(plan):
        s = scores(plan, h, g.score, g.runs)
        order = np.lexsort((np.asarray(g.values, dtype=np.float64), s))
        out.append({"entry": g.entry, "key": g.key, "score": g.score, "values": g.values, "scores": s,
                    "runs": g.runs, "best": int(order[0])})
    return out


def keep_runs(plan, chosen: list[dict]) -> list[int]:
    """The runs the tuned History keeps, in order: every untuned run, each group's best and the
    torch.optim twins of kept runs."""
    lose = {r for c in chosen for j, r in enumerate(c["runs"]) if j != c["best"]}
    lose |= {tw for tw, r in plan.twins.items() if r in lose}
    twin_of = {r: tw for tw, r in plan.twins.items()}
    place = {}                        # a group's best takes the place of its first candidate (and its twin)
    for c in chosen:
        best, first = c["runs"][c["best"]], c["runs"][0]
        place[best] = first
        if best in twin_of and first in twin_of:
            place[twin_of[best]] = twin_of[first]
    return sorted((i for i in range(len(plan.runs)) if i not in lose), key=lambda i: place.get(i, i))


def select(h: History, keep: list[int], labels=None) -> History:
    """A History of only the runs `keep` (every per-run array cut; the rest as it was)."""
    keep = np.asarray(keep, dtype=np.int64)
    kw = {}
    for f in fields(History):
        v = getattr(h, f.name)
        if f.name == "labels":
            kw[f.name] = tuple(labels[i] for i in keep) if labels is not None else tuple(h.labels[i] for i in keep)
        elif f.name == "hparams":
            kw[f.name] = {k: np.asarray(a)[keep] for k, a in v.items()}
        elif isinstance(v, np.ndarray) and f.name in PER_RUN_AXIS0:
            kw[f.name] = v[keep]
        elif isinstance(v, np.ndarray) and v.ndim >= 2:
            kw[f.name] = v[:, keep]
    return replace(h, **kw)


def tuned_label(label: str, key: str, value: float) -> str:
    """`Adam lr=0.01778` -> `Adam lr=0.01778 (tuned)`."""
    part = f" {key}={_fmt(value)}"
    return label.replace(part, part + " (tuned)", 1) if part in label else f"{label} {key}={_fmt(value)} (tuned)"


def apply(plan, h: History) -> History:
    """The simulated History of every candidate -> the tuned History (each entry at its best)."""
    chosen = choose(plan, h)
    if not chosen:
        return h
    labels = list(h.labels)
    for c in chosen:
        r = c["runs"][c["best"]]
        labels[r] = tuned_label(labels[r], c["key"], c["values"][c["best"]])
        for tw, of in plan.twins.items():
            if of == r:
                labels[tw] = tuned_label(labels[tw], c["key"], c["values"][c["best"]])
    return select(h, keep_runs(plan, chosen), labels)


def report(plan, h: History) -> str:
    """`animopt tune`: every candidate's score, entry by entry, the chosen one marked."""
    from .sweep import entry_labels

    names = entry_labels(plan.scene.optimizers)
    lines = []
    for c in choose(plan, h):
        r0 = plan.runs[c["runs"][0]]
        extra = {k: v for k, v in r0.swept.items() if k != c["key"]}
        head = f"optimizer[{c['entry']}] {names[c['entry']]}: {c['key']} by {c['score']}, {len(c['runs'])} candidates"
        if extra:
            head += " (" + ", ".join(f"{k}={_fmt(v)}" for k, v in extra.items()) + ")"
        lines.append(head)
        lines.append(f"  {c['key']:>12}  {c['score']:>14}")
        for j, (v, s) in enumerate(zip(c["values"], c["scores"])):
            mark = "  <- chosen" if j == c["best"] else ""
            lines.append(f"  {v:12.6g}  {s:14.8g}{mark}")
    return "\n".join(lines) if lines else "no tuned keys: give one as { tune = [lo, hi], num = N, score = ... }"
