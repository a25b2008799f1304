"""`type = "torch"`: an installed optimizer class run as it is, one instance per run.

`class = "torch.optim.Rprop"` (or a class of pytorch_optimizer, schedulefree or lion_pytorch) and its
constructor keys in `args = {...}`. Only subclasses of torch.optim.Optimizer found in those packages are
accepted, and nothing else is imported. Each run owns an instance with one parameter tensor (the run's
parameter vector); every update copies the run's point and gradient in, sets the param groups' `lr` to
the scheduled rate (as torch's schedulers do), calls `step()` (with a closure when the class requires
one, e.g. LBFGS: its evaluations go through the simulator, batched over runs) and reads the new point
back. A Python loop over runs per update: slower than the built-in batched rules.
"""
from __future__ import annotations

import importlib
import inspect

import torch

from .base import Ctx, Transform

MODULES = ("torch.optim", "pytorch_optimizer", "schedulefree", "lion_pytorch")


def resolve(name) -> tuple[type | None, str | None]:
    """The optimizer class a `class` string names, or (None, what is wrong)."""
    if not isinstance(name, str) or "." not in name:
        return None, f"expected a class name such as \"torch.optim.Rprop\", got {name!r}"
    mod_name, _, cls_name = name.rpartition(".")
    root = mod_name.split(".")[0]
    if not any(mod_name == m or mod_name.startswith(m + ".") for m in MODULES):
        return None, (f"{name!r}: only optimizer classes of {', '.join(MODULES)} are accepted "
                      "(nothing else is imported)")
    if root == "torch" and not (mod_name == "torch.optim" or mod_name.startswith("torch.optim.")):
        return None, f"{name!r}: only torch.optim classes of torch"
    try:
        mod = importlib.import_module(mod_name)
    except ImportError:
        return None, f"{name!r}: the package '{root}' is not installed"
    cls = getattr(mod, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        found = "" if cls is not None else f"; {mod_name} has no {cls_name!r}"
        return None, f"{name!r} is not a subclass of torch.optim.Optimizer{found}"
    return cls, None


def _needs_closure(cls) -> bool:
    step = inspect.signature(cls.step).parameters.get("closure")
    return step is not None and step.default is inspect.Parameter.empty


def check(values) -> list[tuple[str, str]]:
    cls, err = resolve(values.get("class"))
    if err:
        return [("class", err)]
    args = values.get("args") or {}
    sig = inspect.signature(cls.__init__).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.values())
    errs = []
    for k in args:
        if k in ("params", "lr"):
            errs.append((f"args.{k}", "give lr on the entry (it may be swept and scheduled)" if k == "lr"
                         else "the parameters are the run's; not an argument"))
        elif k not in sig and not takes_any:
            from ..spec import did_you_mean
            errs.append((f"args.{k}", f"{cls.__name__} takes no argument {k!r}"
                         + did_you_mean(k, [p for p in sig if p not in ("self", "params")])))
    return errs


def _arg(v):
    return tuple(_arg(x) for x in v) if isinstance(v, list) else v


def torch_class(hp) -> Transform:
    cls, err = resolve(hp["class"])
    if err:
        raise ValueError(err)
    args = {k: _arg(v) for k, v in (hp.get("args") or {}).items()}
    closure_needed = _needs_closure(cls)

    def init(p):
        opts, ps = [], []
        for r in range(p.shape[0]):
            q = p[r].detach().clone().requires_grad_(True)
            lr0 = float(hp["lr"][r, 0]) if torch.is_tensor(hp["lr"]) else float(hp["lr"])
            o = cls([q], lr=lr0, **args)
            if callable(getattr(o, "train", None)):
                o.train()                        # schedulefree: steps happen in train mode
            opts.append(o)
            ps.append(q)
        return opts, ps

    def update(g, state, ctx: Ctx):
        opts, ps = state
        x, lr = ctx.params, ctx.lr
        x1 = torch.empty_like(x)
        evals = torch.ones(x.shape[0], dtype=torch.long)
        for r, (o, q) in enumerate(zip(opts, ps)):
            with torch.no_grad():
                q.copy_(x[r])
            q.grad = g[r].detach().clone()
            for group in o.param_groups:
                group["lr"] = float(lr[r, 0])
            if closure_needed:
                calls = [0]

                def closure(q=q, r=r, calls=calls):
                    calls[0] += 1
                    if calls[0] == 1:                 # the current point: the simulator's loss and gradient
                        q.grad = g[r].detach().clone()
                        return ctx.loss[r]
                    L, G = ctx.evaluate(q.detach()[None].clone(), torch.tensor([r], device=x.device))
                    q.grad = G[0].detach().clone()
                    return L[0]

                o.step(closure)
                evals[r] = calls[0]
            else:
                o.step()
            x1[r] = q.detach()
        if ctx.record is not None:
            ctx.record["next"] = x1
            if closure_needed:
                ctx.record["evals"] = evals
        d = x - x1
        return torch.where(lr > 0, d / lr, torch.zeros_like(d)), state

    return Transform(init, update)
