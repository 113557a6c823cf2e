"""Reads that tolerate a second of lag go to a streaming replica (DATABASE_REPLICA_URL).

Nothing goes to the replica unless asked: a view that only reads (a report, the dashboard, a CSV
export, an API list) is decorated with ``replica_reads``, or a block of reads runs inside
``reading_replica()``. Within it, ``ReplicaRouter`` sends reads to the ``replica`` alias when

- a replica is configured and answered its last check (every REPLICA_CHECK_SECONDS) with a
  replay lag under REPLICA_LAG_MAX_SECONDS;
- the user did not write in the last READ_YOUR_WRITES_SECONDS (``ReadYourWritesMiddleware``
  marks a successful POST/PUT/PATCH/DELETE with a short-lived cookie): their own pages read the
  primary, so they see what they just did;
- no transaction is open on the primary (its reads must see its own writes).

Everything else stays on the primary: every write (``db_for_write``), every locked read
(``select_for_update`` makes a queryset a write), every read outside such a view. When the replica
fails in the middle of a view, it is marked down and the view runs again on the primary: the user
sees no error.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, Error, connections
from django.http import StreamingHttpResponse

logger = logging.getLogger(__name__)

REPLICA = "replica"
_reading: ContextVar[bool] = ContextVar("reading_replica", default=False)
_recent_write: ContextVar[bool] = ContextVar("recent_write", default=False)
_routed: ContextVar[bool] = ContextVar("routed_to_replica", default=False)  # since the view began

# On the replica: 0 when it has replayed everything it received, else the age of the last
# transaction it replayed (an idle primary sends nothing, so "now - last replay" alone would grow
# without any lag).
LAG_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
       END
"""


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


class _State:
    """The last check of the replica, shared by the threads of a process."""

    def __init__(self):
        self.lock = threading.Lock()
        self.checked_at = float("-inf")
        self.lag_seconds: float | None = None
        self.usable = False
        self.error = ""


_state = _State()


def _check() -> None:
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(LAG_SQL)
            in_recovery, lag = cursor.fetchone()
        _state.lag_seconds = float(lag)
        _state.usable = bool(in_recovery) and _state.lag_seconds <= settings.REPLICA_LAG_MAX_SECONDS
        _state.error = "" if in_recovery else "not a standby (pg_is_in_recovery() is false)"
    except Error as error:
        connections[REPLICA].close()
        _state.lag_seconds, _state.usable = None, False
        _state.error = str(error).splitlines()[0] if str(error) else type(error).__name__
    _state.checked_at = time.monotonic()


def replica_state(*, fresh: bool = False) -> dict | None:
    """{"usable", "lag_seconds", "error"} of the replica (checked at most every
    REPLICA_CHECK_SECONDS, or now with ``fresh``); None when none is configured."""
    if not replica_configured():
        return None
    if fresh or time.monotonic() - _state.checked_at >= settings.REPLICA_CHECK_SECONDS:
        with _state.lock:
            if fresh or time.monotonic() - _state.checked_at >= settings.REPLICA_CHECK_SECONDS:
                _check()
    return {"usable": _state.usable, "lag_seconds": _state.lag_seconds, "error": _state.error}


def mark_replica_down(error: BaseException) -> None:
    """A query on the replica failed: read the primary until the next check says otherwise."""
    with _state.lock:
        _state.usable = False
        _state.error = str(error).splitlines()[0] if str(error) else type(error).__name__
        _state.checked_at = time.monotonic()
    connections[REPLICA].close()
    logger.warning("read replica failed, reading the primary: %s", _state.error)


def use_replica_now() -> bool:
    """Whether a read issued at this moment goes to the replica."""
    if not _reading.get() or _recent_write.get() or not replica_configured():
        return False
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return False
    state = replica_state()
    if state and state["usable"]:
        _routed.set(True)
        return True
    return False


@contextlib.contextmanager
def reading_replica():
    """Reads inside this block may go to the replica (see the module's docstring)."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


@contextlib.contextmanager
def primary_reads():
    """Reads inside this block go to the primary, even inside ``reading_replica()``."""
    token = _reading.set(False)
    try:
        yield
    finally:
        _reading.reset(token)


def _streamed(content, *, fallback):
    """Stream ``content`` with reads on the replica.

    When the replica fails before anything read from it was sent, the whole response is made
    again on the primary (``fallback``): the first chunk is held back until the second is made,
    because a CSV's first chunk is its header, written before the first query. When it fails
    later (the replica died mid-download), the download cannot be completed: the connection is
    closed before the end of the chunked body, which the client reports as a broken download
    (never a complete-looking file), and the replica is marked down so that the retry reads the
    primary at once. docs/scaling.md "A replica that dies mid-download".
    """
    sent = False
    held = None
    _routed.set(False)
    try:
        with reading_replica():
            for chunk in content:
                if held is not None:
                    sent = True
                    yield held
                held = chunk
        if held is not None:
            yield held
    except Error as error:
        if not _routed.get():
            raise
        mark_replica_down(error)
        if sent:
            logger.warning("a streamed download broke off: its replica failed mid-way (%s)",
                           str(error).splitlines()[0] if str(error) else type(error).__name__)
            raise
        with primary_reads():
            yield from fallback().streaming_content


def replica_reads(view):
    """Run a read-only view with its reads on the replica when it is usable; a safe request
    (GET/HEAD) that fails on the replica runs again on the primary. Unsafe requests read the
    primary."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD") or not replica_configured():
            return view(request, *args, **kwargs)
        routed = _routed.set(False)
        try:
            with reading_replica():
                response = view(request, *args, **kwargs)
        except Error as error:
            if not _routed.get():
                raise
            mark_replica_down(error)
            with primary_reads():
                return view(request, *args, **kwargs)
        finally:
            _routed.reset(routed)
        if isinstance(response, StreamingHttpResponse):
            response.streaming_content = _streamed(
                response.streaming_content, fallback=lambda: view(request, *args, **kwargs)
            )
        return response

    return wrapper


class ReplicaRouter:
    """DATABASE_ROUTERS when DATABASE_REPLICA_URL is set."""

    def db_for_read(self, model, **hints):
        return REPLICA if use_replica_now() else DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same database, one copy behind

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


class ReadYourWritesMiddleware:
    """After a user's successful write, their reads go to the primary for READ_YOUR_WRITES_SECONDS
    (a cookie holding the time of the write; it only ever sends reads to the primary, so it needs
    no signature)."""

    COOKIE = "fs_wrote"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        window = settings.READ_YOUR_WRITES_SECONDS
        try:
            wrote_at = float(request.COOKIES.get(self.COOKIE, ""))
        except ValueError:
            wrote_at = 0.0
        token = _recent_write.set(0 <= time.time() - wrote_at <= window)
        try:
            response = self.get_response(request)
        finally:
            _recent_write.reset(token)
        if (
            request.method not in ("GET", "HEAD", "OPTIONS", "TRACE")
            and response.status_code < 400
            and replica_configured()
        ):
            response.set_cookie(
                self.COOKIE,
                f"{time.time():.3f}",
                max_age=max(int(window), 1),
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
