"""The fuzzer's short profile: hostile files made by hypothesis (tests/fuzzing.py) through the
loader in-process and, for a sample, the real command line: exit 2 with one line, or valid;
never a traceback, never more than a few seconds. The long run: benchmarks/fuzz_input.py."""
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzzing import (ROOT, clean, judge, mutated_bytes, mutated_documents, mutated_text,
                           schema_documents, setup_dir)

# a few seconds in all: each source gets its examples; no database, so every run draws anew
# from the seed hypothesis picks (a failure prints the example and how to reproduce it)
settings.register_profile("short", max_examples=60, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
SHORT = settings.get_profile("short")


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("fuzz")
    setup_dir(directory)
    return directory


def _write(directory: Path, content) -> Path:
    file = directory / "fuzz.yaml"
    file.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    return file


def _check(directory, content):
    file = _write(directory, content)
    started = time.perf_counter()
    kind, message = judge(file)
    assert kind != "traceback", message
    assert time.perf_counter() - started < 10, "took too long"  # files load in ms; a hang is longer
    if kind == "error":
        assert clean(message), message


@pytest.mark.parametrize("source", [mutated_documents, mutated_text, mutated_bytes, schema_documents],
                         ids=lambda s: s.__name__)
def test_fuzzed_files_get_an_error_line_or_validate(fuzz_dir, source):
    @SHORT
    @given(source())
    def run(content):
        _check(fuzz_dir, content)
    run()


def test_a_sample_through_the_command_line(fuzz_dir):
    """Five files of each source through `python simulate.py validate`: exit 0 or 2, and with 2
    exactly one line on stderr."""
    samples = []

    @settings(SHORT, max_examples=5)
    @given(source=mutated_bytes() | mutated_text() | mutated_documents() | schema_documents())
    def collect(source):
        samples.append(source)
    collect()
    for i, content in enumerate(samples[:8]):
        file = fuzz_dir / f"cli-{i}.yaml"
        file.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    proc = subprocess.run(
        [sys.executable, "-c", CLI_LOOP, *[str(fuzz_dir / f"cli-{i}.yaml") for i in range(len(samples[:8]))]],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]


# one interpreter for the sample (each start imports numpy and pydantic: about a second), each
# file through main() as the command line calls it, stderr checked per file
CLI_LOOP = """
import contextlib, io, sys
import simulate
for file in sys.argv[1:]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = simulate.main(["validate", file])
    text = err.getvalue()
    assert status in (0, 2), (file, status, text)
    assert status == 0 or (text.count("\\n") == 1 and text.startswith("error: ")), (file, text)
"""


def test_a_file_through_the_real_command_line(fuzz_dir):
    """One bad file and one good through a fresh process: no traceback, exit 2 with one line."""
    bad = _write(fuzz_dir, b"name: x\n\xff: 1\n")
    proc = subprocess.run([sys.executable, str(ROOT / "simulate.py"), "validate", str(bad)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
