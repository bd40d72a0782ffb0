"""The analytic screen: utilisation bounds per tier, under the load and with any one node of the
matrix's failures lost, and Erlang C for the app servers' cores (figures stated beside the
simulated ones). Only the bounds reject: a tier at SATURATED or more is no steady state (the
simulation's own rule, sim.study.stability); Erlang C is exact for M/M/c only, so it informs."""
from __future__ import annotations

import math

from sim.model.schema import Scenario
from sim.study.stability import SATURATED
from sim.engines.streams import mean_s


def erlang_c(c: int, a: float) -> float:
    """P(wait) in M/M/c with offered load a = lambda / mu erlangs (c > a)."""
    if a >= c:
        return 1.0
    term, total = 1.0, 1.0  # a^k / k!, summed for k < c
    for k in range(1, c):
        term *= a / k
        total += term
    top = term * a / c * c / (c - a)  # a^c / c! * c / (c - a)
    return top / (total + top)


def mmc_sojourn_s(c: int, rate: float, service_s: float) -> float:
    """Mean time in M/M/c: W = C(c, a) / (c mu - lambda) + 1 / mu; inf at or past saturation."""
    mu = 1 / service_s
    if rate >= c * mu:
        return math.inf
    return erlang_c(c, rate / mu) / (c * mu - rate) + service_s


def rate_rps(scenario: Scenario) -> float:
    """The highest arrival rate the scenario offers."""
    a = scenario.workload.arrivals
    if a.kind == "constant":
        return a.rate_rps
    if a.kind == "piecewise":
        return max(p.rate_rps for p in a.points)
    return a.daily_users * a.requests_per_user * max(a.hourly_profile) / sum(a.hourly_profile) / 3600


def _per_request(scenario: Scenario) -> dict:
    """Mean work per request, by the operation mix: seconds of CPU, of Redis, of PostgreSQL."""
    w, t = scenario.workload, scenario.topology
    out = {"cpu_s": 0.0, "redis_s": 0.0, "db_write_s": 0.0, "db_read_s": 0.0}
    for name, share in w.mix.items():
        op = w.operations[name]
        out["cpu_s"] += share * mean_s(op.cpu)
        if t.redis and op.session_commands:
            trips = 1 if op.pipelined else op.session_commands
            out["redis_s"] += share * (trips * mean_s(t.redis.roundtrip_service)
                                       + op.session_commands * mean_s(t.redis.command_service))
        if t.postgres:
            out["db_write_s"] += share * op.db_writes * mean_s(t.postgres.write_service)
            out["db_read_s"] += share * op.db_reads * mean_s(t.postgres.read_service)
    return out


def _lost(scenario: Scenario) -> set[str]:
    """Roles whose loss the plan must survive (components of the failures it judges)."""
    names = scenario.plan.failures if scenario.plan and scenario.plan.failures else None
    return {f.component for f in scenario.failures if names is None or f.name in names}


def tiers(scenario: Scenario) -> dict:
    """{tier: {"utilisation", "utilisation_one_lost"?, "bound"}} at the scenario's peak rate."""
    lam, w, t = rate_rps(scenario), _per_request(scenario), scenario.topology
    apps = t.app_servers
    out = {"app cores": {"utilisation": lam * w["cpu_s"] / (apps.count * apps.cores),
                         "bound": "lambda x CPU per request / (servers x cores)"}}
    if {"app_server", "all"} & _lost(scenario) or any(f.component.startswith("app-") for f in scenario.failures):
        out["app cores"]["utilisation_one_lost"] = (  # None: no server left
            lam * w["cpu_s"] / ((apps.count - 1) * apps.cores) if apps.count > 1 else None)
    if t.redis:
        out["redis master"] = {"utilisation": lam * w["redis_s"],
                               "bound": "lambda x (round trips + commands) per request"}
    if t.postgres and w["db_write_s"]:
        out["pg primary"] = {"utilisation": lam * w["db_write_s"] / t.postgres.connections,
                             "bound": "lambda x write time per request / connections"}
    if t.postgres and w["db_read_s"]:
        servers = max(1, t.postgres.read_replicas) * t.postgres.connections
        out["pg reads"] = {"utilisation": lam * w["db_read_s"] / servers,
                           "bound": "lambda x read time per request / (read servers x connections)"}
    return out


def erlang(scenario: Scenario) -> dict:
    """Erlang C for one app server's cores (its share of the load as Poisson, CPU exponential):
    P(wait), mean sojourn in the cores, and square-root staffing's cores for beta = 1."""
    lam, apps = rate_rps(scenario) / scenario.topology.app_servers.count, scenario.topology.app_servers
    cpu = _per_request(scenario)["cpu_s"]
    a = lam * cpu
    sojourn = mmc_sojourn_s(apps.cores, lam, cpu) if cpu else 0.0
    return {"offered_erlangs_per_server": a, "p_wait": erlang_c(apps.cores, a),
            "cores_sojourn_ms": sojourn * 1000 if math.isfinite(sojourn) else None,
            "square_root_staffing_cores": math.ceil(a + math.sqrt(a)),
            "assumes": "Poisson arrivals per server and exponential CPU times (exact for M/M/c)"}


def screen(scenario: Scenario) -> tuple[dict, str | None]:
    """(the figures, the excuse when a bound rules the candidate out, else None)."""
    figures = {"tiers": tiers(scenario), "erlang_c": erlang(scenario)}
    for tier, f in figures["tiers"].items():
        for key, when in (("utilisation", "under the load"),
                          ("utilisation_one_lost", "with one server lost")):
            if key in f and f[key] is None:
                return figures, f"analytic: {tier}: no server left {when}"
            if f.get(key, 0) >= SATURATED:
                return figures, (f"analytic: {tier} {f[key]:.0%} busy {when} ({f['bound']}; "
                                 f"{SATURATED:.0%} or more is no steady state)")
    lost = _lost(scenario)
    t = scenario.topology
    if "redis_master" in lost and t.redis and not t.redis.replicas:
        return figures, "analytic: a Redis master crash with no replica to promote"
    if "pg_primary" in lost and t.postgres and not t.postgres.replicas:
        return figures, "analytic: a PostgreSQL primary crash with no standby to promote"
    return figures, None
