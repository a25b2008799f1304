"""`expression`: any formula of the parameters, e.g. f = "x**2 + 10*y**2" with params = ["x", "y"].

The text is checked and walked by the whitelist evaluator of animopt/declare/problems/expression.py, here
over torch operations."""
from __future__ import annotations

import ast

import numpy as np
import torch
import torch.nn.functional as F

from ..declare.problems.expression import ExprError, Evaluator, Ops, start_in, window_of
from ..declare.problems.expression import compile_expression as check_and_compile
from .base import BuildCtx, Problem

__all__ = ["ExprError", "Expression", "build", "compile_expression"]

TORCH_FUNCTIONS = {
    "sin": torch.sin, "cos": torch.cos, "tan": torch.tan, "asin": torch.asin, "acos": torch.acos, "atan": torch.atan,
    "sinh": torch.sinh, "cosh": torch.cosh, "tanh": torch.tanh, "exp": torch.exp, "log": torch.log,
    "log1p": torch.log1p, "expm1": torch.expm1, "sqrt": torch.sqrt, "abs": torch.abs, "sign": torch.sign,
    "sigmoid": torch.sigmoid, "softplus": F.softplus, "relu": torch.relu,
    "atan2": torch.atan2, "hypot": torch.hypot, "min": torch.minimum, "max": torch.maximum, "pow": torch.pow,
}
TORCH_BINARY = {ast.Add: torch.add, ast.Sub: torch.sub, ast.Mult: torch.mul, ast.Div: torch.div, ast.Pow: torch.pow}
TORCH_UNARY = {ast.USub: torch.neg, ast.UAdd: lambda a: a}


def compile_expression(text: str, names: tuple[str, ...], dtype=torch.float64, device="cpu") -> Evaluator:
    """A function of {name: tensor} computing `text`, or ExprError naming the first bad token."""
    ops = Ops(TORCH_FUNCTIONS, TORCH_BINARY, TORCH_UNARY, lambda v: torch.tensor(v, dtype=dtype, device=device))
    return check_and_compile(text, names, ops)


class Expression(Problem):
    type = "expression"

    def __init__(self, text: str, names: tuple[str, ...], minimum, window, ctx: BuildCtx):
        self.device, self.dtype = ctx.device, ctx.dtype
        self.text = text
        self.param_names = tuple(names)
        self.fn = compile_expression(text, self.param_names, ctx.dtype, ctx.device)
        self.minimum = None if minimum is None else np.array(minimum, dtype=np.float64)
        self.window = window_of(names, minimum, window)
        self.default_init = start_in(self.window)

    def loss(self, params, idx=None, weight=None):
        out = self.fn({k: params[:, i] for i, k in enumerate(self.param_names)})
        return out.expand(len(params)) if out.dim() == 0 else out


def build(v, ctx: BuildCtx) -> Expression:
    return Expression(v["f"], tuple(v["params"]), v.get("minimum"), v.get("window"), ctx)
