from django.db import models


class TaskOrigin(models.Model):
    """The request id of the request that enqueued a task, so the worker's log lines of that task
    carry it too (ops.tasks_context). Deleted when the task finishes."""

    task_id = models.UUIDField(primary_key=True)
    request_id = models.CharField(max_length=64)
    enqueued_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"task {self.task_id} from request {self.request_id}"
