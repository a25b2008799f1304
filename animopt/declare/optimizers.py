"""The optimizers a scene may name (`[[optimizer]] type = ...`): keys, checks and docs, without torch. Each
names its builder, a chain of transforms (animopt/optim/rules.py), by a dotted path.

Keys, defaults and bounds are torch.optim's constructor arguments (`betas` is a pair; sweep it with a
list of pairs). `sgd` adds `momentum_style`: "torch" (torch.optim.SGD), "ema" (the textbook moving
average of the seeds) or "keras" (Keras' velocity form).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

from ..spec import REQUIRED, Field, Sweep
from . import lookup

R = "animopt.optim.rules."          # the builders' module (torch)


@dataclass(frozen=True)
class OptimizerDef:
    """One `[[optimizer]] type = ...`: its keys and the dotted path of its batched rule's builder.

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
    builder: str
    check: Callable[[dict[str, Any]], list[tuple[str, str]]] = field(default=lambda values: [])
    needs_positive_lr: Callable[[dict[str, Any]], bool] = field(default=lambda values: False)
    doc: str = ""                       # one line for the scene reference: the reference implementation, caveats
    twin: str | None = None             # torch.optim class it equals (compare = "torch"), e.g. "SGD"
    records: bool = False               # the rule reads Ctx.loss / Ctx.evaluate and writes Ctx.record
    #                                     ("next", "evals", "iterate"): the simulator gives them every update

    def build(self, hp: dict[str, Any]):
        """The rule's Transform (imports the torch code on first use)."""
        return lookup(self.builder)(hp)

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

def _fields(lr: float, **more) -> dict[str, Field]:
    return {"lr": _lr(lr), **more, "maximize": MAXIMIZE}


ADAM_FIELDS = _fields(1e-3, betas=_betas(), eps=EPS, weight_decay=WD,
                      amsgrad=_flag("use the running maximum of the second moment"),
                      decoupled_weight_decay=DECOUPLED)

OPTIMIZERS: dict[str, OptimizerDef] = {o.name: o for o in (
    OptimizerDef("sgd", "SGD", SGD_FIELDS, R + "sgd", _sgd_check, lambda v: v["momentum_style"] == "keras"),
    OptimizerDef("rmsprop", "RMSprop", _fields(
        1e-2, alpha=_num(0.99, ge=0, le=1, doc="decay of the squared-gradient average"), eps=EPS,
        weight_decay=WD, momentum=_num(0.0, ge=0, lt=1, doc="buf = momentum*buf + g / denominator; the step is buf"),
        centered=_flag("divide by the gradient's estimated variance instead of its second moment")),
        R + "rmsprop"),
    OptimizerDef("adam", "Adam", ADAM_FIELDS, R + "adam"),
    OptimizerDef("adamw", "AdamW", _fields(
        1e-3, betas=_betas(), eps=EPS, weight_decay=_num(1e-2, ge=0, doc="decoupled: params *= 1 - lr*wd"),
        amsgrad=_flag("use the running maximum of the second moment")), R + "adamw"),
    OptimizerDef("adagrad", "Adagrad", _fields(
        1e-2, lr_decay=_num(0.0, ge=0, doc="lr / (1 + (t-1)*lr_decay)"), weight_decay=WD,
        initial_accumulator_value=_num(0.0, ge=0, doc="starting value of the sum of squared gradients"),
        eps=_num(1e-10, gt=0, doc="added to the denominator")),
        R + "adagrad"),
    OptimizerDef("adadelta", "Adadelta", _fields(
        1.0, rho=_num(0.9, ge=0, le=1, doc="decay of the squared-gradient and squared-step averages"),
        eps=_num(1e-6, gt=0, doc="added inside both square roots"), weight_decay=WD),
        R + "adadelta"),
    OptimizerDef("adamax", "Adamax", _fields(2e-3, betas=_betas(), eps=EPS, weight_decay=WD),
                 R + "adamax"),
    OptimizerDef("nadam", "NAdam", _fields(
        2e-3, betas=_betas(), eps=EPS, weight_decay=WD, momentum_decay=_num(4e-3, ge=0, doc="psi in mu_t = beta1*(1 - 0.5*0.96^(t*psi))"),
        decoupled_weight_decay=DECOUPLED), R + "nadam"),
    OptimizerDef("radam", "RAdam", _fields(
        1e-3, betas=_betas(), eps=EPS, weight_decay=WD, decoupled_weight_decay=DECOUPLED),
        R + "radam"),
)}


# --- the rest of torch.optim's dense optimizers, and newer rules (animopt/optim/zoo.py, lbfgs.py) ---

NS = (3.4445, -4.7750, 2.0315)          # torch.optim.Muon's Newton-Schulz coefficients


def _on(doc="") -> Field:
    return Field("bool", default=True, doc=doc)


def _pair(default, doc, **kw) -> Field:
    return Field("numbers", default=default, length=len(default), sweep=True, doc=doc, **kw)


def _int(default, doc="", **kw) -> Field:
    return Field("int", default=default, doc=doc, **kw)


def _pos_lr(values) -> bool:
    return True


def _rprop_check(v):
    errs = []
    for lo, hi in values(v["etas"]):
        if not 0 < lo < 1 < hi:
            errs.append(("etas", f"expected 0 < etaminus < 1 < etaplus, got [{lo:g}, {hi:g}]"))
    for lo, hi in values(v["step_sizes"]):
        if not 0 <= lo <= hi:
            errs.append(("step_sizes", f"expected 0 <= min <= max, got [{lo:g}, {hi:g}]"))
    return errs


WD_DECOUPLE = _on("decoupled weight decay (params *= 1 - lr*wd) instead of adding wd*params to the gradient")
FIXED_DECAY = _flag("decoupled decay params *= 1 - wd, not scaled by the learning rate")

SF_FIELDS = {
    "weight_decay": _num(0.0, ge=0, doc="wd * y added to the gradient"),
    "warmup_steps": _int(0, ge=0, doc="linear warmup of the rate over this many updates"),
    "r": _num(0.0, ge=0, doc="averaging weight grows as (k+1)^r"),
    "weight_lr_power": _num(2.0, ge=0, doc="averaging weight grows as lr_max^weight_lr_power"),
}

MUON_FIELDS = {
    "lr": _lr(1e-3),
    "weight_decay": _num(0.1, ge=0, doc="decoupled, on the matrices: params *= 1 - lr*wd"),
    "momentum": _num(0.95, ge=0, lt=1, doc="buf = lerp(buf, g, 1 - momentum)"),
    "nesterov": _on("orthogonalise lerp(g, buf, momentum) instead of buf"),
    "ns_coefficients": Field("numbers", default=NS, length=3, doc="(a, b, c) of the Newton-Schulz polynomial"),
    "eps": _num(1e-7, gt=0, doc="the matrix is divided by max(norm, eps)"),
    "ns_steps": _int(5, ge=1, lt=100, doc="Newton-Schulz iterations (in bfloat16, as torch)"),
    "adjust_lr_fn": Field("str", default="original", choices=("original", "match_rms_adamw"),
                          doc='"original": lr * sqrt(max(1, rows/cols)); "match_rms_adamw": 0.2 * lr * sqrt(max(rows, cols))'),
    "fallback": Field("str", default="adamw", choices=("adamw",),
                      doc="the optimizer of every parameter that is not in a weight matrix (biases)"),
    "fallback_lr": _num(1e-3, gt=0, doc="its learning rate (a schedule scales it as it scales lr)"),
    "fallback_betas": _pair((0.9, 0.999), "its [beta1, beta2]", ge=0, lt=1),
    "fallback_eps": _num(1e-8, gt=0, doc="its eps"),
    "fallback_weight_decay": _num(1e-2, ge=0, doc="its decoupled weight decay"),
}


ZOO = (
    OptimizerDef("rprop", "Rprop", _fields(
        1e-2, etas=_pair((0.5, 1.2), "[etaminus, etaplus]: step-size factors after a sign flip / no flip"),
        step_sizes=_pair((1e-6, 50.0), "[min, max] step size", ge=0)),
        R + "rprop", _rprop_check, _pos_lr,
        doc="torch.optim.Rprop; lr is the first step size (a schedule changes nothing after the first update)",
        twin="Rprop"),
    OptimizerDef("asgd", "ASGD", _fields(
        1e-2, lambd=_num(1e-4, ge=0, doc="decay term"), alpha=_num(0.75, doc="power of the eta update"),
        t0=_num(1e6, ge=0, doc="update at which averaging starts"), weight_decay=WD),
        R + "asgd",
        needs_positive_lr=_pos_lr,
        doc="torch.optim.ASGD; its average (ax) is recorded as the History's `iterate`", twin="ASGD"),
    OptimizerDef("adafactor", "Adafactor", _fields(
        1e-2, beta2_decay=_num(-0.8, le=0, doc="1 - beta2_t = t^beta2_decay"),
        eps=Field("numbers", length=2, ge=0, doc="[eps1, eps2]; default [machine epsilon of the dtype, 1e-3] "
                                                 "(torch's (None, 1e-3))"),
        d=_num(1.0, ge=1, doc="clipping threshold of the update's rms"),
        weight_decay=_num(0.0, ge=0, doc="decoupled: params *= 1 - lr*wd")),
        R + "adafactor",
        doc="torch.optim.Adafactor, the parameters as one vector (unfactored second moment)", twin="Adafactor"),
    OptimizerDef("lbfgs", "L-BFGS", {
        "lr": _lr(1.0),
        "max_iter": _int(20, ge=1, doc="iterations per update (one update = one step() of torch's LBFGS)"),
        "max_eval": _int(None, ge=1, doc="function evaluations per update (default: max_iter * 5 // 4)"),
        "tolerance_grad": _num(1e-7, ge=0, doc="stop when max |g| is at most this"),
        "tolerance_change": _num(1e-9, ge=0, doc="stop when the step or the loss changes less"),
        "history_size": _int(100, ge=1, doc="updates kept for the inverse-Hessian estimate"),
        "line_search_fn": Field("str", default="none", choices=("none", "strong_wolfe"),
                                doc="torch's None (fixed step lr) or \"strong_wolfe\""),
    }, "animopt.optim.lbfgs.lbfgs", needs_positive_lr=_pos_lr,
        doc="torch.optim.LBFGS: each update is one step() (several evaluations of the loss on the update's "
            "minibatch, recorded as the History's `evals`; grad_noise reaches only the first)", twin="LBFGS"),
    OptimizerDef("muon", "Muon", MUON_FIELDS, R + "muon",
                 doc="torch.optim.Muon on the problem's weight matrices (W of `linear` and `classifier`, inputs x "
                     "outputs), torch.optim.AdamW with the fallback_* keys on the other parameters (biases); a problem "
                     "without matrices is an error"),
    OptimizerDef("lion", "Lion", {
        "lr": _lr(1e-4),
        "betas": _pair((0.9, 0.99), "[beta1, beta2]: interpolation of the sign's input, decay of the momentum", ge=0, le=1),
        "weight_decay": _num(0.0, ge=0, doc="decoupled: params *= 1 - lr*wd"),
        "decoupled_weight_decay": _flag("divide weight_decay by the initial lr"),
    }, R + "lion", doc="lion-pytorch's Lion: the sign of an interpolated momentum"),
    OptimizerDef("adabelief", "AdaBelief", {
        "lr": _lr(1e-3), "betas": _betas(), "weight_decay": _num(0.0, ge=0, doc="weight decay"),
        "weight_decouple": WD_DECOUPLE, "fixed_decay": FIXED_DECAY,
        "rectify": _flag("RAdam's rectification"),
        "n_sma_threshold": _int(5, ge=0, doc="rectify: adaptive steps once the SMA length reaches this"),
        "degenerated_to_sgd": _on("rectify: momentum SGD steps before the threshold (else none)"),
        "ams_bound": _flag("use the running maximum of the second moment"),
        "eps": _num(1e-16, ge=0, doc="added to the variance each step and to the denominator"),
        "maximize": MAXIMIZE,
    }, "animopt.optim.zoo.adabelief", doc="pytorch-optimizer's AdaBelief: Adam over the gradient's deviation from its mean"),
    OptimizerDef("lamb", "LAMB", {
        "lr": _lr(1e-3), "betas": _betas(), "weight_decay": _num(0.0, ge=0, doc="weight decay"),
        "weight_decouple": WD_DECOUPLE, "fixed_decay": FIXED_DECAY,
        "grad_averaging": _on("m = b1*m + (1-b1)*g (else + g)"),
        "adam": _flag("no trust ratio (plain Adam-style step)"),
        "eps": _num(1e-6, ge=0, doc="added to the denominator and the update's norm"),
        "maximize": MAXIMIZE,
    }, "animopt.optim.zoo.lamb", doc="pytorch-optimizer's Lamb; the trust ratio over the run's whole parameter vector "
                                   "(its rectify and pre_norm options are not offered)"),
    OptimizerDef("yogi", "Yogi", {
        "lr": _lr(1e-2), "betas": _betas(),
        "initial_accumulator": _num(1e-6, doc="starting value of both moments"),
        "weight_decay": _num(0.0, ge=0, doc="weight decay"),
        "weight_decouple": WD_DECOUPLE, "fixed_decay": FIXED_DECAY,
        "eps": _num(1e-3, ge=0, doc="added to the denominator"), "maximize": MAXIMIZE,
    }, "animopt.optim.zoo.yogi", doc="pytorch-optimizer's Yogi: an additive second-moment update"),
    OptimizerDef("ademamix", "AdEMAMix", {
        "lr": _lr(1e-3),
        "betas": _pair((0.9, 0.999, 0.9999), "[beta1, beta2, beta3]: fast EMA, second moment, slow EMA", ge=0, lt=1),
        "weight_decay": _num(0.0, ge=0, doc="weight decay"),
        "weight_decouple": _flag("decoupled weight decay (params *= 1 - lr*wd) instead of L2"),
        "fixed_decay": FIXED_DECAY,
        "alpha": _num(5.0, ge=0, doc="weight of the slow EMA"),
        "t_alpha_beta3": _num(None, gt=0, doc="updates over which alpha and beta3 warm up (default: none)"),
        "eps": _num(1e-8, ge=0, doc="added to the denominator"), "maximize": MAXIMIZE,
    }, "animopt.optim.zoo.ademamix", doc="pytorch-optimizer's AdEMAMix: Adam plus a slow gradient EMA"),
    OptimizerDef("prodigy", "Prodigy", {
        "lr": _lr(1.0), "betas": _betas(),
        "beta3": _num(None, ge=0, le=1, doc="decay of the d estimate's sums (default: sqrt(beta2))"),
        "d0": _num(1e-6, gt=0, doc="initial distance estimate"),
        "d_coef": _num(1.0, gt=0, doc="multiplies the estimate"),
        "growth_rate": _num(float("inf"), gt=0, doc="d grows at most by this factor per update"),
        "weight_decay": _num(0.0, ge=0, doc="weight decay (pytorch-optimizer applies the coupled form after the "
                                          "moments, where it has no effect)"),
        "weight_decouple": WD_DECOUPLE, "fixed_decay": FIXED_DECAY,
        "bias_correction": _flag("Adam's bias correction in the rate"),
        "safeguard_warmup": _flag("use d instead of d*lr in the s sum"),
        "eps": _num(1e-8, gt=0, doc="d*eps added to the denominator"), "maximize": MAXIMIZE,
    }, "animopt.optim.zoo.prodigy", doc="pytorch-optimizer's Prodigy, one parameter group per run: the step size d "
                                     "is learned; lr multiplies it"),
    OptimizerDef("schedule_free_sgd", "Schedule-Free SGD (evaluated y)", {
        "lr": _lr(1.0), "momentum": _num(0.9, gt=0, lt=1, doc="interpolation y = lerp(z, x, momentum)"),
        **SF_FIELDS,
    }, R + "schedule_free_sgd",
        doc="schedulefree's SGDScheduleFree: the runs step (and are drawn at) the evaluated point y; the "
            "averaged iterate x (what .eval() uses) is recorded as the History's `iterate`"),
    OptimizerDef("schedule_free_adamw", "Schedule-Free AdamW (evaluated y)", {
        "lr": _lr(0.0025), "betas": _betas(), "eps": EPS, **SF_FIELDS,
    }, R + "schedule_free_adamw",
        doc="schedulefree's AdamWScheduleFree: the runs step (and are drawn at) the evaluated point y; the "
            "averaged iterate x is recorded as the History's `iterate`"),
)


def _torch_check(values):
    """The class and its arguments, checked by importing it (torch): only for type = "torch"."""
    return lookup("animopt.optim.external.check")(values)


ZOO += (
    OptimizerDef("torch", "torch", {
        "lr": _lr(1e-3),
        "class": Field("str", default=REQUIRED, doc='the optimizer class: "torch.optim.Rprop", or a class of '
                       "pytorch_optimizer, schedulefree or lion_pytorch (a subclass of torch.optim.Optimizer)"),
        "args": Field("table", default={}, doc="its other constructor keys (`lr` is the entry's, not an arg), "
                      "e.g. { etas = [0.4, 1.3] }"),
    }, "animopt.optim.external.torch_class", _torch_check,
        doc="any installed optimizer class, run as it is: one instance per run and a Python loop over runs each "
            "update, so slower than the batched rules; a class whose step() needs a closure (LBFGS) gets one"),
)
OPTIMIZERS.update({o.name: replace(o, records=True) for o in ZOO})

# compare = "torch": the types with a torch.optim twin also run it (simulator: one "torch" run per run)
TWINS = {"sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW", "adagrad": "Adagrad",
         "adadelta": "Adadelta", "adamax": "Adamax", "nadam": "NAdam", "radam": "RAdam"}
COMPARE = Field("str", default="none", choices=("none", "torch"),
                doc='"torch": also run torch.optim\'s class with the same settings, drawn dashed and labelled '
                    '"(torch.optim)" with the largest difference from this run')


def _with_compare(o: OptimizerDef) -> OptimizerDef:
    twin = o.twin or TWINS.get(o.name)
    if twin is None:
        return o
    check = o.check

    def both(v, check=check):
        errs = check(v)
        if v.get("compare") == "torch" and v.get("momentum_style", "torch") != "torch":
            errs.append(("compare", f'torch.optim.SGD has momentum_style "torch" only, not "{v["momentum_style"]}"'))
        return errs

    return replace(o, twin=twin, fields={**o.fields, "compare": COMPARE}, check=both)


OPTIMIZERS.update({k: _with_compare(o) for k, o in OPTIMIZERS.items()})
