"""One row of controls per declared hyperparameter: a range slider (with a log toggle) or a multi-select."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as w
import numpy as np

from ..core.space import Choice, Dimension, Int, Real, SpaceError
from ..report import format_value

__all__ = ["ChoiceRow", "RangeRow", "Row", "log_values", "make_row", "note_html", "row_box", "value_label"]


def value_label(value: float) -> str:
    """A compact label for a slider: 0.001, 250, 1000, 1e-4, 2.5e-6 (an integer below 100000 in full)."""
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    if -3 <= exponent < 5:
        if float(value).is_integer():
            return f"{value:.0f}"
        text = f"{value:.3g}"
        return f"{float(text):.0f}" if "e" in text else text  # 1234.5 reads 1230, never 1.23e+03
    mantissa = value / 10**exponent
    return f"{mantissa:.2g}e{exponent}"


def log_values(dim: Real | Int, low: float, high: float) -> list[float | int]:
    """Log-spaced slider stops from low to high, each the value its label shows (each integer once for an int)."""
    decades = math.log10(high / low)
    count = int(min(121, max(24, round(decades * 16) + 1)))  # 16 stops a decade
    if isinstance(dim, Int):
        return sorted({int(round(v)) for v in np.geomspace(low, high, count)} | {int(low), int(high)})
    inner = {float(value_label(v)) for v in np.geomspace(low, high, count)[1:-1]}
    return [float(low), *sorted(v for v in inner if low < v < high), float(high)]


class RangeRow:
    """A real or integer hyperparameter: a range slider (log-scaled labels for a log range) and a log toggle."""

    def __init__(self, name: str, dim: Real | Int) -> None:
        self.name = name
        self.declared = dim
        self.is_int = isinstance(dim, Int)
        self.log = w.Checkbox(value=dim.log, description="log", indent=False, layout=w.Layout(width="60px"))
        self.log.disabled = dim.low <= 0
        self.slot = w.HBox(layout=w.Layout(width="400px"))
        self.single_slot = w.Box(layout=w.Layout(width="400px", display="none"))
        self.label = w.HTML(f"<b>{html.escape(name)}</b>", layout=w.Layout(width="110px"))
        self.note = note_html(dim.describe())
        self.widget = row_box([self.label, self.slot, self.single_slot, self.log, self.note])
        self.slider = self._slider(dim.low, dim.high, dim.log)
        self.single = self._single(dim.log, dim.default_value)
        self.log.observe(self._toggle_log, names="value")

    def _slider(self, low: float, high: float, log: bool) -> w.DOMWidget:
        dim = self.declared
        if log:
            values = sorted(set(log_values(dim, dim.low, dim.high)) | {low, high})  # the selected bounds stay exact
            lo, hi = values.index(low), values.index(high)
            slider = w.SelectionRangeSlider(
                options=[(value_label(v), v) for v in values], index=(lo, hi), continuous_update=False, readout=False
            )
            # The slider's own readout joins the bounds with "-", which reads as a minus sign: show "1e-4 – 0.1".
            readout = w.HTML(layout=w.Layout(width="120px"))

            def show(_: Any = None) -> None:
                low_label, high_label = (slider.label[0], slider.label[1])
                readout.value = f"{low_label} – {high_label}"

            slider.observe(show, names="index")
            show()
            slider.layout = w.Layout(width="270px")
            self.slot.children = (slider, readout)
            return slider
        elif self.is_int:
            slider = w.IntRangeSlider(min=dim.low, max=dim.high, value=(int(low), int(high)), continuous_update=False)
        else:
            slider = w.FloatRangeSlider(
                min=dim.low,
                max=dim.high,
                step=(dim.high - dim.low) / 200,
                value=(low, high),
                readout_format=".3g",
                continuous_update=False,
            )
        slider.description = ""
        slider.layout = w.Layout(width="390px")
        self.slot.children = (slider,)
        return slider

    def _single(self, log: bool, value: float) -> w.DOMWidget:
        dim = self.declared
        if log and self.is_int:
            values = sorted(set(log_values(dim, dim.low, dim.high)) | {int(value)})
            single = w.SelectionSlider(options=[(value_label(v), v) for v in values], value=int(value))
        elif log:
            single = w.FloatLogSlider(
                min=math.log10(dim.low),
                max=math.log10(dim.high),
                step=0.0001,  # in decades: fine enough to hold any trial's value
                value=value,
                base=10,
                readout_format=".4g",
            )
        elif self.is_int:
            single = w.IntSlider(min=dim.low, max=dim.high, value=int(value))
        else:
            single = w.FloatSlider(
                min=dim.low, max=dim.high, step=(dim.high - dim.low) / 100_000, value=value, readout_format=".4g"
            )
        single.layout = w.Layout(width="390px")
        self.single_slot.children = (single,)
        return single

    def _toggle_log(self, change: Mapping[str, Any]) -> None:
        low, high = self.bounds()
        self.slider = self._slider(low, high, bool(change["new"]))
        self.single = self._single(bool(change["new"]), self.point_value())

    def bounds(self) -> tuple[Any, Any]:
        """The range the slider selects."""
        low, high = self.slider.value
        return (int(low), int(high)) if self.is_int else (float(low), float(high))

    def dimension(self) -> Real | Int:
        """The range this row selects, as the next search's dimension; SpaceError naming the parameter if empty."""
        low, high = self.bounds()
        default = self.declared.default if self.declared.default is not None else None
        if default is not None and not low <= default <= high:
            default = None
        try:
            if self.is_int:
                return Int(int(low), int(high), log=self.log.value, default=None if default is None else int(default))
            return Real(low, high, log=self.log.value, default=default)
        except SpaceError as error:
            raise SpaceError(f"hyperparameter {self.name!r}: {error}") from None

    def point_value(self) -> Any:
        """The single value chosen for a manual trial."""
        value = self.single.value
        return int(value) if self.is_int else float(value)

    def set_point(self, value: Any) -> None:
        """Set the manual trial's value."""
        if isinstance(self.single, w.SelectionSlider) and value not in [v for _, v in self.single.options]:
            self.single = self._single(self.log.value, value)  # a log integer slider gains the value as a stop
        else:
            self.single.value = value

    def set_manual(self, manual: bool) -> None:
        """Show the single-value control (manual trials) or the range slider (searches)."""
        self.slot.layout.display = "none" if manual else None
        self.single_slot.layout.display = None if manual else "none"


def note_html(text: str) -> w.HTML:
    """A grey note beside a control, kept on one line (a range never breaks in its middle)."""
    note = w.HTML(f"<span style='color:#777;white-space:nowrap'>{html.escape(text)}</span>")
    note.add_class("hptune-note")
    return note


def row_box(children: Sequence[w.Widget]) -> w.HBox:
    """A row of controls that wraps onto a second line when the panel is narrow."""
    return w.HBox(list(children), layout=w.Layout(flex_flow="row wrap", align_items="center"))


def option_label(option: Any, options: Sequence[Any]) -> str:
    """An option as shown in the panel: a string without quotes unless another option would read the same."""
    if isinstance(option, str) and not any(repr(other) == option for other in options):
        return option
    return format_value(option)


class ChoiceRow:
    """A categorical hyperparameter: a multi-select of the options to include."""

    def __init__(self, name: str, dim: Choice) -> None:
        self.name = name
        self.declared = dim
        labels = [(option_label(option, dim.options), i) for i, option in enumerate(dim.options)]
        self.select = w.SelectMultiple(
            options=labels,
            value=tuple(range(len(dim.options))),
            rows=min(4, len(labels)),
            layout=w.Layout(width="390px"),
        )
        self.single = w.Dropdown(options=labels, value=dim.index(dim.default_value))
        self.single.layout = w.Layout(width="390px", display="none")
        self.select.add_class("hptune-choice")  # the included options highlighted (the panel's CSS)
        self.label = w.HTML(f"<b>{html.escape(name)}</b>", layout=w.Layout(width="110px"))
        self.note = note_html("choice: ctrl/shift-click to include several")
        self.widget = row_box([self.label, self.select, self.single, self.note])

    def dimension(self) -> Choice:
        """The options this row includes, as the next search's dimension; SpaceError naming the parameter if none."""
        chosen = [self.declared.options[i] for i in sorted(self.select.value)]
        if not chosen:
            raise SpaceError(f"hyperparameter {self.name!r}: include at least one option")
        default = self.declared.default if self.declared.default in chosen else None
        return Choice(chosen, default=default)

    def point_value(self) -> Any:
        """The option chosen for a manual trial."""
        return self.declared.options[self.single.value]

    def set_point(self, value: Any) -> None:
        """Set the manual trial's option."""
        self.single.value = self.declared.index(value)

    def set_manual(self, manual: bool) -> None:
        """Show the single-option dropdown (manual trials) or the multi-select (searches)."""
        self.select.layout.display = "none" if manual else None
        self.single.layout.display = None if manual else "none"
        self.note.layout.display = "none" if manual else None


Row = RangeRow | ChoiceRow


def make_row(name: str, dim: Dimension) -> Row:
    """The panel row for a declared hyperparameter."""
    if isinstance(dim, Choice):
        return ChoiceRow(name, dim)
    if isinstance(dim, Real | Int):
        return RangeRow(name, dim)
    raise TypeError(f"hyperparameter {name!r}: no control for {type(dim).__name__}")
