"""Keep the kernel's status Busy while a %%tune cell's search runs.

While a search awaits between trials (an async cell), and on other threads even while a trial runs, the kernel
handles other messages: requests on the control channel and on subshells (which JupyterLab sends, e.g. for the
extension's sidebar and the debugger). The kernel publishes "busy" then "idle" around each of them, and JupyterLab
shows the last status it received: "idle", though the cell still runs. While a search runs, each such "idle" is
followed at once by "busy"; the cell's own "idle" follows its reply, once the search has ended.

A search that runs as a task (`--background`, the panel's buttons) has no request of its own: the "idle" of the cell
or click that started it is followed by "busy" too, and when the task ends the kernel publishes "idle" again.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["kernel_busy"]

_lock = threading.Lock()
_searches = 0  # searches running now
_followed: list[tuple[Any, Any]] = []  # the channel and parent of the latest "busy" that followed an "idle"


def _searching() -> bool:
    with _lock:
        return _searches > 0


def _install(kernel: Any) -> None:
    """Wrap the kernel's status publishing (once) so that while a search runs, every "idle" is followed by "busy"."""
    original = getattr(kernel, "_publish_status", None)
    if original is None or getattr(original, "_hptune_busy", False):
        return

    def publish_status(status, channel, parent=None):
        # The request's own "idle" must go out: a frontend counts a request done on its reply and that idle (a
        # request left without it is cancelled with an error on restart). The "busy" after it is what it shows.
        result = original(status, channel, parent)
        if status == "idle" and _searching():
            original("busy", channel, parent)
            _followed[:] = [(channel, parent)]
        return result

    publish_status._hptune_busy = True  # type: ignore[attr-defined]
    publish_status._hptune_original = original  # type: ignore[attr-defined]
    kernel._publish_status = publish_status


@contextlib.contextmanager
def kernel_busy(kernel: Any, task: bool = False) -> Iterator[None]:
    """While the block runs, the kernel (if any) follows each "idle" it publishes with "busy"; afterwards it stops.

    task=True: the block is a search running as a task, so when the last search ends the kernel publishes "idle".
    """
    global _searches
    if kernel is None:
        yield
        return
    try:
        _install(kernel)
    except Exception:  # an unusual kernel: keep its statuses as they are rather than fail the search
        yield
        return
    with _lock:
        _searches += 1
    try:
        yield
    finally:
        with _lock:
            _searches -= 1
            last = _searches == 0
        if task and last and _followed:  # nobody else publishes the "idle" that ends the task's "busy"
            channel, parent = _followed.pop()
            kernel._publish_status._hptune_original("idle", channel, parent)
        elif last:
            _followed.clear()
