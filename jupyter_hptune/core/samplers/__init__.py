"""Search methods: each proposes the next point from the space and the trials so far, and declares its options."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..options import Option, OptionError, check_options
from .base import Plan, Sampler, ask_batch, check_seed, draw_param, sample_point, trial_rng
from .grid import GRID_LIMIT, GridSampler
from .manual import ManualSampler
from .random import RandomSampler

__all__ = [
    "GRID_LIMIT",
    "METHOD",
    "METHODS",
    "BayesSampler",
    "GPSettings",
    "GridSampler",
    "ManualSampler",
    "Plan",
    "RandomSampler",
    "Sampler",
    "ask_batch",
    "check_method_options",
    "check_seed",
    "draw_param",
    "make_sampler",
    "method_options",
    "sample_point",
    "sampler_class",
    "trial_rng",
]


def _bayes() -> type[Sampler]:
    from .bayes import BayesSampler  # imports scikit-optimize, which the other methods do not need

    return BayesSampler


SAMPLERS: dict[str, Callable[[], type[Sampler]]] = {
    "manual": lambda: ManualSampler,
    "grid": lambda: GridSampler,
    "random": lambda: RandomSampler,
    "bayes": _bayes,
}
"""Each method's sampler class, by the name --method and tune(method=...) take."""

METHODS = tuple(SAMPLERS)

METHOD = Option("method", "search method (default: bayes)", str, choices=METHODS, default="bayes", metavar="METHOD")


def sampler_class(method: str) -> type[Sampler]:
    """The sampler class of a method name, or OptionError naming the methods."""
    METHOD.check(method)
    return SAMPLERS[method]()


def method_options(method: str) -> tuple[Option, ...]:
    """The options a method declares (its sampler class's)."""
    return sampler_class(method).options


def all_method_options() -> dict[str, tuple[Option, ...]]:
    """Each method's options, by method."""
    return {method: method_options(method) for method in SAMPLERS}


def check_method_options(method: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options given for a method, checked; OptionError for an option of another method (or of none)."""
    own = method_options(method)
    for name, value in options.items():
        if value is None or any(option.name == name for option in own):
            continue
        owners = [m for m, declared in all_method_options().items() if any(o.name == name for o in declared)]
        if owners:
            raise OptionError(
                f"{{option}} applies to {{method}} {' or '.join(owners)}, not {method}",
                option=next(o for o in all_method_options()[owners[0]] if o.name == name),
                method=METHOD,
            )
        allowed = ", ".join(o.name for o in own) or "none"
        raise OptionError(
            f"{{option}} is not an option of {{method}} {method} (its options: {allowed})",
            option=Option(name, ""),
            method=METHOD,
        )
    return check_options(options, own)


def make_sampler(method: str, seed: int | None = None, **options: Any) -> Sampler:
    """The sampler for a method name, with that method's options (None values mean the method's default)."""
    make: Callable[..., Sampler] = sampler_class(method)  # each method's constructor takes a seed and its options
    return make(seed=seed, **check_method_options(method, options))


def __getattr__(name: str) -> Any:
    """BayesSampler and GPSettings on first use: they import scikit-optimize, which the other methods do not need."""
    if name in ("BayesSampler", "GPSettings"):
        from . import bayes

        return getattr(bayes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
