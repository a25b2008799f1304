"""Problems: the torch losses optimizers run on. What a scene may say of them is declared in
animopt/declare/problems/ (PROBLEMS); each declaration names its builder here."""
from ..declare.problems import PROBLEMS, ProblemDef
from .base import BuildCtx, Problem

__all__ = ["BuildCtx", "Problem", "ProblemDef", "PROBLEMS"]
