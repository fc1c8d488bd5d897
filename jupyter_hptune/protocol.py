"""The messages between the kernel and the JupyterLab extension (mirrored by labextension/src/protocol.ts).

One Jupyter comm, target `jupyter_hptune`. `%load_ext jupyter_hptune` registers the target in the kernel and opens
a comm to the frontend's target of the same name, so either side may start. Every message carries `version`; a
message of another version is refused with a notice naming both versions.

A study's `notebook` is the file name of the notebook that ran it, as its study file records it (None: unknown,
e.g. a file written by an older version). The fields added within version 1 (`notebook`, `kernel`) may be missing.

Kernel to frontend:
    studies      the whole list, sent when a comm opens and on `refresh`, with `kernel`: this kernel process's token
                 (its panels carry it as the class hptune-kernel-TOKEN; a panel with another is from a dead kernel)
    study        one study, added or changed (as its trials finish, at most a few times a second)
    write_cell   "Save to cell": rewrite a %%tune cell's line and declarations (the frontend edits the text)
    insert_cell  "Use best params": insert a cell below a %%tune cell, its declarations replaced by literals
    notice       a message for the user (e.g. a request named an unknown study)
Frontend to kernel:
    refresh      ask for `studies`; may carry `notebook`, the path of the notebook the frontend shows
    stop         end a study's running search after its current trial
    write_cell   ask for a `write_cell` with the study's panel settings
    insert_cell  ask for an `insert_cell` with the study's best params

Each message is a TypedDict below. labextension/test/fixtures/ holds one real message of each kind, written by
the side that sends it (tests/test_protocol.py, labextension/test/protocol.spec.ts) and parsed by the other side's
tests, so a field renamed on one side fails the other's tests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict, get_args

from .core.events import StudySnapshot
from .core.options import SEARCH_OPTIONS, STOPPING
from .core.samplers import METHOD, all_method_options
from .core.search import StopReason
from .core.settings import SearchSettings
from .core.space import Choice, Dimension, Space
from .core.study import Direction
from .core.trial import TrialState
from .report import format_value

__all__ = [
    "COMM_TARGET",
    "PROTOCOL_VERSION",
    "ChoiceSpec",
    "FrontendMessage",
    "InsertCellMessage",
    "InsertCellRequest",
    "KernelMessage",
    "NoticeMessage",
    "ParamSpec",
    "ProtocolError",
    "RangeSpec",
    "RefreshRequest",
    "Request",
    "StopRequest",
    "StudiesMessage",
    "StudyInfo",
    "StudyMessage",
    "StudyState",
    "TuneLine",
    "WriteCellMessage",
    "WriteCellRequest",
    "best_literals",
    "insert_cell",
    "notice",
    "parse_request",
    "studies",
    "study",
    "study_info",
    "tune_line",
    "write_cell",
]

PROTOCOL_VERSION = 2
COMM_TARGET = "jupyter_hptune"
HISTORY_POINTS = 200  # the sparkline's points at most

StudyState = Literal["running", "stopping", "stopped", "finished", "failed"]
RequestType = Literal["refresh", "stop", "write_cell", "insert_cell"]
REQUESTS: tuple[str, ...] = get_args(RequestType)


class StudyInfo(TypedDict):
    """A study as the sidebar shows it (plain JSON values)."""

    name: str
    cell_id: str | None
    method: str  # the search's method, or "saved" for a study loaded from its file
    direction: Direction
    state: StudyState
    done: int
    planned: int
    total: int
    failed: int
    pruned: int
    best_value: float | None
    best_params: dict[str, str]  # each value as the report formats it
    elapsed: float  # seconds
    history: list[float]  # the best value so far after each complete trial, at most HISTORY_POINTS
    storage: str | None
    notebook: str | None


class TuneLine(TypedDict):
    """The %%tune line a write_cell asks for, its options named by their flags (--initial-points)."""

    method: str
    options: dict[str, str | bool | None]  # the value to write (None: leave it out); a flag: whether to have it
    defaults: dict[str, str]  # what an option is when left out of the line: not added just to say so
    point: str | None  # the manual method's point as `name=literal, ...`


class RangeSpec(TypedDict):
    """A real or int hyperparameter's new declaration, its bounds as Python literals."""

    kind: Literal["real", "int"]
    low: str
    high: str
    log: bool
    drop_default: bool
    line: NotRequired[int]  # a call the cell does not assign to a name (units_{i} in a loop): the cell line it is on


class ChoiceSpec(TypedDict):
    """A choice hyperparameter's new declaration, its options as Python literals."""

    kind: Literal["choice"]
    options: list[str]
    drop_default: bool
    line: NotRequired[int]  # a call the cell does not assign to a name (units_{i} in a loop): the cell line it is on


ParamSpec = RangeSpec | ChoiceSpec


class StudiesMessage(TypedDict):
    """Kernel to frontend: every study, and the token of the kernel process."""

    version: int
    type: Literal["studies"]
    studies: list[StudyInfo]
    kernel: str | None


class StudyMessage(TypedDict):
    """Kernel to frontend: one study, added or changed."""

    version: int
    type: Literal["study"]
    study: StudyInfo


class WriteCellMessage(TypedDict):
    """Kernel to frontend: rewrite a %%tune cell's line and the declarations that changed."""

    version: int
    type: Literal["write_cell"]
    study: str
    cell_id: str | None
    line: TuneLine
    params: dict[str, ParamSpec]


class InsertCellMessage(TypedDict):
    """Kernel to frontend: insert a cell with the study's best params as literals."""

    version: int
    type: Literal["insert_cell"]
    study: str
    cell_id: str | None
    params: dict[str, str]


class NoticeMessage(TypedDict):
    """Kernel to frontend: a message for the user."""

    version: int
    type: Literal["notice"]
    message: str
    error: bool


KernelMessage = StudiesMessage | StudyMessage | WriteCellMessage | InsertCellMessage | NoticeMessage


class RefreshRequest(TypedDict):
    """Frontend to kernel: ask for `studies`, naming the notebook the frontend shows."""

    version: int
    type: Literal["refresh"]
    notebook: NotRequired[str]


class StopRequest(TypedDict):
    """Frontend to kernel: end a study's running search after its current trial."""

    version: int
    type: Literal["stop"]
    study: str


class WriteCellRequest(TypedDict):
    """Frontend to kernel: ask for a write_cell with the study's panel settings."""

    version: int
    type: Literal["write_cell"]
    study: str


class InsertCellRequest(TypedDict):
    """Frontend to kernel: ask for an insert_cell with the study's best params."""

    version: int
    type: Literal["insert_cell"]
    study: str


FrontendMessage = RefreshRequest | StopRequest | WriteCellRequest | InsertCellRequest


class ProtocolError(ValueError):
    """A message that does not follow the protocol."""


@dataclass(frozen=True)
class Request:
    """A checked request from the frontend."""

    type: RequestType
    study: str | None = None
    notebook: str | None = None


def parse_request(data: Any) -> Request:
    """Check a message from the frontend; ProtocolError says what is wrong with it."""
    if not isinstance(data, Mapping):
        raise ProtocolError(f"a message must be an object, got {data!r}")
    if data.get("version") != PROTOCOL_VERSION:
        raise ProtocolError(
            f"the frontend speaks protocol version {data.get('version')!r}, this kernel version {PROTOCOL_VERSION}: "
            "install the same jupyter-hptune in the kernel and in JupyterLab"
        )
    kind = data.get("type")
    if kind not in REQUESTS:
        raise ProtocolError(f"unknown request type {kind!r}; known: {', '.join(REQUESTS)}")
    if kind == "refresh":
        notebook = data.get("notebook")
        if notebook is not None and not isinstance(notebook, str):
            raise ProtocolError(f"a refresh request's notebook must be a path, got {notebook!r}")
        return Request(kind, notebook=notebook or None)
    name = data.get("study")
    if not isinstance(name, str) or not name:
        raise ProtocolError(f"a {kind} request needs the study's name, got {name!r}")
    return Request(kind, name)


def _state(snapshot: StudySnapshot, running: bool, stopping: bool) -> StudyState:
    if running:
        return "stopping" if stopping else "running"
    if snapshot.stop_reason in (StopReason.STOPPED, StopReason.INTERRUPTED):
        return "stopped"
    if snapshot.stop_reason in (StopReason.FAILURES, StopReason.ERROR) or snapshot.all_failed:
        return "failed"
    if snapshot.trials and snapshot.trials[-1].state in (TrialState.RUNNING, TrialState.INTERRUPTED):
        return "stopped"  # a study loaded from a file whose last search was cut short
    return "finished"


def _history(snapshot: StudySnapshot) -> list[float]:
    best: list[float] = []
    sign = 1.0 if snapshot.direction == "minimize" else -1.0
    for trial in snapshot.trials:
        if trial.state is TrialState.COMPLETE and trial.value is not None:
            if not best or sign * trial.value < sign * best[-1]:
                best.append(float(trial.value))
            else:
                best.append(best[-1])
    if len(best) <= HISTORY_POINTS:
        return best
    step = (len(best) - 1) / (HISTORY_POINTS - 1)
    return [best[round(i * step)] for i in range(HISTORY_POINTS)]


def _elapsed(snapshot: StudySnapshot, running: bool) -> float:
    if running:
        return max(0.0, snapshot.elapsed)
    finished = [t.finished for t in snapshot.search_trials if t.finished is not None]
    if finished and snapshot.started:
        return max(0.0, max(finished) - snapshot.started)
    return float(sum(t.duration or 0.0 for t in snapshot.trials))


def study_info(
    snapshot: StudySnapshot,
    *,
    cell_id: str | None,
    running: bool = False,
    stopping: bool = False,
    notebook: str | None = None,
) -> StudyInfo:
    """A study as the sidebar shows it (plain JSON values)."""
    search = snapshot.search_trials if snapshot.n_planned else snapshot.trials
    best = snapshot.best_trial
    return StudyInfo(
        name=snapshot.name,
        cell_id=cell_id,
        method=snapshot.method if snapshot.n_planned else "saved",
        direction=snapshot.direction,
        state=_state(snapshot, running, stopping),
        done=sum(t.state is not TrialState.RUNNING for t in search),
        planned=snapshot.n_planned or len(search),
        total=len(snapshot.trials),
        failed=sum(t.state is TrialState.FAILED for t in search),
        pruned=sum(t.state.value == "pruned" for t in search),
        best_value=None if best is None or best.value is None else float(best.value),
        best_params={} if best is None else {k: format_value(v) for k, v in best.params.items()},
        elapsed=round(_elapsed(snapshot, running), 3),
        history=_history(snapshot),
        storage=snapshot.storage,
        notebook=notebook,
    )


def studies(infos: list[StudyInfo], *, kernel: str | None = None) -> StudiesMessage:
    """The whole list of studies, and the token of the kernel process that sends it."""
    return StudiesMessage(version=PROTOCOL_VERSION, type="studies", studies=infos, kernel=kernel)


def study(info: StudyInfo) -> StudyMessage:
    """One study, added or changed."""
    return StudyMessage(version=PROTOCOL_VERSION, type="study", study=info)


def notice(text: str, *, error: bool = False) -> NoticeMessage:
    """A message for the user."""
    return NoticeMessage(version=PROTOCOL_VERSION, type="notice", message=text, error=error)


def _literal(value: Any) -> str:
    """A Python literal for a value of a space (numbers, strings, bools, None, tuples of them)."""
    return repr(value)


def _bound(value: Any) -> str:
    """A range's bound as a literal: 12 significant digits, so a slider's 0.30000000000000004 is the 0.3 it showed."""
    if isinstance(value, float):
        return repr(float(f"{value:.12g}"))
    return repr(value)


def _param_spec(declared: Dimension, wanted: Dimension) -> ParamSpec:
    drop_default = declared.default is not None and wanted.default is None
    if isinstance(wanted, Choice):
        return ChoiceSpec(kind="choice", options=[_literal(o) for o in wanted.options], drop_default=drop_default)
    return RangeSpec(
        kind="int" if type(wanted).__name__ == "Int" else "real",
        low=_bound(wanted.low),
        high=_bound(wanted.high),
        log=bool(wanted.log),
        drop_default=drop_default,
    )


def tune_line(settings: SearchSettings, point: Mapping[str, Any] | None = None) -> TuneLine:
    """The %%tune line of a search: every option the panel sets, by its flag, from the options' descriptions.

    In the manual method the line gets the point as --point (and neither trials nor a seed, which it does not use).
    """
    manual = settings.method == "manual"
    values = {**settings.line_values(), **({"n_trials": None, "seed": None} if manual else {})}
    search = [o for o in SEARCH_OPTIONS if o.panel]
    first, stopping = [o for o in search if o.name not in STOPPING], [o for o in search if o.name in STOPPING]
    methods = {o.name: o for declared in all_method_options().values() for o in declared}
    line: dict[str, str | bool | None] = {METHOD.flag: settings.method}
    for option in [*first, *methods.values(), *stopping]:
        value = values.get(option.name)
        line[option.flag] = None if value is None else str(value)
        if option is first[0]:  # the direction after the trials, as the magic's help lists them
            line["--maximize"] = settings.direction == "maximize"
            if settings.direction == "maximize":
                line["--minimize"] = False
    defaults = {o.flag: str(o.default) for o in [METHOD, *search, *methods.values()] if o.default is not None}
    return TuneLine(
        method=settings.method,
        options=line,
        defaults=defaults,
        point=None if not point else ", ".join(f"{n}={_literal(v)}" for n, v in point.items()),
    )


def write_cell(
    name: str,
    cell_id: str | None,
    declared: Space,
    settings: SearchSettings,
    point: Mapping[str, Any] | None = None,
    *,
    study_space: Space | None = None,
    declared_at: Mapping[str, str] | None = None,
) -> WriteCellMessage:
    """Save to cell: the %%tune line and the declarations (only those that changed) of the panel's search.

    `declared` is what the cell assigns to names; a hyperparameter its trials declared in a call the cell does not
    assign (`name=f"units_{i}"` in a loop) is written at the cell line it was declared on, once for all the names
    that call declared (its range in `study_space`, its place in `declared_at`). One declared elsewhere (a function
    in another cell) is not in the cell: its range applies to the panel's searches only.
    """
    space = declared if settings.space is None else settings.space
    params: dict[str, ParamSpec] = {
        n: _param_spec(declared[n], dim) for n, dim in space.items() if n in declared and dim != declared[n]
    }
    for n, dim in space.items():
        where = (declared_at or {}).get(n, "")
        line = re.fullmatch(r"line (\d+) of the cell", where)
        if n in declared or line is None or study_space is None or n not in study_space:
            continue
        label = f"line {line.group(1)}"
        if label in params or dim == study_space[n]:
            continue
        spec = _param_spec(study_space[n], dim)
        spec["line"] = int(line.group(1))
        params[label] = spec
    return WriteCellMessage(
        version=PROTOCOL_VERSION,
        type="write_cell",
        study=name,
        cell_id=cell_id,
        line=tune_line(settings, point),
        params=params,
    )


def best_literals(params: Mapping[str, Any]) -> dict[str, str]:
    """Each best value as a Python literal."""
    return {name: _literal(value) for name, value in params.items()}


def insert_cell(name: str, cell_id: str | None, params: Mapping[str, Any]) -> InsertCellMessage:
    """Use best params: the best value of each hyperparameter, as literals."""
    return InsertCellMessage(
        version=PROTOCOL_VERSION, type="insert_cell", study=name, cell_id=cell_id, params=best_literals(params)
    )
