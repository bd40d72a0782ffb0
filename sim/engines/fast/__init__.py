"""The fast engine: the same control plane (SimPy), the request path compiled with numba.

Between two control-plane events the topology is fixed, so the requests of that interval run
through a compiled event loop (sim.engines.fast.kernel) that keeps the reference engine's rules
(sim.engines.request_path) step by step. Stations whose holding time is known on arrival (Redis, the
cores, database connections, replicas) are FIFO queues solved in closed form as requests reach
them (Kiefer-Wolfowitz); the balancer's connections and the app servers' workers, held for the
whole request, keep explicit queues with their timeouts.

Calm stretches (sim.engines.fast.bulk), from one moment the system is empty to another, with nothing
failing or waiting for a held resource, skip the event queue: each station's visits are taken in
one pass in time order. They give the event loop's figures exactly, faster.

Where it departs from the reference, by design and by at most a round trip:
- the balancer picks the app server when it grants the connection, not after its proxying time;
- a request lost in a node that crashed fails when its reply would have come back, half a round
  trip after the reference notices;
- a replica's batch is booked as one arrival at its tick, without the drift of the tick after a
  long batch.
Arrivals are drawn exactly as the reference draws them; other samples come from the same named
streams in another order. The same seed gives the same figures, bit for bit.
"""
import hashlib
import os
import shutil
from pathlib import Path

import numba

from sim.model.errors import UserError

# sim.engines.fast.world copies numba's internal layout of a MemInfo (its reference count, then the data
# pointer), which numba may change in any release: the fast engine runs on the numba releases it
# was tested with (pyproject.toml pins the same).
TESTED_NUMBA = ("0.68",)


class UntestedNumba(UserError):
    """The installed numba is not a release the fast engine was tested with."""


def check_numba(version: str) -> None:
    if ".".join(version.split(".")[:2]) not in TESTED_NUMBA:
        raise UntestedNumba(
            f"numba {version} is not a release the fast engine was tested with "
            f"({', '.join(v + '.x' for v in TESTED_NUMBA)}): install one "
            "(pip install -e . installs the pinned one) or run with --engine reference")


check_numba(numba.__version__)

KEEP = 3  # compiled caches kept: this version's, and the two others used last (other checkouts)


def _used(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile by another process
        return 0.0


# numba's cache notices a change in a function's own file, not in the files of the functions it
# calls, nor in the constants it froze: key the cache on all of this package's sources, and on
# the modules whose constants it freezes (the path's codes, the histogram's edges), instead.
_sim = Path(__file__).parent.parent.parent
_sources = sorted(Path(__file__).parent.glob("*.py")) + [_sim / "model" / "path.py",
                                                         _sim / "engines" / "histogram.py"]
_key = hashlib.sha256(b"".join(p.read_bytes() for p in _sources)).hexdigest()[:16]
_base = Path(os.environ.get("NUMBA_CACHE_DIR")
             or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sessionsim")
_here = _base / f"fast-{_key}"
numba.config.CACHE_DIR = str(_here)
if _here.exists():
    os.utime(_here)
for _old in sorted(set(_base.glob("fast-*")) - {_here}, key=_used, reverse=True)[KEEP - 1:]:
    shutil.rmtree(_old, ignore_errors=True)  # compiled from sources used least recently
