"""Which hyperparameters mattered, in a real JupyterLab: the Importance and Parallel coordinates tabs, and a trial
chosen beside the trials table, its params put into the manual controls."""

from __future__ import annotations

import re

import pytest
from browser import LOAD, SCREENSHOTS, browser, lab, page, run_notebook  # noqa: F401  (fixtures)
from playwright.sync_api import expect

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SEARCH = (
    "%%tune --method random --trials 16 --seed 0 --maximize --name insight\n"
    "x = hp.real(-5.0, 5.0)\n"
    'kind = hp.choice(["a", "b", "c"])\n'
    'if kind == "c" and x > 0:\n'
    '    raise ValueError("x > 0 with kind c")\n'
    '-(x - 1.0) ** 2 - (kind == "b")'
)


DRAWN = "sel => [...document.querySelectorAll(sel)].some(i => i.offsetParent && i.complete && i.naturalWidth > 200)"


def plain(text: str) -> str:
    """Text as read, the widgets' non-breaking spaces as spaces."""
    return text.replace("\xa0", " ")


def selected_text(select) -> str:
    """The label a <select> shows."""
    return plain(select.evaluate("s => s.options[s.selectedIndex].text"))


def row(panel, name: str):
    """The control row of one hyperparameter."""
    label = panel.page.locator(".widget-html b", has_text=re.compile(f"^{re.escape(name)}$"))
    return panel.locator(".hptune-controls .widget-hbox").filter(has=label).first


def test_tabs_show_importance_and_parallel_and_a_chosen_trial_goes_to_manual(lab, page) -> None:  # noqa: F811
    run_notebook(page, lab.notebook("insights.ipynb", [LOAD, SEARCH]))
    panel = page.locator(".hptune-panel").first

    # A trial chosen beside the table: the best at first, then a failed one with its traceback, then another.
    chooser = panel.locator(".hptune-trial-chooser select")
    detail = panel.locator(".hptune-trial-detail")
    labels = chooser.locator("option").all_inner_texts()
    assert len(labels) == 16
    assert all(re.fullmatch(r"#\d+ · \S+ · (complete|failed)", plain(label)) for label in labels), labels
    best = selected_text(chooser)
    assert plain(detail.locator(".hptune-trial-title").inner_text()) == f"Trial {best.split(' · ')[0]}"
    failed = next(label for label in labels if label.endswith("failed"))
    chooser.select_option(label=failed)
    traceback = detail.locator("pre.hptune-trial-traceback")
    traceback.wait_for()
    assert "ValueError: x > 0 with kind c" in traceback.inner_text()
    option = next(label for label in labels if label.endswith("complete") and plain(label) != best)
    chooser.select_option(label=option)
    chosen = plain(option)
    detail.locator(".hptune-trial-title", has_text=f"Trial {chosen.split(' · ')[0]}").wait_for()
    params = dict(
        zip(
            detail.locator(".hptune-trial-params th").all_inner_texts(),
            detail.locator(".hptune-trial-params td").all_inner_texts(),
        )
    )
    assert set(params) == {"x", "kind"}, params
    facts = detail.locator(".hptune-trial-facts").inner_text()
    assert f"score\t{chosen.split(' · ')[1]}" in facts and "complete" in facts, facts

    # Use in manual: the method switches to manual, the controls show the trial's values.
    panel.locator("button", has_text="Use in manual").click()
    # (Locators, never element handles: JupyterLab may re-render a cell's output as the notebook scrolls.)
    expect(panel.locator(".widget-toggle-button", has_text="manual")).to_have_class(re.compile(r"\bmod-active\b"))
    panel.locator("button", has_text="Run trial").wait_for(state="visible")
    readout = row(panel, "x").locator(".widget-readout:visible")
    for _ in range(100):  # the slider's readout (4 significant digits, a minus sign for negatives)
        shown = float(readout.inner_text().replace("\u2212", "-"))
        if shown == pytest.approx(float(params["x"]), rel=1e-3, abs=1e-3):
            break
        page.wait_for_timeout(100)
    assert shown == pytest.approx(float(params["x"]), rel=1e-3, abs=1e-3), (shown, params)
    kind = row(panel, "kind").locator("select:visible")
    assert selected_text(kind) == params["kind"].strip("'"), "the trial's option chosen"
    panel.locator(".hptune-trial-detail").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "test_browser_insights_trial.png"))

    # The Importance and Parallel coordinates tabs draw their plots when opened.
    for title, selector in (("Importance", ".hptune-importance img"), ("Parallel coordinates", "img.hptune-parallel")):
        panel.locator(".lm-TabBar-tab", has_text=title).first.click()
        page.wait_for_function(DRAWN, arg=f".hptune-panel {selector}", timeout=60_000)
    assert not page.errors, page.errors
