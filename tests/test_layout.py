"""The panel's look in a real JupyterLab on a laptop's screen: it fits, nothing scrolls sideways, text is readable."""

from __future__ import annotations

import pytest
from browser import (  # noqa: F401  (fixtures)
    LOAD,
    SCREENSHOTS,
    browser,
    lab,
    open_notebook,
    page,
    run_all,
    run_notebook,
    wait_idle,
)

from jupyter_hptune.plots import DPI, TICK

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SEARCH = (
    "%%tune --method bayes --trials 8 --seed 0 --name look\n"
    "import math\n"
    "lr = hp.real(1e-4, 1e-1, log=True)\n"
    "units = hp.int(16, 1000, log=True)\n"
    "act = hp.choice(['relu', 'tanh', 'logistic'])\n"
    "(math.log10(lr) + 2.5) ** 2 + (math.log2(units) - 6) ** 2 / 10 + (act == 'tanh')"
)

# What the page shows, measured at once: elements that scroll sideways, the buttons, the images and where they sit.
MEASURE = """panel => {
  const box = e => { const r = e.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height}; };
  const shown = e => e.offsetParent !== null;
  const overflowing = [panel, ...panel.querySelectorAll('*')]
    .filter(e => shown(e) && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible')
    .map(e => `${e.tagName}.${e.className} ${e.scrollWidth} > ${e.clientWidth}`);
  const buttons = [...panel.querySelectorAll('button')].filter(shown)
    .map(b => ({text: b.innerText, scrollWidth: b.scrollWidth, clientWidth: b.clientWidth, ...box(b)}));
  const plots = [...panel.querySelectorAll('.hptune-plots img')].filter(shown)
    .map(i => ({naturalWidth: i.naturalWidth, ...box(i)}));
  const controls = panel.querySelector('.hptune-controls');
  const notebook = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer');
  return {panel: box(panel), overflowing, buttons, plots, status: box(panel.querySelector('.hptune-status')),
    notebook: box(notebook), controlsShown: !controls || shown(controls)};
}"""


def show_panel(page, size: tuple[int, int]) -> dict:  # noqa: F811
    """Scroll the panel's top to the top of the notebook and measure it; a screenshot of the window."""
    panel = page.locator(".hptune-panel").first
    panel.evaluate("p => p.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(400)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"panel-{size[0]}x{size[1]}.png"))
    return panel.evaluate(MEASURE)


def check_fits_the_width(found: dict) -> None:
    """No element scrolls sideways; every button and plot lies inside the panel, each button's label whole."""
    assert not found["overflowing"], f"elements scroll sideways: {found['overflowing']}"
    panel = found["panel"]
    assert found["buttons"]
    for button in found["buttons"]:
        assert panel["left"] <= button["left"] and button["right"] <= panel["right"], f"cut off: {button}"
        assert button["scrollWidth"] <= button["clientWidth"] + 1, f"its label is cut off: {button}"
    assert len(found["plots"]) == 2, "the scores and the posterior"
    for image in found["plots"]:
        assert panel["left"] <= image["left"] and image["right"] <= panel["right"] + 0.5, f"sticks out: {image}"


def check_text_size(found: dict) -> None:
    """Tick labels at the size shown: TICK points at the rendering's DPI, scaled as the image is displayed."""
    for image in found["plots"]:
        shown = TICK * DPI / 72 * image["width"] / image["naturalWidth"]
        assert shown >= 12, f"tick labels show at {shown:.1f} px: {image}"


@pytest.mark.parametrize("size", [(1024, 768), (1366, 768)], ids=["1024x768", "1366x768"])
def test_the_panel_fits_a_laptop_window(lab, page, size) -> None:  # noqa: F811
    page.set_viewport_size({"width": size[0], "height": size[1]})
    run_notebook(page, lab.notebook(f"layout-{size[0]}.ipynb", [LOAD, SEARCH]))
    page.wait_for_function(
        "() => [...document.querySelectorAll('.hptune-plots img')].filter(i => i.naturalWidth > 100).length == 2",
        timeout=60_000,
    )
    found = show_panel(page, size)
    check_fits_the_width(found)
    check_text_size(found)
    assert not found["controlsShown"], "the settings start folded into their summary"
    if size[0] >= 1366:
        # With the panel's top at the top of the notebook, the progress line and both plots are in view: the
        # notebook's visible height holds them without scrolling.
        notebook, status = found["notebook"], found["status"]
        bottom = max(image["bottom"] for image in found["plots"])
        assert bottom - status["top"] <= notebook["height"], found
        assert notebook["top"] <= status["top"] and bottom <= notebook["bottom"], found

    # The Parameters tab: one panel per hyperparameter, its text as readable as the main plots'.
    page.locator(".hptune-panel .lm-TabBar-tab", has_text="Parameters").first.click()
    params = page.wait_for_function(
        """() => { const shown = [...document.querySelectorAll('.hptune-panel img')]
            .filter(i => i.offsetParent !== null && !i.closest('.hptune-plots') && i.naturalWidth > 100);
          if (!shown.length) return null;
          const r = shown[0].getBoundingClientRect();
          return {naturalWidth: shown[0].naturalWidth, width: r.width, left: r.left, right: r.right}; }""",
        timeout=60_000,
    ).json_value()
    check_text_size({"plots": [params]})

    # Unfolded, the settings still fit the width, and a choice's included options look included.
    page.locator(".hptune-panel .hptune-settings-toggle").first.click()
    page.locator(".hptune-panel .hptune-controls").first.wait_for(state="visible")
    page.wait_for_timeout(300)
    check_fits_the_width(show_panel(page, (size[0], f"{size[1]}-settings")))  # type: ignore[arg-type]
    notes = page.evaluate(
        """() => [...document.querySelectorAll('.hptune-panel .hptune-note span')].filter(e => e.offsetParent)
          .map(e => ({text: e.innerText, lines: e.getClientRects().length}))"""
    )
    assert notes and all(note["lines"] == 1 for note in notes), f"a range note wraps: {notes}"
    colours = page.evaluate(
        "() => [...document.querySelectorAll('.hptune-choice option')].map(o => getComputedStyle(o).color)"
    )
    assert colours and all(colour == "rgb(255, 255, 255)" for colour in colours), colours
