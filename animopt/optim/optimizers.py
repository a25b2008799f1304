"""Each optimizer as a chain of transforms, registered by its scene `type`.

Keys, defaults and bounds are torch.optim's constructor arguments (`betas` is a pair; sweep it with a
list of pairs). `sgd` adds `momentum_style`: "torch" (torch.optim.SGD), "ema" (the textbook moving
average of the seeds) or "keras" (Keras' velocity form).
"""
from __future__ import annotations

from typing import Any

from ..spec import Field, Sweep
from . import transforms as T
from .base import OptimizerDef, chain

STYLES = ("torch", "ema", "keras")


def _lr(default: float) -> Field:
    return Field("number", default=default, gt=0, sweep=True, doc="learning rate")


def _num(default, doc="", **kw) -> Field:
    return Field("number", default=default, sweep=True, doc=doc, **kw)


def _flag(doc="") -> Field:
    return Field("bool", default=False, doc=doc)


def _betas() -> Field:
    return Field("numbers", default=(0.9, 0.999), length=2, ge=0, lt=1, sweep=True,
                 doc="[beta1, beta2]: decay of the gradient's mean and of its square")


EPS = _num(1e-8, gt=0, doc="added to the denominator")
WD = _num(0.0, ge=0, doc="L2 penalty: wd * params added to the gradient")
MAXIMIZE = _flag("maximize the loss instead of minimizing it")
DECOUPLED = _flag("decay the weights directly (params *= 1 - lr*wd) instead of adding to the gradient")


def values(v: Any) -> tuple:
    """Every value a key takes in an entry: the swept values, or the one value."""
    return v.values if isinstance(v, Sweep) else (v,)


# --- sgd -----------------------------------------------------------------------------------------

def _sgd(hp):
    style = hp["momentum_style"]
    if style == "ema":
        momentum = T.trace_ema(hp["momentum"])
    elif style == "keras":
        momentum = T.trace_keras(hp["momentum"], hp["nesterov"])
    else:
        momentum = T.trace_torch(hp["momentum"], hp["dampening"], hp["nesterov"])
    return chain(T.negate(hp["maximize"]), T.add_decayed_weights(hp["weight_decay"]), momentum)


def _sgd_check(v):
    errs = []
    style = v["momentum_style"]
    if v["nesterov"]:
        if style == "ema":
            errs.append(("nesterov", "nesterov needs momentum_style \"torch\" or \"keras\", not \"ema\""))
        if any(m == 0 for m in values(v["momentum"])):
            errs.append(("nesterov", "nesterov needs momentum > 0 (every swept value)"))
        if style == "torch" and any(d != 0 for d in values(v["dampening"])):
            errs.append(("nesterov", "nesterov needs dampening = 0"))
    if style != "torch" and any(d != 0 for d in values(v["dampening"])):
        errs.append(("dampening", f"dampening belongs to momentum_style \"torch\"; "
                                  f"\"{style}\" has none (leave it 0)"))
    return errs


SGD_FIELDS = {
    "lr": _lr(1e-3),
    "momentum": _num(0.0, ge=0, lt=1, doc="momentum factor (beta of the moving average with \"ema\")"),
    "dampening": _num(0.0, ge=0, le=1, doc="torch style: buf = m*buf + (1 - dampening)*g"),
    "weight_decay": WD,
    "nesterov": _flag("Nesterov momentum (torch or keras form)"),
    "maximize": MAXIMIZE,
    "momentum_style": Field("str", default="torch", choices=STYLES,
                            doc='"torch": buf = m*buf + g, p -= lr*buf; "ema": avg = m*avg + (1-m)*g from 0, '
                                'p -= lr*avg; "keras": v = m*v - lr*g, p += v'),
}


# --- adaptive methods ----------------------------------------------------------------------------

def _decay(hp, before: bool):
    """The weight-decay transform at its place: before the scaling (L2) or after it (decoupled)."""
    decoupled = hp.get("decoupled_weight_decay", False)
    return T.add_decayed_weights(hp["weight_decay"]) if decoupled != before else T.identity()


def _adaptive(scale):
    def build(hp):
        return chain(T.negate(hp["maximize"]), _decay(hp, True), scale(hp), _decay(hp, False))
    return build


def _adam_scale(hp):
    b1, b2 = hp["betas"]
    return T.scale_by_adam(b1, b2, hp["eps"], hp["amsgrad"])


def _adamax_scale(hp):
    b1, b2 = hp["betas"]
    return T.scale_by_adamax(b1, b2, hp["eps"])


def _nadam_scale(hp):
    b1, b2 = hp["betas"]
    return T.scale_by_nadam(b1, b2, hp["eps"], hp["momentum_decay"])


def _radam_scale(hp):
    b1, b2 = hp["betas"]
    return T.scale_by_radam(b1, b2, hp["eps"])


def _adamw(hp):
    return _adaptive(_adam_scale)({**hp, "decoupled_weight_decay": True})


def _fields(lr: float, **more) -> dict[str, Field]:
    return {"lr": _lr(lr), **more, "maximize": MAXIMIZE}


ADAM_FIELDS = _fields(1e-3, betas=_betas(), eps=EPS, weight_decay=WD,
                      amsgrad=_flag("use the running maximum of the second moment"),
                      decoupled_weight_decay=DECOUPLED)

OPTIMIZERS: dict[str, OptimizerDef] = {o.name: o for o in (
    OptimizerDef("sgd", "SGD", SGD_FIELDS, _sgd, _sgd_check, lambda v: v["momentum_style"] == "keras"),
    OptimizerDef("rmsprop", "RMSprop", _fields(
        1e-2, alpha=_num(0.99, ge=0, le=1, doc="decay of the squared-gradient average"), eps=EPS,
        weight_decay=WD, momentum=_num(0.0, ge=0, lt=1, doc="buf = momentum*buf + g / denominator; the step is buf"),
        centered=_flag("divide by the gradient's estimated variance instead of its second moment")),
        _adaptive(lambda hp: T.scale_by_rms(hp["alpha"], hp["eps"], hp["centered"], hp["momentum"]))),
    OptimizerDef("adam", "Adam", ADAM_FIELDS, _adaptive(_adam_scale)),
    OptimizerDef("adamw", "AdamW", _fields(
        1e-3, betas=_betas(), eps=EPS, weight_decay=_num(1e-2, ge=0, doc="decoupled: params *= 1 - lr*wd"),
        amsgrad=_flag("use the running maximum of the second moment")), _adamw),
    OptimizerDef("adagrad", "Adagrad", _fields(
        1e-2, lr_decay=_num(0.0, ge=0, doc="lr / (1 + (t-1)*lr_decay)"), weight_decay=WD,
        initial_accumulator_value=_num(0.0, ge=0, doc="starting value of the sum of squared gradients"),
        eps=_num(1e-10, gt=0, doc="added to the denominator")),
        _adaptive(lambda hp: T.scale_by_adagrad(hp["lr_decay"], hp["initial_accumulator_value"], hp["eps"]))),
    OptimizerDef("adadelta", "Adadelta", _fields(
        1.0, rho=_num(0.9, ge=0, le=1, doc="decay of the squared-gradient and squared-step averages"),
        eps=_num(1e-6, gt=0, doc="added inside both square roots"), weight_decay=WD),
        _adaptive(lambda hp: T.scale_by_adadelta(hp["rho"], hp["eps"]))),
    OptimizerDef("adamax", "Adamax", _fields(2e-3, betas=_betas(), eps=EPS, weight_decay=WD),
                 _adaptive(_adamax_scale)),
    OptimizerDef("nadam", "NAdam", _fields(
        2e-3, betas=_betas(), eps=EPS, weight_decay=WD, momentum_decay=_num(4e-3, ge=0, doc="psi in mu_t = beta1*(1 - 0.5*0.96^(t*psi))"),
        decoupled_weight_decay=DECOUPLED), _adaptive(_nadam_scale)),
    OptimizerDef("radam", "RAdam", _fields(
        1e-3, betas=_betas(), eps=EPS, weight_decay=WD, decoupled_weight_decay=DECOUPLED),
        _adaptive(_radam_scale)),
)}
