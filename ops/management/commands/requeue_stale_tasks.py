"""Put tasks a dead worker left RUNNING back in the queue (READY), so a worker runs them again.

A worker killed in the middle of a task (kill -9, out of memory, the machine lost) leaves its
task marked RUNNING forever: django-tasks-db never looks at it again. The tasks here are written to
run twice safely (a document already stored is not stored again), so re-queueing is safe.

    manage.py requeue_stale_tasks                  # RUNNING for longer than TASK_RUNNING_TIMEOUT
    manage.py requeue_stale_tasks --older-than 0   # every RUNNING task: when no worker is running

scripts/serve-prod and docker-compose.yml run it with --older-than 0 before their one worker
starts (a restarted worker takes over what its predecessor left).
"""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.tasks import TaskResultStatus
from django.utils import timezone


class Command(BaseCommand):
    help = "Re-queue tasks left RUNNING by a worker that died."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            help="seconds since the task started (default TASK_RUNNING_TIMEOUT)",
        )

    def handle(self, *args, older_than=None, **options):
        from django_tasks_db.models import DBTaskResult

        seconds = settings.TASK_RUNNING_TIMEOUT if older_than is None else older_than
        cutoff = timezone.now() - timedelta(seconds=seconds)
        with transaction.atomic():
            stale = DBTaskResult.objects.select_for_update(skip_locked=True).filter(
                status=TaskResultStatus.RUNNING, started_at__lte=cutoff
            )
            ids = list(stale.values_list("id", flat=True))
            DBTaskResult.objects.filter(id__in=ids).update(
                status=TaskResultStatus.READY, started_at=None, run_after=timezone.now()
            )
        self.stdout.write(f"Re-queued {len(ids)} task(s) left running by a stopped worker.")
