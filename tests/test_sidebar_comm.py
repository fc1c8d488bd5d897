"""The kernel side of the Tuning sidebar, through a real kernel: what a frontend with the extension receives and asks."""

from __future__ import annotations

import ast
import queue
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from kernels import TIMEOUT, Kernel, Output, Widgets, click, execute, set_state, start

from jupyter_hptune.protocol import PROTOCOL_VERSION

pytestmark = pytest.mark.slow

TARGET = "jupyter_hptune"


class Frontend:
    """A frontend's end of the sidebar comm: it opens one, and keeps every message the kernel sends on it."""

    def __init__(self, kc) -> None:
        self.kc = kc
        self.comm_id = uuid.uuid4().hex
        self.messages: list[dict[str, Any]] = []
        self.widgets = Widgets()
        self.cells: list[Output] = []
        kc.shell_channel.send(
            kc.session.msg(
                "comm_open",
                {
                    "comm_id": self.comm_id,
                    "target_name": TARGET,
                    "data": {"version": PROTOCOL_VERSION, "type": "refresh"},
                },
            )
        )

    def request(self, **data: Any) -> None:
        msg = self.kc.session.msg("comm_msg", {"comm_id": self.comm_id, "data": {"version": PROTOCOL_VERSION, **data}})
        self.kc.shell_channel.send(msg)

    def feed(self, msg: dict[str, Any]) -> None:
        self.widgets.feed(msg)
        content = msg["content"]
        for cell in self.cells:
            if msg["parent_header"].get("msg_id") == cell.msg_id:
                if msg["msg_type"] == "stream":
                    cell.stdout += content["text"]
                elif msg["msg_type"] == "error":
                    cell.errors.append(content)
                elif msg["msg_type"] == "status" and content["execution_state"] == "idle":
                    cell.idle = True
        if msg["msg_type"] == "comm_msg" and content["comm_id"] == self.comm_id:
            self.messages.append(content["data"])

    def wait(self, until, what: str, timeout: float = TIMEOUT, always: bool = False) -> dict[str, Any]:
        """Read iopub until a message of ours satisfies `until` (always: until it holds); that message."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            if always and until(None):
                return {}
            for message in self.messages[seen:]:
                if until(message):
                    return message
            seen = len(self.messages)
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout} s: {what}; got {self.messages[-5:]}")
            try:
                self.feed(self.kc.get_iopub_msg(timeout=0.5))
            except queue.Empty:
                pass

    def start(self, code: str) -> Output:
        """Run a cell without waiting."""
        cell = start(self.kc, code)
        self.cells.append(cell)
        return cell

    def finish(self, cell: Output) -> Output:
        """Wait until the cell ended; fail on an error."""
        self.wait(lambda _: cell.idle, "the cell to end", always=True)
        assert not cell.errors, cell.describe()
        return cell

    def run(self, code: str) -> Output:
        return self.finish(self.start(code))


def study_of(name: str, **state: Any):
    def match(message: dict[str, Any]) -> bool:
        if message.get("type") != "study" or message["study"]["name"] != name:
            return False
        return all(message["study"][k] == v for k, v in state.items())

    return match


SLOW = """\
%%tune --method random --trials 40 --seed 3 --name slow {extra}
x = hp.real(0.0, 1.0)
time.sleep(0.25)
x
"""


@pytest.mark.parametrize("extra", ["--background", ""], ids=["background", "foreground"])
def test_stop_from_the_sidebar_keeps_the_finished_trials(kernel: Kernel, extra: str) -> None:
    frontend = Frontend(kernel.kc)
    listed = frontend.wait(lambda m: m.get("type") == "studies", "the list on opening")
    assert listed["version"] == PROTOCOL_VERSION and listed["studies"] == []

    cell = frontend.start(SLOW.format(extra=extra))
    running = frontend.wait(lambda m: study_of("slow")(m) and m["study"]["done"] >= 3, "three trials done")
    info = running["study"]
    assert info["state"] == "running" and info["method"] == "random" and info["planned"] == 40
    assert info["best_value"] is not None and set(info["best_params"]) == {"x"}
    assert len(info["history"]) == info["done"] and info["history"] == sorted(info["history"], reverse=True)

    frontend.request(type="stop", study="slow")
    stopped = frontend.wait(study_of("slow", state="stopped"), "the search stopped")["study"]
    frontend.finish(cell)
    assert 3 <= stopped["done"] < 40
    kept = execute(kernel.kc, "print(len(slow.trials), [t.state.value for t in slow.trials].count('complete'))")
    assert kept.stdout.split() == [str(stopped["done"])] * 2


QUICK = """\
%%tune --method random --trials 3 --seed 0 --name quick
lr = hp.real(1e-4, 1e-1, log=True, default=0.001)
units = hp.int(8, 64)
act = hp.choice(["relu", "tanh"])
lr * units + (act == "tanh")
"""


def test_save_to_cell_sends_the_panel_settings_that_changed(kernel: Kernel) -> None:
    frontend = Frontend(kernel.kc)
    frontend.run(QUICK)
    frontend.request(type="write_cell", study="quick")
    unchanged = frontend.wait(lambda m: m.get("type") == "write_cell", "write_cell")
    assert unchanged["params"] == {}
    line = unchanged["line"]
    assert (line["method"], line["point"]) == ("random", None)
    assert {flag: value for flag, value in line["options"].items() if value is not None} == {
        "--method": "random",
        "--trials": "3",
        "--maximize": False,
        "--seed": "0",
        "--prune": "none",
    }

    # The user narrows units, turns log off for lr, and picks bayes with 9 trials in the panel.
    widgets = frontend.widgets
    slider = widgets.find("IntRangeSliderModel", value=[8, 64])
    set_state(kernel.kc, slider, value=[16, 32])
    set_state(kernel.kc, widgets.find("CheckboxModel", description="log", value=True), value=False)
    method = widgets.find("ToggleButtonsModel", _options_labels=["manual", "grid", "random", "bayes"])
    set_state(kernel.kc, method, index=3)
    trials = widgets.find("TextModel", description="trials")
    set_state(kernel.kc, trials, value="9")
    set_state(kernel.kc, widgets.find("TextModel", description="patience"), value="4")
    frontend.messages.clear()
    frontend.request(type="write_cell", study="quick")
    changed = frontend.wait(lambda m: m.get("type") == "write_cell", "write_cell after changes")
    options = changed["line"]["options"]
    assert changed["line"]["method"] == "bayes" and options["--method"] == "bayes" and options["--trials"] == "9"
    assert {flag: options[flag] for flag in ("--acq", "--initial-points", "--grid-points")} == {
        "--acq": "EI",
        "--initial-points": None,
        "--grid-points": None,
    }
    assert (options["--prune"], options["--patience"], options["--max-steps"]) == ("none", "4", None)
    assert changed["params"]["units"] == {"kind": "int", "low": "16", "high": "32", "log": False, "drop_default": False}
    lr = changed["params"]["lr"]
    assert lr["kind"] == "real" and lr["log"] is False and lr["drop_default"] is False
    assert ast.literal_eval(lr["low"]) == pytest.approx(1e-4) and ast.literal_eval(lr["high"]) == pytest.approx(0.1)
    assert "act" not in changed["params"]

    # In the manual method the cell gets the point the manual controls show, and no seed.
    set_state(kernel.kc, method, index=0)
    frontend.messages.clear()
    frontend.request(type="write_cell", study="quick")
    manual = frontend.wait(lambda m: m.get("type") == "write_cell", "write_cell in manual")
    assert manual["line"]["method"] == "manual" and manual["line"]["options"]["--seed"] is None
    point = dict(item.split("=") for item in manual["line"]["point"].split(", "))
    assert set(point) == {"lr", "units", "act"} and ast.literal_eval(point["act"]) in ("relu", "tanh")
    assert 16 <= ast.literal_eval(point["units"]) <= 32


def test_save_to_cell_after_continue_writes_the_trials_of_the_whole_study(kernel: Kernel) -> None:
    frontend = Frontend(kernel.kc)
    frontend.run(QUICK)  # 3 trials
    widgets = frontend.widgets
    set_state(kernel.kc, widgets.find("TextModel", description="trials"), value="2")
    click(kernel.kc, widgets.button("Continue"))
    frontend.wait(study_of("quick", total=5, state="finished"), "the Continue to end")
    frontend.messages.clear()
    frontend.request(type="write_cell", study="quick")
    saved = frontend.wait(lambda m: m.get("type") == "write_cell", "write_cell")
    assert saved["line"]["options"]["--trials"] == "5", (
        "re-running the saved cell must repeat the 3 + 2 trials that ran"
    )

    set_state(kernel.kc, widgets.find("TextModel", description="trials"), value="7")  # a number typed afterwards
    frontend.messages.clear()
    frontend.request(type="write_cell", study="quick")
    assert frontend.wait(lambda m: m.get("type") == "write_cell", "write_cell")["line"]["options"]["--trials"] == "7"


def test_use_best_params_sends_python_literals(kernel: Kernel) -> None:
    frontend = Frontend(kernel.kc)
    frontend.run(QUICK)
    frontend.request(type="insert_cell", study="quick")
    message = frontend.wait(lambda m: m.get("type") == "insert_cell", "insert_cell")
    best = {name: ast.literal_eval(text) for name, text in message["params"].items()}
    expected = execute(kernel.kc, "print(repr(quick.best_params))").stdout.strip()
    assert best == ast.literal_eval(expected)
    assert isinstance(best["units"], int) and isinstance(best["act"], str)


def test_bad_requests_get_a_notice_that_says_what_is_wrong(kernel: Kernel) -> None:
    frontend = Frontend(kernel.kc)
    frontend.wait(lambda m: m.get("type") == "studies", "the list")
    frontend.request(type="stop", study="nowhere")
    notice = frontend.wait(lambda m: m.get("type") == "notice", "a notice")
    assert "nowhere" in notice["message"] and notice["error"] is True
    frontend.messages.clear()
    frontend.kc.shell_channel.send(
        frontend.kc.session.msg("comm_msg", {"comm_id": frontend.comm_id, "data": {"version": 7, "type": "refresh"}})
    )
    notice = frontend.wait(lambda m: m.get("type") == "notice", "a version notice")
    assert "version 7" in notice["message"] and f"version {PROTOCOL_VERSION}" in notice["message"]


def test_load_ext_lists_studies_saved_beside_the_notebook(kernels, tmp_path: Path) -> None:
    first = kernels()
    execute(first.kc, QUICK.replace("--trials 3", "--trials 4"))
    second = kernels()  # a restarted kernel: %load_ext has run; its comm_open carried the list
    frontend = Frontend(second.kc)
    listed = frontend.wait(lambda m: m.get("type") == "studies", "the list")["studies"]
    assert [(s["name"], s["method"], s["state"], s["done"], s["total"]) for s in listed] == [
        ("quick", "random", "finished", 4, 4)
    ]
    assert listed[0]["cell_id"] is None and listed[0]["storage"].endswith("quick.sqlite")
