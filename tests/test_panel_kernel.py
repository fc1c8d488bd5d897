"""The panel in a real kernel: clicks and changes sent as a frontend sends them, while and after a search runs."""

from __future__ import annotations

import base64
import queue
import re
import time
from pathlib import Path

import pytest
from kernels import TIMEOUT, Kernel, Widgets, click, collect, evaluate, execute, pump, set_state, start

pytestmark = pytest.mark.slow

CELL = """\
%%tune --method random --trials {trials} --seed 0 --maximize {extra}
x = hp.real(-5.0, 5.0)
kind = hp.choice(["a", "b", "c"])
time.sleep({sleep})
-(x - 1.0) ** 2 - (kind == "b")
"""


def study_state(kc, widgets: Widgets, name: str = "study") -> dict:
    return evaluate(
        kc,
        f"dict(n=len({name}.trials), states=[t.state.value for t in {name}.trials], "
        f"xs=[t.params['x'] for t in {name}.trials], kinds=[t.params['kind'] for t in {name}.trials], "
        f"sources=[t.source for t in {name}.trials], id=id({name}), best=x == {name}.best_params['x'])",
        widgets,
    )


def wait_for_search(kc, widgets: Widgets, what: str) -> None:
    """After a click that starts a search: wait until it started and ended (the Stop button says both)."""
    stop = widgets.button("Stop")
    pump(kc, widgets, lambda: widgets.state(stop)["disabled"] is False, what=f"{what} started")
    pump(kc, widgets, lambda: widgets.state(stop)["disabled"] is True, what=f"{what} ended")


def test_the_stop_button_ends_a_running_cell_after_its_trial(kernel: Kernel, tmp_path: Path) -> None:
    kc, widgets = kernel.kc, Widgets()
    output = start(kc, CELL.format(trials=40, extra="", sleep=0.3))
    collect(kc, output, until=lambda out: len(out.complete_lines) >= 2, widgets=widgets)
    click(kc, widgets.button("Stop"))
    collect(kc, output, widgets=widgets)

    assert not output.errors, output.describe()
    assert "Search ended early: stopped on request." in output.stdout, output.describe()
    state = study_state(kc, widgets)
    assert 2 <= state["n"] < 10, state
    assert state["states"] == ["complete"] * state["n"], "the running trial finished and was kept"
    assert state["best"] is True, "the best params are bound"
    assert len(output.complete_lines) == state["n"]
    assert (tmp_path / ".hptune" / "study.sqlite").is_file()


def test_continue_narrowed_manual_and_run_share_the_panel(kernel: Kernel) -> None:
    kc, widgets = kernel.kc, Widgets()
    execute(kc, CELL.format(trials=4, extra="", sleep=0), widgets=widgets)
    first = study_state(kc, widgets)
    assert first["n"] == 4

    # Narrow x to [0, 2] and drop option 'b', then Continue with 5 more trials: same study, new space.
    x_slider = widgets.find("FloatRangeSliderModel", min=-5.0, max=5.0)
    set_state(kc, x_slider, value=[0.0, 2.0])
    set_state(kc, widgets.find("SelectMultipleModel"), index=[0, 2])
    set_state(kc, widgets.find("TextModel", description="trials"), value="5")
    click(kc, widgets.button("Continue"))
    wait_for_search(kc, widgets, "Continue")
    more = study_state(kc, widgets)
    assert more["id"] == first["id"], "Continue adds to the same study"
    assert more["n"] == 9
    assert more["xs"][:4] == first["xs"]
    assert all(0.0 <= x <= 2.0 for x in more["xs"][4:]), more["xs"]
    assert "b" not in more["kinds"][4:]

    # Manual: one point, chosen with the single-value controls, evaluated as a trial of the same study.
    toggle = widgets.find("ToggleButtonsModel", _options_labels=["manual", "grid", "random", "bayes"])
    set_state(kc, toggle, index=0)
    execute(kc, "pass", widgets=widgets)  # as a frontend would, see the controls the switch brought
    set_state(kc, widgets.find("FloatSliderModel", min=-5.0, max=5.0), value=1.25)
    set_state(kc, widgets.find("DropdownModel", _options_labels=["a", "b", "c"]), index=2)
    click(kc, widgets.button("Run trial"))
    wait_for_search(kc, widgets, "Run trial")
    manual = study_state(kc, widgets)
    assert manual["id"] == first["id"] and manual["n"] == 10
    assert (manual["xs"][-1], manual["kinds"][-1], manual["sources"][-1]) == (1.25, "c", "manual")

    # Bad settings: a message in the panel, nothing started, the study untouched.
    set_state(kc, toggle, index=2)
    set_state(kc, widgets.find("TextModel", description="trials"), value="0")
    message = widgets.find("HTMLModel", _dom_classes=["hptune-message"])
    click(kc, widgets.button("Run"))
    pump(
        kc,
        widgets,
        lambda: "trials must be a positive integer, got 0" in widgets.state(message)["value"],
        what="the message",
    )
    assert study_state(kc, widgets)["n"] == 10

    # Run: a new study with the panel's settings, bound to the same name.
    set_state(kc, widgets.find("TextModel", description="trials"), value="3")
    click(kc, widgets.button("Run"))
    wait_for_search(kc, widgets, "Run")
    fresh = study_state(kc, widgets)
    assert fresh["id"] != first["id"] and fresh["n"] == 3
    assert all(0.0 <= x <= 2.0 for x in fresh["xs"])


def test_the_final_display_carries_static_plots(kernel: Kernel) -> None:
    kc, widgets = kernel.kc, Widgets()
    execute(kc, CELL.format(trials=6, extra="--method bayes", sleep=0).replace("--method random ", ""), widgets=widgets)
    final = widgets.displayed[-1]
    assert "application/vnd.jupyter.widget-view+json" in final
    png = base64.b64decode(final["image/png"])
    assert png.startswith(b"\x89PNG")
    assert "Best score" in final["text/plain"]
    images = [s for s in widgets.models.values() if s.get("_model_name") == "ImageModel"]
    assert images, "the panel shows its plots as image widgets"


def test_background_search_leaves_the_notebook_usable_and_stops_on_click(kernel: Kernel) -> None:
    kc, widgets = kernel.kc, Widgets()
    output = execute(kc, CELL.format(trials=30, extra="--background --name bg", sleep=0.25), widgets=widgets)
    assert "Searching in the background" in output.stdout
    assert evaluate(kc, "'bg' in globals()", widgets) is False, "the cell returned before the search ended"
    assert evaluate(kc, "1 + 1", widgets) == 2, "another cell runs meanwhile"
    status = widgets.find("HTMLModel", _dom_classes=["hptune-status"])

    def done() -> int:
        found = re.search(r"<b>(\d+)</b> / 30 trials", widgets.state(status)["value"])
        return int(found.group(1)) if found else 0

    pump(kc, widgets, lambda: done() >= 3, what="3 trials done")
    stop = widgets.button("Stop")
    click(kc, stop)
    pump(kc, widgets, lambda: widgets.state(stop)["disabled"] is True, what="the search ended")
    state = study_state(kc, widgets, "bg")
    assert 3 <= state["n"] < 10 and state["states"] == ["complete"] * state["n"], state
    message = widgets.state(widgets.find("HTMLModel", _dom_classes=["hptune-message"]))["value"]
    assert f"{state['n']} trials" in message, message


def test_a_study_searching_in_the_background_is_not_started_twice(kernel: Kernel) -> None:
    kc, widgets = kernel.kc, Widgets()
    execute(kc, CELL.format(trials=30, extra="--background --name bg", sleep=0.2), widgets=widgets)
    again = execute(kc, CELL.format(trials=3, extra="--name bg", sleep=0), ok=False, widgets=widgets)
    assert "UsageError: a search of study 'bg' is still running" in again.stderr, again.describe()
    click(kc, widgets.button("Stop"))
    pump(kc, widgets, lambda: widgets.state(widgets.button("Stop"))["disabled"] is True, what="the search ended")
    rerun = execute(kc, CELL.format(trials=3, extra="--name bg --no-panel", sleep=0), widgets=widgets)
    assert "Best score" in rerun.stdout and evaluate(kc, "len(bg.trials)", widgets) == 3


def test_the_score_plot_reaches_the_frontend_soon_after_trial_1(kernel: Kernel) -> None:
    kc, widgets = kernel.kc, Widgets()
    output = start(kc, CELL.format(trials=5, extra="", sleep=0.5))
    images: list[str] = []  # the panel's image widgets in the order they were created: the score plot first
    arrived: list[float] = []  # when a new score plot (an update carrying the image's bytes) came in
    deadline = time.monotonic() + TIMEOUT
    while not output.idle:
        assert time.monotonic() < deadline, output.describe()
        try:
            msg = kc.get_iopub_msg(timeout=1.0)
        except queue.Empty:
            continue
        widgets.feed(msg)
        content = msg["content"]
        if msg["msg_type"] == "comm_open" and content["data"]["state"].get("_model_name") == "ImageModel":
            images.append(content["comm_id"])
        elif msg["msg_type"] == "comm_msg" and images and content["comm_id"] == images[0] and msg["buffers"]:
            arrived.append(time.time())
        elif msg["msg_type"] == "status" and msg["parent_header"].get("msg_id") == output.msg_id:
            output.idle = content["execution_state"] == "idle"
    finished = evaluate(kc, "[t.finished for t in study.trials]", widgets)
    assert arrived, "the score plot was sent"
    assert arrived[0] - finished[0] > 0, "not before trial 1 finished"
    assert arrived[0] < finished[2], f"trial 1's score plot came {arrived[0] - finished[0]:.2f} s after it finished"
