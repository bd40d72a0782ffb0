"""The compiled path's books turned into the reference engine's raw figures."""
from __future__ import annotations

import numpy as np
from numba import njit

from sim.engines.fast.books import LOG_APP, LOG_ARRIVED, LOG_OK, LOG_OP
from sim.engines.fast.layout import REASONS
from sim.engines.histogram import LogHistogram
from sim.engines.metrics import Recorded, Recorder
from sim.engines.results import LoggedRequest, Replication
from sim.engines.setup import node_figures, result, role_of


def _hist(counts: np.ndarray, total_s: float) -> LogHistogram:
    h = LogHistogram()
    h.counts, h.total_s = counts.astype(np.int64).copy(), float(total_s)
    return h


@njit(cache=True)
def sort_by_time(t, v, most_moved):
    """Sorts the pairs (t[i], v[i]) by t in place, stably, by insertion: completions come nearly
    in time order. Returns False, the pairs only partly sorted, if one would move further than
    most_moved places."""
    for i in range(1, len(t)):
        x, y, j = t[i], v[i], i - 1
        while j >= 0 and t[j] > x and i - j <= most_moved:
            t[j + 1], v[j + 1] = t[j], v[j]
            j -= 1
        t[j + 1], v[j + 1] = x, y
        if j >= 0 and t[j] > x:
            return False
    return True


def recorded(rec: Recorder, w, op_names: list[str], nodes) -> Recorded:
    """What the reference engine's Recorder would hold at the end, from the compiled books
    (`rec`: the replication's recorder, unused but for its settings)."""
    bk, g = w, w.g[0]
    by_index = {name: i for i, name in enumerate(op_names)}
    steps = int(w.c["n_steps"][0])
    n = int(g["n_inc"])
    t, latency = bk.incident[0, :n], bk.incident[1, :n]  # completions, in time order
    if not sort_by_time(t, latency, 4096):
        order = np.argsort(t, kind="stable")
        t, latency = t[order], latency[order]
    return Recorded(
        duration_s=rec.duration_s, bin_s=rec.bin_s,
        arrived=bk.bins[0].copy(), done=bk.bins[1].copy(), failed=bk.bins[2].copy(),
        slow=bk.bins[3].copy(),
        fail_reasons={REASONS[i]: int(n) for i, n in enumerate(bk.reasons) if n},
        latency=_hist(bk.hist[0], bk.hist_s[0]), baseline=_hist(bk.hist[1], bk.hist_s[1]),
        by_op={name: _hist(bk.hist[2 + by_index[name]], bk.hist_s[2 + by_index[name]])
               if name in by_index else LogHistogram() for name in rec.by_op},
        step_s=rec.step_s,
        window_quantiles_ms=[[_hist(bk.step_hist[i], 0).quantile_s(q) * 1000 for q in (0.5, 0.95, 0.99)]
                             for i in range(steps)],
        incident_t_s=t, incident_latency_s=latency,
        session_writes=int(g["writes"]), fallbacks=int(g["fallbacks"]),
        request_log=_request_log(w, op_names, nodes.apps))


def _request_log(w, op_names: list[str], apps) -> tuple[LoggedRequest, ...]:
    """Recorder.request_log from the compiled log, with the requests still in flight."""
    log = w.req_log.copy()
    rq = w.rq[(w.rq["rid"] >= 0) & (w.rq["rid"] < len(log))]
    for column, field in ((LOG_ARRIVED, "t0"), (LOG_OP, "op"), (LOG_APP, "app")):
        log[rq["rid"], column] = rq[field]
    out = []
    for arrived, ended, op, outcome, app in log[~np.isnan(log[:, LOG_ARRIVED])]:  # NaN: not arrived
        in_flight = np.isnan(ended)
        out.append(LoggedRequest(
            float(arrived), None if in_flight else float(ended), op_names[int(op)],
            None if in_flight else "ok" if outcome == LOG_OK else REASONS[int(outcome)],
            apps[int(app)].name if app >= 0 else None))
    return tuple(out)


def raw(scenario, w, rec, control, nodes, stations, op_names: list[str],
        app_servers: list[int]) -> Replication:
    sim = scenario.simulation
    window_s = sim.duration_s - sim.warmup_s
    st, bk = w.node, w
    figures, series = {}, {}
    seconds = max(0, int(np.ceil(sim.duration_s)) - 1)  # the reference samples at 1, 2, ... s
    for i, s in enumerate(stations):
        d = {"busy_area": st["busy_s"][i], "queue_area": st["queue_s"][i]}
        d |= {k: int(st[k][i]) for k in ("arrivals", "departures", "rejected", "abandoned", "waited")}
        d["sojourn_s"] = float(st["sojourn_s"][i])
        figures[s.name] = node_figures(s, role_of(s, control), d, _hist(bk.st_hist[i], st["hist_s"][i]),
                                       window_s)
        series[s.name] = {"utilisation": (bk.busy[i, :seconds] / s.capacity).tolist(),
                          "queue": bk.queue[i, :seconds].tolist()}
    lb_in_system = int(sum(st["in_use"][i] + st["qlen"][i] for i in w.lbs))
    return result(scenario, recorded(rec, w, op_names, nodes), control, nodes, figures,
                  {"nodes": series, "app_servers": app_servers}, lb_in_system,
                  bulk_requests=int(w.g["bulk_n"][0]))  # how many ran in calm stretches (sim.engines.fast.bulk)
