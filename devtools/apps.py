from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Development tooling: the benchmarks (``bench_pages``, ``bench_pdf``) and the scale data
    set (``seed_scale``). Installed only when ``DEBUG`` is on or ``DEV_TOOLS=1`` (and in the
    tests); production settings never load it. It may use every app; no app uses it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "devtools"
    verbose_name = "Development tools"
