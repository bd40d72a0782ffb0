"""The fast engine runs only on the numba releases it was tested with (sim.engines.fast.TESTED_NUMBA):
sim.engines.fast.world copies numba's internal MemInfo layout, which a release may change."""
import subprocess
import sys
from pathlib import Path

import numba
import pytest

from sim.engines import fast

ROOT = Path(__file__).resolve().parent.parent


def test_the_installed_numba_is_a_tested_release():
    fast.check_numba(numba.__version__)
    assert ".".join(numba.__version__.split(".")[:2]) in fast.TESTED_NUMBA


@pytest.mark.parametrize("version", ["0.69.0", "0.59.1", "1.0.0rc1", "0.6.8"])
def test_another_release_is_refused_in_one_line(version):
    with pytest.raises(fast.UntestedNumba, match=rf"^numba {version} is not a release the fast "
                                                 r"engine was tested with \(0\.68\.x\)"):
        fast.check_numba(version)


def test_a_run_on_the_fast_engine_with_another_numba_exits_2_with_one_line(tmp_path):
    """numba's version patched before anything imports sim.engines.fast: the command line says so in one
    line and exits 2; the reference engine still runs."""
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text("name: tiny\narchitecture: redis_single\n"
                        "workload: {arrivals: {kind: constant, rate_rps: 20}}\n"
                        "simulation: {duration_s: 2, warmup_s: 1, replications: 1}\n")
    code = ("import sys, numba; numba.__version__ = '0.70.0'; import simulate; "
            "sys.exit(simulate.main(sys.argv[1:]))")
    def run(engine: str):
        return subprocess.run([sys.executable, "-c", code, str(scenario), "--engine", engine, "--quiet",
                               "--out", str(tmp_path / engine)], capture_output=True, text=True, cwd=ROOT)
    fast_run, reference_run = run("fast"), run("reference")
    assert fast_run.returncode == 2 and fast_run.stderr.splitlines() == [
        "error: numba 0.70.0 is not a release the fast engine was tested with (0.68.x): install one "
        "(pip install -e . installs the pinned one) or run with --engine reference"]
    assert reference_run.returncode == 0, reference_run.stderr
