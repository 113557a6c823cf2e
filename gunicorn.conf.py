"""gunicorn settings for every production app instance (``gunicorn -c gunicorn.conf.py``).

Threaded workers: a slow client or a long CSV download holds one thread, not a whole process.
Each thread keeps its own database connection (CONN_MAX_AGE).
"""

import gc
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
wsgi_app = "config.wsgi:application"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
# Request-size limits (gunicorn reached directly, not through nginx): the request line, the number
# of header fields and each field's size. gunicorn has no limit on the body: Django refuses a
# Content-Length over REQUEST_MAX_BYTES (accounts.middleware.RequestSizeLimitMiddleware) unread.
limit_request_line = int(os.environ.get("GUNICORN_LIMIT_REQUEST_LINE", "8190"))
limit_request_fields = int(os.environ.get("GUNICORN_LIMIT_REQUEST_FIELDS", "100"))
limit_request_field_size = int(os.environ.get("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", "8190"))
# The reverse proxy (nginx) is the only client; trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Once the worker has loaded Django: move everything loaded so far (modules, URL patterns,
    templates, settings: ~90k objects) out of the garbage collector's reach. A full collection
    then walks only what requests create, so its pauses (tens of ms, felt as p95 outliers) shrink.
    """
    gc.collect()
    gc.freeze()
