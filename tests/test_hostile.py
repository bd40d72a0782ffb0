"""Hostile scenario files: each gets one line naming the file, the line, the field and what was
expected, exit 2, quickly; never a traceback, a hang, or a run of nonsense."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import simulate
from sim.model.yamlio import LIMITS
from tests.helpers import TINY

GOOD = TINY
ROOT = Path(__file__).resolve().parent.parent


def refused(tmp_path, capsys, content, *expected, name="bad.yaml", args=("validate",)):
    """Writes `content` (text or bytes), runs the command, checks one line and exit 2."""
    file = tmp_path / name
    file.write_bytes(content if isinstance(content, bytes) else content.encode())
    started = time.perf_counter()
    status = simulate.main([*args, str(file)])
    took = time.perf_counter() - started
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert err.isprintable() or err[:-1].isprintable(), err
    assert len(err) < 700, len(err)
    for part in expected:
        assert part in err, f"{part!r} not in {err!r}"
    assert took < 10, took  # a hang or a slow blow-up, not load on a shared machine
    return err


def billion_laughs(levels=9):
    text = 'name: lol\na0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, levels + 1):
        text += f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n"
    return text


# -- bytes and YAML --------------------------------------------------------------------------

def test_non_utf8_bytes(tmp_path, capsys):
    refused(tmp_path, capsys, GOOD.encode() + b"description: caf\xe9\n", "bad.yaml:7:", "not UTF-8",
            "0xe9")


def test_non_utf8_base_and_price_files(tmp_path, capsys):
    (tmp_path / "base.yaml").write_bytes(b"name: b\n\xff\xfe\n")
    refused(tmp_path, capsys, "name: c\nbase: base.yaml\n", "base.yaml:2:", "not UTF-8")
    (tmp_path / "prices.yaml").write_bytes(b"nodes_usd_per_month: {app_server: \xff}\n")
    refused(tmp_path, capsys, GOOD + "cost: {prices: prices.yaml}\n", "prices.yaml:1:", "not UTF-8")


def test_nul_byte_gives_one_line_with_its_line(tmp_path, capsys):
    refused(tmp_path, capsys, GOOD + "description: a\0b\n", "bad.yaml:7:", "\\x00", "not allowed")


def test_billion_laughs_refused_at_once(tmp_path, capsys):
    refused(tmp_path, capsys, billion_laughs(), "more than 20,000 values")


def test_billion_laughs_and_non_utf8_through_the_cli(tmp_path):
    """The real command line: one line on stderr, exit 2; the loading itself within a second
    (the process as a whole also starts Python and imports numpy and pydantic)."""
    (tmp_path / "lol.yaml").write_text(billion_laughs())
    (tmp_path / "latin1.yaml").write_bytes(GOOD.encode() + b"description: \xe9t\xe9\n")
    for name in ("lol.yaml", "latin1.yaml"):
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, str(ROOT / "simulate.py"), "validate", str(tmp_path / name)],
                              capture_output=True, text=True, timeout=30, cwd=ROOT)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
        assert "Traceback" not in proc.stderr and time.perf_counter() - started < 30
    from sim.model.yamlio import load_yaml, InputError
    for name in ("lol.yaml", "latin1.yaml"):
        started = time.perf_counter()
        with pytest.raises(InputError):
            load_yaml(tmp_path / name)
        assert time.perf_counter() - started < 1


def test_recursive_alias(tmp_path, capsys):
    refused(tmp_path, capsys, GOOD + "description: &d [1, *d]\n", "bad.yaml:7:", "description",
            "alias *d")


def test_deep_nesting(tmp_path, capsys):
    refused(tmp_path, capsys, GOOD + "description: " + "[" * 1000 + "]" * 1000 + "\n",
            "nested more than")
    deep = "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "x: 1\n"
    refused(tmp_path, capsys, deep, "nested more than")


def test_a_million_values_refused_quickly(tmp_path, capsys):
    refused(tmp_path, capsys, GOOD + "description: [" + "1," * 500_000 + "1]\n", "more than")


def test_big_file_refused_before_reading(tmp_path, capsys):
    refused(tmp_path, capsys, GOOD + "#" * LIMITS["file_bytes"] + "\n", "bytes; the limit is")


@pytest.mark.parametrize("value, expected", [
    ("!!float abc", "cannot read 'abc' as float"),
    ("!foo bar", "tag !foo is not allowed"),
    ("!!timestamp abc", "is not allowed"),
    ("!!python/object:os.system ls", "is not allowed"),
    ("!!binary aGVsbG8=", "is not allowed"),
    ("!!set {a, b}", "is not allowed"),
])
def test_tags(tmp_path, capsys, value, expected):
    refused(tmp_path, capsys, GOOD + f"description: {value}\n", "bad.yaml:7:", "description", expected)


def test_dates_are_plain_strings(tmp_path, capsys):
    refused(tmp_path, capsys, GOOD + "simulation: {duration_s: 2024-13-45}\n", "simulation.duration_s",
            "valid number", "'2024-13-45'")


def test_list_as_a_key(tmp_path, capsys):
    refused(tmp_path, capsys, GOOD + "topology:\n  ? [a, b]\n  : 1\n", "bad.yaml:8:", "topology",
            "plain name")


def test_architecture_as_a_list(tmp_path, capsys):
    refused(tmp_path, capsys, GOOD.replace("architecture: redis_ha", "architecture: [redis_ha]"),
            "bad.yaml:2:", "architecture")


def test_duplicate_keys(tmp_path, capsys):
    refused(tmp_path, capsys, GOOD + "workload: {}\n", "bad.yaml:7:", "workload", "duplicate key",
            "first on line 3")
    refused(tmp_path, capsys, GOOD.replace("rate_rps: 100", "rate_rps: 100\n    rate_rps: 200"),
            "bad.yaml:7:", "workload.arrivals.rate_rps", "duplicate key")


def test_two_documents(tmp_path, capsys):
    refused(tmp_path, capsys, GOOD + "---\nname: two\n", "more than one YAML document")


def test_long_file_name(tmp_path, capsys):
    refused(tmp_path, capsys, "name: c\nbase: " + "x" * 300 + ".yaml\n", "bad.yaml:2:", "base",
            "cannot read")


# -- numbers that must be finite ---------------------------------------------------------------

def test_nan_mix_refused(tmp_path, capsys):
    refused(tmp_path, capsys, GOOD + "  mix: {session_update: .nan, login: 1.0}\n", "bad.yaml:7:",
            "workload.mix.session_update", "finite number")


@pytest.mark.parametrize("text, line", [
    (GOOD.replace("rate_rps: 100", "rate_rps: .inf"), "workload.arrivals.rate_rps"),
    (GOOD + "  mix: {session_update: .inf}\n", "workload.mix.session_update"),
    (GOOD + "topology: {redis: {socket_timeout_s: -.inf}}\n", "topology.redis.socket_timeout_s"),
])
def test_inf_refused(tmp_path, capsys, text, line):
    refused(tmp_path, capsys, text, line, "finite number")


@pytest.mark.parametrize("dist", ["{dist: lognormal, mean_ms: .inf, cv: 0.5}",
                                  "{dist: lognormal, mean_ms: 1, cv: .inf}",
                                  "{dist: gamma, mean_ms: .nan, cv: 1}"])
def test_distribution_parameters_finite(tmp_path, capsys, dist):
    refused(tmp_path, capsys, GOOD + f"topology:\n  postgres:\n    write_service: {dist}\n",
            "bad.yaml:9:", "topology.postgres.write_service.", "finite number")


def test_booleans_are_not_numbers(tmp_path, capsys):
    refused(tmp_path, capsys, GOOD + "  mix: {session_update: true}\n", "workload.mix.session_update",
            "valid number", "'true'")
    refused(tmp_path, capsys, GOOD + "topology: {app_servers: {cores: yes}}\n",
            "topology.app_servers.cores", "valid integer")


def test_duration_inf_on_the_command_line(tmp_path, capsys):
    refused(tmp_path, capsys, GOOD, "command line", "simulation.duration_s", "finite",
            args=("--duration", "inf", "--quiet"))


def test_impossible_sizes_refused(tmp_path, capsys):
    refused(tmp_path, capsys, GOOD + "topology: {app_servers: {cores: 1000000000}}\n",
            "topology.app_servers.cores", "less than or equal to 1024")
    refused(tmp_path, capsys, GOOD + "topology: {redis: {replicas: 10000000}}\n",
            "topology.redis.replicas", "less than or equal to 100")


# -- samples -----------------------------------------------------------------------------------

def empirical(tmp_path, file, key=None):
    extra = f", key: {key}" if key else ""
    return GOOD + f"topology:\n  redis:\n    roundtrip_service: {{dist: empirical, file: {file}{extra}}}\n"


@pytest.mark.parametrize("content, expected", [
    ('{"a": 5}', "found a int"),
    ('{"a": [1, NaN]}', "NaN is not a number"),
    ('{"a": [1, Infinity]}', "Infinity is not a number"),
    ('{"a": [1, true]}', "found 'True'"),
    ('{"a": [1, 1e999]}', "found 'inf'"),
    ('{"a": [1, -2]}', "found '-2'"),
    ('{"a": []}', "no samples"),
    ('{"b": [1]}', "no key 'a'"),
    ('[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[' * 40, "cannot read samples"),
])
def test_json_samples_checked(tmp_path, capsys, content, expected):
    (tmp_path / "s.json").write_text(content)
    refused(tmp_path, capsys, empirical(tmp_path, "s.json", "a"), "bad.yaml:9:",
            "topology.redis.roundtrip_service.file", expected)


@pytest.mark.parametrize("content, expected", [("1\nnan\n", "found 'nan'"), ("1\ninf\n", "found 'inf'"),
                                               ("1\nabc\n", "line 2: 'abc'"), ("", "no samples")])
def test_text_samples_checked(tmp_path, capsys, content, expected):
    (tmp_path / "s.txt").write_text(content)
    refused(tmp_path, capsys, empirical(tmp_path, "s.txt"), "bad.yaml:9:", expected)


def test_samples_from_devices_fifos_and_directories_refused(tmp_path, capsys):
    refused(tmp_path, capsys, empirical(tmp_path, "/dev/zero"), "not a regular file")
    os.mkfifo(tmp_path / "fifo")
    refused(tmp_path, capsys, empirical(tmp_path, "fifo"), "not a regular file")
    refused(tmp_path, capsys, empirical(tmp_path, "."), "not a regular file")


def test_samples_file_too_big(tmp_path, capsys):
    from sim.engines.streams import SAMPLE_LIMITS
    with open(tmp_path / "big.txt", "wb") as f:
        f.truncate(SAMPLE_LIMITS["file_bytes"] + 1)
    refused(tmp_path, capsys, empirical(tmp_path, "big.txt"), "the limit is")


def test_relative_paths_follow_the_file_that_names_them(tmp_path, capsys, monkeypatch):
    """An extension-less sample file, a claims file and a price file named in a base file in
    another directory are found beside that base file, whatever the working directory."""
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "samples").write_text("1\n2\n")
    (sub / "claims.yaml").write_text("failures: {}\n")
    (sub / "prices.yaml").write_text((ROOT / "data/prices/doc-ha.yaml").read_text())
    (sub / "base.yaml").write_text(
        empirical(tmp_path, "samples")
        + "cost: {prices: prices.yaml}\nincidents: {claims: claims.yaml}\n"
        + "failures: [{name: m, component: redis_master, at_s: 20}]\n")
    (tmp_path / "child.yaml").write_text("name: child\nbase: sub/base.yaml\n")
    monkeypatch.chdir(ROOT)
    assert simulate.main(["validate", str(tmp_path / "child.yaml")]) == 0, capsys.readouterr().err


# -- messages ----------------------------------------------------------------------------------

def test_control_characters_in_keys_escaped(tmp_path, capsys):
    err = refused(tmp_path, capsys, GOOD + '"bad\\nkey\\e[31m": 1\n', "bad.yaml:7:", "bad\\nkey\\x1b[31m")
    assert "\x1b" not in err


def test_long_values_cut(tmp_path, capsys):
    err = refused(tmp_path, capsys, GOOD.replace("rate_rps: 100", "rate_rps: " + "x" * 5000),
                  "workload.arrivals.rate_rps", "...")
    assert len(err) < 300


def test_model_errors_name_the_field_and_its_line(tmp_path, capsys):
    refused(tmp_path, capsys, GOOD.replace("redis_ha", "redis_single") + "topology:\n  redis:\n    replicas: 2\n",
            "bad.yaml:9:", "topology.redis.replicas", "redis_single has no replicas")
    refused(tmp_path, capsys, GOOD + "simulation:\n  duration_s: 10\n  warmup_s: 10\n", "bad.yaml:9:",
            "simulation.warmup_s")
    refused(tmp_path, capsys, GOOD + "failures:\n  - {name: x, component: redis_master, at_s: 5}\n"
            "  - {name: y, component: app-9, at_s: 5}\n", "bad.yaml:9:", "failures.1.component",
            "app-1..app-4")
    refused(tmp_path, capsys, GOOD + "  mix: {session_update: 0.5, refund: 0.5}\n", "bad.yaml:7:",
            "workload.mix.refund")


def test_failure_names_unique(tmp_path, capsys):
    refused(tmp_path, capsys, GOOD + "failures:\n  - {name: Redis Master, component: redis_master, at_s: 5}\n"
            "  - {name: redis-master, component: redis_master, at_s: 6}\n", "bad.yaml:9:",
            "failures.1.name", "same name")


@pytest.mark.parametrize("name", ["../../x", "/tmp/x", "''", "a/b", ".hidden", "'a\\x00'"])
def test_names_are_names_not_paths(tmp_path, capsys, name):
    refused(tmp_path, capsys, GOOD.replace("name: tiny", f"name: {name}"), "bad.yaml:1:", "name")


# -- base chains -------------------------------------------------------------------------------

def test_base_chain_bounded(tmp_path, capsys):
    for i in range(40):
        (tmp_path / f"b{i}.yaml").write_text(f"name: b{i}\nbase: b{i + 1}.yaml\n")
    (tmp_path / "b40.yaml").write_text(GOOD)
    refused(tmp_path, capsys, "name: c\nbase: b0.yaml\n", "base", "more than 16 files")


def test_base_must_be_a_file_name(tmp_path, capsys):
    refused(tmp_path, capsys, "name: c\nbase: [a]\n", "bad.yaml:2:", "base", "expected a file name")
    refused(tmp_path, capsys, "name: c\nbase: /dev/zero\n", "bad.yaml:2:", "base", "not a regular file")
    refused(tmp_path, capsys, "name: c\nbase: nope.yaml\n", "bad.yaml:2:", "base", "no such scenario file")


# -- price and claims files --------------------------------------------------------------------

def test_price_file_values_finite(tmp_path, capsys):
    (tmp_path / "p.yaml").write_text("nodes_usd_per_month: {app_server: .inf}\n")
    refused(tmp_path, capsys, GOOD + "cost: {prices: p.yaml}\n", "p.yaml:1:",
            "nodes_usd_per_month.app_server", "finite price")


def test_claims_file_checked(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("failures:\n  m:\n    rto_s: {op: '>', value: 5}\n")
    refused(tmp_path, capsys, GOOD + "incidents: {claims: c.yaml}\n"
            "failures: [{name: m, component: redis_master, at_s: 5}]\n", "c.yaml:3:",
            "failures.m.rto_s.op")
    (tmp_path / "c.yaml").write_text("failures:\n  m:\n    condition: {text: t, set: {topology: 1}}\n")
    refused(tmp_path, capsys, GOOD + "incidents: {claims: c.yaml}\n"
            "failures: [{name: m, component: redis_master, at_s: 5}]\n", "c.yaml:3:",
            "failures.m.condition.set", "invalid scenario")
