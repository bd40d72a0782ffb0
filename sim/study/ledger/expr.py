"""Figures with intervals, the arithmetic of claims on them, and comparisons judged on the whole
interval ("holds" only when every value of it meets the claim).

An expression is arithmetic (+ - * / and parentheses) on numbers and dotted names; a name is a
number or a {"mean", "ci95"} figure. Intervals combine by interval arithmetic (the extremes of
the four products or quotients of the bounds): a recomputed claim (92.5%) is exact, a simulated
one carries its run's interval.
"""
from __future__ import annotations

import ast
import operator
from dataclasses import dataclass


@dataclass(frozen=True)
class Iv:
    lo: float
    mean: float
    hi: float

    @staticmethod
    def of(value) -> "Iv":
        if isinstance(value, Iv):
            return value
        if isinstance(value, dict):
            mean = value["mean"]
            lo, hi = value.get("ci95") or [None, None]
            if mean is None:
                raise ValueError("the figure has no value")
            return Iv(mean if lo is None else lo, mean, mean if hi is None else hi)
        return Iv(float(value), float(value), float(value))

    def _combine(self, other, op) -> "Iv":
        other = Iv.of(other)
        ends = [op(a, b) for a in (self.lo, self.hi) for b in (other.lo, other.hi)]
        return Iv(min(ends), op(self.mean, other.mean), max(ends))

    def figure(self) -> dict:
        return {"mean": self.mean, "ci95": [self.lo, self.hi]}


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _name(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    raise ValueError(f"unsupported expression {ast.dump(node)}")


def evaluate(text: str, lookup) -> Iv:
    """The expression's value; lookup(dotted name) gives a number or a figure (KeyError if none)."""
    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return Iv.of(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Div) and right.lo <= 0 <= right.hi:
                raise ValueError(f"division by an interval holding zero in {text}")
            return left._combine(right, _OPS[type(node.op)])
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            v = walk(node.operand)
            return Iv(-v.hi, -v.mean, -v.lo)
        return Iv.of(lookup(_name(node)))
    return walk(ast.parse(str(text), mode="eval"))


def compare(x: Iv, op: str, value, tol: float = 0.0) -> str:
    """"holds" when the whole interval meets "x op value", "fails" when none of it does, else
    "uncertain". "==" allows a relative tolerance; "between" takes [low, high]."""
    if op == "between":
        low, high = value
        inside = low <= x.lo and x.hi <= high
        outside = x.hi < low or x.lo > high
    elif op == "==":
        slack = abs(value) * tol
        inside = value - slack <= x.lo and x.hi <= value + slack
        outside = x.hi < value - slack or x.lo > value + slack
    else:
        test = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[op]
        inside = test(x.lo, value) and test(x.hi, value)
        outside = not test(x.lo, value) and not test(x.hi, value)
    return "holds" if inside else ("fails" if outside else "uncertain")
