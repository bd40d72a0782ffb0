"""Drive a real Redis and PostgreSQL to calibrate the simulator, and run a Sentinel failover lab.

Entry point: redis_backend.cli.main(argv) (subcommands `calibrate`, `replay` and `lab`).
"""
__version__ = "0.1.0"

from .target import BackendError  # noqa: E402

__all__ = ["BackendError", "__version__"]
