"""The request id follows a task from the request that enqueued it into the worker's logs.

On enqueue (task_enqueued, in the web process) the current request id is stored beside the task
(``TaskOrigin``); when the worker starts the task (task_started) it takes that id as its own, and
drops it when the task finishes. Tasks run in-process (the immediate backend) keep the request's
id as they are.
"""

from __future__ import annotations

import logging

from django.db import Error
from django.tasks.signals import task_enqueued, task_finished, task_started

from ops.context import current_request_id, request_id_var

logger = logging.getLogger(__name__)
_tokens: dict[str, object] = {}


def _is_db_backend(sender) -> bool:
    """Tasks stored by django-tasks-db (the worker runs them); the signals send the backend's
    class or instance."""
    from django_tasks_db.backend import DatabaseBackend

    backend = sender if isinstance(sender, type) else type(sender)
    return issubclass(backend, DatabaseBackend)


def remember_origin(sender, task_result, **kwargs) -> None:
    request_id = current_request_id()
    if request_id == "-" or not _is_db_backend(sender):
        return
    from ops.models import TaskOrigin

    try:
        TaskOrigin.objects.create(task_id=task_result.id, request_id=request_id)
    except Error:  # the id is for the logs: a task is never refused for it
        logger.warning("could not record the request id of task %s", task_result.id)
    logger.info(
        "task enqueued",
        extra={"task_id": str(task_result.id), "task": getattr(task_result.task, "name", "")},
    )


def adopt_origin(sender, task_result, **kwargs) -> None:
    if not _is_db_backend(sender):
        return
    from ops.models import TaskOrigin

    origin = (
        TaskOrigin.objects.filter(task_id=task_result.id)
        .values_list("request_id", flat=True)
        .first()
    )
    _tokens[str(task_result.id)] = request_id_var.set(origin or f"task-{task_result.id}")


def forget_origin(sender, task_result, **kwargs) -> None:
    if not _is_db_backend(sender):
        return
    from ops.models import TaskOrigin

    token = _tokens.pop(str(task_result.id), None)
    try:
        TaskOrigin.objects.filter(task_id=task_result.id).delete()
    finally:
        if token is not None:
            request_id_var.reset(token)


def connect() -> None:
    task_enqueued.connect(remember_origin, dispatch_uid="ops.remember_origin")
    task_started.connect(adopt_origin, dispatch_uid="ops.adopt_origin")
    task_finished.connect(forget_origin, dispatch_uid="ops.forget_origin")
