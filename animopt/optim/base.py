"""Interfaces of the update rules: Optax-style transforms, batched over runs.

Every tensor is `[R, P]` (runs x parameters); every numeric hyperparameter is a `[R, 1]` tensor so each
run has its own value. A transform turns the gradient into an update *direction* `u`; the simulator
applies `params <- params - lr * u`, so `u` is exactly what the History records as `updates`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, NamedTuple

if TYPE_CHECKING:
    from torch import Tensor

State = Any


class Ctx(NamedTuple):
    """What a transform may read besides the gradient: the parameters, the learning rate used by this
    update (`[R, 1]`) and the update index `t` (1 for the first update); the simulator also gives the
    loss, a batched `evaluate` and a `record` dict to write into."""

    params: Tensor
    lr: Tensor
    t: int
    # optional, for rules that need more than the gradient:
    loss: Tensor | None = None                      # [R] loss at `params` (the gradient's minibatch)
    evaluate: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]] | None = None
    # evaluate(points [n, P], rows [n] long): (loss [n], gradient [n, P]) of those runs at other points,
    # on this update's minibatch (L-BFGS line searches)
    record: dict | None = None                      # what a rule reports besides the direction:
    # "evals" [R] function evaluations of this update, "iterate" [R, P] its averaged/eval point,
    # "next" [R, P] the new parameters exactly (x - lr*u up to rounding; the simulator takes them)


class Transform(NamedTuple):
    init: Callable[[Tensor], State]                                  # params [R, P] -> state
    update: Callable[[Tensor, State, Ctx], tuple[Tensor, State]]     # (g, state, ctx) -> (u, state)


def chain(*transforms: Transform) -> Transform:
    """Runs transforms one after the other, each feeding its output to the next."""

    def init(params):
        return tuple(tr.init(params) for tr in transforms)

    def update(g, state, ctx):
        new = []
        for tr, s in zip(transforms, state):
            g, s = tr.update(g, s, ctx)
            new.append(s)
        return g, tuple(new)

    return Transform(init, update)
