"""The calm path (sim.engines.fast.bulk) against the event loop on random small scenarios: every time
random, random operations, topologies, mechanisms and failures (tests/exact_scenarios.py). The
same seed must give the same raw result either way, to the last count.

A fixed grid of scenarios missed broken rules: a fixed time never moves its pool's cursor, so a
calm stretch that forgot to skip the samples of one pool (Redis's round trip) passed them all."""
from dataclasses import replace
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from sim.engines.fast.bulk import _before_full, _may_fill
from sim.engines.fast.engine import run_replication
from sim.engines.fast.inputs import POOL
from tests.exact_scenarios import SampleFiles, scenarios
from tests.helpers import same_raw

EXAMPLES = 120
# a share of the examples must run requests in calm stretches, or the test proves nothing
CALM_SHARE = 0.4
# sample pools this small are refilled every few thousand requests, in and between calm
# stretches (the default, sim.engines.fast.inputs.POOL, lasts the whole of most examples)
SMALL_POOL = 1 << 14


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory):
    return SampleFiles(tmp_path_factory.mktemp("samples"))


def test_calm_path_gives_the_event_loops_raw_result(sample_files):
    """Fixed examples (derandomized); no shrinking, which would take minutes at a second an
    example: hypothesis prints the example that failed, and the same run finds it again."""
    calm = []

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
    @given(scenarios(sample_files), st.sampled_from([None, None, SMALL_POOL]))
    def check(scenario, pool):
        note(f"the scenario, as JSON: {scenario.model_dump_json(exclude_defaults=True)}")
        size = pool or POOL
        with (mock.patch("sim.engines.fast.inputs.POOL", size),
              mock.patch("sim.engines.fast.engine.POOL", size)):
            events = run_replication(scenario, 0, bulk=False)
            bulk = run_replication(scenario, 0, bulk=True)
        assert events.bulk_requests == 0
        calm.append(bulk.bulk_requests)
        same_raw(replace(events, bulk_requests=None), replace(bulk, bulk_requests=None))

    check()
    ran = sum(n > 0 for n in calm)
    assert ran >= CALM_SHARE * len(calm), f"calm stretches ran in {ran} of {len(calm)} examples only"


def test_calm_stretches_end_before_a_request_finds_every_connection_taken():
    """bulk._before_full against a count: the first request that finds `cap` earlier ones not
    yet answered (answered at or after it arrives). bulk._may_fill, the bound that spares that
    search, is true exactly when cap + 1 arrivals fall within the longest response time.
    Random arrivals and responses, rounded so that times tie."""
    rng, n = np.random.default_rng(3), 400
    for cap in (1, 2, 5, 40):
        for mean_response in (0.3, 1.0, 3.0, 20.0):
            t0 = np.round(rng.exponential(1.0, n).cumsum(), 1)
            resp = t0 + np.round(rng.exponential(mean_response, n), 1)
            in_flight = [int((resp[:i] >= t0[i]).sum()) for i in range(n)]
            first = next((i for i, k in enumerate(in_flight) if k >= cap), n)
            assert _before_full(t0, resp, np.zeros(n), n, cap) == first
            longest = (resp - t0).max()
            crowded = any(int((t0[i] - t0[:i + 1] <= longest).sum()) > cap for i in range(n))
            assert _may_fill(t0, resp, n, cap) == crowded
