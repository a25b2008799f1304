"""Overrides: change a scene's keys without editing its file (`--set optimizer[1].lr=0.05`,
`load_scene(path, overrides={"render.fps": 60})`).

A key path is names joined by dots, each followed by any number of list indices counting from 0:
`render.fps`, `optimizer[0].schedule.T_max`, `render.views[1]`. An override is applied to the parsed
TOML before the scene is checked, so an override is checked like the file's own keys; an error on a
key that an override set names the override too. A missing table on the way is created
(`render.gif.max_mb=2`); a list index must exist.
"""
from __future__ import annotations

import re
import tomllib
from typing import Any, Iterable, Mapping

from .spec import SceneError

_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)((?:\[\d+\])*)")
_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_.:+-]*")


class Override:
    """One override: its key path (parsed), its value and how to name it in an error."""

    def __init__(self, key: str, value: Any, name: str):
        self.key, self.value, self.name = key, value, name
        self.path = parse_key(key, name)

    def __repr__(self) -> str:
        return f"Override({self.key!r}, {self.value!r})"


def parse_key(key: str, name: str) -> list[str | int]:
    """`optimizer[1].lr` -> ["optimizer", 1, "lr"]."""
    out: list[str | int] = []
    for part in key.strip().split("."):
        m = _SEGMENT.fullmatch(part)
        if not m:
            raise SceneError.one(None, name, f"bad key path {key!r}; expected names joined by dots, each with "
                                             "optional list indices counting from 0, like optimizer[1].lr")
        out.append(m.group(1))
        out += [int(i) for i in re.findall(r"\[(\d+)\]", m.group(2))]
    return out


def parse_value(text: str, name: str) -> Any:
    """The value of `--set key=value`, read as TOML (`0.05`, `[640, 360]`, `"dark"`, `{ max_mb = 3 }`,
    `true`); a bare word like `dark` is taken as a string."""
    text = text.strip()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError as e:
        if _BARE.fullmatch(text) and text not in ("true", "false", "inf", "nan"):
            return text
        raise SceneError.one(None, name, f"the value {text!r} is not a TOML value ({e}); "
                                         "quote a string, e.g. 'render.theme=\"dark\"'") from None


def parse_set(text: str) -> Override:
    """`key.path=value` (the --set option) -> Override."""
    name = f"--set {text}"
    if "=" not in text:
        raise SceneError.one(None, name, "expected key.path=value, e.g. --set 'optimizer[1].lr=0.05'")
    key, value = text.split("=", 1)
    return Override(key.strip(), parse_value(value, name), name)


def normalize(overrides: Mapping[str, Any] | Iterable[str] | None) -> list[Override]:
    """A mapping {key path: value (Python)} or strings "key.path=value" (values read as TOML)."""
    if not overrides:
        return []
    if isinstance(overrides, Mapping):
        return [Override(str(k), v, f"override {k}") for k, v in overrides.items()]
    if isinstance(overrides, str):
        overrides = [overrides]
    return [o if isinstance(o, Override) else parse_set(str(o)) for o in overrides]


def _plain(v: Any) -> Any:
    """A Python value as TOML would parse it (tuples as lists)."""
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    return v


def apply(data: dict, overrides: list[Override], file) -> dict:
    """Sets each override in `data` (the parsed TOML, changed in place and returned)."""
    for o in overrides:
        cur: Any = data
        here = ""
        for i, seg in enumerate(o.path):
            last = i == len(o.path) - 1
            if isinstance(seg, int):
                where = here or "the scene"
                if isinstance(cur, dict) and here == "optimizer" and seg == 0 and not last:
                    here = "optimizer[0]"          # a single [optimizer] table is optimizer[0]
                    continue
                if not isinstance(cur, list):
                    raise SceneError.one(file, o.name, f"{where} is not a list, so [{seg}] cannot index it")
                if seg >= len(cur):
                    raise SceneError.one(file, o.name, f"{where} has {len(cur)} entries, so index {seg} is past "
                                                       f"its end (indices count from 0)")
                here = f"{here}[{seg}]"
                if last:
                    cur[seg] = _plain(o.value)
                else:
                    cur = cur[seg]
                continue
            if not isinstance(cur, dict):
                raise SceneError.one(file, o.name, f"{here} is not a table, so it has no key {seg!r}")
            here = f"{here}.{seg}" if here else seg
            if last:
                cur[seg] = _plain(o.value)
            else:
                nxt = o.path[i + 1]
                if seg not in cur:
                    if isinstance(nxt, int):
                        raise SceneError.one(file, o.name, f"the scene has no {here}, so it has no entry [{nxt}]")
                    cur[seg] = {}
                cur = cur[seg]
    return data


def key_text(path: list[str | int]) -> str:
    out = ""
    for seg in path:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else seg)
    return out


def annotate(error: SceneError, overrides: list[Override]) -> SceneError:
    """The same error, each problem on a key an override set (or under it) naming the override."""
    if not overrides:
        return error
    out = []
    for f, k, m in error.problems:
        hit = next((o for o in reversed(overrides)
                    if k == key_text(o.path) or k.startswith(key_text(o.path) + ".")
                    or k.startswith(key_text(o.path) + "[")), None)
        out.append((f, k, f"{m} (from {o_name(hit)})" if hit else m))
    return SceneError(out)


def o_name(o: Override) -> str:
    return o.name


def digest_part(overrides: list[Override]) -> bytes:
    """What the overrides add to a scene's digest (the render cache's key)."""
    import json

    if not overrides:
        return b""
    return json.dumps([[o.key, _plain(o.value)] for o in overrides], sort_keys=True, default=str).encode()
