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
MAX_FORMS = 256  # filter bars' form classes kept per process (one per filter set and user)

_reader: ContextVar[object | None] = ContextVar("options_reader", default=None)
_lists: OrderedDict[tuple, tuple] = OrderedDict()
_scopes: OrderedDict[tuple, tuple] = OrderedDict()
_forms: OrderedDict[tuple, object] = OrderedDict()
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
    return _kept(_lists, MAX_LISTS, key, lambda: build(queryset))


def _sql_key(queryset, version: tuple[int, int], name: str, scope: tuple | None) -> tuple:
    def compile_key():
        sql, params = queryset.query.sql_with_params()
        return queryset.db, sql, tuple(params)

    if scope is None:
        return compile_key()
    return _kept(_scopes, MAX_SCOPES, (*version, name, queryset.db, *scope), compile_key)


def _kept(store: OrderedDict, limit: int, key: tuple, build: Callable[[], object]):
    with _lock:
        found = store.get(key)
        if found is not None:
            store.move_to_end(key)
            return found
    value = build()
    with _lock:
        store[key] = value
        while len(store) > limit:
            store.popitem(last=False)
    return value


def kept_form_class(scope: tuple, build: Callable[[], type]) -> type:
    """A filter bar's form class, ``build()``, kept under ``scope`` (the filter set, its filters
    and the user its choices were built for) and the request's organisation version: its
    fields' querysets are the same until the version moves. Each form made from it copies
    its fields, as Django's forms do. Built afresh outside a signed-in request."""
    version = _version()
    if version is None:
        return build()
    return _kept(_forms, MAX_FORMS, (*version, *scope), build)


def clear() -> None:
    """Forget every kept list (tests)."""
    with _lock:
        _lists.clear()
        _scopes.clear()
        _forms.clear()
