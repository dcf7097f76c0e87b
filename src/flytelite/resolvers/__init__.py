"""Resolvers: how the container finds the task object again from the loader args it was given.

Every resolver implements :class:`~flytelite.resolvers.base.Resolver`; ``--resolver`` names one by
dotted path (``package.module.attribute``). Without it the module resolver is used
(``task-module <module> task-name <attribute>``). The three here: ``module``, ``map_task`` and
``notebook``.
"""

from __future__ import annotations

from .base import DEFAULT_RESOLVER, Resolver, load_resolver

__all__ = ["DEFAULT_RESOLVER", "Resolver", "load_resolver"]
