"""Every form of URL or DSN that carries a password is masked in everything printed: in the
user info (also with an unencoded "@"), as redis-py's or libpq's `?password=`, as a libpq
key=value DSN (quoted or not), and when libpq cannot parse the DSN at all."""
import pytest

from redis_backend import servers
from redis_backend.cli import main
from redis_backend.target import mask_url, secrets_in

FORMS = [  # (as given, its password, as shown)
    ("redis://:pa55word@127.0.0.1:6379/0", "pa55word", "redis://:***@127.0.0.1:6379/0"),
    ("redis://user:p@ss@127.0.0.1:1/0", "p@ss", "redis://user:***@127.0.0.1:1/0"),
    ("redis://:a/b?c@127.0.0.1:1/0", "a/b?c", "redis://:***@127.0.0.1:1/0"),
    ("redis://127.0.0.1:1/0?password=qu3ry&x=1", "qu3ry", "redis://127.0.0.1:1/0?password=***&x=1"),
    ("postgresql://u@127.0.0.1:1/db?sslmode=disable&password=s%40cret", "s@cret",
     "postgresql://u@127.0.0.1:1/db?sslmode=disable&password=***"),
    ("host=127.0.0.1 password=kv5ecret dbname=x", "kv5ecret",
     "host=127.0.0.1 password=*** dbname=x"),
    ("host=127.0.0.1 password = 'two words' dbname=x", "two words",
     "host=127.0.0.1 password = *** dbname=x"),
]


@pytest.mark.parametrize("given, password, shown", FORMS)
def test_each_form_is_masked(given, password, shown):
    assert mask_url(given) == shown
    assert password in secrets_in(given)


def test_an_unencoded_at_is_masked_where_libpq_would_cut_the_password():
    """libpq takes 'At' as the password and '5ecret@127.0.0.1' as the host, and says so in
    its error (not tried here: resolving that host would leave the loopback)."""
    assert {"At@5ecret", "5ecret"} <= set(secrets_in("postgresql://u:At@5ecret@127.0.0.1/db"))


def printed(capfd) -> str:
    out = capfd.readouterr()
    return out.out + out.err


def test_redis_passwords_in_every_form_connect_and_never_print(tmp_path, capfd):
    password = "p@ss:w0rd!"
    server = servers.start_redis(tmp_path, "--requirepass", password)
    try:
        at = f"127.0.0.1:{server.port}/15"
        assert main(["calibrate", "--cleanup", "--redis", f"redis://:{password}@{at}"]) == 0
        assert main(["calibrate", "--cleanup", "--redis",
                     f"redis://{at}?password=p%40ss%3Aw0rd%21"]) == 0
        text = printed(capfd)
        assert f"no sessionsim keys in redis://:***@{at}" in text
        assert f"no sessionsim keys in redis://{at}?password=***" in text
        for wrong in (f"redis://:{password}X@{at}", f"redis://{at}?password=Wr0ng-{password}"):
            assert main(["calibrate", "--cleanup", "--redis", wrong]) == 2
            text += printed(capfd)
        assert "refused authentication" in text
        assert "w0rd" not in text and "Wr0ng" not in text
    finally:
        server.stop()


def test_postgres_passwords_in_every_form_never_print(redis_url, postgres_server, capfd):
    free = servers.free_port()  # nothing listens there
    unreachable = [f"postgresql://postgres@127.0.0.1:{free}/postgres?password=Url5ecret",
                   f"host=127.0.0.1 port={free} user=postgres password=Kv5ecret dbname=x",
                   "host=127.0.0.1 password=Bad5ecret dbname"]  # libpq cannot parse it
    for dsn in unreachable:
        assert main(["calibrate", "--cleanup", "--redis", redis_url, "--postgres", dsn]) == 2
    text = printed(capfd)
    assert text.count("cannot reach PostgreSQL") == 2 and "libpq could not parse" in text
    # trust authentication: the password is sent and ignored, the DSN is used
    kv = (f"host=127.0.0.1 port={postgres_server.port} user=postgres "
          "password='Quoted 5ecret' dbname=postgres")
    assert main(["calibrate", "--cleanup", "--redis", redis_url, "--postgres", kv]) == 0
    text += printed(capfd)
    assert "no schema sessionsim_calib in host=127.0.0.1" in text and "password=***" in text
    assert "5ecret" not in text
