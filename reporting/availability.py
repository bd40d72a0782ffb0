"""availability.md: each service's annual availability beside its target, and where it goes."""
from __future__ import annotations

from reporting.fmt import figure, money, num, pct, table


def _avail(fig: dict) -> str:
    return figure(fig, unit="%", scale=100.0, sig=6).replace(" %", "%")


def services_table(result: dict) -> str:
    rows = []
    for name, s in result["services"].items():
        q = s["impaired_min_year_quantiles"]
        rows.append([name.replace("_", " "), pct(s["target"], sig=4, exact=True),
                     num(s["budget_min_per_year"]) + " min", figure(s["impaired_min_per_year"], "min"),
                     f"{num(q['p50'])} / {num(q['p90'])} / {num(q['p99'])} min", _avail(s["availability"]),
                     _avail(s["request_availability"]), pct(s["p_year_meets_target"]["mean"], sig=3)
                     + f" ({pct(s['p_year_meets_target']['ci95'][0])}–{pct(s['p_year_meets_target']['ci95'][1])})",
                     pct(s["naive_product"], sig=7), s["verdict"]])
    return table(["service", "target", "budget a year", "impaired a year (mean)", "a year: p50 / p90 / p99",
                  "availability (time)", "availability (requests)", "P(a year meets the target)",
                  "naive product", "verdict"], rows)


def budget_table(result: dict) -> str:
    services = list(result["services"])
    kinds = sorted({k for s in result["services"].values() for k in s["budget_share_by_kind"]})
    rows = []
    for kind in kinds:
        cost = result["failure_costs"][kind]
        row = [kind, num(result["failures_per_year"][kind]), figure_of(cost["impaired_s"], "s"),
               figure_of(cost["failed_requests"], "")]
        for name in services:
            s = result["services"][name]
            share = s["budget_share_by_kind"].get(kind)
            row.append("" if share is None else
                       f"{num(s['impaired_min_per_year_by_kind'][kind])} min ({pct(share)})")
        rows.append(row)
    return table(["node kind", "failures a year", "impaired per costly failure", "failed requests per costly failure"]
                 + [f"{n.replace('_', ' ')}: minutes a year (share of budget)" for n in services], rows)


def figure_of(cost: dict, unit: str) -> str:
    return figure({"mean": cost["mean"], "ci95": [cost["lo"], cost["hi"]]}, unit)


def markdown(result: dict, matrix_source: str, revenue_usd_per_hour: float | None = None) -> str:
    lines = [f"# Annual availability ({result['reliability']})", "",
             f"{num(result['years'])} simulated years, seed {result['seed']}; what each failure costs "
             f"from the failure matrix: {matrix_source} (measured at {num(result['offered_rps'])} requests/s). "
             "Intervals: 95%, the Monte Carlo's and the matrix's together (sim/study/availability.py).", "",
             services_table(result), "",
             "The naive product multiplies the availabilities of redundant groups (each up while one "
             "node is): what availability calculators give, failover free. The gap to the simulated "
             "availability is what failover time costs. A second failure before the first is "
             "repaired is another failover, costed by the matrix's measured row (simulated); every "
             "node of a kind down at once counts as impaired for the whole overlap (bounded); "
             "overlapping incidents are added (an upper bound).", "",
             "## The error budget each failure consumes", "", budget_table(result), ""]
    if revenue_usd_per_hour:
        s = result["services"]["overall"]
        lost = (1 - s["request_availability"]["mean"]) * revenue_usd_per_hour * 8760
        lines += [f"Revenue at risk (overall, {money(revenue_usd_per_hour)} an hour, requests failed a "
                  f"year at the matrix's load): {money(round(lost))} a year.", ""]
    return "\n".join(lines)
