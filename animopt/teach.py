"""The teaching layer's declarations: captions (`[[render.caption]]`), pauses (`[[render.pause]]`) and
slow motion (`[[render.slow]]`), and which optimizer buffers the views need recorded.

No torch, no matplotlib: `load_scene` checks these keys; the checks that need the History (steps, run
labels) are `check_teaching`, run with the view checks; mathtext is checked on the matplotlib side
(animopt.captions).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .spec import REQUIRED, Errors, Field, check_table, did_you_mean, join

CAPTION_SECONDS = 3.0      # how long a caption stays when neither until nor until_time is given
FADE_SECONDS = 0.25        # fade in and out over this long (at least one frame)

CORNERS = ("top left", "top right", "bottom left", "bottom right")
PLACES = ("top", "bottom", *CORNERS)
HEAD = "head:"
HEAD_VIEWS = ("contour", "fit_line")     # views whose runs have a current point to point at

CAPTION = {
    "text": Field("str", default=REQUIRED, doc="the words; mathtext between dollars, e.g. "
                                               "\"$v \\\\leftarrow \\\\beta v + g$\""),
    "at": Field("int", ge=0, doc="the step it appears at (give at or at_time)"),
    "at_time": Field("number", ge=0, doc="seconds into the clip it appears at"),
    "until": Field("int", ge=0, doc=f"the step it leaves at (default: {CAPTION_SECONDS:g} s after it appears)"),
    "until_time": Field("number", gt=0, doc="seconds into the clip it leaves at"),
    "panel": Field("any", doc="the view it is about: its index (counting along the rows from 0) or its type "
                              "(the first of that type); default: the figure"),
    "where": Field("str", default="bottom", doc="\"top\", \"bottom\", a corner (\"top left\", \"top right\", "
                                                "\"bottom left\", \"bottom right\") or \"head:\" and a run's label "
                                                "(\"head:Adam\"): an arrow to that run's current point on a contour "
                                                "or fit_line panel; never over a legend"),
}

PAUSE = {
    "step": Field("int", default=REQUIRED, ge=0, doc="the step the clip stops on"),
    "seconds": Field("number", default=REQUIRED, gt=0, le=600, doc="how long; the clip grows by this much"),
}

SLOW = {
    "from": Field("int", default=REQUIRED, ge=0, doc="first step of the range"),
    "to": Field("int", default=REQUIRED, ge=1, doc="last step of the range"),
    "factor": Field("number", default=REQUIRED, gt=0, le=100,
                    doc="the frames showing the range are multiplied by this (the clip grows; below 1 speeds "
                        "it up)"),
}


@dataclass(frozen=True)
class Caption:
    text: str
    at: int | None = None
    at_time: float | None = None
    until: int | None = None
    until_time: float | None = None
    panel: int | None = None        # index of the view (counting along the rows), None: the figure
    where: str = "bottom"

    @property
    def head(self) -> str | None:
        """The run label of a "head:<label>" caption."""
        return self.where[len(HEAD):] if self.where.startswith(HEAD) else None


@dataclass(frozen=True)
class Pause:
    step: int
    seconds: float


@dataclass(frozen=True)
class Slow:
    start: int
    stop: int
    factor: float


def _tables(raw: Any, key: str, errors: Errors) -> list[dict]:
    """`[[render.<key>]]` entries (one table is taken as a list of one)."""
    if raw is None:
        return []
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        errors.add(f"render.{key}", f"expected [[render.{key}]] tables")
        return []
    return raw


def check_captions(raw: Any, views: tuple, errors: Errors) -> tuple[Caption, ...]:
    """`[[render.caption]]` tables against CAPTION and the scene's views (`render.views`, rows of ViewSpec)."""
    flat = [v for row in views for v in row]
    out = []
    for i, t in enumerate(_tables(raw, "caption", errors)):
        path = f"render.caption[{i}]"
        n0 = len(errors.problems)
        c = check_table(t, CAPTION, path, errors)
        if c.get("at") is None and c.get("at_time") is None:
            errors.add(join(path, "at"), "missing; give at (a step) or at_time (seconds into the clip)")
        if c.get("at") is not None and c.get("at_time") is not None:
            errors.add(join(path, "at_time"), "give at or at_time, not both")
        if c.get("until") is not None and c.get("until_time") is not None:
            errors.add(join(path, "until_time"), "give until or until_time, not both")
        if c.get("at") is not None and c.get("until") is not None and c["until"] <= c["at"]:
            errors.add(join(path, "until"), f"expected a step after at = {c['at']}, got {c['until']}")
        if c.get("until_time") is not None and c["until_time"] <= (c.get("at_time") or 0.0) and c.get("at") is None:
            errors.add(join(path, "until_time"), f"expected a time after at_time = {c.get('at_time') or 0:g} s, "
                                                 f"got {c['until_time']:g}")
        if isinstance(c.get("text"), str) and not c["text"].strip():
            errors.add(join(path, "text"), "an empty caption")
        where = c.get("where") or "bottom"
        if where not in PLACES and not where.startswith(HEAD):
            errors.add(join(path, "where"), f"expected one of {', '.join(map(repr, PLACES))} or \"head:<run "
                                            f"label>\", got {where!r}" + did_you_mean(where, PLACES))
        panel = _panel(t.get("panel"), flat, join(path, "panel"), errors)
        if where.startswith(HEAD):
            if not where[len(HEAD):]:
                errors.add(join(path, "where"), "\"head:\" needs a run label, e.g. \"head:Adam\"")
            if panel is None:
                panel = next((k for k, v in enumerate(flat) if v.type in HEAD_VIEWS), None)
                if panel is None and flat:
                    errors.add(join(path, "where"), "an arrow to a run's point needs a contour or fit_line view; "
                                                    f"this scene has {', '.join(v.type for v in flat)}")
            elif 0 <= panel < len(flat) and flat[panel].type not in HEAD_VIEWS:
                errors.add(join(path, "panel"), f"an arrow to a run's point needs a contour or fit_line view, "
                                                f"not {flat[panel].type}")
        if len(errors.problems) == n0:
            out.append(Caption(c["text"], c.get("at"), c.get("at_time"), c.get("until"), c.get("until_time"),
                               panel, where))
    return tuple(out)


def _panel(v: Any, flat: list, path: str, errors: Errors) -> int | None:
    """`panel = 1` or `panel = "contour"` -> the view's index."""
    if v is None:
        return None
    if isinstance(v, int) and not isinstance(v, bool):
        if not 0 <= v < max(1, len(flat)):
            errors.add(path, f"expected a view index from 0 to {len(flat) - 1}, got {v}")
            return None
        return v
    if isinstance(v, str):
        types = [s.type for s in flat]
        if v in types:
            return types.index(v)
        errors.add(path, f"no {v!r} view in this scene" + did_you_mean(v, types)
                   + "; its views are " + ", ".join(map(repr, types)))
        return None
    errors.add(path, f"expected a view index (integer) or a view type (string), got {v!r}")
    return None


def check_pauses(raw: Any, errors: Errors) -> tuple[Pause, ...]:
    out = []
    for i, t in enumerate(_tables(raw, "pause", errors)):
        n0 = len(errors.problems)
        p = check_table(t, PAUSE, f"render.pause[{i}]", errors)
        if len(errors.problems) == n0:
            out.append(Pause(p["step"], p["seconds"]))
    return tuple(out)


def check_slows(raw: Any, errors: Errors) -> tuple[Slow, ...]:
    out = []
    for i, t in enumerate(_tables(raw, "slow", errors)):
        path = f"render.slow[{i}]"
        n0 = len(errors.problems)
        s = check_table(t, SLOW, path, errors)
        if len(errors.problems) == n0:
            if s["to"] <= s["from"]:
                errors.add(join(path, "to"), f"expected a step after from = {s['from']}, got {s['to']}")
                continue
            for j, o in enumerate(out):
                if s["from"] < o.stop and o.start < s["to"]:
                    errors.add(path, f"steps {s['from']}..{s['to']} overlap render.slow[{j}] "
                                     f"({o.start}..{o.stop})")
                    break
            else:
                out.append(Slow(s["from"], s["to"], s["factor"]))
    return tuple(out)


def check_steps(render, steps: int) -> list[tuple[str, str]]:
    """(key, message) for steps past the last one (`steps`, known once the plan is made)."""
    out = []
    for i, c in enumerate(getattr(render, "captions", ())):
        for key in ("at", "until"):
            v = getattr(c, key)
            if v is not None and v > steps:
                out.append((f"render.caption[{i}].{key}", f"step {v} is past the last step ({steps})"))
    for i, p in enumerate(getattr(render, "pauses", ())):
        if p.step > steps:
            out.append((f"render.pause[{i}].step", f"step {p.step} is past the last step ({steps})"))
    for i, s in enumerate(getattr(render, "slows", ())):
        if s.stop > steps:
            out.append((f"render.slow[{i}].to", f"step {s.stop} is past the last step ({steps})"))
    return out


def check_labels(render, history) -> list[tuple[str, str]]:
    """(key, message) for "head:<label>" captions naming no run of the History."""
    out = []
    for i, c in enumerate(getattr(render, "captions", ())):
        if c.head is not None and c.head not in history.labels:
            shown = ", ".join(map(repr, history.labels[:12])) + (", ..." if history.runs > 12 else "")
            out.append((f"render.caption[{i}].where", f"no run labelled {c.head!r}"
                        + did_you_mean(c.head, history.labels) + f"; the runs are {shown}"))
    return out


def check_mathtext(captions, errors) -> None:
    """A caption whose mathtext does not parse is a scene error naming its `text`. matplotlib's parser is
    imported only for a line with some that it has not parsed before (animopt.cache.mathtext_known: about
    0.2 s and 26 MB of a validation)."""
    todo = []
    for i, c in enumerate(captions):
        for line in c.text.split("\n"):
            if line.count("$") % 2:
                errors.add(f"render.caption[{i}].text", f"an unclosed $ in {line!r}")
            elif "$" in line:
                todo.append((i, line))
    if not todo:
        return
    from .cache import mathtext_known, mathtext_remember

    known = mathtext_known([line for _, line in todo])
    todo = [(i, line) for i, line in todo if line not in known]
    if not todo:
        return
    from matplotlib.mathtext import MathTextParser

    parser, ok = MathTextParser("path"), []
    for i, line in todo:
        try:
            parser.parse(line, 72)
            ok.append(line)
        except ValueError as e:
            errors.add(f"render.caption[{i}].text", "mathtext error: " + " ".join(str(e).split()))
    mathtext_remember(ok)


# ---------------------------------------------------------------- recorded buffers

STATES = ("gradient", "momentum", "update", "scaling")
BUFFERS = ("momentum", "second_moment", "step_scale")   # optional History arrays [steps, runs, P]


def _flat_views(render) -> list:
    out = []
    for row in render.views:
        for v in row:
            out.append(v)
            inner = v.options.get("view") if v.type == "grid" else None
            if inner is not None:
                out.append(inner)
    return out


def buffers_wanted(render) -> tuple[str, ...]:
    """The optimizer buffers the scene's views draw (recorded only then): `momentum` for state arrows
    of the momentum, `second_moment` and `step_scale` for the scaling ellipse, all for the `update` view."""
    want = set()
    for v in _flat_views(render):
        if v.type == "update":
            want |= set(BUFFERS)
        state = v.options.get("state") or ()
        if "momentum" in state:
            want.add("momentum")
        if "scaling" in state:
            want |= {"second_moment", "step_scale"}
    return tuple(b for b in BUFFERS if b in want)
