"""The learning-rate schedules a scene may name (`schedule = { type = ... }`): keys, docs, and each as a pure
numpy function of the update index (no torch).

Names, parameters and defaults are those of torch.optim.lr_scheduler; each gives the learning rate that
torch's scheduler, stepped once per update, has set for update `t` (0 for the first). Where torch has
no default for a length (`T_max`, `total_steps`) it is the run's number of updates (after the warmup).
Every function broadcasts: `t` may be `[S, 1]` and `lr` `[K]` to give `[S, K]` for K runs at once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..spec import REQUIRED, Field


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


def _num(default, doc="", **kw) -> Field:
    return Field("number", default=default, sweep=True, doc=doc, **kw)


def _int(default, doc="", **kw) -> Field:
    return Field("int", default=default, sweep=True, doc=doc, **kw)


def constant(t, lr, total):
    return np.broadcast_to(lr, np.broadcast(t, lr).shape) * 1.0


def step(t, lr, total, step_size, gamma):
    """StepLR: lr * gamma^(t // step_size)."""
    return lr * gamma ** (t // step_size)


def multistep(t, lr, total, milestones, gamma):
    """MultiStepLR: lr * gamma^(number of milestones <= t); a repeated milestone counts twice."""
    return lr * gamma ** np.searchsorted(np.sort(np.asarray(milestones)), t, side="right")


def exponential(t, lr, total, gamma):
    """ExponentialLR: lr * gamma^t."""
    return lr * gamma ** t


def cosine(t, lr, total, T_max, eta_min):
    """CosineAnnealingLR: eta_min + (lr - eta_min)(1 + cos(pi t / T_max))/2 (periodic past T_max, as in torch)."""
    T = T_max or total
    return eta_min + (lr - eta_min) * (1 + np.cos(np.pi * t / T)) / 2


def cosine_restarts(t, lr, total, T_0, T_mult, eta_min):
    """CosineAnnealingWarmRestarts (SGDR): cosine over cycles of T_0, T_0*T_mult, ... updates."""
    t = np.asarray(t)
    if T_mult == 1:
        t_cur, t_i = t % T_0, T_0
    else:
        top = int(np.max(t, initial=0))
        starts = [0]
        while starts[-1] <= top:
            starts.append(starts[-1] + T_0 * T_mult ** (len(starts) - 1))
        k = np.searchsorted(np.array(starts), t, side="right") - 1
        t_cur, t_i = t - np.array(starts)[k], T_0 * np.float64(T_mult) ** k
    return eta_min + (lr - eta_min) * (1 + np.cos(np.pi * t_cur / t_i)) / 2


def onecycle(t, lr, total, max_lr, total_steps, pct_start, anneal_strategy, div_factor, final_div_factor,
             three_phase):
    """OneCycleLR (learning rate only, no momentum cycling): from max_lr/div_factor up to max_lr
    (default: the optimizer's lr), then down to max_lr/div_factor/final_div_factor. Past total_steps
    (where torch raises) the last rate is held."""
    top = lr if max_lr is None else max_lr
    n = total_steps or total
    start = top / div_factor
    low = start / final_div_factor
    if three_phase:
        phases = [(float(pct_start * n) - 1, start, top), (float(2 * pct_start * n) - 2, top, start),
                  (n - 1, start, low)]
    else:
        phases = [(float(pct_start * n) - 1, start, top), (n - 1, top, low)]
    t = np.minimum(np.asarray(t, dtype=np.float64), n)
    out = np.zeros(np.broadcast(t, top).shape)
    begin, done = 0.0, np.zeros(np.shape(t), dtype=bool)
    for i, (end, a, b) in enumerate(phases):
        here = ~done & ((t <= end) | (i == len(phases) - 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(end > begin, (t - begin) / (end - begin), 1.0)
        if anneal_strategy == "cos":
            val = b + (a - b) / 2.0 * (np.cos(math.pi * pct) + 1)
        else:
            val = (b - a) * pct + a
        out = np.where(here, val, out)
        done = done | here
        begin = end
    return out


def linear(t, lr, total, start_factor, end_factor, total_iters):
    """LinearLR: the factor goes from start_factor to end_factor over total_iters updates, then stays."""
    return lr * (start_factor + (end_factor - start_factor) * np.minimum(t, total_iters) / total_iters)


def polynomial(t, lr, total, total_iters, power):
    """PolynomialLR: lr * (1 - min(t, total_iters)/total_iters)^power."""
    return lr * (1.0 - np.minimum(t, total_iters) / total_iters) ** power


def inverse_time(t, lr, total, decay):
    """Keras' old `decay`: lr / (1 + decay*t)."""
    return lr * (1.0 / (1.0 + decay * t))


GAMMA = _num(0.1, gt=0, doc="factor applied at each decay")
ETA_MIN = _num(0.0, ge=0, doc="lowest learning rate")

SCHEDULES: dict[str, ScheduleDef] = {s.name: s for s in (
    ScheduleDef("constant", {}, constant),
    ScheduleDef("step", {"step_size": _int(REQUIRED, ge=1, doc="updates between decays"), "gamma": GAMMA}, step),
    ScheduleDef("multistep", {
        "milestones": Field("ints", default=REQUIRED, min_length=1, ge=1, sweep=True,
                            doc="updates at which the rate is multiplied by gamma"),
        "gamma": GAMMA}, multistep),
    ScheduleDef("exponential", {"gamma": _num(REQUIRED, gt=0, doc="factor per update")}, exponential),
    ScheduleDef("cosine", {
        "T_max": _int(None, ge=1, doc="updates of the half cosine (default: the run's updates)"),
        "eta_min": ETA_MIN}, cosine),
    ScheduleDef("cosine_restarts", {
        "T_0": _int(REQUIRED, ge=1, doc="updates of the first cycle"),
        "T_mult": _int(1, ge=1, doc="each cycle is T_mult times longer than the last"),
        "eta_min": ETA_MIN}, cosine_restarts),
    ScheduleDef("onecycle", {
        "max_lr": _num(None, gt=0, doc="peak learning rate (default: the optimizer's lr)"),
        "total_steps": _int(None, ge=1, doc="length of the cycle (default: the run's updates)"),
        "pct_start": _num(0.3, ge=0, le=1, doc="fraction of the cycle spent increasing"),
        "anneal_strategy": Field("str", default="cos", choices=("cos", "linear")),
        "div_factor": _num(25.0, gt=0, doc="starting lr = max_lr / div_factor"),
        "final_div_factor": _num(1e4, gt=0, doc="final lr = starting lr / final_div_factor"),
        "three_phase": Field("bool", default=False, doc="come back down to the starting lr before annealing"),
    }, onecycle, warmup_target=lambda lr, max_lr, div_factor, **_: (lr if max_lr is None else max_lr) / div_factor),
    ScheduleDef("linear", {
        "start_factor": _num(1.0 / 3, gt=0, le=1), "end_factor": _num(1.0, ge=0, le=1),
        "total_iters": _int(5, ge=1, doc="updates of the ramp")}, linear),
    ScheduleDef("polynomial", {
        "total_iters": _int(5, ge=1, doc="updates until the rate reaches 0"),
        "power": _num(1.0, ge=0)}, polynomial),
    ScheduleDef("inverse_time", {"decay": _num(REQUIRED, ge=0, doc="lr / (1 + decay*t)")}, inverse_time),
)}


def lr_table(name: str, options: dict, warmup: dict | None, lr, total: int) -> np.ndarray:
    """The learning rate of each of `total` updates (float64): `[total]` for a number `lr`, `[total, K]`
    for an array of K learning rates.

    A warmup `{steps = n, start_factor = f}` is torch's
    `SequentialLR([LinearLR(start_factor=f, total_iters=n), schedule], milestones=[n])`: updates 0..n-1
    ramp linearly from f*lr towards lr (for `onecycle`, towards its starting rate max_lr/div_factor),
    then the schedule starts from its update 0, with n fewer updates to run.
    """
    lr = np.asarray(lr, dtype=np.float64)
    t = np.arange(total)
    if lr.ndim:
        t = t[:, None]
    sdef = SCHEDULES[name]
    fn = sdef.fn
    if not warmup:
        out = fn(t, lr, total, **options)
    else:
        n, f = warmup["steps"], warmup["start_factor"]
        main = fn(np.maximum(t - n, 0), lr, max(total - n, 1), **options)
        ramp = sdef.warmup_target(lr, **options) * (f + (1 - f) * np.minimum(t, n) / n)
        out = np.where(t < n, ramp, main)
    return np.ascontiguousarray(np.broadcast_to(out, (total,) + lr.shape), dtype=np.float64)
