"""Mutants of the fast engine's compiled code (sim/engines/fast/*.py), made with `ast`, for
benchmarks/mutate_fast.py.

Only the bodies of functions compiled by numba (decorated with jit or njit) are mutated, their
docstrings never: a mutant always changes the compiled code. Each mutant replaces the source
text of one node and nothing else, so the rest of the file stays as it was, byte for byte:
- a statement becomes `pass` (a call, a store to an array or a field, an update of a variable
  set before, a bare return, a whole if or loop; never a return of a value or the first binding
  of a name, which would not compile),
- a comparison changes (`<` to `<=` or `>=`, `==` to `!=`, ...), `and` and `or` swap,
- an arithmetic operator changes (`+` and `-`, `*` and `/`, `<<` and `>>`, `|` and `&`), also
  in an augmented assignment, a `not` or a unary minus goes,
- a number constant moves by one, True and False swap, min and max swap, floor and ceil swap.
An index into the one-row arrays of globals and config (`w.g[0]`, `w.c[0]`) is left alone: any
other index reads outside them.
"""
from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from pathlib import Path

COMPARE = {ast.Lt: (ast.LtE, ast.GtE), ast.LtE: (ast.Lt, ast.Gt), ast.Gt: (ast.GtE, ast.LtE),
           ast.GtE: (ast.Gt, ast.Lt), ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,),
           ast.Is: (ast.IsNot,), ast.IsNot: (ast.Is,)}
BINARY = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
          ast.LShift: ast.RShift, ast.RShift: ast.LShift, ast.BitOr: ast.BitAnd, ast.BitAnd: ast.BitOr}
SWAPPED_CALLS = {"min": "max", "max": "min", "floor": "ceil", "ceil": "floor"}
SINGLETONS = ("g", "c")  # w.g[0], w.c[0]: one row each


@dataclass(frozen=True)
class Mutant:
    file: str   # relative to the repository
    line: int
    what: str
    source: str  # the whole mutated file
    code: str     # the line, as it was
    becomes: str  # the line, mutated

    @classmethod
    def of(cls, file: str, line: int, what: str, before: str, after: str) -> "Mutant":
        return cls(file, line, what, after, _line(before, line), _line(after, line))

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.what}"


def _is_compiled(func: ast.FunctionDef) -> bool:
    for d in func.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in ("jit", "njit"):
            return True
    return False


def _body(func: ast.FunctionDef) -> list[ast.stmt]:
    first = func.body[0]
    docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
        and isinstance(first.value.value, str)
    return func.body[1:] if docstring else func.body


def _bound(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _deletable(stmt: ast.stmt, bound_before: set[str]) -> bool:
    """Whether the statement can go and leave code that compiles: every name it binds was
    bound before (a parameter or an earlier statement)."""
    if isinstance(stmt, ast.Return):
        return stmt.value is None
    if isinstance(stmt, (ast.Pass, ast.Break, ast.Continue)):
        return False
    if isinstance(stmt, (ast.For, ast.While, ast.If)):
        return True
    return _bound(stmt) <= bound_before


class _Sites(ast.NodeVisitor):
    """Every mutation of one compiled function: (node to replace, its replacement, what)."""

    def __init__(self, func: ast.FunctionDef):
        self.out: list[tuple[ast.AST, ast.AST, str]] = []
        self.bound = {a.arg for a in func.args.args}
        self._statements(_body(func))

    def _statements(self, body: list[ast.stmt]):
        for stmt in body:
            if _deletable(stmt, self.bound):
                text = ast.unparse(stmt).splitlines()[0]
                self.out.append((stmt, ast.Pass(), f"delete `{text}`"))
            self.visit(stmt)
            self.bound |= _bound(stmt)

    def generic_visit(self, node):
        for name, value in ast.iter_fields(node):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                self._statements(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)

    def _swap(self, node, field, index, new, what):
        mutated = copy.deepcopy(node)
        if index is None:
            setattr(mutated, field, new)
        else:
            getattr(mutated, field)[index] = new
        self.out.append((node, mutated, what))

    def visit_Compare(self, node):
        for i, op in enumerate(node.ops):
            for new in COMPARE.get(type(op), ()):
                self._swap(node, "ops", i, new(), f"`{_op(op)}` -> `{_op(new())}`")
        self.generic_visit(node)

    def visit_BoolOp(self, node):
        new = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        self._swap(node, "op", None, new, f"`{_op(node.op)}` -> `{_op(new)}`")
        self.generic_visit(node)

    def visit_BinOp(self, node):
        if type(node.op) in BINARY:
            new = BINARY[type(node.op)]()
            self._swap(node, "op", None, new, f"`{_op(node.op)}` -> `{_op(new)}`")
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        if type(node.op) in BINARY:
            new = BINARY[type(node.op)]()
            self._swap(node, "op", None, new, f"`{_op(node.op)}=` -> `{_op(new)}=`")
        self.generic_visit(node)

    def visit_UnaryOp(self, node):
        if isinstance(node.op, (ast.Not, ast.USub)):
            self.out.append((node, node.operand, f"drop `{_op(node.op)}` of `{ast.unparse(node)}`"))
        self.generic_visit(node)

    def visit_Subscript(self, node):
        singleton = isinstance(node.value, ast.Attribute) and node.value.attr in SINGLETONS
        if not (singleton and isinstance(node.slice, ast.Constant)):
            self.visit(node.slice)
        self.visit(node.value)

    def visit_Constant(self, node):
        v = node.value
        if isinstance(v, bool):
            self.out.append((node, ast.Constant(not v), f"`{v}` -> `{not v}`"))
        elif isinstance(v, (int, float)):
            for new in (v + 1, v - 1):
                self.out.append((node, ast.Constant(new), f"`{v!r}` -> `{new!r}`"))

    def visit_Call(self, node):
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
        if name in SWAPPED_CALLS:
            new = copy.deepcopy(f)
            if isinstance(new, ast.Attribute):
                new.attr = SWAPPED_CALLS[name]
            else:
                new.id = SWAPPED_CALLS[name]
            self.out.append((f, new, f"`{name}` -> `{SWAPPED_CALLS[name]}`"))
        self.generic_visit(node)


def _op(op: ast.AST) -> str:
    """An operator's text: ast.unparse of a tiny expression that uses it."""
    if isinstance(op, ast.cmpop):
        return ast.unparse(ast.Compare(ast.Name("a"), [op], [ast.Name("b")])).split()[1]
    if isinstance(op, ast.boolop):
        return "and" if isinstance(op, ast.And) else "or"
    if isinstance(op, ast.unaryop):
        return "not" if isinstance(op, ast.Not) else "-"
    return ast.unparse(ast.BinOp(ast.Name("a"), op, ast.Name("b"))).split()[1]


def splice(source: str, node: ast.AST, replacement: ast.AST) -> str:
    """The source with the text of `node` replaced by `replacement` (offsets are in bytes)."""
    lines = source.encode().splitlines(keepends=True)
    start = sum(len(x) for x in lines[:node.lineno - 1]) + node.col_offset
    end = sum(len(x) for x in lines[:node.end_lineno - 1]) + node.end_col_offset
    data = source.encode()
    return (data[:start] + ast.unparse(replacement).encode() + data[end:]).decode()


def _line(source: str, number: int) -> str:
    return source.splitlines()[number - 1].strip()


def _changes_code(before: str, after: str) -> bool:
    try:
        return ast.dump(ast.parse(after)) != ast.dump(ast.parse(before))
    except SyntaxError:
        return False


def mutants_of(root: Path, file: str) -> list[Mutant]:
    source = (root / file).read_text()
    out = []
    for func in ast.walk(ast.parse(source)):
        if isinstance(func, ast.FunctionDef) and _is_compiled(func):
            for node, replacement, what in _Sites(func).out:
                mutated = splice(source, node, replacement)
                if _changes_code(source, mutated):
                    out.append(Mutant.of(file, node.lineno, f"in {func.name}: {what}", source, mutated))
    return out


def all_mutants(root: Path, package: str = "sim/engines/fast") -> list[Mutant]:
    return [m for path in sorted((root / package).glob("*.py"))
            for m in mutants_of(root, str(path.relative_to(root)))]


def redis_roundtrip_skip(root: Path, file: str = "sim/model/path.py") -> Mutant:
    """The named mutant of issue #17: the calm path no longer skips the Redis round trip's
    samples. The samples a kept request drew are skipped by the draws each hop declares in the
    request path's description (sim.model.path.HOPS, read by sim.engines.fast.kept._skip_drawn):
    the mutant removes the Redis hop's entry for its round-trip pool ("redis_rt"). Raises
    LookupError when there is none."""
    source = (root / file).read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict):
            keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
            if "redis_rt" in keys:
                table = copy.deepcopy(node)
                i = keys.index("redis_rt")
                del table.keys[i], table.values[i]
                return Mutant.of(file, node.lineno, "the Redis hop draws no `redis_rt` sample "
                                 "(the named mutant)", source, splice(source, node, table))
    raise LookupError(f"{file}: found no hop's draws naming the pool redis_rt; update "
                      "redis_roundtrip_skip in benchmarks/mutants.py")
