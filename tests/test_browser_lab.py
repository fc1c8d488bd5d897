"""The extension in a real JupyterLab: panels of a dead kernel, and the sidebar of a folder of several notebooks."""

from __future__ import annotations

import re

import pytest
from browser import (  # noqa: F401  (fixtures)
    LOAD,
    browser,
    lab,
    open_notebook,
    open_sidebar,
    page,
    run_all,
    run_notebook,
    study_item,
    wait_idle,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def search(name: str, sleep: float = 0.0) -> str:
    """A quick %%tune cell of study `name` (each trial sleeping this long)."""
    return (
        f"%%tune --method random --trials 3 --seed 0 --name {name}\n"
        f"import time\nx = hp.real(0.0, 1.0)\ntime.sleep({sleep})\n(x - 0.3) ** 2"
    )


def on_one_line(buttons: list) -> bool:
    """Whether these visible buttons are side by side, none wrapped to a line of its own."""
    tops = [b.evaluate("e => e.getBoundingClientRect().top") for b in buttons]
    return all(b.is_visible() for b in buttons) and max(tops) - min(tops) < 1


def plot_boxes(panel) -> list[tuple[int, int]]:
    """Where the panel's two plots sit, relative to the panel: (left, top) of each, in pixels."""
    return panel.evaluate(
        """panel => {
            const origin = panel.getBoundingClientRect();
            return [...panel.querySelectorAll('.hptune-plots img')].slice(0, 2).map(img => {
                const box = img.getBoundingClientRect();
                return [Math.round(box.left - origin.left), Math.round(box.top - origin.top)];
            });
        }"""
    )


def restart_kernel(page) -> None:  # noqa: F811
    """Kernel > Restart Kernel..., confirmed."""
    page.locator(".lm-MenuBar-item", has_text="Kernel").first.click()
    page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel", has_text=re.compile("^Restart Kernel")).first.click()
    page.locator(".jp-Dialog .jp-mod-accept").click()


def test_panels_of_a_restarted_kernel_say_so_and_disable_their_buttons(lab, page) -> None:  # noqa: F811
    run_notebook(page, lab.notebook("stale.ipynb", [LOAD, search("quick")]))
    panel = page.locator(".hptune-panel").first
    panel.locator("button", has_text="Continue").wait_for()
    open_sidebar(page)
    study_item(page, "quick").wait_for()  # the kernel has said which it is
    assert panel.locator(".hptune-stale-notice").count() == 0
    assert panel.locator("button", has_text="Continue").is_enabled()
    plots = plot_boxes(panel)

    restart_kernel(page)
    notice = panel.locator(".hptune-stale-notice")
    notice.wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    shift = notice.evaluate("e => e.getBoundingClientRect().height + parseFloat(getComputedStyle(e).marginBottom)")
    moved = [(left, round(top - shift)) for left, top in plot_boxes(panel)]
    assert all(abs(a - b) <= 2 for was, now in zip(plots, moved) for a, b in zip(was, now)), (
        f"the plots stay where they were, below the notice: {plots} -> {moved}"
    )
    assert "restarted or shut down" in notice.inner_text() and "Run the cell again" in notice.inner_text()
    buttons = panel.locator("button").all()
    assert buttons and all(button.is_disabled() for button in buttons)
    assert all(i.is_disabled() for i in panel.locator("input").all())
    wait_idle(page)

    # The cell run again gives a live panel, without the notice.
    run_all(page)
    wait_idle(page)
    study_item(page, "quick").wait_for(timeout=30_000)
    fresh = page.locator(".hptune-panel").first
    fresh.locator("button", has_text="Continue").wait_for()
    page.wait_for_timeout(500)  # a mark would be made within a frame of the panel's rendering
    assert page.locator(".hptune-panel").count() == 1
    assert fresh.locator(".hptune-stale-notice").count() == 0
    assert "hptune-panel-stale" not in (fresh.get_attribute("class") or "")
    assert fresh.locator("button", has_text="Continue").is_enabled()
    assert not page.errors, page.errors


def test_panels_of_a_shut_down_kernel_say_so(lab, page) -> None:  # noqa: F811
    run_notebook(page, lab.notebook("shutdown.ipynb", [LOAD, search("gone")]))
    panel = page.locator(".hptune-panel").first
    panel.locator("button", has_text="Continue").wait_for()
    page.locator(".lm-MenuBar-item", has_text="Kernel").first.click()
    page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel", has_text=re.compile("^Shut Down Kernel")).first.click()
    accept = page.locator(".jp-Dialog .jp-mod-accept")
    try:
        accept.wait_for(timeout=3_000)
        accept.click()
    except Exception:
        pass  # no confirmation asked
    panel.locator(".hptune-stale-notice").wait_for(timeout=30_000)
    assert panel.locator("button", has_text="Continue").is_disabled()
    assert not page.errors, page.errors


def test_the_sidebar_lists_this_notebook_s_studies_and_the_others_apart(lab, page) -> None:  # noqa: F811
    page.set_viewport_size({"width": 1024, "height": 768})
    (lab.root / "pair").mkdir()  # a folder of its own: the other tests' studies are in the served folder's .hptune/
    run_notebook(page, lab.notebook("pair/b.ipynb", [LOAD, search("beta")]))
    a = lab.notebook("pair/a.ipynb", [LOAD, search("alpha", sleep=1.5)])
    open_notebook(page, a)
    sidebar = open_sidebar(page)
    run_all(page)
    alpha = study_item(page, "alpha")
    # At a 1024-px window, the sidebar's buttons fit on one line, the Stop of a running search included.
    alpha.locator(".hptune-study-state", has_text="running").wait_for(timeout=30_000)
    assert on_one_line([alpha.locator(c) for c in (".hptune-stop", ".hptune-use-best", ".hptune-save")])
    wait_idle(page)
    alpha.locator(".hptune-study-state", has_text="finished").wait_for(timeout=30_000)
    beta = study_item(page, "beta")
    beta.wait_for(state="attached")

    # alpha among this notebook's studies; beta apart, in a collapsed group that says what it is, naming b.ipynb.
    mine = sidebar.locator(":scope > .hptune-study-list > .hptune-study").all()
    assert [item.get_attribute("data-study") for item in mine] == ["alpha"]
    others = sidebar.locator(".hptune-other-studies")
    assert others.locator(".hptune-other-studies-title").inner_text() == "Other notebooks' studies in this folder (1)"
    assert not beta.is_visible()
    others.locator(".hptune-other-studies-title").click()
    beta.wait_for()
    assert "run by b.ipynb" in beta.inner_text()
    assert beta.locator(".hptune-study-buttons").is_hidden()
    beta.click()
    toast = page.locator(".Toastify__toast", has_text="beta")
    toast.wait_for()
    assert "b.ipynb" in toast.inner_text()
    assert on_one_line([alpha.locator(".hptune-use-best"), alpha.locator(".hptune-save")])
    assert not page.errors, page.errors
