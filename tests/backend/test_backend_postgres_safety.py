"""An existing calibration schema is refused (and left alone) unless --force."""
import psycopg

from redis_backend.cli import main
from redis_backend.postgres import SCHEMA


def test_existing_schema_is_refused_and_left_alone(redis_url, redis_client, postgres_server,
                                                   tmp_path, capsys):
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(f"CREATE TABLE {SCHEMA}.precious (x int)")
    code = main(["calibrate", "--redis", redis_url, "--postgres", postgres_server.url,
                 "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "already exists" in err and len(err.strip().splitlines()) == 1
    with psycopg.connect(postgres_server.url) as conn:
        assert conn.execute(f"SELECT count(*) FROM {SCHEMA}.precious").fetchone() == (0,)
    assert redis_client.dbsize() == 0, "nothing may be written before the refusal"
    assert not (tmp_path / "calibration.json").exists()
