"""Total validation: any TOML document made by mutating a bundled scene becomes a Scene or a SceneError
naming the file and a key; nothing else escapes (no TypeError, KeyError, ...).

Mutations: values of every TOML type put anywhere, keys deleted, misspelt, unknown or moved to another
table, and lists or tables where a name goes. Parsing only (checked_plan, which builds the problem,
only where it is cheap). Examples are limited so the file runs in a few seconds."""
from __future__ import annotations

import copy
import datetime as dt
import math
import os
import tomllib
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")          # its home folder is a temporary one (conftest.py)
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from animopt.scene import Scene, parse_scene  # noqa: E402
from animopt.spec import SceneError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCENES = sorted((ROOT / "scenes").glob("*.toml"))
DATA = {p: tomllib.loads(p.read_text()) for p in SCENES}
EXAMPLES = int(os.environ.get("ANIMOPT_FUZZ_EXAMPLES", "400"))      # more to hunt for crashes

# ------------------------------------------------------------------------------------ TOML out

def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_string(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def toml_string(s: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped, the rest as it is."""
    return '"' + "".join(f"\\u{ord(c):04x}" if c in '"\\' or ord(c) < 0x20 or ord(c) == 0x7F else c
                         for c in s) + '"'


def toml_text(doc: dict) -> str:
    """Every top-level key as `key = value` (inline tables and arrays of inline tables)."""
    return "".join(f"{toml_string(k)} = {toml_value(v)}\n" for k, v in doc.items())


# ------------------------------------------------------------------------------------ mutation

def paths(doc, prefix=()):
    """Every key path into `doc` (dict keys and list indices)."""
    out = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in items:
        out.append(prefix + (k,))
        out += paths(v, prefix + (k,))
    return out


def tables(doc, prefix=()):
    out = [prefix] if isinstance(doc, dict) else []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in items:
        out += tables(v, prefix + (k,))
    return out


def at(doc, path):
    for k in path:
        doc = doc[k]
    return doc


NAMES = ["sgd", "adam", "loss", "contour", "line", "cosine", "type", "lr", "fit_line", "grid", ""]
scalars = st.one_of(
    st.integers(min_value=-10**19 // 10, max_value=10**18), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.sampled_from(NAMES), st.text(max_size=6),
    st.dates(), st.times(), st.datetimes(timezones=st.just(dt.timezone.utc)),
    st.sampled_from([0, 1, 2, -1, 0.0, 1e300, 0.5, 10**6, 2**40]))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(NAMES + ["from", "to", "num", "random", "range",
                                                                     "view", "steps", "warmup"]), inner,
                                            max_size=3)),
    max_leaves=6)


def misspell(key: str, i: int) -> str:
    if len(key) > 2 and i % 3 == 0:
        return key[:1] + key[2] + key[1] + key[3:]       # swap
    if i % 3 == 1:
        return key + "s"
    return key[:-1] if len(key) > 1 else key + "x"


@st.composite
def mutated(draw):
    path = draw(st.sampled_from(SCENES))
    doc = copy.deepcopy(DATA[path])
    for _ in range(draw(st.integers(1, 3))):
        ps, ts = paths(doc), tables(doc)
        kind = draw(st.sampled_from(["set", "set", "delete", "misspell", "unknown", "move", "listname"]))
        if not ps:
            break
        p = draw(st.sampled_from(ps))
        parent, key = at(doc, p[:-1]), p[-1]
        if kind == "set":
            parent[key] = draw(values)
        elif kind == "delete":
            del parent[key]
        elif kind == "misspell" and isinstance(key, str):
            parent[misspell(key, draw(st.integers(0, 2)))] = parent.pop(key)
        elif kind == "unknown":
            t = at(doc, draw(st.sampled_from(ts)))
            t[draw(st.sampled_from(["colour", "lr", "stpes", "view", "type", "warmup", "x"]))] = draw(values)
        elif kind == "move" and isinstance(key, str):
            v = parent.pop(key)
            at(doc, draw(st.sampled_from(tables(doc))))[key] = v
        elif kind == "listname":              # a list or a table where a name goes
            names = [q for q in ps if q[-1] == "type" or (len(q) > 1 and q[-2] == "views")]
            if names:
                q = draw(st.sampled_from(names))
                cur = at(doc, q)
                at(doc, q[:-1])[q[-1]] = draw(st.sampled_from([[cur], {"type": cur}, {"a": [cur]}, [[cur]], []]))
    return path, doc


def check_total(path: Path, text: str):
    try:
        scene = parse_scene(text, path)
    except SceneError as e:
        assert e.problems
        for f, key, msg in e.problems:
            assert f == str(path), (f, key, msg)
            assert key, (f, msg)
            assert msg and "\n" not in msg, msg
        return None
    assert isinstance(scene, Scene)
    return scene


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=os.environ.get("ANIMOPT_FUZZ_RANDOM") is None,
          database=None)
@given(mutated())
def test_any_mutation_is_a_scene_or_a_scene_error(case):
    path, doc = case
    check_total(path, toml_text(doc))


CHEAP = [p for p in SCENES if DATA[p].get("problem", {}).get("type") not in ("classifier", "mlp")]


@settings(max_examples=max(1, EXAMPLES // 6), deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=os.environ.get("ANIMOPT_FUZZ_RANDOM") is None, database=None)
@given(mutated().filter(lambda c: c[0] in CHEAP))
def test_checked_plan_of_a_mutation_raises_only_scene_errors(case):
    from animopt.renderer import checked_plan

    path, doc = case
    scene = check_total(path, toml_text(doc))
    if scene is None:
        return
    try:
        checked_plan(scene)
    except SceneError as e:
        assert all(f == str(path) and key for f, key, _ in e.problems), e.problems


@pytest.mark.parametrize("path", SCENES, ids=lambda p: p.stem)
def test_round_trip_of_every_bundled_scene(path):
    """The TOML writer above gives back each scene as it is (so mutations are what changes)."""
    assert tomllib.loads(toml_text(DATA[path])) == DATA[path]
    assert isinstance(check_total(path, toml_text(DATA[path])), Scene)


@pytest.mark.parametrize("text, key", [
    ('[problem]\ntype = ["line"]\n', "problem.type"),
    ('[problem]\ntype = "rosenbrock"\n[train]\nsteps = 3\n[[optimizer]]\ntype = ["sgd"]\nlr = 0.1\n',
     "optimizer[0].type"),
    ('[problem]\ntype = "rosenbrock"\n[train]\nsteps = 3\n[[optimizer]]\ntype = "sgd"\nlr = 0.1\n'
     'schedule = { type = { a = 1 } }\n', "optimizer[0].schedule.type"),
    ('[problem]\ntype = "rosenbrock"\n[train]\nsteps = 3\n[[optimizer]]\ntype = "sgd"\nlr = 0.1\n'
     '[render]\nviews = [{ type = ["loss"] }]\n', "render.views[0].type"),
    ('[problem]\ntype = "rosenbrock"\n[train]\nsteps = 3\n[[optimizer]]\ntype = "sgd"\nlr = 0.1\n'
     '[render]\ntimeline = "Log"\n', "render.timeline"),
])
def test_known_crashes_are_errors(text, key):
    with pytest.raises(SceneError) as e:
        parse_scene(text, "x.toml")
    assert key in [k for _, k, _ in e.value.problems], str(e.value)
