"""Render tasks queued before the document task moved (events.tasks -> billing.tasks, commit
a97905d) name it by the old path, which no longer imports: the worker would fail them.

django-tasks-db stores a queued task's dotted path in DBTaskResult.task_path and the worker
imports that path; the function and its arguments are unchanged, so rewriting the path is
enough. A migration rather than an alias left at the old path: events may not import billing
(the layers contract), and this runs once, before any new instance or worker starts.
"""

from django.db import migrations

OLD_PATH = "events.tasks.document_render_and_store"
NEW_PATH = "billing.tasks.document_render_and_store"


def rewrite_task_path(apps, schema_editor):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    # Every status: queued rows then run; finished ones name a task that exists again.
    DBTaskResult.objects.using(schema_editor.connection.alias).filter(
        task_path=OLD_PATH).update(task_path=NEW_PATH)


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0002_rename_tables"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    # Backwards: billing 0002's code already queues and runs the new path.
    operations = [migrations.RunPython(rewrite_task_path, migrations.RunPython.noop)]
