"""Where code declares a hyperparameter, and the name an assignment gives it (`lr = hp.real(...)` names it lr).

A declaration in a function defined in another cell or in a module has no name passed to it: its name is the
variable it is assigned to, read from the code's source as Python keeps it (linecache holds notebook cells too).
"""

from __future__ import annotations

import ast
import functools
import linecache
import os
from types import FrameType

__all__ = ["declared_name", "place"]


def place(frame: FrameType) -> str:
    """Where a frame's code is, for messages: `line 3 of the cell`, `make_model(), line 4`, `build() in models.py,
    line 12`."""
    code, line = frame.f_code, frame.f_lineno
    # a comprehension or a lambda runs as a function of its own (before Python 3.12): it is where its code is written
    function = "" if code.co_name.startswith("<") else f"{code.co_name}()"
    filename = code.co_filename
    module = os.path.basename(filename) if _is_module_file(filename) else ""
    if function and module:
        return f"{function} in {module}, line {line}"
    if function or module:
        return f"{function or module}, line {line}"
    return f"line {line} of the cell"


def declared_name(frame: FrameType, kind: str) -> str | None:
    """The variable a declaration at the frame's line is assigned to (`x = hp.<kind>(...)`), or None."""
    lines = linecache.getlines(frame.f_code.co_filename, frame.f_globals)
    if not lines:
        return None
    return _assignments("".join(lines), kind).get(frame.f_lineno)


@functools.lru_cache(maxsize=256)
def _assignments(source: str, kind: str) -> dict[int, str]:
    """Each line of a `name = <something>.<kind>(...)` statement, mapped to its name (the innermost one wins)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found: dict[int, str] = {}
    spans: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if (
            isinstance(target, ast.Name)
            and isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and value.func.attr == kind
        ):
            spans.append((value.lineno, value.end_lineno or value.lineno, target.id))
    for first, last, name in sorted(spans, key=lambda span: span[1] - span[0], reverse=True):
        for line in range(first, last + 1):
            found[line] = name
    return found


def _is_module_file(filename: str) -> bool:
    """Whether code comes from a module file (not a notebook cell, whose code lives in a kernel's temporary file)."""
    return filename.endswith(".py") and "ipykernel_" not in filename and not filename.startswith("<")
