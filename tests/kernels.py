"""Talking to a real IPython kernel as a frontend does: run cells, read their output, mirror and click widgets."""

from __future__ import annotations

import ast
import contextlib
import os
import queue
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel

TIMEOUT = 60  # seconds any one execution may take
TRIAL_LINE = re.compile(r"^trial\s+(\d+)\s+(\S+).*\n", re.MULTILINE)  # whole lines only

# One BLAS thread per kernel: on a busy 2-core machine, spinning BLAS threads slow scikit-learn down tenfold.
KERNEL_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass
class Output:
    """What one execution sent on iopub."""

    msg_id: str
    stdout: str = ""
    stderr: str = ""
    errors: list[dict] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    idle: bool = False

    @property
    def trial_lines(self) -> list[tuple[int, str]]:
        """(number, value column) of each trial line printed so far: the score, or e.g. 'interrupted:'."""
        return [(int(n), value) for n, value in TRIAL_LINE.findall(self.stdout)]

    @property
    def complete_lines(self) -> dict[int, str]:
        """{number: score as printed} of the complete trials printed so far."""
        return {n: value for n, value in self.trial_lines if not value.endswith(":")}

    def describe(self) -> str:
        errors = "\n".join(f"{e['ename']}: {e['evalue']}" for e in self.errors)
        return f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr[-3000:]}\n--- errors\n{errors}"


class Widgets:
    """The kernel's widgets as a frontend sees them: each model's state, by comm id, kept up to date from iopub."""

    def __init__(self) -> None:
        self.models: dict[str, dict[str, Any]] = {}
        self.displayed: list[dict[str, Any]] = []  # display_data and update_display_data bundles, in order

    def feed(self, msg: dict[str, Any]) -> None:
        """Follow one iopub message."""
        kind, content = msg["msg_type"], msg["content"]
        if kind == "comm_open" and content.get("target_name") == "jupyter.widget":
            self.models[content["comm_id"]] = dict(content["data"]["state"])
        elif kind == "comm_msg" and content["comm_id"] in self.models:
            data = content["data"]
            if data.get("method") in ("update", "echo_update"):
                self.models[content["comm_id"]].update(data["state"])
        elif kind == "comm_close":
            self.models.pop(content["comm_id"], None)
        elif kind in ("display_data", "update_display_data"):
            self.displayed.append(content["data"])

    def find(self, model: str, **state: Any) -> str:
        """The comm id of the one widget of this model name whose state has these values."""
        found = [
            comm
            for comm, s in self.models.items()
            if s.get("_model_name") == model and all(s.get(k) == v for k, v in state.items())
        ]
        assert len(found) == 1, f"{len(found)} {model} widgets with {state}"
        return found[0]

    def button(self, description: str) -> str:
        """The comm id of the button with this label."""
        return self.find("ButtonModel", description=description)

    def state(self, comm_id: str) -> dict[str, Any]:
        """The latest state of one widget."""
        return self.models[comm_id]


def click(kc, comm_id: str) -> None:
    """Send what a frontend sends when a button is clicked."""
    send_comm(kc, comm_id, {"method": "custom", "content": {"event": "click"}})


def set_state(kc, comm_id: str, **state: Any) -> None:
    """Send what a frontend sends when the user changes a widget."""
    send_comm(kc, comm_id, {"method": "update", "state": state, "buffer_paths": []})


def send_comm(kc, comm_id: str, data: dict[str, Any]) -> None:
    kc.shell_channel.send(kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data}))


def pump(kc, widgets: Widgets, until: Callable[[], bool], *, timeout: float = TIMEOUT, what: str = "") -> None:
    """Read iopub into the widget mirror until `until()` holds."""
    deadline = time.monotonic() + timeout
    while not until():
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"not within {timeout} s: {what}")
        try:
            widgets.feed(kc.get_iopub_msg(timeout=min(left, 0.5)))
        except queue.Empty:
            continue


def collect(
    kc,
    output: Output,
    *,
    timeout: float = TIMEOUT,
    until: Callable[[Output], bool] | None = None,
    widgets: Widgets | None = None,
) -> Output:
    """Read iopub for output.msg_id until the kernel goes idle (or `until` holds); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not output.idle and not (until is not None and until(output)):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no idle status within {timeout} s\n{output.describe()}")
        try:
            msg = kc.get_iopub_msg(timeout=min(left, 1.0))
        except queue.Empty:
            continue
        if widgets is not None:
            widgets.feed(msg)
        if msg["parent_header"].get("msg_id") != output.msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            if content["name"] == "stdout":
                output.stdout += content["text"]
            else:
                output.stderr += content["text"]
        elif kind == "error":
            output.errors.append(content)
        elif kind == "execute_result":
            output.results.append(content["data"].get("text/plain", ""))
        elif kind == "status" and content["execution_state"] == "idle":
            output.idle = True
    return output


def start(kc, code: str) -> Output:
    """Send code to the kernel without waiting."""
    return Output(kc.execute(code))


def execute(kc, code: str, *, timeout: float = TIMEOUT, ok: bool = True, widgets: Widgets | None = None) -> Output:
    """Run code and wait until the kernel is idle again; with ok, fail on an error."""
    output = collect(kc, start(kc, code), timeout=timeout, widgets=widgets)
    if ok:
        assert not output.errors, output.describe()
    return output


def evaluate(kc, expression: str, widgets: Widgets | None = None):
    """The value of a Python-literal expression evaluated in the kernel."""
    output = execute(kc, f"print(repr({expression}))", widgets=widgets)
    return ast.literal_eval(output.stdout.strip())


@dataclass
class Kernel:
    km: object
    kc: object


@pytest.fixture
def kernels(tmp_path: Path) -> Iterator[Callable[[], Kernel]]:
    """Start kernels whose cwd is tmp_path, with the extension loaded; all are shut down at the end."""
    started: list[Kernel] = []

    def start_kernel() -> Kernel:
        km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=KERNEL_ENV)
        kernel = Kernel(km, kc)
        started.append(kernel)
        execute(kc, "%load_ext jupyter_hptune\nimport time")
        return kernel

    with contextlib.ExitStack() as cleanup:  # every callback runs, even if one raises
        yield start_kernel
        for kernel in started:
            cleanup.callback(kernel.km.cleanup_resources)
            cleanup.callback(kernel.km.shutdown_kernel, now=True)  # also reaps a kernel killed by the test
            cleanup.callback(kernel.kc.stop_channels)


@pytest.fixture
def kernel(kernels) -> Kernel:
    return kernels()
