"""Declarative key specs: every table of a scene is checked against a dict of `Field`s.

Problems, optimizers, schedules and views each declare their keys with `Field`; `check_table`
turns a raw TOML table into a plain dict (defaults filled in) and reports every problem it finds
to an `Errors` collector, so one pass over a scene names all of its mistakes.
"""
from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .limits import MAX_SWEEP_VALUES

REQUIRED = object()

_TYPE_WORDS = {
    "number": "a number",
    "int": "an integer",
    "bool": "true or false",
    "str": "a string",
    "numbers": "a list of numbers",
    "ints": "a list of integers",
    "strs": "a list of strings",
    "path": "a file path (string)",
    "table": "a table",
    "any": "a value",
}


class SceneError(Exception):
    """Bad input. Holds every problem found as (file, key, message); str() is one line each."""

    def __init__(self, problems: list[tuple[str, str, str]]):
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(_fmt(f, k, m) for f, k, m in self.problems)

    @classmethod
    def one(cls, file: str | Path | None, key: str, message: str) -> "SceneError":
        return cls([(str(file) if file else "<scene>", key, message)])


def env_number(name: str, integer: bool = False) -> float | int | None:
    """The positive number environment variable `name` holds, None when it is unset or empty; a SceneError
    naming it when it holds anything else (`ANIMOPT_MEMORY_MB=lots`)."""
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value <= 0:
        kind = "whole number" if integer else "number"
        raise SceneError.one(f"${name}", "", f"expected a positive {kind}, got {text!r}")
    return value


def _fmt(file: str, key: str, msg: str) -> str:
    return f"{file}: {key}: {msg}" if key else f"{file}: {msg}"


class Errors:
    """Collects problems while a scene is checked; `raise_if_any` at the end."""

    def __init__(self, file: str | Path | None):
        self.file = str(file) if file else "<scene>"
        self.problems: list[tuple[str, str, str]] = []

    def add(self, key: str, message: str) -> None:
        self.problems.append((self.file, key, message))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise SceneError(self.problems)


@dataclass(frozen=True)
class Sweep:
    """A hyperparameter given as several values: one run per value (grids multiply)."""

    values: tuple

    def __len__(self) -> int:
        return len(self.values)


SCORES = ("final_loss", "mean_loss", "distance")


@dataclass(frozen=True)
class Tune(Sweep):
    """`lr = { tune = [lo, hi], num = 64, score = "final_loss" }`: `num` candidates log-spaced over
    [lo, hi], run together as a sweep; the simulation keeps each entry's best by `score` (animopt.tune)."""

    score: str = "final_loss"


@dataclass(frozen=True)
class Field:
    type: str
    default: Any = None  # None: optional, absent means None; REQUIRED: must be given
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    choices: tuple | None = None
    length: int | None = None  # exact length for numbers/ints/strs
    min_length: int | None = None
    sweep: bool = False  # may be a list of values or a {from, to, num, scale} range
    doc: str = ""
    check: Callable[[Any], str | None] | None = None  # extra check: returns an error text or None

    def expected(self) -> str:
        word = _TYPE_WORDS[self.type]
        if self.length is not None:
            word = f"a list of {self.length} " + word.split(" of ")[-1] if self.type in ("numbers", "ints", "strs") else word
        if self.choices:
            one_of = "one of " + ", ".join(repr(c) for c in self.choices)
            return word + ", each " + one_of if self.type in ("numbers", "ints", "strs") else one_of
        bounds = []
        if self.gt is not None:
            bounds.append(f"> {_num(self.gt)}")
        if self.ge is not None:
            bounds.append(f">= {_num(self.ge)}")
        if self.lt is not None:
            bounds.append(f"< {_num(self.lt)}")
        if self.le is not None:
            bounds.append(f"<= {_num(self.le)}")
        return word + (" " + " and ".join(bounds) if bounds else "")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def did_you_mean(word: str, options) -> str:
    close = difflib.get_close_matches(word, list(options), n=5, cutoff=0.6)
    if not close:
        return ""
    best = min(close, key=lambda c: _edits(word, c))   # 'adma' -> 'adam' (a swap), not 'adamax'
    return f" (did you mean {best!r}?)"


def _edits(a: str, b: str) -> int:
    """Edit distance counting a swap of neighbours as one edit."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, dict):
        return "a table"
    s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _convert_one(f: Field, v: Any) -> tuple[Any, str | None]:
    """Converts one (non-sweep) value; returns (value, error text)."""
    t = f.type
    if t == "any":
        return v, None
    if t == "number":
        if not _is_number(v):
            return None, f"expected {f.expected()}, got {_show(v)}"
        v = float(v)
        if not math.isfinite(v):
            return None, f"expected {f.expected()} (finite), got {v}"
        return _bounds(f, v)
    if t == "int":
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not isinstance(v, int) or isinstance(v, bool):
            return None, f"expected {f.expected()}, got {_show(v)}"
        return _bounds(f, v)
    if t == "bool":
        if not isinstance(v, bool):
            return None, f"expected true or false, got {_show(v)}"
        return v, None
    if t in ("str", "path"):
        if not isinstance(v, str):
            return None, f"expected {f.expected()}, got {_show(v)}"
        if f.choices and v not in f.choices:
            return None, f"expected {f.expected()}, got {v!r}" + did_you_mean(v, f.choices)
        return v, None
    if t in ("numbers", "ints", "strs"):
        if not isinstance(v, list):
            return None, _not_a_list(f, v)
        if f.length is not None and len(v) != f.length:
            return None, f"expected {f.expected()}, got {len(v)} value(s)"
        if f.min_length is not None and len(v) < f.min_length:
            return None, f"expected at least {f.min_length} value(s), got {len(v)}"
        inner = _item_field(f)
        out = []
        for i, item in enumerate(v):
            x, err = _convert_one(inner, item)
            if err:
                return None, f"item {i}: {err}"
            out.append(x)
        return tuple(out), None
    if t == "table":
        if not isinstance(v, dict):
            return None, f"expected a table, got {_show(v)}"
        return v, None
    raise ValueError(f"unknown field type {t}")


def _not_a_list(f: Field, v: Any) -> str:
    """A single value where a list is expected: says so, with the list it probably meant."""
    words = f"a list of {f.length} " if f.length is not None else "a list of "
    words += _TYPE_WORDS[f.type].split(" of ")[-1]
    if isinstance(v, str):
        got, example = f'the string "{v}"', f'["{v}"]'
    elif _is_number(v):
        got, example = f"the number {_show(v)}", f"[{_show(v)}]"
    else:
        return f"expected {f.expected()}, got {_show(v)}"
    fits = f.length in (None, 1) and _convert_one(_item_field(f), v)[1] is None
    return f"expected {words} like {example}, got {got}" if fits else f"expected {f.expected()}, got {got}"


def _item_field(f: Field) -> Field:
    """The Field of one item of a list-typed Field."""
    return Field({"numbers": "number", "ints": "int", "strs": "str"}[f.type], gt=f.gt, ge=f.ge, lt=f.lt, le=f.le,
                 choices=f.choices)


def _bounds(f: Field, v: float) -> tuple[Any, str | None]:
    bad = ((f.gt is not None and not v > f.gt) or (f.ge is not None and not v >= f.ge)
           or (f.lt is not None and not v < f.lt) or (f.le is not None and not v <= f.le))
    if bad:
        return None, f"expected {f.expected()}, got {_num(v) if isinstance(v, float) else v}"
    if f.choices and v not in f.choices:
        return None, f"expected {f.expected()}, got {v}"
    return v, None


def _expand_tune(v: dict) -> tuple[tuple | None, str | None]:
    import numpy as np

    keys = ("tune", "num", "score")
    unknown = [k for k in v if k not in keys]
    if unknown:
        return None, f"unknown tune key {unknown[0]!r}" + did_you_mean(unknown[0], keys)
    lohi, num, score = v["tune"], v.get("num", 64), v.get("score", "final_loss")
    if not (isinstance(lohi, list) and len(lohi) == 2 and all(_is_number(x) for x in lohi)
            and 0 < lohi[0] < lohi[1]):
        return None, f"tune expects [lo, hi] with 0 < lo < hi (searched on a log scale), got {_show(lohi)}"
    if not isinstance(num, int) or isinstance(num, bool) or not 2 <= num <= MAX_SWEEP_VALUES:
        return None, f"tune 'num' must be an integer from 2 to {MAX_SWEEP_VALUES}, got {_show(num)}"
    if score not in SCORES:
        return None, (f"tune 'score' must be one of {', '.join(map(repr, SCORES))}, got {_show(score)}"
                      + did_you_mean(str(score), SCORES))
    return tuple(float(x) for x in np.geomspace(lohi[0], lohi[1], num)), None


def _is_range(v: Any) -> bool:
    return isinstance(v, dict) and ("from" in v or "to" in v or "num" in v)


def _expand_range(v: dict, f: Field) -> tuple[tuple | None, str | None]:
    import numpy as np

    unknown = [k for k in v if k not in ("from", "to", "num", "scale")]
    if unknown:
        return None, f"unknown range key {unknown[0]!r}" + did_you_mean(unknown[0], ("from", "to", "num", "scale"))
    for k in ("from", "to", "num"):
        if k not in v:
            return None, f"a range needs 'from', 'to' and 'num' (missing {k!r})"
    lo, hi, num, scale = v["from"], v["to"], v["num"], v.get("scale", "linear")
    if not (_is_number(lo) and _is_number(hi)):
        return None, "range 'from' and 'to' must be numbers"
    if not isinstance(num, int) or isinstance(num, bool) or num < 1:
        return None, f"range 'num' must be an integer >= 1, got {_show(num)}"
    if num > MAX_SWEEP_VALUES:
        return None, f"range 'num' = {num} is more than the limit of {MAX_SWEEP_VALUES} values"
    if scale not in ("linear", "log"):
        return None, f"range 'scale' must be 'linear' or 'log', got {_show(scale)}" + did_you_mean(str(scale), ("linear", "log"))
    if scale == "log":
        if lo <= 0 or hi <= 0:
            return None, "a log range needs 'from' and 'to' > 0"
        vals = np.geomspace(lo, hi, num)
    else:
        vals = np.linspace(lo, hi, num)
    vals = [float(x) for x in vals]
    if f.type == "int":
        vals = sorted(set(int(round(x)) for x in vals))
    return tuple(vals), None


def _convert_each(f: Field, values, what: str) -> tuple[tuple | None, str | None]:
    """Every value of an expanded range or tuning list converted for `f`, or the first error."""
    out = []
    for x in values:
        converted, err = _convert_one(f, x)
        if err:
            return None, f"{what} {x:g}: {err}" if isinstance(x, float) else f"{what} {x}: {err}"
        out.append(converted)
    return tuple(out), None


def convert(f: Field, v: Any) -> tuple[Any, str | None]:
    """Converts a value for `f`, expanding lists and ranges into a `Sweep` where allowed."""
    if f.sweep:
        if isinstance(v, dict) and "tune" in v:
            if f.type != "number":
                return None, f"tuning needs a numeric key; expected {f.expected()}"
            vals, err = _expand_tune(v)
            out, err = (None, err) if err else _convert_each(f, vals, "tune value")
            return (None, err) if err else (Tune(out, v.get("score", "final_loss")), None)
        if _is_range(v):
            if f.type not in ("number", "int"):
                return None, f"a range sweep needs a numeric key; expected {f.expected()}"
            vals, err = _expand_range(v, f)
            out, err = (None, err) if err else _convert_each(f, vals, "range value")
            return (None, err) if err else (Sweep(out), None)
        list_valued = f.type in ("numbers", "ints", "strs")
        is_sweep_list = isinstance(v, list) and (
            (not list_valued) or (len(v) > 0 and all(isinstance(x, list) for x in v)))
        if is_sweep_list:
            if len(v) == 0:
                return None, f"an empty list sweeps nothing; expected {f.expected()} or a list of them"
            if len(v) > MAX_SWEEP_VALUES:
                return None, f"{len(v)} values is more than the limit of {MAX_SWEEP_VALUES}"
            out = []
            for i, item in enumerate(v):
                x, err = _convert_one(f, item)
                if err:
                    return None, f"sweep value {i}: {err}"
                if f.check and (msg := f.check(x)):
                    return None, f"sweep value {i}: {msg}"
                out.append(x)
            return (Sweep(tuple(out)) if len(out) > 1 else out[0]), None
    x, err = _convert_one(f, v)
    if err is None and f.check and (msg := f.check(x)):
        return None, msg
    return x, err


def check_table(table: Any, fields: dict[str, Field], path: str, errors: Errors,
                ignore: tuple[str, ...] = ()) -> dict:
    """Checks `table` against `fields`; returns values with defaults filled in.

    `path` is the key path of the table (``optimizer[2]``); problems are reported as
    ``path.key``. Keys in `ignore` are skipped (checked by the caller).
    """
    out: dict[str, Any] = {}
    if not isinstance(table, dict):
        errors.add(path, f"expected a table, got {_show(table)}")
        return out
    for key, value in table.items():
        if key in ignore:
            continue
        if key not in fields:
            errors.add(join(path, key), "unknown key" + did_you_mean(key, list(fields) + list(ignore))
                       + _known(fields, ignore))
            continue
        v, err = convert(fields[key], value)
        if err:
            errors.add(join(path, key), err)
        else:
            out[key] = v
    for key, f in fields.items():
        if key in out:
            continue
        if f.default is REQUIRED:
            if key not in table:
                errors.add(join(path, key), f"missing; expected {f.expected()}")
        else:
            out[key] = f.default     # a bad value is reported; the default stands in so later checks run
    return out


def unknown_name(kind: str, name: Any, options) -> str:
    """The one message for a name that is not among `options`: unknown, did you mean, the choices."""
    return (f"unknown {kind} {name!r}" + did_you_mean(str(name), options)
            + "; expected one of " + ", ".join(map(repr, options)))


def check_name(value: Any, options, kind: str, key: str, errors: Errors) -> str | None:
    """A name out of `options` (a problem, optimizer, schedule or view type); a missing one, a value that is
    not a string (a list or a table where the name goes) or an unknown one is reported at `key`."""
    if value is None:
        errors.add(key, "missing; expected one of " + ", ".join(map(repr, options)))
    elif not isinstance(value, str):
        errors.add(key, f"expected the name of a {kind} (a string), got {_show(value)}; expected one of "
                   + ", ".join(map(repr, options)))
    elif value not in options:
        errors.add(key, unknown_name(kind, value, options))
    else:
        return value
    return None


def _known(fields: dict, ignore: tuple) -> str:
    names = sorted(set(fields) | set(ignore))
    if len(names) > 24:
        return ""
    return "; known keys: " + ", ".join(names)


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key
