"""Formatting helpers shared by every renderer: numbers, intervals, money, tables."""
from __future__ import annotations

import math
import re
from typing import Any, Callable, Sequence

DASH = "–"  # what a missing value (None, NaN) renders as
SIG = 3
TINY = 1e-3  # a non-zero number closer to 0 reads "< 0.001", not 5.57e-05


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def decimals(x: float, sig: int = SIG) -> int:
    """Decimal places that show `sig` significant digits of x (none for |x| >= 10**sig)."""
    if x == 0 or not math.isfinite(x):
        return 0
    places = max(0, sig - 1 - math.floor(math.log10(abs(x))))
    rounded = round(x, places)  # 99.96 rounds up a digit: "100", not "100.0"
    return places if rounded == 0 else min(places, max(0, sig - 1 - math.floor(math.log10(abs(rounded)))))


def num(x: Any, sig: int = SIG, places: int | None = None) -> str:
    """A number with `sig` significant digits and thousands separators: 6,026, 4.30, 0.0160."""
    if _missing(x):
        return DASH
    if isinstance(x, int) and not isinstance(x, bool) and places is None:
        places = 0
    x = float(x)
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if places is None:
        if x != 0 and abs(x) < TINY:
            return "< 0.001" if x > 0 else "> -0.001"
        places = decimals(x, sig)
    text = f"{x:,.{places}f}"
    return "0" if text.strip("-0.,") == "" else text  # no "-0.00"


def figure(fig: dict | None, unit: str = "", scale: float = 1.0, sig: int = SIG,
           fmt: Callable[..., str] | None = None) -> str:
    """A {"mean", "ci95"} figure with its interval: '4.30 ms (4.21–4.38)'.

    The bounds take the mean's decimal places; a zero-width interval (the same value in every
    replication) and a missing one (a single replication) show the mean alone.
    """
    if fig is None:
        return DASH
    mean, (lo, hi) = fig["mean"], fig["ci95"]
    if _missing(mean):
        return DASH
    fmt = fmt or num
    mean = float(mean) * scale
    places = None if not math.isfinite(mean) or (mean != 0 and abs(mean) < TINY) else _places(
        mean, lo, hi, scale, sig)
    text = fmt(mean, sig=sig, places=places) + (f" {unit}" if unit else "")
    if _missing(lo) or _missing(hi) or lo == hi:
        return text
    lo_s, hi_s = (fmt(float(b) * scale, sig=sig, places=places) for b in (lo, hi))
    return text if lo_s == hi_s else f"{text} ({lo_s}–{hi_s})"


def _places(mean: float, lo: Any, hi: Any, scale: float, sig: int) -> int:
    """Decimal places of the figure: the mean's, or the bounds' when the mean is zero."""
    if mean != 0 or _missing(lo) or _missing(hi):
        return decimals(mean, sig)
    widest = max(abs(float(lo)), abs(float(hi))) * scale
    return min(decimals(widest, sig), 6)


DURATION_UNITS = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6))


def duration(fig: dict | float | None, unit: str = "s", sig: int = SIG) -> str:
    """A time (a figure or a number, in `unit`, s or ms) in the unit its mean and interval read best
    in: '4.13 ms (2.27–6.00)' rather than '0.00413 s', '6.66 s' rather than '6,662 ms'."""
    fig = fig if isinstance(fig, dict) or fig is None else {"mean": fig, "ci95": [None, None]}
    value = mean(fig)
    if _missing(value):
        return DASH
    bounds = [abs(float(b)) for b in fig["ci95"] if not _missing(b)]
    seconds = max([abs(float(value))] + bounds) * dict(DURATION_UNITS)[unit] or 1.0  # 0 reads "0 s"
    name, size = next(((n, f) for n, f in DURATION_UNITS if seconds >= f * 0.9995),
                      DURATION_UNITS[-1])
    return figure(fig, unit=name, scale=dict(DURATION_UNITS)[unit] / size, sig=sig)


def count(x: Any) -> str:
    """A count or an input value: no decimals when whole, '8', '2.5'."""
    if _missing(x):
        return DASH
    return num(x, places=0) if float(x).is_integer() else num(x)


def pct(x: Any, sig: int = SIG, places: int | None = None, exact: bool = False) -> str:
    """A fraction as a percentage: 0.3766 -> '37.7%'; exact (an input, not a measurement)
    drops trailing zeros: 0.048 -> '4.8%'."""
    if _missing(x):
        return DASH
    text = num(float(x) * 100, sig=sig, places=places)
    if exact and "." in text and "e" not in text:
        text = text.rstrip("0").rstrip(".")
    return text + "%"


def pct_figure(fig: dict | None, sig: int = SIG) -> str:
    """A fractional figure with its interval as percentages: '0.12% (0.10–0.14)'."""
    return figure(fig, unit="%", scale=100.0, sig=sig).replace(" %", "%")


def money(x: Any) -> str:
    """US dollars: '$1,580', '$37.50'."""
    if _missing(x):
        return DASH
    x = float(x)
    sign = "-" if x < 0 else ""
    places = 0 if float(x).is_integer() else 2
    return f"{sign}${abs(x):,.{places}f}"


def times(x: Any, sig: int = SIG, places: int | None = None) -> str:
    """A factor: '2.66×'."""
    return DASH if _missing(x) else num(x, sig=sig, places=places) + "×"


def mean(fig: dict | None) -> Any:
    """The mean of a {"mean", "ci95"} figure (None: no figure)."""
    return fig["mean"] if isinstance(fig, dict) else fig


_NUMERIC = re.compile(r"^(\*\*)?[-−+<>≤≥$]?\s?[\d.,]+|^[∞–]|^$")


def _numeric(cell: str) -> bool:
    """A cell that reads as a number: '6,026', '4.30 ms (4.21–4.38)', '$1,580', '< 0.001', '–'."""
    return bool(_NUMERIC.match(cell))


def _cell(value: Any) -> str:
    return DASH if _missing(value) else str(value).replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: str = "",
          style: str = "markdown") -> str:
    """A table of rows; style 'markdown' (GitHub) or 'plain' (terminal).

    align has one letter per column, 'l' or 'r' (default: numbers right, text left);
    columns are padded so the raw text reads as a table too.
    """
    ncol = len(header)
    cells = [[_cell(c) for c in header]] + [[_cell(c) for c in row] + [""] * (ncol - len(row))
                                            for row in rows]
    align = (align or "".join("r" if all(_numeric(r[i]) for r in cells[1:]) and len(cells) > 1
                              else "l" for i in range(ncol))).ljust(ncol, "r")
    width = [max(len(r[i]) for r in cells) for i in range(ncol)]
    if style == "markdown":
        width = [max(w, 3) for w in width]

    def line(row: list[str]) -> str:
        padded = [c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(row, width, align)]
        return ("| " + " | ".join(padded) + " |") if style == "markdown" else "  ".join(padded).rstrip()

    if style == "markdown":
        rule = "| " + " | ".join("-" * (w - 1) + ":" if a == "r" else "-" * w
                                 for w, a in zip(width, align)) + " |"
    else:
        rule = "  ".join("-" * w for w in width)
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])
