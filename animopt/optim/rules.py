"""The builders of the update rules (torch): `hp -> Transform`, each named by a dotted path in its
declaration (animopt/declare/optimizers.py). `hp` holds a group of runs' hyperparameters: numbers as
`[R, 1]` tensors, flags and strings as plain values."""
from __future__ import annotations

from . import transforms as T
from . import zoo as Z
from .base import chain


def sgd(hp):
    style = hp["momentum_style"]
    if style == "ema":
        momentum = T.trace_ema(hp["momentum"])
    elif style == "keras":
        momentum = T.trace_keras(hp["momentum"], hp["nesterov"])
    else:
        momentum = T.trace_torch(hp["momentum"], hp["dampening"], hp["nesterov"])
    return chain(T.negate(hp["maximize"]), T.add_decayed_weights(hp["weight_decay"]), momentum)


# --- adaptive methods ----------------------------------------------------------------------------

def _decay(hp, before: bool):
    """The weight-decay transform at its place: before the scaling (L2) or after it (decoupled)."""
    decoupled = hp.get("decoupled_weight_decay", False)
    return T.add_decayed_weights(hp["weight_decay"]) if decoupled != before else T.identity()


def _adaptive(hp, scale):
    return chain(T.negate(hp["maximize"]), _decay(hp, True), scale, _decay(hp, False))


def rmsprop(hp):
    return _adaptive(hp, T.scale_by_rms(hp["alpha"], hp["eps"], hp["centered"], hp["momentum"]))


def adam(hp):
    b1, b2 = hp["betas"]
    return _adaptive(hp, T.scale_by_adam(b1, b2, hp["eps"], hp["amsgrad"]))


def adamw(hp):
    return adam({**hp, "decoupled_weight_decay": True})


def adagrad(hp):
    return _adaptive(hp, T.scale_by_adagrad(hp["lr_decay"], hp["initial_accumulator_value"], hp["eps"]))


def adadelta(hp):
    return _adaptive(hp, T.scale_by_adadelta(hp["rho"], hp["eps"]))


def adamax(hp):
    b1, b2 = hp["betas"]
    return _adaptive(hp, T.scale_by_adamax(b1, b2, hp["eps"]))


def nadam(hp):
    b1, b2 = hp["betas"]
    return _adaptive(hp, T.scale_by_nadam(b1, b2, hp["eps"], hp["momentum_decay"]))


def radam(hp):
    b1, b2 = hp["betas"]
    return _adaptive(hp, T.scale_by_radam(b1, b2, hp["eps"]))


# --- the rest of torch.optim's dense optimizers, and newer rules (zoo.py) ----------------------------

def rprop(hp):
    return Z.rprop(hp["etas"], hp["step_sizes"], hp["maximize"])


def asgd(hp):
    return Z.asgd(hp["lambd"], hp["alpha"], hp["t0"], hp["weight_decay"], hp["maximize"])


def adafactor(hp):
    return Z.adafactor(hp["beta2_decay"], hp["d"], hp["eps"], hp["weight_decay"], hp["maximize"])


def muon(hp):
    return Z.muon(hp, tuple(hp.get("_matrices") or ()))


def lion(hp):
    b1, b2 = hp["betas"]
    return Z.lion(b1, b2, hp["weight_decay"], hp["decoupled_weight_decay"], hp["lr"])


def schedule_free_sgd(hp):
    return Z.schedule_free(hp, adam=False)


def schedule_free_adamw(hp):
    return Z.schedule_free(hp, adam=True)
