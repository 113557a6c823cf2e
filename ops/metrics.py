"""Prometheus metrics (prometheus_client): request latency by view, the task queue's depth and
age, the replica's lag.

gunicorn runs several worker processes per instance: with PROMETHEUS_MULTIPROC_DIR set (scripts/
serve-prod and docker-compose.yml set it, one empty folder per instance), the histogram is shared
through that folder and /metrics adds up every process. The queue and lag gauges are read from
the database when /metrics is scraped, so they need no sharing.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

REQUEST_LATENCY = Histogram(
    "fieldstock_request_seconds",
    "Time to answer a request, by Django view name and method.",
    ["view", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def observe_request(*, view: str, method: str, seconds: float) -> None:
    REQUEST_LATENCY.labels(view=view, method=method).observe(seconds)


class DatabaseCollector:
    """Gauges read at scrape time: tasks waiting and the age of the oldest, the replica's lag."""

    def collect(self):
        from ops.health import queue_state, replica_state

        depth = GaugeMetricFamily(
            "fieldstock_task_queue_depth", "Tasks ready to run and not yet started."
        )
        age = GaugeMetricFamily(
            "fieldstock_task_queue_oldest_seconds",
            "Seconds the oldest ready task has waited (0 when none).",
        )
        try:
            queue = queue_state()
        except Exception:  # noqa: BLE001 - a scrape reports what it can
            queue = None
        if queue is not None:
            depth.add_metric([], queue["depth"])
            age.add_metric([], queue["oldest_seconds"])
        yield depth
        yield age
        replica = replica_state()
        if replica is not None:
            lag = GaugeMetricFamily(
                "fieldstock_replica_lag_seconds",
                "Replay lag of the read replica (-1: unreachable).",
            )
            lag.add_metric([], -1 if replica["lag_seconds"] is None else replica["lag_seconds"])
            yield lag
            up = GaugeMetricFamily(
                "fieldstock_replica_in_use",
                "1 when reads may go to the replica, 0 when they fall back.",
            )
            up.add_metric([], 1 if replica["usable"] else 0)
            yield up


def exposition() -> tuple[bytes, str]:
    """The text a Prometheus scrape reads."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        own = generate_latest(registry)
    else:
        own = generate_latest(REGISTRY)  # this process's metrics (one process: runserver)
    database = CollectorRegistry()
    database.register(DatabaseCollector())
    return own + generate_latest(database), CONTENT_TYPE_LATEST
