"""Shared fixtures: a real IPython shell with the extension loaded, and the benchmark problems on the path."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kernels import kernel, kernels  # noqa: F401  (fixtures: real kernels with the extension loaded)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A real IPython InteractiveShell with jupyter_hptune loaded, working in a temporary folder."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.chdir(tmp_path)
    ip = InteractiveShell.instance()
    ip.reset(new_session=False)
    if "jupyter_hptune" in ip.extension_manager.loaded:
        import jupyter_hptune

        jupyter_hptune.load_ipython_extension(ip)  # what %load_ext did, on the namespace that reset() cleared
    else:
        ip.run_line_magic("load_ext", "jupyter_hptune")
    yield ip
    ip.reset(new_session=False)
