"""Option lists that rarely change (a filter bar's facilities, products, reps, product lines,
manufacturers), kept per process and per organisation between requests.

Each organisation carries ``options_version`` (``accounts.Organization``), which
``accounts.options.options_changed`` raises whenever one of the rows those lists show is saved
or deleted (``inventory.apps`` connects it to every such model). A list is kept under its
organisation's version of the request being served, so a change made through any process is
seen by every process at its next request: the version is read with the organisation, which
every page reads anyway (the currency of its amounts). The key also holds the list's SQL and
parameters: a rep's narrower list is never served to an admin, nor one organisation's to
another. Compiling that SQL costs about as much as finding the list, so a list whose queryset
is named by a ``scope`` (``core.forms.ScopedModelChoiceField``: the filter set, the filter and
the user it was built for) finds its SQL key under that name, once per organisation version.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextvars import ContextVar

MAX_LISTS = 512  # lists kept per process (each a few hundred (id, label) pairs)
MAX_SCOPES = 4096  # scopes' SQL keys kept per process (a few hundred bytes each)

_reader: ContextVar[object | None] = ContextVar("options_reader", default=None)
_lists: OrderedDict[tuple, tuple] = OrderedDict()
_scopes: OrderedDict[tuple, tuple] = OrderedDict()
_lock = threading.Lock()


def set_reader(user) -> object:
    """The user whose organisation's version keys the lists read in this request (set by
    ``accounts.middleware.OptionsReaderMiddleware``); returns the token for ``reset_reader``."""
    return _reader.set(user)


def reset_reader(token) -> None:
    _reader.reset(token)


def _version() -> tuple[int, int] | None:
    user = _reader.get()
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    organization = getattr(user, "organization", None)
    if organization is None:
        return None
    return organization.pk, organization.options_version


def cached_options(queryset, build: Callable[[object], Iterable[tuple[object, str]]], *,
                   scope: tuple | None = None) -> Iterable[tuple[object, str]]:
    """``build(queryset)`` as a tuple, kept under the request's organisation version and the
    queryset's SQL; read afresh (and not kept) outside a signed-in request."""
    return cached_for_organisation(queryset, lambda qs: tuple(build(qs)),
                                   name=getattr(build, "__qualname__", ""), scope=scope)


def cached_for_organisation(queryset, build: Callable[[object], object], *, name: str,
                            scope: tuple | None = None):
    """``build(queryset)`` (immutable: a tuple, a string), kept under ``name``, the request's
    organisation version and the queryset's SQL; built afresh outside a signed-in request.
    With ``scope`` (what names the queryset: always the same SQL for the same scope and
    organisation version), the SQL is compiled once per scope and version."""
    version = _version()
    if version is None:
        return build(queryset)
    key = (*version, name, *_sql_key(queryset, version, name, scope))
    with _lock:
        found = _lists.get(key)
        if found is not None:
            _lists.move_to_end(key)
            return found
    value = build(queryset)
    with _lock:
        _lists[key] = value
        while len(_lists) > MAX_LISTS:
            _lists.popitem(last=False)
    return value


def _sql_key(queryset, version: tuple[int, int], name: str, scope: tuple | None) -> tuple:
    if scope is None:
        sql, params = queryset.query.sql_with_params()
        return queryset.db, sql, tuple(params)
    named = (*version, name, queryset.db, *scope)
    with _lock:
        found = _scopes.get(named)
        if found is not None:
            _scopes.move_to_end(named)
            return found
    sql, params = queryset.query.sql_with_params()
    found = (queryset.db, sql, tuple(params))
    with _lock:
        _scopes[named] = found
        while len(_scopes) > MAX_SCOPES:
            _scopes.popitem(last=False)
    return found


def clear() -> None:
    """Forget every kept list (tests)."""
    with _lock:
        _lists.clear()
        _scopes.clear()
