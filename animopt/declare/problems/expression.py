"""`expression`: any formula of the parameters, e.g. f = "x**2 + 10*y**2" with params = ["x", "y"].

The text is parsed with Python's `ast` and walked by a small whitelist evaluator: numbers, the parameters, pi
and e, + - * / ** and the functions in ARITY. Nothing is ever passed to eval; anything else is a scene error
naming the offending token and its column. The walk is checked here, on the syntax tree alone; the problem
(animopt/problems/expression.py) computes the same walk with torch operations (`Ops`)."""
from __future__ import annotations

import ast
import keyword
import math
from typing import Any, Callable, NamedTuple

import numpy as np

from ...spec import REQUIRED, Field
from . import Outline, ProblemDef, chunked, finite, loss_only

MAX_LENGTH = 2000        # characters of a formula
MAX_DEPTH = 64           # nesting of operations

ARITY = {   # the functions a formula may call, by their number of arguments
    **dict.fromkeys(("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "log", "log1p",
                     "expm1", "sqrt", "abs", "sign", "sigmoid", "softplus", "relu"), 1),
    **dict.fromkeys(("atan2", "hypot", "min", "max", "pow"), 2),
}
CONSTANTS = {"pi": math.pi, "e": math.e}
BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
UNARY = (ast.USub, ast.UAdd)


class Ops(NamedTuple):
    """What a checked formula is computed with (the problem's are torch operations): a function for each
    name of ARITY, for each operator of BINARY and UNARY, and `const(number)`."""

    functions: dict
    binary: dict
    unary: dict
    const: Callable[[float], Any]


def _nothing(*args):
    return None


CHECK_OPS = Ops(dict.fromkeys(ARITY, _nothing), dict.fromkeys(BINARY, _nothing), dict.fromkeys(UNARY, _nothing),
                _nothing)       # the check alone: every part walked and whitelisted, nothing computed
_SYMBOL = {ast.BitXor: "^", ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|",
           ast.LShift: "<<", ast.RShift: ">>", ast.Not: "not", ast.Invert: "~"}


class ExprError(Exception):
    """A bad formula: `column` is 1-based (within `line` when the text has several lines)."""

    def __init__(self, message: str, column: int | None = None, line: int | None = None, hint: str = ""):
        where = "" if column is None else (f" at column {column}" if not line or line == 1
                                             else f" at line {line}, column {column}")
        super().__init__(message + where + hint)


Evaluator = Callable[[dict], Any]


def compile_expression(text: str, names: tuple[str, ...], ops: Ops = CHECK_OPS) -> Evaluator:
    """A function of {name: value} computing `text` with `ops`, or ExprError naming the first bad token."""
    src, tree = _parse(text)
    walker = _Walker(src, tuple(names), ops)
    fn = walker.walk(tree, 0)
    if walker.problems:
        (line, column), message, hint = min(walker.problems)
        raise ExprError(message, column, line, hint)
    if not walker.used:
        raise ExprError(f"the formula uses none of the parameters ({', '.join(names)})")
    return fn


def _parse(text: str) -> tuple[str, ast.Expression]:
    """The formula on one line and its syntax tree, or ExprError."""
    if not text.strip():
        raise ExprError("the formula is empty")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"the formula has {len(text):,} characters, more than the limit of {MAX_LENGTH:,}")
    src = " ".join(text.strip().splitlines())     # a formula may span lines of a TOML multi-line string
    try:
        return src, ast.parse(src, mode="eval")
    except SyntaxError as e:
        if not e.offset or e.offset < 1:      # python points at nothing: the formula stopped too soon
            raise ExprError(f"syntax error ({e.msg}): the formula ends too soon") from None
        bad = _token_at(src, e.lineno, e.offset)
        raise ExprError(f"syntax error{f' near {bad!r}' if bad else ''}", e.offset, e.lineno,
                        f" ({e.msg})") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExprError("cannot parse the formula (null characters or nesting too deep)") from None


class _Walker:
    """Walks a syntax tree into an evaluator with `ops`, noting each bad token (`problems`: ((line,
    column), message, hint); the earliest is raised) and the parameters used."""

    def __init__(self, src: str, names: tuple[str, ...], ops: Ops):
        self.lines, self.names, self.ops = src.split("\n"), names, ops
        self.used: set[str] = set()
        self.problems: list[tuple[tuple[int, int], str, str]] = []

    def bad(self, message: str, node, offset=None, hint: str = "") -> Evaluator:
        off = node.col_offset if offset is None else offset
        line = self.lines[node.lineno - 1] if 0 < node.lineno <= len(self.lines) else ""
        column = len(line.encode()[:off].decode(errors="ignore")) + 1     # ast gives utf-8 byte offsets
        self.problems.append(((node.lineno, column), message, hint))
        for child in _expressions_under(node):        # report the earliest bad token, wherever it is
            self.walk(child, 0)
        return lambda env: None

    def const(self, v: float) -> Evaluator:
        t = self.ops.const(v)
        return lambda env: t

    def walk(self, node, depth: int) -> Evaluator:
        if depth > MAX_DEPTH:
            raise ExprError(f"the formula is nested more than {MAX_DEPTH} deep")
        if isinstance(node, ast.Expression):
            return self.walk(node.body, depth)
        step = {ast.Constant: self.constant, ast.Name: self.name, ast.BinOp: self.binary, ast.UnaryOp: self.unary,
                ast.Call: self.call}.get(type(node))
        if step is None:
            return self.bad(f"{_describe(node)} is not allowed", node, _node_offset(node))
        return step(node, depth)

    def constant(self, node, depth: int) -> Evaluator:
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return self.bad(f"{v!r} is not a number", node)
        try:
            return self.const(float(v))
        except OverflowError:
            return self.bad("number too large", node)

    def name(self, node, depth: int) -> Evaluator:
        if node.id in self.names:
            self.used.add(node.id)
            return lambda env, k=node.id: env[k]
        if node.id in CONSTANTS:
            return self.const(CONSTANTS[node.id])
        hint = " (a function needs parentheses)" if node.id in ARITY else ""
        return self.bad(f"unknown name {node.id!r}", node, hint=f"{hint}; the parameters are "
                        f"{', '.join(self.names)} and the constants pi, e")

    def binary(self, node, depth: int) -> Evaluator:
        op = self.ops.binary.get(type(node.op))
        if op is None:
            sym = _SYMBOL.get(type(node.op), type(node.op).__name__)
            hint = "; write ** for powers" if sym == "^" else ""
            return self.bad(f"operator {sym!r}", node, _op_offset(node, self.lines),
                            hint=f" is not allowed (use + - * / **){hint}")
        a, b = self.walk(node.left, depth + 1), self.walk(node.right, depth + 1)
        return lambda env: op(a(env), b(env))

    def unary(self, node, depth: int) -> Evaluator:
        op = self.ops.unary.get(type(node.op))
        if op is None:
            return self.bad(f"operator {_SYMBOL.get(type(node.op), type(node.op).__name__)!r} is not allowed", node)
        a = self.walk(node.operand, depth + 1)
        return lambda env: op(a(env))

    def call(self, node, depth: int) -> Evaluator:
        if not isinstance(node.func, ast.Name):
            return self.bad("only the named functions may be called", node, node.func.end_col_offset)
        name = node.func.id
        if name not in ARITY:
            return self.bad(f"unknown function {name!r}", node, hint=f"; known: {', '.join(ARITY)}")
        if node.keywords:
            return self.bad(f"{name}()", node, hint=" takes no keyword arguments")
        arity, fn = ARITY[name], self.ops.functions[name]
        if len(node.args) != arity:
            return self.bad(f"{name}()", node, hint=f" takes {arity} argument{'s' if arity > 1 else ''}, "
                            f"got {len(node.args)}")
        args = [self.walk(a, depth + 1) for a in node.args]
        if arity == 1:
            return lambda env: fn(args[0](env))
        return lambda env: fn(args[0](env), args[1](env))


def _expressions_under(node):
    """The expression nodes just below `node` (through keywords, arguments, comprehensions...)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr):
            yield child
        elif not isinstance(child, (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)):
            yield from _expressions_under(child)


def _describe(node) -> str:
    return {
        ast.Attribute: "'.' (attribute access)", ast.Subscript: "'[' (indexing)", ast.Compare: "a comparison",
        ast.BoolOp: "'and'/'or'", ast.Lambda: "'lambda'", ast.IfExp: "'if ... else'", ast.List: "a list",
        ast.Tuple: "a tuple (a stray comma?)", ast.Dict: "a dict", ast.Set: "a set", ast.JoinedStr: "an f-string",
        ast.NamedExpr: "':='", ast.Starred: "'*'", ast.Await: "'await'", ast.Yield: "'yield'",
        ast.ListComp: "a comprehension", ast.GeneratorExp: "a generator", ast.Slice: "a slice",
    }.get(type(node), type(node).__name__)


def _node_offset(node) -> int:
    if isinstance(node, ast.Attribute) and node.end_col_offset is not None:
        return node.end_col_offset - len(node.attr) - 1
    if isinstance(node, ast.Subscript):
        return node.value.end_col_offset
    if isinstance(node, ast.Compare):
        return node.left.end_col_offset
    return node.col_offset


def _op_offset(node: ast.BinOp, lines) -> int:
    """Byte offset of a binary operator: the first non-space after its left operand."""
    if node.left.end_lineno != node.lineno:
        return node.col_offset
    line = lines[node.lineno - 1].encode()
    i = node.left.end_col_offset
    while i < len(line) and line[i:i + 1] in (b" ", b")", b"\t"):
        i += 1
    return i


def _token_at(text: str, lineno, offset) -> str:
    if not lineno or not offset:
        return ""
    lines = text.split("\n")
    if lineno > len(lines):
        return ""
    rest = lines[lineno - 1][offset - 1:].strip()
    return rest.split()[0][:12] if rest else ""


FIELDS = {
    "f": Field("str", default=REQUIRED, doc='the loss, e.g. "x**2 + 10*y**2" (+ - * / **, sin, exp, log, ...)'),
    "params": Field("strs", default=("x", "y"), min_length=1, doc="the parameter names, in order"),
    "minimum": Field("numbers", doc="the known minimum (drawn on maps)", check=finite),
    "window": Field("any", doc="plotting range, one [lo, hi] per parameter (default: minimum or 0, +-2)"),
}


def _check(v, base_dir):
    names = v["params"]
    for i, n in enumerate(names):
        if not n.isidentifier() or keyword.iskeyword(n):
            return [(f"params[{i}]", f"{n!r} is not a name (letters, digits and _, not starting with a digit)")]
        if n in ARITY or n in CONSTANTS:
            return [(f"params[{i}]", f"{n!r} is a function or constant of formulas; choose another name")]
        if n in names[:i]:
            return [(f"params[{i}]", f"{n!r} is named twice")]
    errs = []
    try:
        compile_expression(v["f"], tuple(names))
    except ExprError as e:
        errs.append(("f", str(e)))
    P = len(names)
    if v.get("minimum") is not None and len(v["minimum"]) != P:
        errs.append(("minimum", f"expected {P} values (one per parameter), got {len(v['minimum'])}"))
    w = v.get("window")
    if w is not None:
        num = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)  # noqa: E731
        ok = isinstance(w, list) and len(w) == P and all(
            isinstance(p, list) and len(p) == 2 and all(num(x) and math.isfinite(x) for x in p) and p[0] < p[1]
            for p in w)
        if not ok:
            errs.append(("window", f"expected {P} pair(s) [lo, hi] with lo < hi, one per parameter"))
    return errs


def window_of(names, minimum, window) -> np.ndarray:
    """[P, 2] plotting range: the one given, else the minimum (or the origin) +-2."""
    if window is not None:
        return np.array(window, dtype=np.float64)
    c = np.array(minimum, dtype=np.float64) if minimum is not None else np.zeros(len(names))
    return np.stack([c - 2.0, c + 2.0], 1)


def start_in(window: np.ndarray) -> tuple[float, ...]:
    """The default start: the lower-left part of the window."""
    lo, hi = window[:, 0], window[:, 1]
    return tuple(float(v) for v in lo + 0.2 * (hi - lo))


def _softplus(a):
    """torch's softplus (beta 1, threshold 20): x itself past 20."""
    return np.where(a > 20, a, np.log1p(np.exp(np.minimum(a, 20))))


NUMPY_FUNCTIONS = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "exp": np.exp, "log": np.log, "log1p": np.log1p,
    "expm1": np.expm1, "sqrt": np.sqrt, "abs": np.abs, "sign": np.sign, "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "softplus": _softplus, "relu": lambda a: np.maximum(a, 0), "atan2": np.arctan2, "hypot": np.hypot,
    "min": np.minimum, "max": np.maximum, "pow": np.power,
}
NUMPY_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
                ast.Pow: np.power}
NUMPY_UNARY = {ast.USub: np.negative, ast.UAdd: lambda a: a}


def _numpy_loss(v, base_dir, seed: int, file: str = "<scene>", dtype: str = "float64"):
    """The formula over numpy arrays (the same walk as the problem's torch one): a cached History's
    contour draws it without torch."""
    names = tuple(v["params"])
    ops = Ops(NUMPY_FUNCTIONS, NUMPY_BINARY, NUMPY_UNARY, lambda c: np.asarray(c, dtype=dtype))
    fn = compile_expression(v["f"], names, ops)

    def loss(params: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            out = fn({k: params[:, i] for i, k in enumerate(names)})
        return np.broadcast_to(out, (len(params),))
    return chunked(loss, dtype)


def _outline(v, base_dir, seed: int, file: str = "<scene>") -> Outline:
    names, minimum = tuple(v["params"]), v.get("minimum")
    return Outline("expression", names, start_in(window_of(names, minimum, v.get("window"))),
                   minimum=None if minimum is None else np.array(minimum, dtype=np.float64),
                   min_loss=None if minimum is None else float("nan"))


EXPRESSION = ProblemDef("expression", FIELDS, "animopt.problems.expression.build", _check,
                        doc="any formula of the parameters, parsed by a whitelist evaluator", outline=_outline,
                        numpy_info=loss_only(_numpy_loss))
