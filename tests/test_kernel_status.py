"""The kernel's status reads Busy for the whole of a %%tune search, though it handles other messages meanwhile."""

from __future__ import annotations

import queue
import time

import pytest
from kernels import TIMEOUT, Kernel, Widgets, click, evaluate, set_state

pytestmark = pytest.mark.slow

CELL = """\
%%tune --method random --trials 10 --seed 0 --name s
x = hp.real(-5.0, 5.0)
time.sleep(0.2)
(x - 1.0) ** 2
"""


def statuses_while(kc, msg_id: str, during) -> tuple[list[tuple[str, str]], Widgets]:
    """(status, parent msg_type) of every status published until msg_id's idle; `during(widgets)` runs meanwhile."""
    widgets, seen = Widgets(), []
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        during(widgets)
        try:
            msg = kc.get_iopub_msg(timeout=0.05)
        except queue.Empty:
            continue
        widgets.feed(msg)
        if msg["msg_type"] != "status":
            continue
        state, parent = msg["content"]["execution_state"], msg["parent_header"]
        seen.append((state, parent.get("msg_type", "")))
        if parent.get("msg_id") == msg_id and state == "idle":
            return seen, widgets
    raise AssertionError(f"no idle status within {TIMEOUT} s: {seen}")


def test_status_stays_busy_while_a_search_handles_other_messages(kernel: Kernel) -> None:
    kc = kernel.kc
    # JupyterLab sends requests on a subshell and on the control channel while a cell runs; each publishes its own
    # busy and idle status, and the frontend shows the last one.
    kc.control_channel.send(kc.session.msg("create_subshell_request", {}))
    subshell = kc.control_channel.get_msg(timeout=10)["content"]["subshell_id"]
    while True:  # drain the subshell request's statuses
        try:
            kc.get_iopub_msg(timeout=0.5)
        except queue.Empty:
            break

    sent = []

    def meanwhile(widgets: Widgets) -> None:
        """Once the panel shows, every 0.2 s (5 times): a widget update, a control and a subshell request."""
        sliders = [c for c, s in widgets.models.items() if s.get("_model_name") == "FloatSliderModel"]
        if not sliders or len(sent) >= 5 or (sent and time.monotonic() - sent[-1] < 0.2):
            return
        sent.append(time.monotonic())
        set_state(kc, sliders[0])
        kc.control_channel.send(kc.session.msg("kernel_info_request", {}))
        request = kc.session.msg("comm_info_request", {})
        request["header"]["subshell_id"] = subshell
        kc.shell_channel.send(request)

    msg_id = kc.execute(CELL)
    seen, _ = statuses_while(kc, msg_id, meanwhile)
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=TIMEOUT)
    assert reply["content"]["status"] == "ok", reply["content"]

    assert len(sent) == 5, "the panel never showed"
    start = seen.index(("busy", "execute_request"))
    during = seen[start:-1]
    assert {"kernel_info_request", "comm_info_request"} <= {parent for _, parent in during}, seen
    # Each request handled meanwhile gets its own idle (a frontend needs it to count the request done), and at once a
    # busy after it: the status a frontend shows, the last one it received, stays busy.
    # (The control channel and the subshell publish from two threads, so their statuses may interleave.)
    idles = [i for i, s in enumerate(during) if s[0] == "idle"]
    assert idles and all(("busy", during[i][1]) in during[i + 1 :] for i in idles), seen
    assert during[-1][0] == "busy", f"the kernel read idle while the search ran: {seen}"
    assert {during[i][1] for i in idles} <= {"kernel_info_request", "comm_info_request"}, seen
    assert seen[-1] == ("idle", "execute_request")

    # Afterwards the kernel reads idle again, after other requests as after cells.
    kc.control_channel.send(kc.session.msg("kernel_info_request", {}))
    late, _ = statuses_while(kc, kc.execute("1 + 1"), lambda widgets: None)
    assert ("idle", "kernel_info_request") in late, late
    assert late[-1] == ("idle", "execute_request"), late
    assert evaluate(kc, "len(s.trials)") == 10


@pytest.mark.parametrize("ending", ["interrupted", "failed"])
def test_status_reads_idle_again_after_a_search_that_did_not_finish(kernel: Kernel, ending: str) -> None:
    kc = kernel.kc
    cell = CELL.replace("--trials 10", "--trials 50")
    if ending == "failed":
        cell = cell.replace("(x - 1.0) ** 2", "1 / 0")
    msg_id = kc.execute(cell)
    began, interrupted = time.monotonic(), []

    def meanwhile(widgets: Widgets) -> None:
        """Interrupt the kernel once, 1.5 s into the search."""
        if ending == "interrupted" and not interrupted and time.monotonic() - began > 1.5:
            kernel.km.interrupt_kernel()
            interrupted.append(True)

    statuses_while(kc, msg_id, meanwhile)
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=TIMEOUT)
    assert reply["content"]["status"] == "error", reply["content"]
    assert reply["content"]["ename"] == ("KeyboardInterrupt" if ending == "interrupted" else "UsageError")

    kc.control_channel.send(kc.session.msg("kernel_info_request", {}))
    late, _ = statuses_while(kc, kc.execute("1 + 1"), lambda widgets: None)
    assert ("idle", "kernel_info_request") in late, late
    assert late[-1] == ("idle", "execute_request"), late


def statuses_until_ended(kc, widgets: Widgets) -> list[tuple[str, str]]:
    """(status, parent msg_type) of every status published until the panel's search has ended and the kernel settled.

    Once the search runs, a request on the control channel is sent (JupyterLab sends such requests meanwhile).
    """
    seen: list[tuple[str, str]] = []
    stop, ran, ended = widgets.button("Stop"), False, None
    deadline = time.monotonic() + TIMEOUT

    def settled() -> bool:  # 1 s after the end with idle last (the final plots come first), or 15 s after it
        waited = time.monotonic() - ended
        return waited > 15 or (waited > 1 and bool(seen) and seen[-1][0] == "idle")

    while time.monotonic() < deadline and (ended is None or not settled()):
        try:
            msg = kc.get_iopub_msg(timeout=0.1)
        except queue.Empty:
            continue
        widgets.feed(msg)
        if msg["msg_type"] == "status":
            seen.append((msg["content"]["execution_state"], msg["parent_header"].get("msg_type", "")))
        if not ran and widgets.state(stop)["disabled"] is False:
            ran = True
            kc.control_channel.send(kc.session.msg("kernel_info_request", {}))
        if ran and ended is None and widgets.state(stop)["disabled"] is True:
            ended = time.monotonic()  # the panel's Stop button is disabled again: the search has ended
    return seen


@pytest.mark.parametrize("started_by", ["background", "panel"])
def test_status_stays_busy_while_a_search_runs_as_a_task_and_reads_idle_when_it_ends(
    kernel: Kernel, started_by: str
) -> None:
    kc = kernel.kc
    if started_by == "background":
        seen, widgets = statuses_while(kc, kc.execute(CELL.replace("--trials 10", "--trials 8 --background")), noop)
        start = seen.index(("idle", "execute_request"))  # the cell returned at once; its search goes on
    else:
        _, widgets = statuses_while(kc, kc.execute(CELL.replace("--trials 10", "--trials 8")), noop)
        click(kc, widgets.button("Run"))  # a new study of 8 trials, started from the panel
        seen, start = [], 0
    seen += statuses_until_ended(kc, widgets)
    after = seen[start:]
    idles = [i for i, s in enumerate(after) if s[0] == "idle"]
    # Every idle published while the search ran is followed by busy: the last status before it ended was busy.
    assert all(("busy", after[i][1]) in after[i + 1 :] for i in idles[:-1]), seen
    assert after[idles[0] + 1][0] == "busy", f"the kernel read idle while the search ran: {seen}"
    assert ("idle", "kernel_info_request") in after, seen
    assert after[-1][0] == "idle", f"the kernel still reads busy after the search ended: {seen}"
    assert evaluate(kc, "len(s.trials)") == 8, "the search had ended when the kernel read idle again"


def noop(widgets: Widgets) -> None:
    """Nothing to do while waiting."""
