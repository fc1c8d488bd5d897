"""A `%%tune` cell as an objective: its hp declarations become the space, its last expression the score."""

from __future__ import annotations

import ast
import dataclasses
import linecache
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import CodeType
from typing import Any

from .core.space import Dimension, Space
from .params import DeclarationError, HyperParameters, declaring, hp, trial_params

__all__ = ["CellObjective", "CellProgram", "compile_cell"]

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
    declarations, passed = _find_declarations(tree, hp_names)
    if not declarations and not passed:
        raise DeclarationError(
            "the cell declares no hyperparameters: assign one to a name, e.g. `lr = hp.real(1e-4, 1e-1, log=True)`"
        )
    space = Space(
        {
            name: dim
            for name, (call, nested) in declarations.items()
            for dim in [_evaluate(shell, name, call, hp_names, nested=nested)]
            if dim is not None
        }
    )
    reads = _reads(tree) | ({score} if score is not None else set())

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
    program = CellProgram(source, filename, body_code, score_code, score, tuple(sorted(hp_names)), {})
    return CellObjective(space=space, run=CellRun(shell, program, reads - hp_names))


@dataclass(frozen=True)
class CellProgram:
    """A compiled cell and the notebook variables it reads: what a trial runs on a worker (sent with cloudpickle)."""

    source: str
    filename: str
    body: CodeType
    score_code: CodeType | None
    score: str | None
    hp_names: tuple[str, ...]  # the names hp goes by in the cell
    variables: Mapping[str, Any]
    asks_its_params = True  # a trial's params are the hyperparameters the cell asked for as it ran

    def __call__(self, params: dict[str, Any]) -> Any:
        """Run the cell with these params in a copy of its variables; return the score."""
        if self.filename not in linecache.cache:  # the cell's lines in the tracebacks of failed trials
            lines = self.source.splitlines(keepends=True)
            linecache.cache[self.filename] = (len(self.source), None, lines, self.filename)
        return self.run(dict(self.variables), params)

    def run(self, namespace: dict[str, Any], params: dict[str, Any]) -> Any:
        """Run the cell in this namespace with these params; return the score."""
        for name in self.hp_names:
            namespace.setdefault(name, hp)
        with trial_params(params):
            exec(self.body, namespace)
            if self.score_code is not None:
                return eval(self.score_code, namespace)
        if self.score not in namespace:
            raise NameError(f"the cell did not set the score variable {self.score!r} named by --score")
        return namespace[self.score]


class CellRun:
    """A cell as an objective: each trial runs it in a copy of the notebook's namespace."""

    asks_its_params = True  # a trial's params are the hyperparameters the cell asked for as it ran

    def __init__(self, shell: Any, program: CellProgram, reads: set[str]) -> None:
        self.shell = shell
        self.program = program
        self.reads = frozenset(reads)

    def __call__(self, params: dict[str, Any]) -> Any:
        """Run the cell in a copy of the notebook's namespace with these params; return the score."""
        return self.program.run(dict(self.shell.user_ns), params)

    def for_workers(self) -> CellProgram:
        """The cell with the notebook variables it reads, as they are now, to send to worker processes."""
        if "get_ipython" in self.reads:
            raise DeclarationError(
                "the cell uses IPython magics or shell commands (% or !), which only run in the notebook's kernel: "
                "remove them to run its trials on workers"
            )
        hidden = getattr(self.shell, "user_ns_hidden", {})
        user_ns = self.shell.user_ns
        variables = {name: user_ns[name] for name in sorted(self.reads) if name in user_ns and name not in hidden}
        return dataclasses.replace(self.program, variables=variables)


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


def _find_declarations(tree: ast.Module, hp_names: set[str]) -> tuple[dict[str, tuple[ast.Call, bool]], int]:
    """Each `name = hp.kind(...)` in the cell, with the name passed to the call and whether it is nested (below
    the top level), top-level ones first; and how many declarations pass their own name.

    A declaration elsewhere (a loop, a comprehension, a call's argument) must pass its name: `hp.int(8, 64,
    name=f"units_{i}")`; any other hp call is an error.
    """
    found: dict[str, tuple[ast.Call, bool]] = {}
    named: set[int] = set()
    passed = 0
    top = {id(statement) for statement in tree.body}
    nodes = sorted(
        (node for node in ast.walk(tree) if isinstance(node, ast.Assign | ast.AnnAssign)),
        key=lambda node: (id(node) not in top, node.lineno),
    )
    for node in nodes:
        value, targets, line = None, [], node.lineno
        if isinstance(node, ast.Assign):
            value, targets = node.value, node.targets
        elif node.value is not None:
            value, targets = node.value, [node.target]
        if value is None or _hp_kind(value, hp_names) is None:
            continue
        assert isinstance(value, ast.Call)
        if any(k.arg == "name" for k in value.keywords):
            named.add(id(value))  # named by the code itself: the name is the one it passes
            passed += 1
            continue
        if len(targets) != 1 or not isinstance(targets[0], ast.Name):
            raise DeclarationError(
                f"line {line}: assign hp.{_hp_kind(value, hp_names)}(...) to a single name, "
                f"e.g. `x = hp.{_hp_kind(value, hp_names)}(...)`"
            )
        name = targets[0].id
        if name in hp_names:
            raise DeclarationError(f"line {line}: a hyperparameter can't be named {name!r}, the name of hp itself")
        value.keywords.append(ast.keyword(arg="name", value=ast.Constant(name)))
        ast.fix_missing_locations(value)
        named.add(id(value))
        if name in found:
            first = found[name][0]
            if ast.dump(first) != ast.dump(value):
                raise DeclarationError(
                    f"hyperparameter {name!r} is declared twice (lines {first.lineno} and {line}), differently: "
                    "give the two different names, or the same range"
                )
            continue
        found[name] = (value, id(node) not in top)
    for call in ast.walk(tree):
        kind = _hp_kind(call, hp_names)
        if kind is not None and isinstance(call, ast.Call) and id(call) not in named:
            if any(k.arg == "name" for k in call.keywords):
                passed += 1
                continue
            raise DeclarationError(
                f"line {call.lineno}: hp.{kind}(...) needs a name: assign it to a variable, e.g. `x = hp.{kind}(...)`, "
                f'or pass one, e.g. hp.{kind}(..., name=f"units_{{i}}") in a loop'
            )
    return found, passed


def _evaluate(shell: Any, name: str, call: ast.Call, hp_names: set[str], nested: bool = False) -> Dimension | None:
    """The dimension a declaration describes, its arguments evaluated in a copy of the notebook namespace.

    A nested declaration (in a branch, a loop, a function) whose arguments depend on the run is left to the trials
    (None): they declare it as they run.
    """
    namespace = dict(shell.user_ns) | dict.fromkeys(hp_names, hp)
    code = compile(ast.Expression(call), f"<declaration of {name}>", "eval")
    try:
        with declaring():
            return eval(code, namespace)
    except DeclarationError:
        raise
    except Exception as error:
        if nested:
            return None
        raise DeclarationError(
            f"hyperparameter {name!r}: its arguments must be computable before the cell runs "
            f"({type(error).__name__}: {error})"
        ) from None


def _reads(tree: ast.Module) -> set[str]:
    """The names a cell may read from the notebook's namespace.

    A name counts unless it is surely set where it is read: by an earlier top-level assignment, import, def or
    class, as a function's argument or local, a comprehension's or for loop's target, or a with statement's `as`.
    Names set only inside a branch still count, as the notebook's value may be the one read.
    """
    reader = _Reader()
    for statement in tree.body:
        reader.visit(statement)
        reader.known[0] |= _surely_set(statement)
    return reader.reads


class _Reader(ast.NodeVisitor):
    """Collects the names read where no enclosing scope or earlier statement has set them."""

    def __init__(self) -> None:
        self.reads: set[str] = set()
        self.known: list[set[str]] = [set()]

    def _with(self, names: set[str], nodes: list[Any]) -> None:
        self.known.append(names)
        for node in nodes:
            self.visit(node)
        self.known.pop()

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load) and not any(node.id in names for names in self.known):
            self.reads.add(node.id)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self.visit_Name(ast.Name(node.target.id, ast.Load()))
        self.generic_visit(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        args = node.args
        for default in [*args.defaults, *args.kw_defaults, *getattr(node, "decorator_list", [])]:
            if default is not None:
                self.visit(default)
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        local = {a.arg for a in every if a is not None}
        body = node.body if isinstance(node.body, list) else [node.body]
        declared = {
            n
            for stmt in body
            for sub in ast.walk(stmt)
            if isinstance(sub, ast.Global | ast.Nonlocal)
            for n in sub.names
        }
        local |= {
            sub.id
            for stmt in body
            for sub in ast.walk(stmt)
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store)
        }
        self._with(local - declared, body)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        generators = node.generators
        self.visit(generators[0].iter)  # evaluated in the enclosing scope
        local = {sub.id for g in generators for sub in ast.walk(g.target) if isinstance(sub, ast.Name)}
        rest: list[Any] = (
            [g.target for g in generators]
            + [generators[0].ifs]
            + [part for g in generators[1:] for part in (g.iter, *g.ifs)]
        )
        results = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        self._with(local, [*_flatten(rest), *results])

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self._with(_stored(node.target), [*node.body, *node.orelse])

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
        names = set().union(*(_stored(item.optional_vars) for item in node.items if item.optional_vars is not None))
        self._with(names, node.body)

    visit_AsyncWith = visit_With

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        self._with({node.name} if node.name else set(), node.body)


def _flatten(nodes: list[Any]) -> list[ast.AST]:
    return [n for node in nodes for n in (node if isinstance(node, list) else [node])]


def _stored(target: ast.AST) -> set[str]:
    return {node.id for node in ast.walk(target) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}


def _surely_set(statement: ast.stmt) -> set[str]:
    """The names a top-level statement always sets."""
    if isinstance(statement, ast.Assign):
        return set().union(*(_stored(target) for target in statement.targets))
    if isinstance(statement, ast.AnnAssign) and statement.value is not None:
        return _stored(statement.target)
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {alias.asname or alias.name.split(".")[0] for alias in statement.names if alias.name != "*"}
    return set()
