"""A trial: one evaluation of the objective at one point of the space."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

__all__ = ["Params", "Steps", "Trial", "TrialState", "best_trial"]


class TrialState(enum.StrEnum):
    """Where a trial stands."""

    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    PRUNED = "pruned"

    def __str__(self) -> str:
        return self.value


class Params(dict):
    """A trial's params: a read-only dict (json.dumps, pickle and copy work; changing it does not)."""

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a trial's params are read-only; change a copy: dict(trial.params)")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self) -> tuple[type, tuple[dict[str, Any]]]:
        return type(self), (dict(self),)


class Steps(Params):
    """A trial's reported values by step: a read-only dict {step: value}, in the order they were reported."""

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a trial's reported values are read-only; change a copy: dict(trial.intermediate)")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _read_only


@dataclass(frozen=True)
class Trial:
    """An immutable record of one trial; a finished trial is a new Trial, never a changed one."""

    number: int
    params: Mapping[str, Any]
    state: TrialState = TrialState.RUNNING
    value: float | None = None
    error: str | None = None
    traceback: str | None = None
    started: float | None = None
    finished: float | None = None
    source: str = field(default="search", compare=False)
    intermediate: Mapping[int, float] = field(default_factory=dict)  # the values reported with hp.report, by step
    best_step: int | None = None  # the step of the best reported value

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", Params(self.params))
        object.__setattr__(self, "state", TrialState(self.state))
        object.__setattr__(self, "intermediate", Steps(self.intermediate))

    @property
    def last_step(self) -> int | None:
        """The last step the trial reported (the step it reached), or None if it reported none."""
        return list(self.intermediate)[-1] if self.intermediate else None

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, or None while running."""
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started

    def finish(self, state: TrialState, *, finished: float, **changes: Any) -> Trial:
        """A copy of this trial in its final state."""
        return replace(self, state=state, finished=finished, **changes)

    def to_record(self, names: Sequence[str] | None = None) -> dict[str, Any]:
        """A flat dict of plain Python values: number, params, value, state, times, error and steps reached.

        `names` gives the params' columns, in order: None for one the trial did not use (default: its own params).
        """
        record: dict[str, Any] = {"number": self.number}
        for name in self.params if names is None else names:
            record[name if name not in _RECORD_FIELDS else f"param_{name}"] = self.params.get(name)
        record.update(
            value=self.value,
            state=self.state.value,
            duration=self.duration,
            started=self.started,
            finished=self.finished,
            error=self.error,
            last_step=self.last_step,
            best_step=self.best_step,
        )
        return record

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        value = "" if self.value is None else f", value={self.value!r}"
        return f"Trial(number={self.number}, state={self.state.value}{value}, params={{{params}}})"


_RECORD_FIELDS = frozenset(
    {"number", "value", "state", "duration", "started", "finished", "error", "last_step", "best_step"}
)


def best_trial(trials: Sequence[Trial], direction: str) -> Trial | None:
    """The trial with the best value in this direction (the earliest among equals), or None; each has a value."""
    if not trials:
        return None
    pick = max if direction == "maximize" else min
    return pick(trials, key=lambda t: cast(float, t.value))
