"""report.json's text: indented for reading, lists of numbers on one line, and the per-second
series averaged in blocks when the run is long (a day is 86,400 seconds; report.json stays a
few MB and the plots, which show at most 1,000 points, do not change)."""
from __future__ import annotations

import json
import re
import warnings
from typing import Any

import numpy as np

MAX_SERIES_POINTS = 3600  # an hour at 1 s; a day at 24 s
SERIES_DIGITS = 4  # significant digits kept in a series (the figures keep all of theirs)
_NUMBER_LIST = re.compile(r"\[(?:\s*(?:-?[\d.]+(?:[eE][-+]?\d+)?|null),?)+\s*\]")


def dumps(data: Any) -> str:
    """JSON (data already JSON-ready), indented, each list of numbers on a single line."""
    text = json.dumps(data, indent=2, allow_nan=False)
    return _NUMBER_LIST.sub(lambda m: re.sub(r"\s+", "", m.group(0)).replace(",", ", "), text) + "\n"


def _block(values: list, block: int) -> list:
    """Means over blocks of `block` rows (a partial last block too), SERIES_DIGITS kept."""
    y = np.array([np.nan if v is None else v for v in values] if values and not isinstance(
        values[0], list) else [[np.nan if v is None else v for v in row] for row in values], dtype=float)
    pad = (-len(y)) % block
    y = np.concatenate([y, np.full((pad,) + y.shape[1:], np.nan)])
    with warnings.catch_warnings():  # an all-NaN block is a gap, not an error
        warnings.simplefilter("ignore", RuntimeWarning)
        y = np.nanmean(y.reshape((-1, block) + y.shape[1:]), axis=1)
    return [None if not np.isfinite(v) else float(f"{v:.{SERIES_DIGITS}g}") for v in y.ravel()] \
        if y.ndim == 1 else [[None if not np.isfinite(v) else float(f"{v:.{SERIES_DIGITS}g}")
                              for v in row] for row in y]


def bounded(report: dict) -> dict:
    """The report's data (Report.to_dict) with its series bounded (a shallow copy; the report
    itself is untouched)."""
    return report | {"series": bounded_series(report["series"])}


def bounded_series(series: dict) -> dict:
    """The report's `series` (sim.engines.results.Series) with at most MAX_SERIES_POINTS points each:
    block means, their step in `step_s` (1 s unless averaged) and `latency_step_s`."""
    longest = len(series["arrivals_rps"])
    block = -(-longest // MAX_SERIES_POINTS)
    if block <= 1:
        return series

    def shrink(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: shrink(v) for k, v in value.items()}
        if isinstance(value, list) and len(value) > MAX_SERIES_POINTS:
            return _block(value, block)
        return value
    latency = series["latency_ms_p50_p95_p99"]
    out = shrink({k: v for k, v in series.items() if k != "latency_ms_p50_p95_p99"})
    out["step_s"] = float(block) * series["step_s"]
    lat_step = series["latency_step_s"]
    lat_block = -(-len(latency) // MAX_SERIES_POINTS)
    if lat_block > 1:
        latency, lat_step = _block(latency, lat_block), lat_step * lat_block
    out["latency_ms_p50_p95_p99"], out["latency_step_s"] = latency, lat_step
    return out
