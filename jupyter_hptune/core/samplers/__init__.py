"""Search methods: each proposes the next point from the space and the trials so far."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..space import SpaceError
from .base import Plan, Sampler, ask_batch, check_seed, sample_point, trial_rng
from .grid import GRID_LIMIT, GridSampler
from .manual import ManualSampler
from .random import RandomSampler

__all__ = [
    "GRID_LIMIT",
    "METHODS",
    "METHOD_OPTIONS",
    "BayesSampler",
    "GPSettings",
    "GridSampler",
    "ManualSampler",
    "Plan",
    "RandomSampler",
    "Sampler",
    "ask_batch",
    "check_seed",
    "make_sampler",
    "sample_point",
    "trial_rng",
]


def _bayes(**options: Any) -> Sampler:
    from .bayes import BayesSampler

    return BayesSampler(**options)


METHODS: dict[str, Callable[..., Sampler]] = {
    "manual": ManualSampler,
    "grid": GridSampler,
    "random": RandomSampler,
    "bayes": _bayes,
}

METHOD_OPTIONS = {"manual": (), "grid": ("grid_points",), "random": (), "bayes": ("acq", "initial_points")}


def make_sampler(method: str, seed: int | None = None, **options: Any) -> Sampler:
    """The sampler for a method name, with that method's options (None values mean the method's default)."""
    if method not in METHODS:
        raise SpaceError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")
    options = {k: v for k, v in options.items() if v is not None}
    unknown = sorted(set(options) - set(METHOD_OPTIONS[method]))
    if unknown:
        allowed = ", ".join(METHOD_OPTIONS[method]) or "none"
        raise SpaceError(f"option {unknown[0]!r} does not apply to method {method!r} (its options: {allowed})")
    return METHODS[method](seed=seed, **options)


def __getattr__(name: str) -> Any:
    """BayesSampler and GPSettings on first use: they import scikit-optimize, which the other methods do not need."""
    if name in ("BayesSampler", "GPSettings"):
        from . import bayes

        return getattr(bayes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
