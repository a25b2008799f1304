"""Each optimizer as a chain of transforms, registered by its scene `type`."""
from __future__ import annotations

from ..spec import REQUIRED, Field
from .base import OptimizerDef, chain
from . import transforms as T

LR = Field("number", default=REQUIRED, gt=0, sweep=True, doc="learning rate")


def _num(default, doc="", **kw):
    return Field("number", default=default, sweep=True, doc=doc, **kw)


def _sgd(hp):
    parts = [T.negate(hp["maximize"]), T.add_decayed_weights(hp["weight_decay"])]
    parts.append(T.trace_torch(hp["momentum"], hp["dampening"], hp["nesterov"]))
    return chain(*parts)


def _sgd_check(v):
    if v["nesterov"] and (v["momentum"] == 0 or v["dampening"] != 0):
        return [("nesterov", "nesterov needs momentum > 0 and dampening = 0")]
    return []


def _adam(hp):
    b1, b2 = hp["betas"]
    return chain(T.negate(hp["maximize"]), T.add_decayed_weights(hp["weight_decay"]),
                 T.scale_by_adam(b1, b2, hp["eps"], hp["amsgrad"]))


OPTIMIZERS: dict[str, OptimizerDef] = {
    "sgd": OptimizerDef("sgd", "SGD", {
        "lr": LR,
        "momentum": _num(0.0, ge=0, lt=1),
        "dampening": _num(0.0, ge=0, le=1),
        "nesterov": Field("bool", default=False),
        "weight_decay": _num(0.0, ge=0),
        "maximize": Field("bool", default=False),
    }, _sgd, _sgd_check),
    "adam": OptimizerDef("adam", "Adam", {
        "lr": LR,
        "betas": Field("numbers", default=(0.9, 0.999), length=2, ge=0, lt=1, sweep=True),
        "eps": _num(1e-8, gt=0),
        "weight_decay": _num(0.0, ge=0),
        "amsgrad": Field("bool", default=False),
        "maximize": Field("bool", default=False),
    }, _adam),
}
