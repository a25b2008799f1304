"""Interfaces of the update rules: Optax-style transforms, batched over runs.

Every tensor is `[R, P]` (runs x parameters); every numeric hyperparameter is a `[R, 1]` tensor so each
run has its own value. A transform turns the gradient into an update *direction* `u`; the simulator
applies `params <- params - lr * u`, so `u` is exactly what the History records as `updates`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

if TYPE_CHECKING:
    from torch import Tensor

from ..spec import Field

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


@dataclass(frozen=True)
class OptimizerDef:
    """One `[[optimizer]] type = ...`: its keys and how to build its batched rule.

    `fields` holds every key but `type`, `label` and `schedule` (and must include `lr`).
    `build(hp)` gets the hyperparameters of a group of runs: numbers as `[R, 1]` tensors, flags and
    strings as plain values, and returns a Transform. `check(values)` returns error texts as
    (key, message) for combinations that are wrong together (nesterov without momentum...); swept keys
    arrive as `Sweep`s. `needs_positive_lr(values)` (one run's plain values) is true where the rule
    divides by the learning rate, so a schedule reaching 0 is an error.
    """

    name: str
    label: str
    fields: dict[str, Field]
    build: Callable[[dict[str, Any]], Transform]
    check: Callable[[dict[str, Any]], list[tuple[str, str]]] = field(default=lambda values: [])
    needs_positive_lr: Callable[[dict[str, Any]], bool] = field(default=lambda values: False)
    doc: str = ""                       # one line for the scene reference: the reference implementation, caveats
    twin: str | None = None             # torch.optim class it equals (compare = "torch"), e.g. "SGD"
    records: bool = False               # the rule reads Ctx.loss / Ctx.evaluate and writes Ctx.record
    #                                     ("next", "evals", "iterate"): the simulator gives them every update


@dataclass(frozen=True)
class ScheduleDef:
    """One `schedule = { type = ... }`: `fn(t, lr, total, **options)` gives the learning rate for the
    update indices `t` (numpy int array, 0 for the first update) from the base `lr` and the run's
    total number of updates. Pure and broadcasting over `t` and `lr` (`[S, 1]` x `[K]` -> `[S, K]`).
    `warmup_target(lr, **options)` is the rate a warmup ramps towards (torch: the param group's
    `initial_lr`), `lr` unless the schedule sets its own."""

    name: str
    fields: dict[str, Field]
    fn: Callable[..., Any]
    warmup_target: Callable[..., Any] = field(default=lambda lr, **options: lr)
    check: Callable[[dict[str, Any]], list[tuple[str, str]]] = field(default=lambda values: [])
