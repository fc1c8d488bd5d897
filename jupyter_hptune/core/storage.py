"""A study file: SQLite through the standard library, JSON values only, so opening it never runs code."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .space import Space
from .trial import Trial, TrialState

if TYPE_CHECKING:
    from .study import Direction

__all__ = ["SQLiteStorage", "StoredSearch", "StoredStudy", "default_storage_path"]

SCHEMA_VERSION = 2  # 2: a trial's reported values (the steps table) and its best step

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS studies (
    name TEXT PRIMARY KEY,
    direction TEXT NOT NULL,
    space TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    study TEXT NOT NULL REFERENCES studies(name),
    number INTEGER NOT NULL,
    state TEXT NOT NULL,
    params TEXT NOT NULL,
    value REAL,
    error TEXT,
    traceback TEXT,
    started REAL,
    finished REAL,
    source TEXT NOT NULL,
    best_step INTEGER,
    PRIMARY KEY (study, number)
);
CREATE TABLE IF NOT EXISTS searches (
    study TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    seed INTEGER NOT NULL,
    planned INTEGER NOT NULL,
    first_trial INTEGER NOT NULL,
    started REAL NOT NULL,
    stop_reason TEXT
);
CREATE TABLE IF NOT EXISTS steps (
    study TEXT NOT NULL,
    number INTEGER NOT NULL,
    step INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (study, number, step)
);
"""

# What turns a file of an earlier version into the current one, by the version it starts from.
_MIGRATIONS = {
    1: "ALTER TABLE trials ADD COLUMN best_step INTEGER",  # the steps table is created with the schema
}


def default_storage_path(name: str) -> Path:
    """Where a study named `name` is kept by default: .hptune/NAME.sqlite in the working directory."""
    return Path(".hptune") / f"{name}.sqlite"


@dataclass(frozen=True)
class StoredStudy:
    """What a study file holds about one study."""

    name: str
    direction: str
    space: Space
    trials: list[Trial]


@dataclass(frozen=True)
class StoredSearch:
    """A study's latest search as the file records it (stop_reason None: the process ended during it)."""

    method: str
    seed: int
    planned: int
    first_trial: int
    started: float
    stop_reason: str | None


class SQLiteStorage:
    """One SQLite file holding studies and their trials; each trial is committed as soon as it changes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])  # type: ignore[misc]

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            except (OSError, sqlite3.Error) as error:
                raise ValueError(f"cannot open the study file {self.path}: {error}") from None
            try:
                conn.executescript(_SCHEMA)
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            except sqlite3.DatabaseError as error:
                conn.close()
                raise ValueError(f"{self.path} is not a study file: {error}") from None
            if row is None:
                conn.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) in _MIGRATIONS:
                _migrate(conn, int(row[0]))
            elif int(row[0]) != SCHEMA_VERSION:
                conn.close()
                raise ValueError(f"{self.path} has study-file version {row[0]}; this version reads {SCHEMA_VERSION}")
            self._conn = conn
        return self._conn

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def exists(self, name: str) -> bool:
        """Whether the file holds a study of that name (opening, or creating, the file)."""
        with self._lock:
            row = self._connect().execute("SELECT 1 FROM studies WHERE name = ?", (name,)).fetchone()
        return row is not None

    def count_trials(self, name: str) -> int:
        """How many trials the file holds for that study."""
        with self._lock:
            return self._connect().execute("SELECT COUNT(*) FROM trials WHERE study = ?", (name,)).fetchone()[0]

    def backup_path(self) -> Path:
        """Where create() keeps the file as it was before replacing a study."""
        return self.path.with_suffix(".previous" + self.path.suffix)

    def header(self, name: str) -> tuple[str, Space]:
        """A study's direction and space, without its trials."""
        with self._lock:
            row = self._connect().execute("SELECT direction, space FROM studies WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise KeyError(f"no study named {name!r} in {self.path}")
        return row[0], Space.from_json(json.loads(row[1]))

    def load(self, name: str) -> StoredStudy:
        """Read a study; a trial left running by a process that died is read as interrupted."""
        direction, space = self.header(name)
        with self._lock:
            rows = (
                self._connect()
                .execute(
                    "SELECT number, state, params, value, error, traceback, started, finished, source, best_step "
                    "FROM trials WHERE study = ? ORDER BY number",
                    (name,),
                )
                .fetchall()
            )
            reported: dict[int, dict[int, float]] = {}
            for number, step, value in self._connect().execute(
                "SELECT number, step, value FROM steps WHERE study = ? ORDER BY number, step", (name,)
            ):
                reported.setdefault(number, {})[step] = value
        trials = []
        for number, state, params, value, error, tb, started, finished, source, best_step in rows:
            values = reported.get(number, {})
            if state == TrialState.RUNNING.value:
                state = TrialState.INTERRUPTED.value
                error = error or "the process ended while this trial ran"
                if values:  # its best step is written when it ends: find it from the values it reported
                    sign = 1.0 if direction == "minimize" else -1.0
                    best_step = min(values, key=lambda step: sign * values[step])  # the earliest among equals
            trials.append(
                Trial(
                    number=number,
                    params=space.decode(json.loads(params)),
                    state=TrialState(state),
                    value=value,
                    error=error,
                    traceback=tb,
                    started=started,
                    finished=finished,
                    source=source,
                    intermediate=values,
                    best_step=best_step,
                )
            )
        return StoredStudy(name=name, direction=direction, space=space, trials=trials)

    def notebook(self, name: str) -> str | None:
        """The notebook that ran the study, as recorded (None: not recorded, e.g. a file of an older version)."""
        with self._lock:
            row = self._connect().execute("SELECT value FROM meta WHERE key = ?", (_notebook_key(name),)).fetchone()
        return None if row is None else row[0]

    def set_notebook(self, name: str, notebook: str | None) -> None:
        """Record the notebook that runs the study (None forgets it)."""
        with self._lock:
            _write_notebook(self._connect(), name, notebook)

    def create(
        self, name: str, direction: Direction, space: Space, created: float, *, notebook: str | None = None
    ) -> None:
        """Start a study of that name, replacing one already there (kept in a .previous copy of the file)."""
        if self.exists(name):
            self.close()
            shutil.copyfile(self.path, self.backup_path())
        with self._lock:
            conn = self._connect()
            with conn:
                conn.execute("BEGIN")
                conn.execute("DELETE FROM trials WHERE study = ?", (name,))
                conn.execute("DELETE FROM steps WHERE study = ?", (name,))
                conn.execute("DELETE FROM searches WHERE study = ?", (name,))
                conn.execute("DELETE FROM studies WHERE name = ?", (name,))
                conn.execute(
                    "INSERT INTO studies VALUES (?, ?, ?, ?)",
                    (name, direction, json.dumps(space.to_json()), created),
                )
                _write_notebook(conn, name, notebook)

    def update_space(self, name: str, space: Space) -> None:
        """Record a study's space anew: defaults that changed, or hyperparameters added (earlier trials lack them)."""
        with self._lock:
            self._connect().execute("UPDATE studies SET space = ? WHERE name = ?", (json.dumps(space.to_json()), name))

    def save_trial(self, name: str, space: Space, trial: Trial) -> None:
        """Write one trial at once, replacing its earlier state; it keeps only the params the trial used."""
        unknown = [param for param in trial.params if param not in space]
        if unknown:  # encoded in this space, the trial would lose it
            raise ValueError(
                f"trial {trial.number} of study {name!r} has hyperparameter {unknown[0]!r}, which the space "
                "does not declare: record the grown space (update_space) before saving the trial"
            )
        row: tuple[Any, ...] = (
            name,
            trial.number,
            trial.state.value,
            json.dumps(space.encode(trial.params)),
            trial.value,
            trial.error,
            trial.traceback,
            trial.started,
            trial.finished,
            trial.source,
            trial.best_step,
        )
        with self._lock:
            self._connect().execute("INSERT OR REPLACE INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)

    def save_search(self, name: str, search: StoredSearch) -> None:
        """Record the study's latest search (replacing the one before it)."""
        row = (name, search.method, search.seed, search.planned, search.first_trial, search.started, search.stop_reason)
        with self._lock:
            self._connect().execute("INSERT OR REPLACE INTO searches VALUES (?, ?, ?, ?, ?, ?, ?)", row)

    def last_search(self, name: str) -> StoredSearch | None:
        """The study's latest search, or None if the file has no record of one (e.g. written by an older version)."""
        with self._lock:
            row = (
                self._connect()
                .execute(
                    "SELECT method, seed, planned, first_trial, started, stop_reason FROM searches WHERE study = ?",
                    (name,),
                )
                .fetchone()
            )
        return None if row is None else StoredSearch(*row)

    def save_step(self, name: str, number: int, step: int, value: float) -> None:
        """Write one value a running trial reported, at once."""
        with self._lock:
            self._connect().execute("INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?)", (name, number, step, value))


def _notebook_key(name: str) -> str:
    # In the meta table, not a new column: files stay readable by versions that do not know of it.
    return f"notebook:{name}"


def _write_notebook(conn: sqlite3.Connection, name: str, notebook: str | None) -> None:
    conn.execute("DELETE FROM meta WHERE key = ?", (_notebook_key(name),))
    if notebook:
        conn.execute("INSERT INTO meta VALUES (?, ?)", (_notebook_key(name), notebook))


def _migrate(conn: sqlite3.Connection, version: int) -> None:
    """Bring a file of an earlier version to the current one, in one transaction (older versions keep their data)."""
    with conn:
        conn.execute("BEGIN")
        while version < SCHEMA_VERSION:
            conn.execute(_MIGRATIONS[version])
            version += 1
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))
