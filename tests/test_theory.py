"""The model against queueing theory.

Tolerance, for every comparison below: the theoretical value must lie within 1.5 half-widths
of the simulated 95% confidence interval (Student t over independent replications, so about a
99.5% interval with 7 degrees of freedom) AND within 3% of the simulated mean. The first is the
statistical test; the second keeps it from passing vacuously on a wide interval. Warm-up bias is
negligible: 20 s of warm-up against relaxation times under 0.2 s at these loads. Quantiles come
from a log histogram whose buckets are 1% wide (at most 0.5% off), well inside the 3%.
"""
import math

import pytest
from scipy import optimize

from sim.study.runner import run
from tests.helpers import ENGINES, exp, queue_scenario


def assert_agrees(figure: dict, theory: float, rel: float = 0.03):
    mean, (lo, hi) = figure["mean"], figure["ci95"]
    half = (hi - lo) / 2
    assert abs(mean - theory) <= 1.5 * half + 1e-12, f"theory {theory} outside {mean} +- 1.5 x {half}"
    assert abs(mean - theory) <= rel * theory, f"simulated {mean} more than {rel:.0%} off theory {theory}"


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load a = lambda / mu."""
    rho = a / c
    top = a ** c / math.factorial(c) / (1 - rho)
    return top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)


@pytest.fixture(scope="module", params=ENGINES)
def mm1(request):
    # lambda 700/s, mu 1000/s: the single worker is an M/M/1 queue; nothing else takes time
    return run(queue_scenario(700, exp(1.0), cores=1, workers=1, duration_s=60, warmup_s=10,
                              engine=request.param))


def test_mm1_mean_sojourn_and_wait_probability(mm1):
    """M/M/1: W = 1 / (mu - lambda) = 3.333 ms; P(wait) = rho = 0.7; utilisation = rho."""
    node = mm1.nodes["app-1"]
    assert_agrees(node.sojourn_mean_ms, 1000 / (1000 - 700))
    assert_agrees(node.waited_fraction, 0.7)
    assert_agrees(node.utilisation, 0.7)


def test_mm1_end_to_end_quantiles(mm1):
    """M/M/1 sojourn is exponential with rate mu - lambda: p50 = ln 2 / 300 s, p99 = ln 100 / 300 s."""
    lat = mm1.metrics.latency_ms
    assert_agrees(lat.p50, 1000 * math.log(2) / 300)
    assert_agrees(lat.p99, 1000 * math.log(100) / 300)
    assert_agrees(mm1.metrics.throughput_rps, 700)


@pytest.mark.parametrize("engine", ENGINES)
def test_mmc_erlang_c(engine):
    """M/M/4 with mu = 100/s, lambda = 320/s (rho 0.8): Erlang C gives P(wait) and
    Wq = C / (c mu - lambda); the sojourn adds the 10 ms service."""
    c, mu, lam = 4, 100.0, 320.0
    report = run(queue_scenario(lam, exp(10.0), cores=c, workers=c, duration_s=200, warmup_s=20,
                                engine=engine))
    node = report.nodes["app-1"]
    p_wait = erlang_c(c, lam / mu)
    assert_agrees(node.waited_fraction, p_wait)
    assert_agrees(node.sojourn_mean_ms, 1000 * (p_wait / (c * mu - lam) + 1 / mu))
    assert_agrees(node.utilisation, lam / (c * mu))


@pytest.mark.parametrize("engine", ENGINES)
def test_tandem_network(engine):
    """CPU (M/M/1, mu1 = 1000/s) then Redis (M/M/1, mu2 = 1250/s) at lambda = 600/s. By Burke's
    theorem the CPU's departures are Poisson, so each stage is M/M/1 and the sojourns are
    independent: the end-to-end time is Exp(400) + Exp(650), a hypoexponential distribution."""
    lam, mu1, mu2 = 600.0, 1000.0, 1250.0
    report = run(queue_scenario(lam, exp(1.0), cores=1, workers=10_000, redis=exp(0.8),
                                duration_s=60, warmup_s=10, engine=engine))
    a, b = mu1 - lam, mu2 - lam
    assert_agrees(report.nodes["app-1/cpu"].sojourn_mean_ms, 1000 / a)
    assert_agrees(report.nodes["redis-1"].sojourn_mean_ms, 1000 / b)
    lat = report.metrics.latency_ms
    assert_agrees(lat.mean, 1000 / a + 1000 / b)

    def cdf(t):
        return 1 - (b * math.exp(-a * t) - a * math.exp(-b * t)) / (b - a)
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        assert_agrees(getattr(lat, name), 1000 * optimize.brentq(lambda t: cdf(t) - q, 0, 1))
