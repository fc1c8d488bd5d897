"""Search options, each described once (name, type, choices, default, help).

The magic's arguments, the panel's option controls, the checks and their messages, and the %%tune line that
"Save to cell" writes are all made from these descriptions: an option a search method declares appears in each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from numbers import Real as _RealNumber
from typing import Any

import numpy as np

from .errors import StudyError
from .pruners import PRUNERS

__all__ = ["SEARCH_OPTIONS", "SEED", "STOPPING", "Option", "OptionError", "in_panel_words", "option_named"]

SEED_LIMIT = 2**32


class OptionError(StudyError):
    """A search option with a value it cannot take; the message names each option as the caller names options."""

    def __init__(self, template: str, **options: Option) -> None:
        self.template = template  # "{n_trials} must be ..." with a field per option it speaks of
        self.options = options
        super().__init__(self.render(lambda option: option.name))

    def render(self, name_of: Callable[[Option], str]) -> str:
        """The message with each option named by name_of (the magic: its flag; the panel: its label)."""
        return self.template.format_map({key: name_of(option) for key, option in self.options.items()})


@dataclass(frozen=True)
class Option:
    """One option of a search: how it is named, what values it takes, what leaving it out means."""

    name: str  # the keyword, as tune() and the study take it
    help: str
    type: type = int  # int and float: a positive number (a seed: from 0); str: one of the choices; bool: a flag
    choices: tuple[str, ...] = ()
    default: Any = None  # what the option is when left out (None: the method decides, as the help says)
    flag_name: str = ""  # the magic's name when it differs from the keyword (--trials for n_trials)
    label: str = ""  # the panel's name (default: the name with spaces)
    unset: str = ""  # what the panel's empty box shows, when it differs from the default
    metavar: str = "N"
    unit: str = ""  # a float's unit, for its message
    panel: bool = True  # whether the panel has a control for it

    @property
    def flag(self) -> str:
        """The magic's option: --initial-points."""
        return "--" + (self.flag_name or self.name).replace("_", "-")

    @property
    def title(self) -> str:
        """The panel's name for it: initial points."""
        return self.label or self.name.replace("_", " ")

    @property
    def placeholder(self) -> str:
        """What the panel shows in an empty box: what leaving the option out means."""
        return self.unset or ("" if self.default is None else str(self.default))

    def check(self, value: Any) -> Any:
        """The value as a plain Python value, or OptionError saying what is wrong; None (left out) stays None."""
        if value is None:
            return None
        if self.type is bool:
            if not isinstance(value, bool | np.bool_):
                self._refuse(f"must be True or False, got {value!r}")
            return bool(value)
        if self.choices:
            if not isinstance(value, str) or value not in self.choices:
                self._refuse(f"must be one of {', '.join(self.choices)}, got {value!r}")
            return value
        if self.type is float:
            if isinstance(value, bool) or not isinstance(value, _RealNumber) or not float(value) > 0:
                self._refuse(f"must be a positive number{' of ' + self.unit if self.unit else ''}, got {value!r}")
            return float(value)
        whole = not isinstance(value, bool) and isinstance(value, int | np.integer)
        if self.name == "seed":
            if not whole or not 0 <= value < SEED_LIMIT:
                self._refuse(f"must be an integer from 0 to 2**32 - 1, got {value!r}")
        elif not whole or value < 1:
            self._refuse(f"must be a positive integer, got {value!r}")
        return int(value)

    def parse(self, text: str) -> Any:
        """The value a box of the panel holds (blank: left out), checked."""
        text = text.strip()
        if not text:
            return None
        if self.choices:
            return self.check(text)
        if self.type is bool:
            words = {"true": True, "false": False}
            if text.lower() not in words:
                self._refuse(f"must be true or false, got {text!r}")
            return words[text.lower()]
        try:
            value = self.type(text)
        except ValueError:
            kind = "number" if self.type is float else "whole number"
            self._refuse(f"must be a {kind}, got {text!r}")
        return self.check(value)

    def _refuse(self, problem: str) -> None:
        raise OptionError(f"{{option}} {problem}", option=self)


STOPPING = ("prune", "patience", "max_steps")
"""The options that stop trials early, from what they report."""

SEED = Option("seed", "random seed; the same seed gives the same trials", unset="random")

SEARCH_OPTIONS: tuple[Option, ...] = (
    Option(
        "n_trials",
        "number of trials (default: 20; grid: the whole grid; not for manual, which runs one per --point)",
        flag_name="trials",
        label="trials",
        unset="20",
    ),
    Option(
        "timeout", "start no new trial after this many seconds", float, metavar="SECONDS", unit="seconds", panel=False
    ),
    SEED,
    Option(
        "prune",
        "stop unpromising trials early: the median rule, successive halving or Hyperband (default: none)",
        str,
        choices=PRUNERS,
        default="none",
    ),
    Option(
        "patience",
        "stop a trial when its reported value has not improved for N steps; its score is the best step's",
        unset="off",
    ),
    Option(
        "max_steps",
        "the steps (e.g. epochs) a trial runs at most; hp.should_stop() is True from step N (hyperband needs it)",
        unset="none",
    ),
    Option(
        "jobs",
        "run up to N trials at once in worker processes on this machine (a local Dask cluster)",
        panel=False,
    ),
    Option(
        "sync",
        "with --jobs/--cluster: propose the trials in fixed batches, each once the last one has finished, so that "
        "the same seed and number of workers repeat the search exactly (workers wait for each batch's slowest trial)",
        bool,
        panel=False,
    ),
)
"""The options of every search, whatever its method."""


def in_panel_words(error: BaseException) -> str:
    """An error's message, each option named as the panel (and the sidebar) name it: by its label."""
    if isinstance(error, OptionError):
        return error.render(lambda option: option.title)
    return str(error)


def option_named(name: str, options: Iterable[Option] = SEARCH_OPTIONS) -> Option:
    """The option of that name."""
    for option in options:
        if option.name == name:
            return option
    raise KeyError(name)


def check_options(options: Mapping[str, Any], declared: Iterable[Option]) -> dict[str, Any]:
    """Each given option checked against the declared ones; None values (left out) are dropped."""
    known = {option.name: option for option in declared}
    return {name: known[name].check(value) for name, value in options.items() if value is not None}
