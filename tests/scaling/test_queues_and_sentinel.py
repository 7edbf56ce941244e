"""Queues per kind of work, and Redis found through Sentinel."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured

from helpdesk import scaling
from helpdesk.celery import app as current_app
from helpdesk.scaling import parse_sentinels, queue_kind_for, queue_names, redis_sentinel_settings, route_task

from .conftest import free_port


@pytest.fixture(autouse=True, scope="module")
def _tasks_loaded():
    current_app.loader.import_default_modules()  # what a worker does at start


@pytest.mark.parametrize(
    "task,kind",
    [
        ("channels_inbox.raw_inbound_process", "ingest"),
        ("channels_inbox.email_mailbox_poll", "ingest"),
        ("tickets.message_ingested", "ingest"),
        ("tickets.message_deliver", "outbound"),
        ("webhooks.deliver", "outbound"),
        ("webhooks.sweep", "outbound"),
        ("tickets.sla_sweep", "sla"),
        ("tickets.sla_apply", "sla"),
    ],
)
def test_each_task_goes_to_the_queue_of_its_kind(task, kind):
    assert task in current_app.tasks, f"{task} is not a registered task any more; update TASK_QUEUE_PATTERNS"
    assert queue_kind_for(task) == kind


def test_every_registered_task_of_the_product_has_a_kind_or_stays_on_the_default_queue():
    ours = [name for name in current_app.tasks if not name.startswith("celery.")]
    assert ours
    # Every kind named exists as a queue a worker can consume.
    for name in ours:
        assert queue_kind_for(name) in (None, *scaling.QUEUE_KINDS)


def test_routing_is_off_by_default_and_names_the_split_queues_when_on(settings):
    settings.CELERY_SPLIT_QUEUES = False
    assert route_task("tickets.message_deliver", (), {}, {}) is None
    settings.CELERY_SPLIT_QUEUES = True
    default = current_app.conf.task_default_queue
    assert route_task("tickets.message_deliver", (), {}, {}) == {"queue": f"{default}.outbound"}
    assert route_task("tickets.sla_sweep", (), {}, {}) == {"queue": f"{default}.sla"}
    assert route_task("something.else", (), {}, {}) is None
    assert queue_names("hd") == ["hd", "hd.ingest", "hd.outbound", "hd.sla", "hd.reports"]


@pytest.mark.parametrize("value", ["redis-1", "redis-1:port", ":26379", ",", "a:1,b"])
def test_a_malformed_sentinel_list_is_a_clear_configuration_error(value):
    with pytest.raises(ImproperlyConfigured, match="REDIS_SENTINELS"):
        parse_sentinels(value)


def test_sentinel_list_parses_hosts_and_ports():
    assert parse_sentinels("s1:26379, s2:26380,[::1]:26381") == [("s1", 26379), ("s2", 26380), ("::1", 26381)]


@pytest.fixture
def sentinel(tmp_path, settings):
    """A real Redis Sentinel watching the test Redis as master `helpdesk-master`."""
    if not settings.REDIS_URL:
        pytest.fail("The Sentinel test needs a real Redis (make test provides one).")
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    url = urlsplit(settings.REDIS_URL)
    port = free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor helpdesk-master {url.hostname} {url.port or 6379} 1\n"
        "sentinel down-after-milliseconds helpdesk-master 60000\n"
    )
    proc = subprocess.Popen([server, str(conf), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if client.ping():
                break
        except redis.ConnectionError:
            pass
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("redis sentinel did not start")
    db = int(url.path.strip("/") or 0)
    yield redis_sentinel_settings(
        sentinels=[("127.0.0.1", port)], master="helpdesk-master", db=db, password="", channel_prefix="sentinel-test"
    )
    proc.terminate()
    proc.wait(timeout=10)


def test_cache_channel_layer_and_broker_reach_redis_through_sentinel(sentinel):
    from django_redis.cache import RedisCache

    cache_conf = sentinel["CACHES"]["default"]
    cache = RedisCache(cache_conf["LOCATION"], {"OPTIONS": cache_conf["OPTIONS"]})
    cache.set("through-sentinel", {"ok": 1}, 30)
    assert cache.get("through-sentinel") == {"ok": 1}

    from channels_redis.core import RedisChannelLayer

    layer = RedisChannelLayer(**sentinel["CHANNEL_LAYERS"]["default"]["CONFIG"])

    async def roundtrip():
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "agent.event", "text": "hello"})
        message = await layer.receive(channel)
        await layer.flush()
        return message

    assert asyncio.run(roundtrip())["text"] == "hello"

    from kombu import Connection

    with Connection(
        sentinel["CELERY_BROKER_URL"], transport_options=sentinel["CELERY_BROKER_TRANSPORT_OPTIONS"]
    ) as conn:
        queue = conn.SimpleQueue("helpdesk-sentinel-test")
        queue.put({"n": 1})
        message = queue.get(timeout=10)
        assert message.payload == {"n": 1}
        message.ack()
        queue.clear()
        queue.close()


def test_the_compose_file_runs_a_worker_for_every_queue():
    import re
    from pathlib import Path

    compose = (Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text()
    assert re.search(r'CELERY_SPLIT_QUEUES: "1"', compose)
    consumed = {q for match in re.findall(r"-Q (\S+)", compose) for q in match.split(",")}
    assert set(queue_names("helpdesk")) <= consumed


def test_the_scale_out_settings_load_from_the_environment(tmp_path):
    """A process started with the scale-out variables configures the replica, Sentinel and S3."""
    import json
    import os
    import sys
    from pathlib import Path

    env = {
        **os.environ,
        "DATABASE_URL": "postgres://u@primary.example:5432/hd",
        "DATABASE_REPLICA_URL": "postgres://u@replica.example:5432/hd",
        "REDIS_SENTINELS": "s1.example:26379,s2.example:26379",
        "REDIS_SENTINEL_MASTER": "hd-master",
        "STORAGE_S3_BUCKET": "hd-files",
        "STORAGE_S3_ENDPOINT_URL": "https://s3.example",
        "CELERY_VISIBILITY_TIMEOUT": "3600",
    }
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({"
        "'replica': s.DATABASES['replica']['HOST'], 'routers': s.DATABASE_ROUTERS, "
        "'middleware': 'helpdesk.scaling.ReportsOnReplicaMiddleware' in s.MIDDLEWARE, "
        "'broker': s.CELERY_BROKER_URL, 'master': s.CELERY_BROKER_TRANSPORT_OPTIONS['master_name'], "
        "'visibility': s.CELERY_BROKER_TRANSPORT_OPTIONS.get('visibility_timeout'), "
        "'cache': s.CACHES['default']['OPTIONS']['SENTINELS'], "
        "'storage': s.STORAGES['default']['OPTIONS']['bucket_name']}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env={**env, "DJANGO_SETTINGS_MODULE": "helpdesk.settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded = json.loads(out.strip().splitlines()[-1])
    assert loaded["replica"] == "replica.example"
    assert loaded["routers"] == ["helpdesk.scaling.ReplicaRouter"] and loaded["middleware"]
    assert loaded["broker"] == "sentinel://s1.example:26379/0;sentinel://s2.example:26379/0"
    assert loaded["master"] == "hd-master"
    assert loaded["visibility"] == 3600  # Sentinel keeps the broker's own options
    assert loaded["cache"] == [["s1.example", 26379], ["s2.example", 26379]]
    assert loaded["storage"] == "hd-files"
