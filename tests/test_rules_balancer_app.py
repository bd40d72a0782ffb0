"""The balancer's and the app server's rules, request by request, on both engines: exact logs of
2-4 requests in the tiny scenario of tests.request_logs (times in ms, worked out in each
docstring; a `page` alone takes 1.3 ms)."""
import pytest

from tests.helpers import ENGINES
from tests.request_logs import failure, logged

TWO_APPS = {"app_servers": {"count": 2}}


@pytest.mark.parametrize("engine", ENGINES)
def test_round_robin(engine, monkeypatch):
    """Round robin over app-1 and app-2 starts at app-2. app-1 is slowed x2 at 0.5 ms: its page
    takes 2 ms of CPU (2.3 ms)."""
    log = logged(monkeypatch, engine, [(1, "page"), (11, "page"), (21, "page")],
                 {"topology": TWO_APPS, "failures": [failure("slow", "app-1", "slow", 0.5, slow_factor=2)]})
    assert log == [(1, 2.3, "page", "ok", "app-2"), (11, 13.3, "page", "ok", "app-1"),
                   (21, 22.3, "page", "ok", "app-2")]


@pytest.mark.parametrize("engine", ENGINES)
def test_leastconn(engine, monkeypatch):
    """leastconn counts the requests at a server's workers (holding or waiting): A and B at 1 ms
    pick before A reaches app-1 (1.2 ms), both app-1 (a tie goes to the first); B waits for the
    core until 2.2 (3.3). C at 1.5 ms finds 2 at app-1, none at app-2 (2.8)."""
    log = logged(monkeypatch, engine, [(1, "page"), (1, "page"), (1.5, "page")],
                 {"topology": TWO_APPS | {"load_balancers": {"balance": "leastconn"}}})
    assert log == [(1, 2.3, "page", "ok", "app-1"), (1, 3.3, "page", "ok", "app-1"),
                   (1.5, 2.8, "page", "ok", "app-2")]


@pytest.mark.parametrize("engine", ENGINES)
def test_leastconn_picks_when_the_connection_is_granted_on_the_fast_engine(engine, monkeypatch):
    """The documented departure (sim.engines.fast): A at 1 ms reaches app-1 at 1.2; D at 1.15 ms. The
    reference picks after proxying, at 1.25: app-1 has A, so app-2 (2.45). The fast engine picks
    at the grant, 1.15: a tie, app-1, where D waits for the core until 2.2 (3.3)."""
    log = logged(monkeypatch, engine, [(1, "page"), (1.15, "page")],
                 {"topology": TWO_APPS | {"load_balancers": {"balance": "leastconn"}}})
    d = (1.15, 2.45, "page", "ok", "app-2") if engine == "reference" else (1.15, 3.3, "page", "ok", "app-1")
    assert log == [(1, 2.3, "page", "ok", "app-1"), d]


@pytest.mark.parametrize("engine", ENGINES)
def test_refused_connection_retried_after_min_of_timeout_connect_and_1_s(engine, monkeypatch):
    """app-2 crashes at 0.5 ms and stays in rotation (no health check fails 3 times in 4 s). A at
    1 ms goes to app-2: refused, retried 3 times (HAProxy's default), each after min(5 s, 1 s):
    app_refused at 1 + 0.1 + 3000 ms. B at 2 ms: app-1 (3.3)."""
    log = logged(monkeypatch, engine, [(1, "page"), (2, "page")],
                 {"topology": TWO_APPS, "failures": [failure("crash", "app-2", "crash", 0.5)]},
                 duration_s=4)
    assert log == [(1, 3001.1, "page", "app_refused", "app-2"), (2, 3.3, "page", "ok", "app-1")]


@pytest.mark.parametrize("engine", ENGINES)
def test_redispatch_moves_the_last_retry(engine, monkeypatch):
    """retries 2, option redispatch, timeout connect 0.5 s; app-2 crashed at 0.5 ms. A at 1 ms:
    app-2 refused at 1.1 and 501.1; the last retry (1001.1) picks again: app-1 (1002.3). B at
    1200 ms: the round robin's next is app-2: refused at 1200.1 and 1700.1, app-1 at 2200.1
    (2201.3)."""
    changes = {"topology": TWO_APPS | {"load_balancers": {"timeout_connect_s": 0.5}},
               "mechanisms": {"health_check": {"retries": 2, "redispatch": True}},
               "failures": [failure("crash", "app-2", "crash", 0.5)]}
    log = logged(monkeypatch, engine, [(1, "page"), (1200, "page")], changes, duration_s=3)
    assert log == [(1, 1002.3, "page", "ok", "app-1"), (1200, 2201.3, "page", "ok", "app-1")]


@pytest.mark.parametrize("engine", ENGINES)
def test_hung_app_server(engine, monkeypatch):
    """app-1 hangs at 1.5 ms, timeout server 50 ms. A, on the core 1.2-2.2, is lost when the core
    answers: app_lost at 2.2. B at 3 ms is sent to the hung server: app_timeout 50 ms after the
    proxying (53.1)."""
    changes = {"topology": {"load_balancers": {"timeout_server_s": 0.05}},
               "failures": [failure("hang", "app-1", "hang", 1.5)]}
    log = logged(monkeypatch, engine, [(1, "page"), (3, "page")], changes)
    assert log == [(1, 2.2, "page", "app_lost", "app-1"), (3, 53.1, "page", "app_timeout", "app-1")]


@pytest.mark.parametrize("engine", ENGINES)
def test_worker_queue_limit_and_patience(engine, monkeypatch):
    """One worker, a queue of 1, timeout server 0.8 ms (the queue's patience). A holds the worker
    1.2-2.2 (2.3). B queues at 1.3 and gives up at 2.1: app_queue. C reaches the server at 1.4
    with B in the queue: refused, app_queue at 1.4."""
    changes = {"topology": {"app_servers": {"workers": 1, "max_queue": 1},
                            "load_balancers": {"timeout_server_s": 0.0008}}}
    log = logged(monkeypatch, engine, [(1, "page"), (1.1, "page"), (1.2, "page")], changes)
    assert log == [(1, 2.3, "page", "ok", "app-1"), (1.1, 2.1, "page", "app_queue", "app-1"),
                   (1.2, 1.4, "page", "app_queue", "app-1")]


@pytest.mark.parametrize("engine", ENGINES)
def test_balancer_connection_limit_and_queue_timeout(engine, monkeypatch):
    """maxconn 1, timeout queue 0.5 ms. A holds the connection 1-2.3. B waits from 1.2 and gives
    up at 1.7: lb_queue, before any app server. C waits from 2, gets A's connection at 2.3
    (3.6)."""
    changes = {"topology": {"load_balancers": {"maxconn": 1, "timeout_queue_s": 0.0005}}}
    log = logged(monkeypatch, engine, [(1, "page"), (1.2, "page"), (2, "page")], changes)
    assert log == [(1, 2.3, "page", "ok", "app-1"), (1.2, 1.7, "page", "lb_queue", None),
                   (2, 3.6, "page", "ok", "app-1")]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_connection_is_freed_when_the_response_reaches_the_balancer(engine, monkeypatch):
    """maxconn 2, timeout queue 0.02 ms. A holds a connection 1-2.3 (done in the app at 2.2, its
    response at the balancer at 2.3); B at 2.21 takes the other. C at 2.25 finds both taken,
    waits, and gives up at 2.27: lb_queue (A's is freed at 2.3, not when A left the app)."""
    changes = {"topology": {"load_balancers": {"maxconn": 2, "timeout_queue_s": 0.00002}}}
    log = logged(monkeypatch, engine, [(1, "page"), (2.21, "page"), (2.25, "page")], changes)
    assert log == [(1, 2.3, "page", "ok", "app-1"), (2.21, 3.51, "page", "ok", "app-1"),
                   (2.25, 2.27, "page", "lb_queue", None)]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind, b", [("crash", (3, 3, "page", "no_load_balancer", None)),
                                     ("hang", (3, 13, "page", "lb_timeout", None))])
def test_no_balancer(engine, kind, b, monkeypatch):
    """The only balancer crashes (or hangs) at 1.5 ms: A, holding a connection, gets no response
    when it comes (lb_lost at 2.3). B at 3 ms: a crashed balancer fails it at once
    (no_load_balancer); a hung one after timeout connect, 10 ms (lb_timeout)."""
    changes = {"topology": {"load_balancers": {"timeout_connect_s": 0.01}},
               "failures": [failure(kind, "lb-1", kind, 1.5)]}
    log = logged(monkeypatch, engine, [(1, "page"), (3, "page")], changes)
    assert log == [(1, 2.3, "page", "lb_lost", "app-1"), b]


@pytest.mark.parametrize("engine", ENGINES)
def test_no_app_server_in_rotation(engine, monkeypatch):
    """The only app server crashes at 0.5 ms; a health check every 100 ms (at a random phase),
    one failed, takes it out of rotation by 200.5 ms. A at 300 ms and B at 400 ms find none once
    proxied: no_app_server (300.1, 400.1)."""
    changes = {"mechanisms": {"health_check": {"inter_s": 0.1, "fall": 1}},
               "failures": [failure("crash", "app-1", "crash", 0.5)]}
    log = logged(monkeypatch, engine, [(300, "page"), (400, "page")], changes, duration_s=0.5)
    assert log == [(300, 300.1, "page", "no_app_server", None), (400, 400.1, "page", "no_app_server", None)]
