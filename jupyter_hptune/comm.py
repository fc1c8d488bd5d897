"""The kernel's side of the JupyterLab Tuning sidebar: the studies of this kernel, followed over a Jupyter comm.

The sidebar is an observer like the panel: it follows each study's events and sends a summary (protocol.py);
its requests (stop a study, write a cell) go to the same tuner the panel's buttons use.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import protocol
from .core.errors import StudyError
from .core.events import Event, SearchFinished, SearchStarted, StudySnapshot
from .core.options import in_panel_words
from .core.settings import SearchSettings
from .core.storage import default_storage_path
from .core.study import Study
from .protocol import KernelMessage, ProtocolError, Request, StudiesMessage, StudyInfo

__all__ = ["KERNEL_TOKEN", "Sidebar", "current_cell_id", "session_notebook", "sidebar"]

# This kernel process, as its panels (a CSS class) and its `studies` messages name it: a panel whose token is not
# the one the notebook's kernel sends is from a kernel since restarted or shut down (a restart keeps the kernel id).
KERNEL_TOKEN = uuid.uuid4().hex
SEND_EVERY = 0.25  # seconds: a study's updates at most this often while it runs; its start and end always


@dataclass
class _Entry:
    """A study the sidebar lists: from a %%tune cell of this kernel (with its tuner) or from a saved file."""

    name: str
    cell_id: str | None
    tuner: Any = None  # runner.CellTuner
    panel: Any = None  # widgets.TunePanel
    loaded: Study | None = None
    stopping: bool = False
    last_sent: float = 0.0

    @property
    def study(self) -> Study:
        return self.tuner.study if self.tuner is not None else self.loaded  # type: ignore[return-value]

    @property
    def running(self) -> bool:
        return self.tuner is not None and self.tuner.running

    def info(self, snapshot: StudySnapshot | None = None, running: bool | None = None) -> StudyInfo:
        running = self.running if running is None else running
        if not running:
            self.stopping = False
        return protocol.study_info(
            snapshot or self.study.snapshot(),
            cell_id=self.cell_id,
            running=running,
            stopping=self.stopping,
            notebook=self.study.notebook,
        )


class Sidebar:
    """Every study of this kernel, sent to the frontend's Tuning sidebar over one comm (the latest one opened)."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._comm: Any = None
        self._installed = False
        self._told_notebook: str | None = None

    @property
    def notebook(self) -> str | None:
        """This kernel's notebook (its file name): as the frontend said, else as the server said at kernel start."""
        return self._told_notebook or session_notebook()

    # -- the comm ------------------------------------------------------------------------------------------------
    def install(self, folder: str | Path = ".") -> None:
        """Register the comm target, list the studies saved in `folder`/.hptune, and offer them to the frontend."""
        self.load_saved(folder)
        if self._installed:
            self._open()
            return
        try:
            from comm import get_comm_manager
        except ImportError:  # not in a kernel with comm support: nothing to talk to
            return
        get_comm_manager().register_target(protocol.COMM_TARGET, self._opened)
        self._installed = True
        self._open()

    def _open(self) -> None:
        from comm import create_comm

        try:
            comm = create_comm(target_name=protocol.COMM_TARGET, data=self._studies())
        except Exception:  # no kernel to open a comm to (a plain IPython shell)
            return
        self._adopt(comm)

    def _opened(self, comm: Any, message: dict[str, Any]) -> None:
        """The frontend opened a comm (e.g. after a page reload): it becomes the sidebar's comm."""
        self._adopt(comm)
        self.send(self._studies())

    def _adopt(self, comm: Any) -> None:
        # The earlier comm is left open, unused: closing it would send every page a comm_close for a comm
        # that only a page since reloaded knew ("Comm not found" in the new page's console).
        self._comm = comm
        comm.on_msg(self._received)
        comm.on_close(lambda _: self._closed(comm))

    def _closed(self, comm: Any) -> None:
        if self._comm is comm:
            self._comm = None

    def send(self, message: KernelMessage) -> bool:
        """Send a message to the frontend; False when none is listening."""
        if self._comm is None:
            return False
        try:
            self._comm.send(message)
        except Exception:
            return False
        return True

    def _received(self, message: dict[str, Any]) -> None:
        try:
            request = protocol.parse_request(message["content"]["data"])
        except (ProtocolError, KeyError, TypeError) as error:
            self.send(protocol.notice(f"jupyter-hptune: {error}", error=True))
            return
        self.handle(request)

    def handle(self, request: Request) -> None:
        """Answer a request from the frontend."""
        if request.type == "refresh":
            if request.notebook:
                self.set_notebook(request.notebook)
            self.send(self._studies())
            return
        entry = self._entries.get(request.study or "")
        if entry is None:
            self.send(protocol.notice(f"No study {request.study!r} in this kernel: run its %%tune cell.", error=True))
            return
        try:
            if request.type == "stop":
                self.stop(entry.name)
            elif request.type == "write_cell":
                self.write_cell(entry.name)
            elif request.type == "insert_cell":
                self.insert_cell(entry.name)
        except ValueError as error:  # SpaceError included: a panel setting that does not check
            text = in_panel_words(error)
            self.send(protocol.notice(f"{text[:1].upper()}{text[1:]}.", error=True))

    def set_notebook(self, path: str) -> None:
        """The frontend says which notebook this kernel runs (e.g. after a rename): its cells' studies are that one's."""
        name = notebook_name(path)
        if name == self._told_notebook:
            return
        self._told_notebook = name
        for entry in self._entries.values():
            study = entry.tuner.study if entry.tuner is not None else None
            if study is None or study.notebook == name:
                continue
            study.notebook = name
            if study.storage is not None and study.storage.exists(study.name):
                try:
                    study.storage.set_notebook(study.name, name)
                except Exception:  # a file gone or read-only: it keeps the name it had
                    pass

    # -- the studies ---------------------------------------------------------------------------------------------
    def _studies(self) -> StudiesMessage:
        return protocol.studies([entry.info() for entry in self._entries.values()], kernel=KERNEL_TOKEN)

    def track(self, name: str, tuner: Any, *, cell_id: str | None, panel: Any = None) -> None:
        """List the study of a %%tune cell and follow its searches (a re-run cell replaces its study)."""
        self._entries.pop(name, None)  # the old entry's observer sees it is no longer listed and stays quiet
        entry = _Entry(name, cell_id, tuner=tuner, panel=panel)
        self._entries[name] = entry
        tuner.observe(lambda event: self._follow(entry, event))

    def _follow(self, entry: _Entry, event: Event) -> None:
        if self._entries.get(entry.name) is not entry:
            return
        now = time.monotonic()
        final = isinstance(event, SearchStarted | SearchFinished)
        if not final and now - entry.last_sent < SEND_EVERY:
            return
        entry.last_sent = now
        self.send(protocol.study(entry.info(event.study, running=not isinstance(event, SearchFinished))))

    def load_saved(self, folder: str | Path = ".") -> None:
        """List the studies saved in `folder`/.hptune that no cell of this kernel has run yet."""
        saved = Path(folder) / default_storage_path("x").parent
        for path in sorted(saved.glob("*.sqlite")):
            name = path.stem
            if name.endswith(".previous") or name in self._entries or not name.isidentifier():
                continue
            try:
                loaded = Study.load(path, name)
            except (StudyError, OSError, ValueError):
                continue
            self._entries[name] = _Entry(name, None, loaded=loaded)

    # -- requests ------------------------------------------------------------------------------------------------
    def stop(self, name: str) -> None:
        """Stop a study's running search after its current trial."""
        entry = self._entries[name]
        if not entry.running:
            self.send(protocol.notice(f"Study {name!r} is not running.", error=False))
            self.send(protocol.study(entry.info()))
            return
        entry.stopping = True
        entry.tuner.stop()
        self.send(protocol.study(entry.info()))

    def _entry(self, name: str, tuner: Any) -> _Entry:
        entry = self._entries.get(name)
        if entry is None:
            raise ValueError(f"no study {name!r} in this kernel: run its %%tune cell")
        if tuner is not None and entry.tuner is not tuner:
            raise ValueError(f"this panel is from an earlier run of study {name!r}: use the newest panel")
        return entry

    def write_cell(
        self, name: str, chosen: tuple[SearchSettings, dict[str, Any] | None] | None = None, *, tuner: Any = None
    ) -> bool:
        """Ask the frontend to rewrite the study's cell to these settings and manual point (or its panel's); False if
        none listens.

        ValueError says why the cell cannot be written (no such study, no panel, settings that do not check).
        """
        entry = self._entry(name, tuner)
        if entry.tuner is None:
            raise ValueError(f"study {name!r} was loaded from its file: run its %%tune cell to change it from a panel")
        if chosen is None:
            if entry.panel is None:
                raise ValueError(f"study {name!r} has no panel whose settings could be saved")
            chosen = entry.panel.cell_settings()
        settings, point = chosen
        study = entry.tuner.study
        message = protocol.write_cell(
            name,
            entry.cell_id,
            entry.tuner.objective.space,
            settings,
            point,
            study_space=study.space,
            declared_at=study.snapshot().declared_at,
        )
        return self.send(message)

    def insert_cell(self, name: str, *, tuner: Any = None) -> bool:
        """Ask the frontend to insert a cell with the study's best params; False if none listens.

        ValueError says why not (no such study, no finished trial yet).
        """
        entry = self._entry(name, tuner)
        try:
            best = entry.study.best_params
        except ValueError:
            raise ValueError(f"study {name!r} has no finished trial yet") from None
        return self.send(protocol.insert_cell(name, entry.cell_id, best))


_sidebar: Sidebar | None = None


def sidebar() -> Sidebar:
    """This kernel's sidebar."""
    global _sidebar
    if _sidebar is None:
        _sidebar = Sidebar()
    return _sidebar


def notebook_name(path: str) -> str:
    """A notebook's file name, the part of its path that tells it from the other notebooks of its folder."""
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def session_notebook() -> str | None:
    """The notebook this kernel was started for, from the session the server started it in (None: unknown)."""
    path = os.environ.get("JPY_SESSION_NAME")  # jupyter-server sets it; ipykernel copies it to `__session__`
    if not path:
        try:
            from IPython import get_ipython

            shell = get_ipython()
        except ImportError:
            shell = None
        path = getattr(shell, "user_ns", {}).get("__session__")
    return notebook_name(path) if isinstance(path, str) and path.strip() else None


def current_cell_id(shell: Any) -> str | None:
    """The id of the notebook cell being run (JupyterLab and Notebook 7 send it), or None."""
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return None
    try:
        parent = kernel.get_parent()
    except Exception:
        return None
    metadata = (parent or {}).get("metadata") or {}
    cell_id = metadata.get("cellId")
    return cell_id if isinstance(cell_id, str) else None
