"""Settings for the test suite: the normal settings with a fixed key and a fast hasher.

The database still comes from DATABASE_URL (the system PostgreSQL in CI), else the embedded
PostgreSQL that `make test` starts in .pgdata/ (scripts/devdb.py).
"""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("SECURE_COOKIES", "0")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")  # the test client speaks plain HTTP

from config.settings import *  # noqa: E402,F403
from config.settings import INSTALLED_APPS, STORAGES  # noqa: E402

# The development app (benchmarks, seed_scale) is tested too.
if "devtools" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]
# Generated PDFs and uploads go to a throwaway folder per test process, never the project's.
MEDIA_ROOT = tempfile.mkdtemp(prefix="fieldstock-test-media-")
atexit.register(shutil.rmtree, MEDIA_ROOT, ignore_errors=True)
STORAGES = {
    **STORAGES,
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# Background tasks run at once, in the test process (a test also runs the real worker).
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
