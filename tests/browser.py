"""A real JupyterLab server and headless Chromium (Debian's, driven by Playwright) for the frontend's tests."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

CHROMIUM = os.environ.get("HPTUNE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "hptune-test"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-results" / "screenshots"
LOAD = "%load_ext jupyter_hptune"  # a notebook's first cell
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


@dataclass
class Lab:
    """A running `jupyter lab` server: its URL and the folder it serves."""

    url: str
    root: Path

    def notebook(self, name: str, cells: list[str]) -> str:
        """Write a notebook of code cells into the served folder; its URL in JupyterLab."""
        nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNELSPEC})
        nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        nbformat.write(nb, self.root / name)
        return f"{self.url}/lab/tree/{name}?token={TOKEN}&reset"  # reset: no notebooks of earlier tests


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A JupyterLab server on 127.0.0.1 with a token, serving a fresh folder (news and update checks off)."""
    root = tmp_path_factory.mktemp("lab")
    settings = tmp_path_factory.mktemp("settings")
    news = settings / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port = _free_port()
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    command = [
        str(Path(sys.executable).parent / "jupyter"),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={TOKEN}",
        "--LabApp.news_url=",
        "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = open(root.parent / f"{root.name}-server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"jupyter lab did not start; see {log.name}") from None
            time.sleep(0.3)
    yield Lab(url, root)
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser build)."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A new page; its screenshot is saved to test-results/screenshots/ whether the test passed or failed."""
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
    page.console_errors = console
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    try:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    finally:
        context.close()


# -- steps a user takes ------------------------------------------------------------------------------------------------
def open_notebook(page: Any, url: str) -> None:
    """Open a notebook and wait until its kernel is idle."""
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    # JupyterLab may still ask which kernel to start, although the notebook names one: take the one it offers.
    choose = page.locator(".jp-Dialog", has_text="Select Kernel").locator(".jp-mod-accept")
    try:
        choose.wait_for(timeout=3_000)
        choose.click()
    except Exception:
        pass
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)


def run_notebook(page: Any, url: str) -> None:
    """Open a notebook, run all its cells and wait until they have run."""
    open_notebook(page, url)
    run_all(page)
    wait_idle(page)


def menu(page: Any, top: str, item: str) -> None:
    """Click a menu bar item, then an entry of its menu."""
    page.locator(".lm-MenuBar-item", has_text=top).first.click()
    page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}")).first.click()


def run_all(page: Any) -> None:
    """Run > Run All Cells."""
    menu(page, "Run", "Run All Cells")


def wait_idle(page: Any, timeout: float = 120_000) -> None:
    """Wait until the kernel has run everything queued."""
    page.wait_for_timeout(500)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout)


def cell_source(page: Any, index: int) -> str:
    """The text of a cell's editor."""
    lines = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".cm-content .cm-line").all_inner_texts()
    return "\n".join(line.replace("\u200b", "") for line in lines)


def cell_count(page: Any) -> int:
    """How many cells the notebook has."""
    return page.locator(".jp-Notebook .jp-Cell").count()


def open_sidebar(page: Any) -> Any:
    """Open the Tuning sidebar (its tab on the left) and return it."""
    sidebar = page.locator("#jupyter-hptune-sidebar")
    if not sidebar.is_visible():
        page.locator(".jp-SideBar [data-id='jupyter-hptune-sidebar']").click()
    sidebar.wait_for(state="visible")
    return sidebar


def study_item(page: Any, name: str) -> Any:
    """A study's entry in the sidebar."""
    return page.locator(f"#jupyter-hptune-sidebar .hptune-study[data-study='{name}']")


def trials_done(item: Any) -> int:
    """The trials done that a sidebar entry shows."""
    text = item.locator(".hptune-study-counts").inner_text()
    found = re.match(r"(\d+)/(\d+) trials", text)
    assert found, f"no trial count in {text!r}"
    return int(found.group(1))
