"""A `%%tune` cell as an objective: its hp declarations become the space, its last expression the score."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .core.space import Dimension, Space
from .params import DeclarationError, HyperParameters, declaring, hp, trial_params

__all__ = ["CellObjective", "compile_cell"]

_KINDS = ("real", "int", "choice")


@dataclass(frozen=True)
class CellObjective:
    """A compiled cell: the space it declares and a callable that runs it for one point."""

    space: Space
    run: Callable[[dict[str, Any]], Any]


def compile_cell(shell: Any, cell: str, score: str | None = None) -> CellObjective:
    """Compile a cell as IPython's %%timeit does; raise DeclarationError before any trial on what can't run."""
    source = "\n" + shell.transform_cell(cell)  # line numbers then match the notebook cell, %%tune being line 1
    tree = shell.compile.ast_parse(source)
    hp_names = {"hp"} | {n for n, v in shell.user_ns.items() if isinstance(v, HyperParameters)}
    hp_names |= {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module in ("jupyter_hptune", "jupyter_hptune.params")
        for alias in node.names
        if alias.name == "hp"
    }
    _refuse_aliases(shell, tree, hp_names)
    declarations = _find_declarations(tree, hp_names)
    if not declarations:
        raise DeclarationError(
            "the cell declares no hyperparameters: assign one to a name, e.g. `lr = hp.real(1e-4, 1e-1, log=True)`"
        )
    space = Space({name: _evaluate(shell, name, call, hp_names) for name, call in declarations.items()})

    if score is None:
        if not tree.body or not isinstance(tree.body[-1], ast.Expr):
            raise DeclarationError(
                "the cell has no score: end it with an expression such as `accuracy`, "
                "or name the variable that holds the score with --score NAME"
            )
        score_expr: ast.Expression | None = ast.Expression(tree.body.pop().value)
    else:
        if not score.isidentifier():
            raise DeclarationError(f"--score takes a variable name, got {score!r}")
        score_expr = None
    body = shell.transform_ast(tree)
    filename = shell.compile.cache(source, number=shell.execution_count)
    body_code = shell.compile(body, filename, "exec")
    score_code = None if score_expr is None else shell.compile(ast.fix_missing_locations(score_expr), filename, "eval")

    def run(params: dict[str, Any]) -> Any:
        """Run the cell in a copy of the notebook's namespace with these params; return the score."""
        namespace = dict(shell.user_ns)
        namespace.setdefault("hp", hp)
        with trial_params(params):
            exec(body_code, namespace)
            if score_code is not None:
                return eval(score_code, namespace)
        if score not in namespace:
            raise NameError(f"the cell did not set the score variable {score!r} named by --score")
        return namespace[score]

    return CellObjective(space=space, run=run)


def _refuse_aliases(shell: Any, tree: ast.AST, hp_names: set[str]) -> None:
    """Refuse `R = hp.real` and calls of such a name: a declaration must call hp.real/int/choice itself."""
    aliases = {
        name: value.__func__.__name__
        for name, value in shell.user_ns.items()
        if isinstance(getattr(value, "__self__", None), HyperParameters) and getattr(value, "__name__", None) in _KINDS
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _is_hp_attribute(node.value, hp_names):
            kind = node.value.attr  # type: ignore[attr-defined]
            raise DeclarationError(
                f"the cell gives hp.{kind} another name; declare each hyperparameter by calling it directly, "
                f"e.g. `x = hp.{kind}(...)`"
            )
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in aliases:
            kind = aliases[node.func.id]
            raise DeclarationError(
                f"`{node.func.id}` is hp.{kind} under another name; declare each hyperparameter by calling "
                f"hp.{kind} directly, e.g. `x = hp.{kind}(...)`"
            )


def _is_hp_attribute(node: ast.AST, hp_names: set[str]) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr in _KINDS
        and isinstance(node.value, ast.Name)
        and node.value.id in hp_names
    )


def _hp_kind(node: ast.AST, hp_names: set[str]) -> str | None:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in hp_names
        and node.func.attr in _KINDS
    ):
        return node.func.attr
    return None


def _find_declarations(tree: ast.Module, hp_names: set[str]) -> dict[str, ast.Call]:
    """Each `name = hp.kind(...)` in the cell, with the name passed to the call; any other hp call is an error."""
    found: dict[str, ast.Call] = {}
    named: set[int] = set()
    for node in ast.walk(tree):
        value, targets = None, []
        if isinstance(node, ast.Assign):
            value, targets = node.value, node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            value, targets = node.value, [node.target]
        if value is None or _hp_kind(value, hp_names) is None:
            continue
        assert isinstance(value, ast.Call)
        if len(targets) != 1 or not isinstance(targets[0], ast.Name):
            raise DeclarationError(
                f"line {node.lineno}: assign hp.{_hp_kind(value, hp_names)}(...) to a single name, "
                f"e.g. `x = hp.{_hp_kind(value, hp_names)}(...)`"
            )
        name = targets[0].id
        if name in hp_names:
            raise DeclarationError(
                f"line {node.lineno}: a hyperparameter can't be named {name!r}, the name of hp itself"
            )
        if name in found:
            raise DeclarationError(
                f"hyperparameter {name!r} is declared twice (lines {found[name].lineno} and {node.lineno})"
            )
        value.keywords = [k for k in value.keywords if k.arg != "name"]
        value.keywords.append(ast.keyword(arg="name", value=ast.Constant(name)))
        ast.fix_missing_locations(value)
        found[name] = value
        named.add(id(value))
    for node in ast.walk(tree):
        kind = _hp_kind(node, hp_names)
        if kind is not None and id(node) not in named:
            raise DeclarationError(
                f"line {node.lineno}: assign hp.{kind}(...) directly to a name, e.g. `x = hp.{kind}(...)`, "
                "so the hyperparameter has a name"
            )
    return found


def _evaluate(shell: Any, name: str, call: ast.Call, hp_names: set[str]) -> Dimension:
    """The dimension a declaration describes, its arguments evaluated in a copy of the notebook namespace."""
    namespace = dict(shell.user_ns) | dict.fromkeys(hp_names, hp)
    code = compile(ast.Expression(call), f"<declaration of {name}>", "eval")
    try:
        with declaring():
            return eval(code, namespace)
    except DeclarationError:
        raise
    except Exception as error:
        raise DeclarationError(
            f"hyperparameter {name!r}: its arguments must be computable before the cell runs "
            f"({type(error).__name__}: {error})"
        ) from None
