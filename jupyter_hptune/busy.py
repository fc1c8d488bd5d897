"""Keep the kernel's status Busy while a %%tune cell's search runs.

While a search awaits between trials (an async cell), and on other threads even while a trial runs, the kernel
handles other messages: requests on the control channel and on subshells (which JupyterLab sends, e.g. for the
extension's sidebar and the debugger). The kernel publishes "busy" then "idle" around each of them, and JupyterLab
shows the last status it received: "idle", though the cell still runs. While a search runs, the kernel publishes
"busy" where it would publish "idle"; the cell's own "idle" follows its reply, once the search has ended.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["kernel_busy"]

_lock = threading.Lock()
_searches = 0  # foreground searches running now


def _publishing(status: str) -> str:
    with _lock:
        return "busy" if status == "idle" and _searches else status


def _install(kernel: Any) -> None:
    """Wrap the kernel's status publishing (once) so "idle" reads "busy" while a search runs."""
    original = getattr(kernel, "_publish_status", None)
    if original is None or getattr(original, "_hptune_busy", False):
        return

    def publish_status(status, channel, parent=None):
        return original(_publishing(status), channel, parent)

    publish_status._hptune_busy = True  # type: ignore[attr-defined]
    kernel._publish_status = publish_status


@contextlib.contextmanager
def kernel_busy(kernel: Any) -> Iterator[None]:
    """While the block runs, the kernel (if any) publishes no "idle" status; afterwards it does again."""
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
