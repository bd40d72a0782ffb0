"""The executor: a sweep gives the same figures, bit for bit, on the local pool and on a real Dask
cluster (a scheduler and two workers on 127.0.0.1, free ports, stopped by process id)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import exp, queue_scenario
from sim.study import executor
from sim.study.sweep import sweep

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tiny():
    return queue_scenario(40, exp(10), cores=2, workers=50, duration_s=20, warmup_s=2,
                          replications=3)


VARY = [("workload.arrivals.rate_rps", [40, 120])]


def test_blocks_cover_every_replication_once():
    assert executor.blocks(5, 7, 2) == [(5, 4), (9, 3)]
    assert executor.blocks(0, 3, 8) == [(0, 1), (1, 1), (2, 1)]


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    try:
        import distributed  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("dask.distributed is not installed (pip install 'dask[distributed]')")
    dask = shutil.which("dask") or pytest.fail("dask is installed but its command is not on PATH")
    tmp = tmp_path_factory.mktemp("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    log = open(tmp / "cluster.log", "w")
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], cwd=tmp, env=env, stdout=log, stderr=log)]
    procs += [subprocess.Popen([dask, "worker", address, "--host", "127.0.0.1", "--no-dashboard",
                                "--no-nanny", "--nthreads", "1", "--local-directory", str(tmp)],
                               cwd=tmp, env=env, stdout=log, stderr=log) for _ in range(2)]
    try:
        from distributed import Client
        deadline = time.time() + 60
        while True:
            try:
                with Client(address, timeout="2s") as client:
                    if len(client.scheduler_info()["workers"]) == 2:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                pytest.fail("the Dask cluster did not start: " + (tmp / "cluster.log").read_text()[-2000:])
            time.sleep(0.5)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


def test_sweep_same_figures_on_dask_as_on_the_local_pool(dask_cluster, monkeypatch):
    with executor.make(workers=2) as local:
        here = sweep(_tiny(), VARY, local)
    monkeypatch.setenv(executor.SCHEDULER_ENV, dask_cluster)
    with executor.make() as remote:
        assert isinstance(remote, executor.DaskExecutor) and remote.slots == 2
        there = sweep(_tiny(), VARY, remote)
    assert [p["values"] for p in there] == [p["values"] for p in here]
    assert there == here  # every figure and interval, bit for bit
    assert here[1]["throughput_rps"]["mean"] > 2 * here[0]["throughput_rps"]["mean"]


def test_unreachable_scheduler_is_one_line(capsys):
    port = _free_port()  # nothing listens there
    code = subprocess.run([sys.executable, "simulate.py", "sweep", "tests/../scenarios/peak.yaml",
                           "--vary", "topology.app_servers.count=3,4",
                           "--scheduler", f"tcp://127.0.0.1:{port}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert code.returncode == 2, code.stderr
    assert code.stderr.startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:")
    assert len(code.stderr.strip().splitlines()) == 1
