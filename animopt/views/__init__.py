"""Views, drawn with matplotlib (views never import torch): each a View class that animopt/layout.py looks
up by the dotted path its declaration names (animopt/declare/views/: keys, checks and docs)."""
from ..declare.views import VIEWS, ViewDef
from .base import View, ViewCtx

__all__ = ["View", "ViewCtx", "ViewDef", "VIEWS"]
