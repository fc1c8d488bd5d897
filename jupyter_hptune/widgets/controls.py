"""The search controls of a panel: a row per hyperparameter, the method and its options, early stopping, trials,
direction and seed. Each option's control is made from its description; settings() reads them as SearchSettings."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as w

from ..core.events import StudySnapshot
from ..core.options import STOPPING, Option, option_named
from ..core.samplers import METHODS, all_method_options
from ..core.settings import SearchSettings
from ..core.space import Space
from ..core.study import DIRECTIONS
from .rows import ChoiceRow, make_row, row_box, value_label

__all__ = ["OptionControl", "SearchControls"]


def group_label(names: list[str]) -> str:
    """How a row names the hyperparameters one declaration yields: units_{i} for units_0, units_1, ...; else the name."""
    if len(names) == 1:
        return names[0]
    stems = {name.rstrip("0123456789") for name in names}
    if len(stems) == 1 and all(name != name.rstrip("0123456789") for name in names):
        return f"{stems.pop()}{{i}}"
    return ", ".join(names)


class OptionControl:
    """The control of one search option: a dropdown of its choices, or a text box (blank: left out)."""

    def __init__(self, option: Option, value: Any) -> None:
        self.option = option
        self.widget: w.Dropdown | w.Text
        if option.choices:
            self.widget = w.Dropdown(
                options=list(option.choices),
                value=option.default if value is None else value,
                description=option.title,
                style={"description_width": "initial"},
                layout=w.Layout(width=f"{max(170, 7 * len(option.title) + 110)}px"),
            )
        else:
            self.widget = w.Text(
                value="" if value is None else str(value),
                placeholder=option.placeholder,
                description=option.title,
                style={"description_width": "initial"},
                layout=w.Layout(width=f"{max(150, 7 * len(option.title) + 80)}px"),
            )

    def read(self) -> Any:
        """The option's value (None: left out), checked: OptionError says what is wrong."""
        if isinstance(self.widget, w.Dropdown):
            return self.option.check(self.widget.value)
        return self.option.parse(self.widget.value)


class SearchControls:
    """The settings of the next search, as controls; settings() reads and checks them."""

    def __init__(self, space: Space, settings: SearchSettings) -> None:
        self.rows = {n: make_row(n, dim) for n, dim in space.items()}
        self.method = w.ToggleButtons(options=list(METHODS), value=settings.method, style={"button_width": "90px"})
        self.method_options = {
            method: {
                option.name: OptionControl(
                    option, settings.options.get(option.name) if method == settings.method else None
                )
                for option in declared
            }
            for method, declared in all_method_options().items()
        }
        self.method_boxes = {m: w.HBox([c.widget for c in cs.values()]) for m, cs in self.method_options.items()}
        self.stopping_controls = {name: OptionControl(option_named(name), getattr(settings, name)) for name in STOPPING}
        stopping = w.HBox([c.widget for c in self.stopping_controls.values()])
        stopping.add_class("hptune-stopping")
        self.trials = OptionControl(option_named("n_trials"), settings.n_trials)
        self.seed = OptionControl(option_named("seed"), settings.seed)
        self.direction = w.ToggleButtons(
            options=list(DIRECTIONS), value=settings.direction, style={"button_width": "90px"}
        )
        self.rows_box = w.VBox([row.widget for row in self.rows.values()])
        self._sites: dict[str, str] = {}  # where the code declares each name that trials declared as they ran
        self.widget = w.VBox(
            [
                self.rows_box,
                row_box([self.method, *self.method_boxes.values()]),
                stopping,
                row_box([self.trials.widget, self.direction, self.seed.widget]),
            ],
            layout=w.Layout(border_bottom="1px solid #eee", padding="0 0 4px 0"),
        )
        self.widget.add_class("hptune-controls")
        self._trials_outside_grid = ""
        self.method.observe(self._method_changed, names="value")
        self._show_method()

    def add_declared(self, space: Space, declared_at: Mapping[str, str]) -> bool:
        """A row for each hyperparameter trials declared as they ran; the names one declaration yields (units_0,
        units_1, ... from a loop) share one row, whose range applies to them all. Whether any row was added."""
        added = False
        for name, dim in space.items():
            if name in self.rows:
                continue
            where = declared_at.get(name)
            self._sites[name] = where or name
            kin = [n for n, site in self._sites.items() if n != name and site == where and self.rows[n].declared == dim]
            if where is not None and kin:
                row = self.rows[kin[0]]
                self.rows[name] = row
                names = [n for n, r in self.rows.items() if r is row]
                row.label.value = f"<b>{html.escape(group_label(names))}</b>"
                row.label.tooltip = f"{', '.join(names)}: declared at {where}"
                continue
            row = make_row(name, dim)
            row.set_manual(self.method.value == "manual")
            self.rows[name] = row
            self.rows_box.children = (*self.rows_box.children, row.widget)
            added = True
        return added

    @property
    def stops_early(self) -> bool:
        """Whether the controls ask for pruning or early stopping."""
        prune, patience, max_steps = (self.stopping_controls[name].widget.value for name in STOPPING)
        return prune != "none" or bool(patience) or bool(max_steps)

    def settings(self) -> SearchSettings:
        """The next search's settings, checked: OptionError or SpaceError with a message naming what is wrong."""
        method = self.method.value
        options = {name: control.read() for name, control in self.method_options[method].items()}
        n_trials = None if method == "manual" else self.trials.read()
        space = Space({n: row.dimension() for n, row in self.rows.items()})
        return SearchSettings(
            method=method,
            n_trials=n_trials,
            direction=self.direction.value,
            seed=self.seed.read(),
            options=options,
            space=space,
            **self.stopping(),
        )

    def stopping(self) -> dict[str, Any]:
        """How the next search stops trials early: prune, patience and max_steps, each checked."""
        return {name: control.read() for name, control in self.stopping_controls.items()}

    def cell_settings(self, snapshot: StudySnapshot | None) -> tuple[SearchSettings, dict[str, Any] | None]:
        """What Save to cell writes: the next search's settings and, in the manual method, the point chosen."""
        settings = self.settings()
        # After Continue the trials box holds the last batch: the cell gets the study's own trials instead, so that
        # re-running it repeats the search that was run (unless the user has typed another number since).
        if (
            snapshot is not None
            and snapshot.first_number
            and settings.method == snapshot.method != "manual"
            and settings.n_trials in (None, snapshot.n_planned)
        ):
            settings = dataclasses.replace(settings, n_trials=sum(t.source == "search" for t in snapshot.trials))
        return settings, self.point() if settings.method == "manual" else None

    def point(self) -> dict[str, Any]:
        """The point the manual controls select."""
        return {n: row.point_value() for n, row in self.rows.items()}

    def set_point(self, params: Mapping[str, Any]) -> None:
        """Set the manual controls to a point."""
        for name, value in params.items():
            self.rows[name].set_point(value)

    def summary_html(self) -> str:
        """The settings of the next run in one line: method, trials, direction, seed and each range."""
        method = self.method.value
        parts = [f"<b>{html.escape(method)}</b>"]
        if method != "manual":
            trials = self.trials.widget.value.strip() or self.trials.widget.placeholder
            seed = self.seed.widget.value.strip()
            parts += [f"{html.escape(trials)} trials", html.escape(self.direction.value)]
            parts.append(f"seed {html.escape(seed)}" if seed else "random seed")
        else:
            parts.append(html.escape(self.direction.value))
        shown: set[int] = set()
        for name, row in self.rows.items():
            if id(row) in shown:
                continue
            shown.add(id(row))
            name = group_label([n for n, r in self.rows.items() if r is row])
            if isinstance(row, ChoiceRow):
                what = f"{len(row.select.value)} of {len(row.declared.options)}"
            else:
                low, high = row.bounds()
                what = f"{value_label(low)}–{value_label(high)}{' log' if row.log.value else ''}"
            parts.append(f"<span style='white-space:nowrap'>{html.escape(name)} {html.escape(what)}</span>")
        return " · ".join(parts)

    def _method_changed(self, change: Mapping[str, Any]) -> None:
        # Switching to grid clears the trials, so it runs the whole grid (its placeholder says so) rather than a
        # subset of the size the last method used; switching back brings that number back.
        trials = self.trials.widget
        if change["new"] == "grid" and change["old"] != "grid":
            self._trials_outside_grid, trials.value = trials.value, ""
        elif change["old"] == "grid" and not trials.value.strip():
            trials.value = self._trials_outside_grid
        self._show_method()

    def _show_method(self) -> None:
        method = self.method.value
        manual = method == "manual"
        for name, box in self.method_boxes.items():
            box.layout.display = None if name == method and box.children else "none"
        self.trials.widget.placeholder = "whole grid" if method == "grid" else self.trials.option.placeholder
        for control in (self.trials.widget, self.seed.widget):
            control.layout.display = "none" if manual else None
        for row in set(self.rows.values()):
            row.set_manual(manual)
