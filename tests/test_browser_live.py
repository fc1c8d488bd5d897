"""A search as a user watches it in JupyterLab: the kernel reads Busy throughout, the score plot follows each trial."""

from __future__ import annotations

import re

import pytest
from browser import browser, lab, open_notebook, open_sidebar, page, run_all, wait_idle  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

TRIALS = 8
CELLS = [
    "%load_ext jupyter_hptune\nimport time",
    f"%%tune --method bayes --trials {TRIALS} --seed 0 --name watched\n"
    "x = hp.real(0.0, 1.0)\ny = hp.int(1, 100, log=True)\ntime.sleep(0.5)\n(x - 0.3) ** 2 + y / 100",
]

# Every 50 ms, what the user sees: the kernel's status in the status bar, the panel's progress line, and the score plot's image.
SAMPLE = r"""() => {
  window.hptuneSamples = [];
  window.setInterval(() => {
    const bar = [...document.querySelectorAll('#jp-main-statusbar .jp-StatusBar-TextItem')]
      .map(e => e.innerText).find(text => /\| \w+$/.test(text));
    const progress = document.querySelector('.hptune-panel .hptune-status');
    const plot = document.querySelector('.hptune-panel .hptune-plots img');
    window.hptuneSamples.push({
      t: performance.now() / 1000,
      status: bar ? bar.split('| ').pop().toLowerCase() : null,
      progress: progress ? progress.innerText : '',
      plot: plot && plot.naturalWidth > 100 ? plot.src : null,
    });
  }, 50);
}"""


def done(progress: str) -> int:
    """The finished trials a progress line reports."""
    found = re.match(r"\s*(\d+) / \d+ trials", progress)
    return int(found.group(1)) if found else 0


def test_a_search_reads_busy_and_its_score_plot_follows_each_trial(lab, page) -> None:  # noqa: F811
    open_notebook(page, lab.notebook("watched.ipynb", CELLS))
    open_sidebar(page)  # as a user has it: the Tuning sidebar follows the search, with its own requests
    page.evaluate(SAMPLE)
    run_all(page)
    page.locator(".hptune-panel .lm-TabBar-tab", has_text="Surface").first.click()  # a click during the search
    wait_idle(page)
    page.wait_for_timeout(300)
    samples = page.evaluate("window.hptuneSamples")

    # When each trial was first reported finished, and when each new score plot arrived.
    finished: dict[int, float] = {}
    plots: list[float] = []
    for before, sample in zip(samples, samples[1:]):
        for n in range(done(before["progress"]) + 1, done(sample["progress"]) + 1):
            finished.setdefault(n, sample["t"])
        if sample["plot"] and sample["plot"] != before["plot"]:
            plots.append(sample["t"])
    assert sorted(finished) == list(range(1, TRIALS + 1)), [s["progress"] for s in samples][-3:]

    # Busy from the search's first trial until its last one finished: never Idle in between.
    started = next(s["t"] for s in samples if s["progress"])
    during = [s["status"] for s in samples if started <= s["t"] <= finished[TRIALS]]
    assert during and set(during) == {"busy"}, f"the status read {sorted(set(during))} while the search ran"
    assert samples[-1]["status"] == "idle"

    # Each finished trial reaches the score plot within about a second (the target; 1.5 s for a busy machine).
    for n, when in finished.items():
        late = [t - when for t in plots if t >= when]
        assert late and late[0] < 1.5, (
            f"trial {n}: the score plot {f'came after {late[0]:.2f} s' if late else 'never followed'}"
        )
