"""/healthz, /readyz, /metrics, the request id and the structured log lines, in-process."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from ops.context import request_id_var
from ops.logs import JsonFormatter, RequestIdFilter

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_reports_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == {"ok": True}
    assert "replica" not in body["checks"]  # none configured


def queued_task(age: timedelta):
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.create(
        status=TaskResultStatus.READY,
        args_kwargs={"args": [], "kwargs": {}},
        task_path="core.outbox.outbox_dispatch",
        backend_name="default",
        queue_name="default",
        run_after=timezone.now() - age,
    )


def test_readyz_is_503_when_a_queued_task_waits_too_long(client, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.TASK_QUEUE_AGE_MAX_SECONDS = 60
    queued_task(timedelta(seconds=5))
    fresh = client.get("/readyz")
    assert fresh.status_code == 200
    assert fresh.json()["checks"]["task_queue"]["depth"] == 1
    queued_task(timedelta(minutes=10))
    stale = client.get("/readyz")
    assert stale.status_code == 503
    queue = stale.json()["checks"]["task_queue"]
    assert queue["ok"] is False and queue["depth"] == 2 and queue["oldest_seconds"] >= 600


def test_request_id_is_taken_from_nginx_or_made(client):
    given = client.get("/healthz", headers={"X-Request-ID": "0123abcd0123abcd"})
    assert given["X-Request-ID"] == "0123abcd0123abcd"
    made = client.get("/healthz")
    assert len(made["X-Request-ID"]) == 32
    refused = client.get("/healthz", headers={"X-Request-ID": "bad id\nwith a line break"})
    assert refused["X-Request-ID"] != "bad id\nwith a line break"
    assert len(refused["X-Request-ID"]) == 32


def test_a_log_line_is_json_with_the_request_id():
    token = request_id_var.set("req-42")
    try:
        record = logging.LogRecord(
            "billing", logging.WARNING, __file__, 1, "stored %s", ("SO-1",), None
        )
        record.task_id = "abc"
        assert RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-42"
    assert line["message"] == "stored SO-1"
    assert line["level"] == "WARNING" and line["logger"] == "billing"
    assert line["task_id"] == "abc"


def test_metrics_are_for_this_machine_or_the_token(client, settings):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'fieldstock_request_seconds_count{method="GET",view="ops:healthz"}' in text
    assert "fieldstock_task_queue_depth" in text
    # Through nginx (X-Forwarded-For) the address is not enough.
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    allowed = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert allowed.status_code == 200


def test_metrics_report_the_queue(client, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    queued_task(timedelta(seconds=30))
    text = client.get("/metrics").content.decode()
    assert "fieldstock_task_queue_depth 1.0" in text
    age = next(
        line
        for line in text.splitlines()
        if line.startswith("fieldstock_task_queue_oldest_seconds ")
    )
    assert float(age.split()[1]) >= 30


def test_a_database_that_does_not_answer_gets_the_try_again_page(rf):
    from django.db import OperationalError

    from ops.views import server_error

    request = rf.get("/events/")
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "try again in a moment" in response.content.decode()
    try:
        raise ValueError("a bug")
    except ValueError:
        other = server_error(request)
    assert other.status_code == 500
    assert "Something went wrong on our side" in other.content.decode()
