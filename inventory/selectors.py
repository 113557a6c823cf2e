"""Reads that views and commands share."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import OrderBy, RawSQL
from django.utils import timezone

from accounts.models import User
from consignment.models import Facility
from consignment.regions import region_facility_ids, region_rep_ids
from inventory.labels import (
    Label,
    hibc_primary,
    looks_like_label,
    parse_label,
    parse_product_code,
)
from inventory.lifecycle import movement_problem
from inventory.models import (
    ACTIVE_STATUSES,
    Device,
    DeviceMovement,
    DeviceStatus,
    Manufacturer,
    MovementKind,
    Product,
    ProductLine,
    StockAdjustment,
    StockAdjustmentLine,
    Transfer,
)


@dataclass(frozen=True)
class LedgerDiscrepancy:
    device_id: int
    label: str
    problem: str


def ledger_discrepancies(*, organization_id: int | None = None) -> Iterator[LedgerDiscrepancy]:
    """Replay the movement ledger and yield every device whose state differs from it.

    For each device every movement must be a move of the lifecycle's transition table
    (``inventory.lifecycle.TRANSITIONS``: its from status, to status and kind a row, and the
    custodian or facility changed where the row says so), the movements must chain (each starts
    where the previous one ended, the first one is the receipt) and the last one must end in the
    device's current status, custodian and facility. Streams rows, so it runs in constant memory.
    """
    devices = Device.objects.order_by("pk")
    movements = DeviceMovement.objects.order_by("device_id", "at", "id")
    if organization_id is not None:
        devices = devices.filter(organization_id=organization_id)
        movements = movements.filter(organization_id=organization_id)
    moves = movements.values_list(
        "device_id", "from_status", "to_status", "from_custodian_id", "to_custodian_id",
        "from_facility_id", "facility_id", "kind", "id", "from_kit_id", "kit_id",
    ).iterator(chunk_size=5000)
    pending = next(moves, None)
    for device in devices.values_list(
        "pk", "serial", "lot", "status", "custodian_id", "facility_id", "kit_id"
    ).iterator(chunk_size=5000):
        pk, serial, lot, status, custodian_id, facility_id, kit_id = device
        label = f"SN {serial}" if serial else f"lot {lot} (#{pk})"
        # Skip movements of devices outside this listing (none in practice).
        while pending is not None and pending[0] < pk:
            pending = next(moves, None)
        state = None  # (status, custodian_id, facility_id, kit_id) after the last movement
        problems = []
        while pending is not None and pending[0] == pk:
            (_, from_status, to_status, from_cust, to_cust, from_fac, to_fac, kind, move_id,
             from_kit, to_kit) = pending
            illegal = movement_problem(
                kind=kind, from_status=from_status, to_status=to_status,
                from_custodian_id=from_cust, to_custodian_id=to_cust,
                from_facility_id=from_fac, to_facility_id=to_fac,
                from_kit_id=from_kit, to_kit_id=to_kit,
            )
            if illegal:
                problems.append(f"movement #{move_id}: {illegal}")
            expected_from = ("", None, None, None) if state is None else state
            if (from_status, from_cust, from_fac, from_kit) != expected_from:
                kits = from_kit or expected_from[3]  # kits named only where one is involved
                problems.append(
                    f"a {to_status} movement starts from ({from_status or 'nothing'}, custodian "
                    f"{from_cust}, facility {from_fac}{f', kit {from_kit}' if kits else ''}) "
                    f"but the ledger had {expected_from if kits else expected_from[:3]}"
                )
            state = (to_status, to_cust, to_fac, to_kit)
            pending = next(moves, None)
        if state is None:
            problems.append("it has no movements at all")
        elif state != (status, custodian_id, facility_id, kit_id):
            kits = state[3] or kit_id  # kits named only where one is involved
            problems.append(
                f"the ledger says (status {state[0]}, custodian {state[1]}, facility {state[2]}"
                f"{f', kit {state[3]}' if kits else ''}) but the device is (status {status}, "
                f"custodian {custodian_id}, facility {facility_id}"
                f"{f', kit {kit_id}' if kits else ''})"
            )
        for problem in problems:
            yield LedgerDiscrepancy(device_id=pk, label=label, problem=problem)


# --- screens: All Inventory, device page, transfers, adjustments, recall trace ---------------

DEVICE_LIST_RELATED = (
    "product__product_line__manufacturer", "custodian", "facility",
    "pending_transfer__to_custodian",
)


class DeviceRow(NamedTuple):
    """One All Inventory row: only what the table shows, read as values (no model instances,
    and a three-table join instead of DEVICE_LIST_RELATED's eight, whose planning alone took
    longer than running it)."""

    pk: int
    serial: str
    lot: str
    expiration_date: datetime.date
    status: str
    reference: str
    description: str
    custodian: str | None  # as User.__str__: the full name, else the username
    facility: str | None
    pending_transfer_id: int | None
    transfer_to: str  # the custodian a device in transit goes to

    Status = DeviceStatus  # for core.formatting.status_badge

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


_ROW_FIELDS = ("pk", "serial", "lot", "expiration_date", "status", "product__reference",
               "product__description", "custodian__first_name", "custodian__last_name",
               "custodian__username", "facility__name", "pending_transfer_id")


def user_label(first: str | None, last: str | None, username: str | None) -> str | None:
    """User.__str__ from its columns (None without a user)."""
    if username is None:
        return None
    return f"{first} {last}".strip() or username


def device_rows(devices: QuerySet[Device]) -> list[DeviceRow]:
    """The rows of ``devices`` (typically one sliced page of ``device_list``), in its order.
    One query, plus one for the transfers' recipients when a row is in transit."""
    rows = list(devices.values_list(*_ROW_FIELDS))
    in_transit = {row[11] for row in rows if row[11] is not None}
    recipients = {
        pk: user_label(first, last, username) for pk, first, last, username in
        Transfer.objects.filter(pk__in=in_transit).values_list(
            "pk", "to_custodian__first_name", "to_custodian__last_name",
            "to_custodian__username")
    } if in_transit else {}
    return [
        DeviceRow(pk, serial, lot, expiry, status, reference, description,
                  user_label(first, last, username), facility, transfer,
                  recipients.get(transfer) or "")
        for (pk, serial, lot, expiry, status, reference, description, first, last, username,
             facility, transfer) in rows
    ]


def device_list(*, user) -> QuerySet[Device]:
    """The devices ``user`` may see (rep: custody + facility stock), ready for a table."""
    return Device.objects.for_user(user).select_related(*DEVICE_LIST_RELATED)


@dataclass(frozen=True)
class JoinedOrder:
    """All Inventory sorted by a column of another table (custodian, product, facility).

    ``relation`` is the device's foreign key, ``keys`` the related table's columns the list is
    sorted by, then the related row's id, then ``device_keys`` (the device's own tiebreakers):
    a total order, so pages never overlap. Devices without the relation sort last (first when
    descending), as PostgreSQL sorts NULLs, and so do lot-tracked units (no serial) among a
    product's devices; ``expressions`` says so explicitly.
    """

    relation: str
    model: type[models.Model]
    keys: tuple[str, ...]
    device_keys: tuple[str, ...] = ("pk",)

    @property
    def order_by(self) -> tuple[str, ...]:
        return (*(f"{self.relation}__{key}" for key in self.keys), f"{self.relation}_id",
                *self.device_keys)

    def expressions(self, *, descending: bool = False) -> tuple[OrderBy, ...]:
        """``order_by`` for ``QuerySet.order_by``, NULLs placed explicitly: last ascending, first
        descending. That is PostgreSQL's default (and a btree index's order read forwards or
        backwards), so its SQL means the same and its plans are unchanged; ``_joined_order``
        recognises a joined sort by these expressions."""
        return nulls_as_postgresql(self.order_by, descending=descending)


def nulls_as_postgresql(names, *, descending: bool = False) -> tuple[OrderBy, ...]:
    """``QuerySet.order_by`` arguments sorting by ``names`` with NULLs last ascending and first
    descending, said explicitly, as PostgreSQL (and a btree index read either way) does."""
    return tuple(F(name).desc(nulls_first=True) if descending else F(name).asc(nulls_last=True)
                 for name in names)


JOINED_ORDERS = {
    "custodian": JoinedOrder("custodian", User, ("first_name", "last_name", "username")),
    "reference": JoinedOrder("product", Product, ("reference",), ("serial", "pk")),
    "description": JoinedOrder("product", Product, ("description", "reference"),
                               ("serial", "pk")),
    "facility": JoinedOrder("facility", Facility, ("name",)),
}


def _joined_order(queryset: QuerySet) -> tuple[JoinedOrder, bool] | None:
    """The JoinedOrder a queryset is sorted by (its ``expressions``), and whether descending;
    None for any other."""
    ordering = tuple(queryset.query.order_by)
    for order in JOINED_ORDERS.values():
        for descending in (False, True):
            if ordering == order.expressions(descending=descending):
                return order, descending
    return None


def device_page_by_joined_column(queryset: QuerySet[Device], *, user, offset: int,
                                 limit: int) -> list[DeviceRow] | None:
    """One page of a large device list sorted by another table's column, or None when
    ``queryset`` is not sorted that way (then slice it as usual).

    Sorting an organisation's ~330k active devices by, say, their custodian's name makes
    PostgreSQL join and sort them all for every page. Instead this walks the related rows of
    the organisation (a few hundred users, products or facilities) in order and takes each
    one's devices from an index on (organization, relation, id), already in order, stopping
    as soon as the page is full (a LATERAL join under LIMIT). Devices without the relation
    (e.g. facility stock has no custodian) come last, or first when descending. Same rows in the
    same order as ``queryset[offset:offset + limit]``; two queries (the page's ids, then its rows).

    Not for reps: a rep's list is a union (their custody, facility stock,
    what they sold or used) that an index per custodian can't serve, so the walk would read
    every other custodian's devices to reject them.
    """
    found = _joined_order(queryset)
    if found is None or user.role == User.Role.REP:
        return None
    order, descending = found
    sign, direction = ("-", "DESC") if descending else ("", "ASC")
    nullable = Device._meta.get_field(order.relation).null
    keys = [f"k{n}" for n in range(len(order.keys))]
    base_sql, params = (
        order.model._base_manager.filter(organization_id=user.organization_id)
        .order_by().values_list("pk", *order.keys).query.sql_with_params()
    )
    related = ", ".join(f"fs_r.{column}" for column in ["id", *keys])
    related_sql = f"SELECT {related} FROM ({base_sql}) AS fs_r (id, {', '.join(keys)})"
    related_keys = [*keys, "id"]
    if nullable:
        # One more row, all NULL (group 1, after the related rows), stands for "none".
        related_sql = (
            f"SELECT {related}, fs_g.fs_group FROM (VALUES (0), (1)) AS fs_g (fs_group) "
            f"LEFT JOIN ({base_sql}) AS fs_r (id, {', '.join(keys)}) ON fs_g.fs_group = 0"
        )
        related_keys.insert(0, "fs_group")
    # Sorted here (a few hundred rows) so that the plan walks them in order, takes each one's
    # devices in order (LATERAL) and stops once the page is full (Incremental Sort under Limit).
    related_sql += " ORDER BY " + ", ".join(f"{key} {direction}" for key in related_keys)
    # Each related row's devices in order, at most as many as this page could need: at scale
    # the plan reads them from the index on (organization, relation, id), and the "none" row's
    # devices (read for that row only: a one-time filter) from the partial index on
    # (organization, id) WHERE relation IS NULL; without that partial index the planner walked
    # the relation's own index or the primary key across every organisation.
    device_order = [sign + key for key in order.device_keys]
    device_columns = ["pk", *(key for key in order.device_keys if key != "pk")]
    extra = [f"d{n}" for n in range(len(device_columns) - 1)]
    parts = [queryset.filter(**{f"{order.relation}_id": RawSQL('"fs_related"."id"', ())})
             .order_by(sign + "organization_id", f"{sign}{order.relation}_id", *device_order)]
    if nullable:
        parts.append(
            queryset.filter(**{f"{order.relation}__isnull": True})
            .filter(RawSQL('"fs_related"."id" IS NULL', (), output_field=models.BooleanField()))
            .order_by(sign + "organization_id", *device_order))
    rows_sql = []
    for part in parts:
        part_sql, part_params = (
            part.values_list(*device_columns)[:offset + limit].query.sql_with_params()
        )
        rows_sql.append(f"({part_sql})")
        params += part_params
    sort = [*(f"fs_related.{key}" for key in related_keys), *(f"fs_rows.{d}" for d in extra),
            "fs_rows.id"]
    sql = (
        f"SELECT fs_rows.id FROM ({related_sql}) AS fs_related CROSS JOIN LATERAL "
        f"({' UNION ALL '.join(rows_sql)}) AS fs_rows ({', '.join(['id', *extra])}) "
        f"ORDER BY {', '.join(f'{column} {direction}' for column in sort)} LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit, offset])
        ids = [row[0] for row in cursor.fetchall()]
    rows = {row.pk: row for row in device_rows(queryset.order_by().filter(pk__in=ids))}
    return [rows[pk] for pk in ids if pk in rows]


def device_detail_qs(*, user) -> QuerySet[Device]:
    return Device.objects.for_user(user).select_related(
        *DEVICE_LIST_RELATED, "sold_on", "used_in", "kit",
    )


def device_movements(*, device: Device) -> QuerySet[DeviceMovement]:
    """The whole ledger of one device, oldest first, with everything a row names."""
    return (
        DeviceMovement.objects.filter(device=device)
        .select_related(
            "actor", "from_custodian", "to_custodian", "from_facility", "facility",
            "event__representative", "transfer", "adjustment", "from_kit", "kit",
        )
        .order_by("at", "id")
    )


def may_see_patient_id(user, event) -> bool:
    """Patient IDs: admins, managers, the event's own rep, and a regional manager for the events
    of their region (``consignment.regions``)."""
    if event is None:
        return False
    if user.is_regional_manager:
        return (region_facility_ids(user).filter(pk=event.facility_id).exists()
                or region_rep_ids(user).filter(user_id=event.representative_id).exists())
    return user.is_admin_or_manager or event.representative_id == user.pk


def transfer_list(*, user) -> QuerySet[Transfer]:
    """Admins and managers: every transfer of the organisation; reps: those they are part of."""
    qs = Transfer.objects.for_user(user).select_related(
        "from_custodian", "to_custodian", "actor", "decided_by", "kit", "into_kit"
    ).annotate(device_count=Count("devices")).order_by("-created_at", "-id")
    if user.is_rep:
        qs = qs.filter(Q(from_custodian=user) | Q(to_custodian=user) | Q(actor=user))
    return qs


def transfers_awaiting(*, user) -> QuerySet[Transfer]:
    """Pending transfers ``user`` must answer (admins may answer any pending transfer)."""
    qs = transfer_list(user=user).filter(status=Transfer.Status.PENDING)
    if not user.is_admin:
        qs = qs.filter(to_custodian=user)
    return qs.order_by("created_at", "id")


def transfers_waiting_for(user) -> QuerySet[Transfer]:
    """Transfers in transit to ``user``, waiting for them to accept or decline (the home page's
    attention list counts them): one indexed lookup by recipient, cheap at any size."""
    return Transfer.objects.filter(
        organization_id=user.organization_id, to_custodian_id=user.pk,
        status=Transfer.Status.PENDING,
    ).select_related("from_custodian").order_by("created_at", "id")


def transfer_devices(*, transfer: Transfer) -> QuerySet[Device]:
    return transfer.devices.select_related(*DEVICE_LIST_RELATED).order_by("product__reference",
                                                                           "serial", "pk")


def transferable_devices(*, user, custodian) -> QuerySet[Device]:
    """Available devices of ``custodian`` that are not in transit (a rep: only their own)."""
    qs = Device.objects.for_user(user).filter(
        status=DeviceStatus.AVAILABLE, custodian=custodian, pending_transfer__isnull=True
    )
    if user.is_rep:
        qs = qs.filter(custodian=user)
    return qs.select_related("product__product_line").order_by(
        "product__reference", "lot", "serial", "pk"
    )


def adjustment_list(*, user) -> QuerySet[StockAdjustment]:
    """The organisation's stock adjustments (office work, across regions: none for a regional
    manager)."""
    qs = StockAdjustment.objects.for_user(user)
    if user.is_regional_manager:
        qs = qs.none()
    return qs.select_related("actor").annotate(
        line_count=Count("lines")
    ).order_by("-created_at", "-id")


def adjustment_lines(*, adjustment: StockAdjustment) -> QuerySet[StockAdjustmentLine]:
    return adjustment.lines.select_related(
        "device__product", "to_facility", "to_custodian"
    ).order_by("id")


SERIAL_PREFIX_MIN = 3  # a shorter serial prefix matches much of an organisation: exact only
PRODUCTS_PER_STEP = 10


def device_search(*, user, text: str, limit: int = 25) -> QuerySet[Device]:
    """Find devices by serial, lot, catalogue number, description, GTIN or a scanned label: the
    first ``limit`` by catalogue number, serial and id.

    Each way of matching is read through an index, not by testing every device of the
    organisation (250 ms a keystroke at 425k devices): a serial prefix (3 characters or more,
    else the exact serial) and the lot by ``(organization, UPPER(…))``; the catalogue number,
    GTIN and description through the organisation's products, walked in catalogue-number order
    ten at a time until the page is full, so a common word ("screw") does not sort every
    device of the products it names.
    """
    qs = Device.objects.for_user(user).select_related(*DEVICE_LIST_RELATED)
    text = (text or "").strip()
    if not text:
        return qs.none()
    label = _try_label(text)
    if label is not None:
        qs = qs.filter(label_product_q(label, "product__"))
        if label.serial:
            qs = qs.filter(serial=label.serial)
        elif label.lot:
            qs = qs.filter(lot=label.lot)
        return qs.order_by("pk")[:limit]
    order = ("product__reference", "serial", "pk")
    serial = (Q(serial__istartswith=text) if len(text) >= SERIAL_PREFIX_MIN
              else Q(serial__iexact=text))
    found = list(qs.filter(serial | Q(lot__iexact=text)).order_by(*order)
                 .values_list("pk", flat=True)[:limit])
    products = list(
        Product.objects.filter(organization_id=user.organization_id)
        .filter(Q(reference__iexact=text) | Q(gtin=text) | Q(hibc_product__iexact=text)
                | Q(description__icontains=text))
        .order_by("reference").values_list("pk", flat=True)
    )
    named = []  # the first devices of the named products, in order: later products sort after
    for start in range(0, len(products), PRODUCTS_PER_STEP):
        step = products[start:start + PRODUCTS_PER_STEP]
        named += qs.filter(product_id__in=step).order_by(*order).values_list(
            "pk", flat=True)[:limit - len(named)]
        if len(named) >= limit:
            break
    return qs.filter(pk__in={*found, *named}).order_by(*order)[:limit]


def _try_label(text: str) -> Label | None:
    """The label a search text is, if it is one (a serial or a word is not)."""
    if not looks_like_label(text):
        return None
    try:
        return parse_label(text)
    except ValidationError:
        return None


def import_samples(*, user, today: datetime.date | None = None) -> list[dict]:
    """Sample rows of the receiving CSV from the organisation's own catalogue (shown on the
    import page and written in its downloadable template): one product by GTIN, one by HIBC
    code when the catalogue has one, received into the first active rep's custody."""
    today = today or timezone.localdate()
    products = Product.objects.for_user(user).order_by("reference", "pk")
    custodian = (User.objects.for_user(user).filter(role=User.Role.REP, is_active=True)
                 .order_by("username").values_list("username", flat=True).first()
                 or user.username)
    expires = today.replace(year=today.year + 2, day=min(today.day, 28))
    rows = []
    by_gtin = products.exclude(gtin="").first()
    if by_gtin is not None:
        rows.append({"gtin": by_gtin.gtin, "product": by_gtin})
    by_hibc = products.filter(hibc_labeler__isnull=False).first()
    if by_hibc is not None:
        rows.append({"gtin": by_hibc.hibc_code, "product": by_hibc})
    for n, row in enumerate(rows, start=1):
        row.update(lot=f"L{today:%y%m}", serial=f"SN-{today:%y%m}-{n:03d}",
                   expiration_date=expires, custodian=custodian)
    return rows


def lot_manufacturers(*, organization_id: int, lot: str) -> list[Manufacturer]:
    """The manufacturers whose devices carry ``lot`` (the recall trace asks for one only when
    several did); the (organization, lot) index serves it."""
    ids = (Device.objects.filter(organization_id=organization_id, lot=lot).order_by()
           .values_list("product__product_line__manufacturer_id", flat=True).distinct())
    return list(Manufacturer.objects.filter(pk__in=list(ids[:10])).order_by("name"))


def recall_devices(
    *, user, manufacturer=None, lot: str = "", gtin: str = "", serial: str = "",
    product: Product | None = None,
) -> QuerySet[Device]:
    """Every unit of a lot (of a manufacturer) or of a product (a GTIN, or the product a scanned
    label names), whatever its status."""
    qs = Device.objects.for_user(user)
    if gtin:
        qs = qs.filter(product__gtin=gtin)
    if product is not None:
        qs = qs.filter(product=product)
    if manufacturer is not None:
        qs = qs.filter(product__product_line__manufacturer=manufacturer)
    if lot:
        qs = qs.filter(lot=lot)
    if serial:
        qs = qs.filter(serial=serial)
    if not (gtin or lot or product):
        return qs.none()
    # The latest return of each unit (a Return event): where it came back from.
    last_return = DeviceMovement.objects.filter(
        device=OuterRef("pk"),
        kind__in=(MovementKind.RETURNED, MovementKind.RETURNED_FOR_DESTRUCTION),
    ).order_by("-at", "-id")
    return qs.select_related(
        *DEVICE_LIST_RELATED, "used_in__facility", "used_in__representative", "sold_on", "kit",
    ).annotate(
        returned_by_name=Subquery(last_return.values("event__name")[:1]),
        returned_from_name=Subquery(last_return.values("from_facility__name")[:1]),
    ).order_by("status", "product__reference", "serial", "pk")


def device_resolve(*, user, text: str, queryset: QuerySet[Device] | None = None) -> list[Device]:
    """The devices a typed serial or a scanned label names exactly (0, 1 or, if ambiguous, more)."""
    qs = queryset if queryset is not None else Device.objects.for_user(user)
    text = (text or "").strip()
    if not text:
        return []
    label = _try_label(text)
    if label is not None:
        qs = qs.filter(label_product_q(label, "product__"))
        if label.serial:
            qs = qs.filter(serial=label.serial)
        elif label.lot:
            qs = qs.filter(lot=label.lot, serial__isnull=True)
        else:
            return []
    else:
        qs = qs.filter(serial=text)
    return list(qs.select_related("product", "custodian", "facility")[:5])


def status_counts(devices: QuerySet[Device]) -> dict[str, int]:
    """How many devices of a queryset are in each status (one query)."""
    rows = devices.order_by().values_list("status").annotate(n=Count("pk"))
    labels = dict(DeviceStatus.choices)
    return {labels.get(status, status): n for status, n in rows}


def product_lines_for(user) -> QuerySet:
    """The organisation's product lines with their manufacturers (form choices)."""
    return ProductLine.objects.for_user(user).select_related("manufacturer")


# --- which devices may go on an event (rules 1, 3, 4, 11) ----------------------------------------


def sellable_devices(
    *, organization_id: int, custodian_id: int, today: datetime.date | None = None
) -> QuerySet[Device]:
    """The devices a rep may put on a stocking order or a normal case: AVAILABLE, in
    ``custodian_id``'s custody, not in transit, not expired on ``today`` (rules 1 and 4).

    The one statement of that rule as a query: the event screens, Swap, replenishment and the
    demo data use it; ``events.policy.device_problem`` says the same per device, with the reason
    (tests/events/test_rules_events.py checks that the two agree).
    """
    today = today or timezone.localdate()
    return Device.objects.filter(
        organization_id=organization_id,
        status=DeviceStatus.AVAILABLE,
        custodian_id=custodian_id,
        pending_transfer__isnull=True,
        kit__isnull=True,  # a kit member is sold only from a loaned kit (loaned_kit_devices)
        expiration_date__gte=today,
    )


def loaned_kit_devices(
    *, organization_id: int, custodian_id: int, facility_id: int,
    today: datetime.date | None = None,
) -> QuerySet[Device]:
    """The units of kits loaned to ``facility_id`` that a case there may use: LOANED, in
    ``custodian_id``'s custody (the case's rep), not expired on ``today``."""
    today = today or timezone.localdate()
    return Device.objects.filter(
        organization_id=organization_id,
        status=DeviceStatus.LOANED,
        custodian_id=custodian_id,
        facility_id=facility_id,
        expiration_date__gte=today,
    )


def facility_stock_devices(
    *, organization_id: int, facility_id: int, today: datetime.date | None = None,
    include_expired: bool = False,
) -> QuerySet[Device]:
    """The facility stock of a facility that a case with "Show Facility Stock items only" may use
    (unexpired on ``today``: rules 3 and 4) or, ``include_expired``, that a return may take back
    (expired units go back for destruction: rule 11)."""
    qs = Device.objects.filter(
        organization_id=organization_id,
        status=DeviceStatus.FACILITY_STOCK,
        facility_id=facility_id,
    )
    if not include_expired:
        qs = qs.filter(expiration_date__gte=today or timezone.localdate())
    return qs


def quarantined_facility_stock(*, organization_id: int, facility_id: int) -> QuerySet[Device]:
    """Facility stock of a facility that a recall quarantined: a Return takes it back."""
    return Device.objects.filter(
        organization_id=organization_id, status=DeviceStatus.QUARANTINED,
        facility_id=facility_id, custodian__isnull=True, sold_on__isnull=False,
    )


def pick_per_product(
    devices: Iterable[Device], quantities: dict[int, int]
) -> tuple[list[Device], dict[int, int]]:
    """Take up to ``quantities[product_id]`` devices per product from an ordered iterable; return
    the picked devices and the shortfall per product."""
    taken: dict[int, int] = {}
    picked = []
    for device in devices:
        if taken.get(device.product_id, 0) < quantities.get(device.product_id, 0):
            taken[device.product_id] = taken.get(device.product_id, 0) + 1
            picked.append(device)
    missing = {pid: qty - taken.get(pid, 0) for pid, qty in quantities.items()
               if qty > taken.get(pid, 0)}
    return picked, missing


def label_product_q(label: Label, prefix: str = "") -> Q:
    """The products (``prefix="product__"``: the devices) a parsed label names."""
    if label.is_hibc:
        return Q(**{f"{prefix}hibc_labeler": label.hibc_labeler,
                    f"{prefix}hibc_product": label.hibc_product,
                    f"{prefix}hibc_unit": label.hibc_unit})
    return Q(**{f"{prefix}gtin": label.gtin})


def product_for_label(*, organization_id: int, label: Label) -> Product:
    """The one catalogue product a label names, or a ValidationError saying why there is none."""
    found = list(Product.objects.filter(label_product_q(label), organization_id=organization_id)
                 .select_related("product_line")[:2])
    if len(found) == 1:
        return found[0]
    if found:  # the unique constraints rule this out; say so rather than pick one
        raise ValidationError(
            f"{label.identifier} names more than one product in your catalogue "
            f"({found[0].reference}, {found[1].reference}): ask an admin to correct the catalogue."
        )
    if label.is_hibc:
        units = sorted(Product.objects.filter(
            organization_id=organization_id, hibc_labeler=label.hibc_labeler,
            hibc_product=label.hibc_product,
        ).values_list("hibc_unit", flat=True))
        if units:
            raise ValidationError(
                f"Unknown HIBC product {label.product_code}: your catalogue has HIBC "
                f"{label.hibc_labeler} {label.hibc_product} only with unit of measure "
                f"{', '.join(map(str, units))}, but the label says unit of measure "
                f"{label.hibc_unit}."
            )
        raise ValidationError(
            f"Unknown HIBC product {label.product_code} (labeler {label.hibc_labeler}, catalogue "
            f"number {label.hibc_product}): no product in your catalogue has it."
        )
    raise ValidationError(f"Unknown GTIN {label.gtin}: no product in your catalogue has it.")


def products_for_codes(*, organization_id: int, codes: Iterable[str]) -> dict[str, Product]:
    """The organisation's products named by receiving-file product codes (GTINs or HIBC
    primary data), keyed by code; codes that are malformed or unknown are left out. One query."""
    gtins, hibc = set(), set()
    for code in codes:
        try:
            agency, key = parse_product_code(code)
        except ValidationError:
            continue
        (hibc if agency == "HIBC" else gtins).add(key if agency == "HIBC" else key[0])
    if not gtins and not hibc:
        return {}
    found = Product.objects.filter(organization_id=organization_id).filter(
        Q(gtin__in=gtins) | Q(hibc_labeler__in={k[0] for k in hibc},
                              hibc_product__in={k[1] for k in hibc})
    )
    wanted = {hibc_primary(*k) for k in hibc}
    result: dict[str, Product] = {}
    for product in found:
        if product.gtin in gtins:
            result[product.gtin] = product
        if product.hibc_code in wanted:
            result[product.hibc_code] = product
    return result
