"""Reads for the events screens. Each returns a queryset with its joins already applied."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import NamedTuple

from django.contrib.postgres.fields import ArrayField
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from accounts.models import User
from consignment.models import Facility
from events.models import Event, EventLine
from inventory.models import Device, DeviceStatus, Product, ProductLine, RecallUnit
from inventory.selectors import (
    SERIAL_PREFIX_MIN,
    facility_stock_devices,
    loaned_kit_devices,
    quarantined_facility_stock,
    sellable_devices,
)

DEVICE_SEARCH_LIMIT = 25


def event_list(*, user):
    """A rep's own events; the organisation's for admins and managers."""
    return Event.objects.for_user(user).select_related(
        "facility", "representative", "sales_order", "credit_memo"
    )


def event_detail_qs(*, user):
    return Event.objects.for_user(user).select_related(
        "facility", "representative", "facility_contact", "manufacturer", "product_line",
        "submitted_by", "sales_order", "credit_memo", "swap_order", "swap_return", "procedure",
    )


def event_lines(*, event: Event):
    return (
        EventLine.objects.filter(event=event)
        .select_related(
            "device__product__product_line", "device__facility", "device__custodian",
            "device__kit", "sold_by", "contract", "price_overridden_by"
        )
        .order_by("id")
    )


def lines_total(lines) -> Decimal:
    return sum((line.price for line in lines), Decimal("0.00"))


def _device_pool(*, event: Event, today: datetime.date):
    """The devices the event's kind allows, any manufacturer, unexpired on ``today``."""
    if event.is_return:
        return facility_stock_devices(
            organization_id=event.organization_id, facility_id=event.facility_id,
            include_expired=True,
        ) | quarantined_facility_stock(  # and what a recall quarantined there
            organization_id=event.organization_id, facility_id=event.facility_id,
        )
    if event.is_case and event.facility_stock_only:
        return facility_stock_devices(
            organization_id=event.organization_id, facility_id=event.facility_id, today=today
        )
    qs = sellable_devices(
        organization_id=event.organization_id, custodian_id=event.representative_id,
        today=today,
    )
    if event.is_case:  # and the units of kits loaned to the case's facility
        qs = qs | loaned_kit_devices(
            organization_id=event.organization_id, custodian_id=event.representative_id,
            facility_id=event.facility_id, today=today,
        )
    return qs


class _AnyOf(Func):
    """``field = ANY(array)``: the ids sent as one array parameter. ``field__in`` sends one
    parameter per id, and converting a thousand of them cost more than the query (9 ms)."""

    arg_joiner = " = ANY("
    template = "(%(expressions)s))"
    output_field = BooleanField()


def _any(field, ids) -> _AnyOf:
    """``field`` (a name or an expression) ``= ANY`` of ``ids``, sent as one array."""
    field = F(field) if isinstance(field, str) else field
    return _AnyOf(field, Value(sorted(ids), output_field=ArrayField(BigIntegerField())))


def event_device_candidates(*, event: Event, today: datetime.date | None = None):
    """The devices the rules allow on ``event`` right now (the rules are re-checked on add).

    Stocking order or normal case: the representative's sellable devices (``sellable_devices``:
    available, in their custody, not in transit, unexpired). A "Show Facility Stock items only"
    case: the unexpired FACILITY_STOCK of the event's facility. A Return: the FACILITY_STOCK of
    the event's facility, expired units included (they are returned for destruction), and the
    facility stock there a recall quarantined. Always of
    the event's manufacturer, never already on the event.
    """
    today = today or timezone.localdate()
    qs = _device_pool(event=event, today=today)
    # The maker's products as a list the device row is tested against, never an index to start
    # from: joined through the product line, PostgreSQL read every unit of the maker's products
    # to find the rep's (it estimated ~130 units a product; the demo organisation's hold ~7,000
    # each at 10M: 355 ms for a rep holding 29,635 units, 43 ms read from the rep's custody).
    makers_products = Product.objects.filter(
        organization_id=event.organization_id,
        product_line__manufacturer_id=event.manufacturer_id).values_list("pk", flat=True)
    qs = qs.filter(_any(F("product_id") + Value(0), makers_products))
    return qs.exclude(pk__in=EventLine.objects.filter(event=event).values("device_id"))


def _matching(qs: QuerySet, query: str) -> QuerySet:
    """``qs`` narrowed to the devices whose serial, lot, catalogue number or description holds
    every word of ``query`` (five words at most)."""
    for word in (query or "").split()[:5]:
        qs = qs.filter(
            Q(serial__icontains=word)
            | Q(lot__icontains=word)
            | Q(product__reference__icontains=word)
            | Q(product__description__icontains=word)
        )
    return qs


def event_device_search(
    *, event: Event, query: str = "", today: datetime.date | None = None,
    limit: int = DEVICE_SEARCH_LIMIT,
):
    """Search the candidates by serial, lot, catalogue number or description (every word): the
    event's product line first (a cages order lists cages before pedicle screws), then by
    catalogue number and the soonest expiry.

    It reads the pool (the rep's custody, or one facility's stock), never the maker's products
    whole (``event_device_candidates``), and in three queries: the maker's product ids, the
    page's ids, their rows."""
    qs = _matching(event_device_candidates(event=event, today=today), query)
    in_line = Case(When(product__product_line_id=event.product_line_id, then=Value(0)),
                   default=Value(1), output_field=IntegerField())
    order = ("other_line", "product__reference", "expiration_date", "serial", "id")
    # The page's ids first, then their rows: joined to the filters, the product lines were
    # joined by a nested loop over every match (1.2 s for "screw" at 10M).
    ids = list(qs.annotate(other_line=in_line).order_by(*order)
               .values_list("pk", flat=True)[:limit])
    return (
        Device.objects.filter(pk__in=ids)
        .select_related("product__product_line", "facility").annotate(other_line=in_line)
        .order_by(*order)
    )


def event_device_search_hidden(
    *, event: Event, query: str = "", today: datetime.date | None = None,
    viewer: User | None = None,
) -> list[str]:
    """What a search of the Mark Used tab left out and why, as sentences for the rep: matches of
    other manufacturers (the event is for one), expired matches (an expired unit can't be used)
    and the event's manufacturer's units the rules keep off this event, one sentence per reason
    (``unusable_match_reasons``), and only for a search: without words nothing is said.

    The first two are counted over the event's pool (what the search reads: the rep's own units,
    or one facility's stock) with the search's own matching, one query; its cost grows with the
    rep's custody, not the organisation. The third reads a bounded number of the organisation's
    units (``_unusable_candidates``) in at most seven queries."""
    if not (query or "").split():
        return []
    today = today or timezone.localdate()
    # The maker's product lines as a hashed subquery, not a join per unit.
    maker = Q(product__product_line_id__in=ProductLine.objects.filter(
        manufacturer_id=event.manufacturer_id).values("pk"))
    on_event = EventLine.objects.filter(event=event).values("device_id")
    # The products of the organisation only (a unit's product always is): else PostgreSQL
    # hashed every organisation's catalogue to join the pool's units (29k products, 12 ms at 1M).
    hidden = (
        _matching(_device_pool(event=event, today=datetime.date.min)
                  .filter(product__organization_id=event.organization_id), query)
        .exclude(pk__in=on_event)
        .aggregate(other_maker=Count("pk", filter=~maker),
                   expired=Count("pk", filter=maker & Q(expiration_date__lt=today)))
    )
    said = []
    if hidden["other_maker"]:
        n = hidden["other_maker"]
        said.append(f"{n} {'match' if n == 1 else 'matches'} from other manufacturers "
                    f"{'is' if n == 1 else 'are'} hidden: this event is for "
                    f"{event.manufacturer.name}.")
    if hidden["expired"] and not event.is_return:
        n = hidden["expired"]
        said.append(f"{n} expired {'match is' if n == 1 else 'matches are'} hidden: an expired "
                    "unit cannot be used or sold.")
    return said + unusable_match_reasons(event=event, query=query, viewer=viewer)


# Why a unit of the event's manufacturer is not among the units it may take, in the order the
# sentences are said. The first that holds is the unit's reason.
UNUSABLE_ORDER = ("recall", "used", "removed", "transit", "kit", "sold", "custody")
UNUSABLE_LIMIT = 200  # units looked at for the reasons (a search narrows far below it)


def _person(user: User | None, *, viewer: User | None, known: bool = False) -> str:
    """How a sentence names a custodian to ``viewer``: "you"; the name for an admin or a manager
    (they see the organisation's inventory) or when the viewer is party to it (a transfer);
    else "another rep": a rep never learns which rep holds another unit (rule 10). A custodian
    who is no rep (the warehouse) is named."""
    if user is None:
        return "nobody"
    if viewer is not None and user.pk == viewer.pk:
        return "you"
    if known or not user.is_rep or (viewer is not None and not viewer.is_rep):
        return str(user)  # the warehouse, an admin: no rep's custody is told
    return "another rep"


def _unusable_reason(device, *, event: Event, viewer: User | None) -> tuple[str, str]:
    """(reason, what the sentence says after "N matches are") for one unit off the event."""
    if device.status == DeviceStatus.QUARANTINED:
        recall = device.recall_reference
        return "recall", (f"quarantined by recall {recall}" if recall
                          else "quarantined by a recall") + ": it can't be used until released"
    if device.status == DeviceStatus.CONSUMED:
        return "used", "already used on a case"
    if device.status == DeviceStatus.REMOVED:
        return "removed", "removed from inventory (lost, damaged, expired or returned)"
    transfer = device.pending_transfer
    if transfer is not None:
        parties = {transfer.from_custodian_id, transfer.to_custodian_id}
        known = viewer is not None and viewer.pk in parties
        return "transit", (
            f"in transit from {_person(transfer.from_custodian, viewer=viewer, known=known)} "
            f"to {_person(transfer.to_custodian, viewer=viewer, known=known)}"
            + (": accept the transfer first" if transfer.to_custodian_id == event.representative_id
               else ""))
    if device.kit_id:  # said once for every kit (``unusable_match_reasons``)
        return "kit", device.kit.tag + (f" on loan to {device.facility}"
                                        if device.status == DeviceStatus.LOANED else "")
    if device.status == DeviceStatus.FACILITY_STOCK:
        if event.is_case and device.facility_id == event.facility_id:
            return "sold", (f"facility stock at {device.facility}, already sold: tick "
                            "\u201cShow Facility Stock items only\u201d to use it")
        return "sold", f"already sold: facility stock at {device.facility}"
    holder = _person(device.custodian, viewer=viewer)
    if device.custodian_id == event.representative_id:  # a return or a facility-stock case
        return "custody", (f"in {'your' if holder == 'you' else holder + chr(39) + 's'} custody, "
                           f"not facility stock at {event.facility}")
    return "custody", f"held by {holder}"


UNUSABLE_READ_WHOLE = 10_000  # an organisation with at most this many units is read whole
UNUSABLE_READ_LIMIT = 1_000  # else: units each way of matching reads through its index


class _Candidates(NamedTuple):
    units: QuerySet  # the event's manufacturer's units that match, as far as was looked
    anywhere: bool  # serials and lots matched anywhere (as the search does), not from the start
    complete: bool  # every unit a way of matching named was looked at


def _unusable_candidates(*, event: Event, words: list[str]) -> _Candidates:
    """The event's manufacturer's units of the organisation that match ``words``, without
    reading more than a bounded number of rows, and what was left unread.

    An organisation of at most ``UNUSABLE_READ_WHOLE`` units is read whole, as the search
    matches: every word anywhere in the serial, lot, catalogue number or description (a bounded
    walk: the check that it is that small reads that many index entries at most). A larger one
    is read through indexes, never by testing every unit (1.3 s a keystroke at 10M devices):

    - the catalogue number and description match anywhere, through the manufacturer's products
      resolved to ids first (a catalogue, not the devices);
    - the serial matches from its start (3 characters or more; a shorter word the whole serial:
      ``inventory.selectors.SERIAL_PREFIX_MIN``) and the lot whole, through the
      ``(organization, UPPER(...))`` indexes — so a unit whose serial or lot only contains a word
      further in is not found, and the caller says so;
    - the longest word drives (the most selective, usually): each of its three ways reads at
      most ``UNUSABLE_READ_LIMIT`` units through its index, then every word must match one way.
      When a way had more, not every candidate was looked at (``complete`` is False).
    """
    organization_id = event.organization_id
    org_units = Device.objects.filter(organization_id=organization_id)
    small = not org_units.order_by("pk").values_list("pk", flat=True)[
        UNUSABLE_READ_WHOLE:UNUSABLE_READ_WHOLE + 1].exists()
    if small:
        return _Candidates(_matching(org_units.filter(
            product__product_line__manufacturer_id=event.manufacturer_id), " ".join(words)),
            anywhere=True, complete=True)
    products = Product.objects.filter(organization_id=organization_id,
                                      product_line__manufacturer_id=event.manufacturer_id)
    names = {f"w{i}": ExpressionWrapper(Q(reference__icontains=word)
                                        | Q(description__icontains=word),
                                        output_field=BooleanField())
             for i, word in enumerate(words)}
    rows = list(products.order_by().annotate(**names).values_list("pk", *names))
    maker = [pk for pk, *_ in rows]
    named = [[pk for pk, *hits in rows if hits[i]] for i in range(len(words))]

    def ways(i: int, word: str) -> list[Q]:
        serial = (Q(serial__istartswith=word) if len(word) >= SERIAL_PREFIX_MIN
                  else Q(serial__iexact=word))
        return [serial, Q(lot__iexact=word)] + ([Q(_any("product_id", named[i]))]
                                                if named[i] else [])

    every_word = Q()
    for i, word in enumerate(words):
        either = Q()
        for way in ways(i, word):
            either |= way
        every_word &= either
    drive = max(range(len(words)), key=lambda i: len(words[i]))
    found: set[int] = set()
    complete = True
    for way in ways(drive, words[drive]):
        pks = list(org_units.filter(way).order_by().values_list("pk", flat=True)[
            :UNUSABLE_READ_LIMIT + 1])
        complete = complete and len(pks) <= UNUSABLE_READ_LIMIT
        found.update(pks[:UNUSABLE_READ_LIMIT])
    return _Candidates(org_units.filter(every_word, _any("pk", found), _any("product_id", maker)),
                       anywhere=False, complete=complete)


def unusable_match_reasons(
    *, event: Event, query: str, viewer: User | None = None,
) -> list[str]:
    """Why the event's manufacturer's units that match ``query`` but that the rules keep off
    ``event`` are not offered: quarantined by a recall (named), already used, removed, in
    transit (from and to whom), in a kit (its tag), already sold (the facility), in another
    custody ("another rep" to a rep). One sentence per reason, with its count.

    It reads a bounded number of units, whatever the organisation's size
    (``_unusable_candidates``), and says so when it did not look at everything: at most
    ``UNUSABLE_LIMIT`` are counted; in a large organisation serials are matched from their start
    and lots whole (a sentence says that a unit whose serial or lot only contains the words is
    not counted), and when a way of matching had more than ``UNUSABLE_READ_LIMIT`` units and
    fewer than ``UNUSABLE_LIMIT`` were counted, a sentence says the counts are of part of them.
    Never a silent undercount."""
    words = (query or "").split()[:5]
    if not words:
        return []
    candidates = _unusable_candidates(event=event, words=words)
    pool = _device_pool(event=event, today=datetime.date.min).values("pk")
    recall = (RecallUnit.objects.filter(device=OuterRef("pk"))
              .order_by("-pk").values("recall__reference")[:1])
    # The units first, then what the sentences say of them: joined to the filters above, the
    # planner misjudged how few rows pass and read the kits once per unit (40 ms at 1M).
    unit_ids = list(
        candidates.units
        .exclude(pk__in=pool)
        .exclude(pk__in=EventLine.objects.filter(event=event).values("device_id"))
        .order_by("pk").values_list("pk", flat=True)[:UNUSABLE_LIMIT]
    )
    units = list(
        Device.objects.filter(pk__in=unit_ids)
        .select_related("custodian", "facility", "kit", "pending_transfer__from_custodian",
                        "pending_transfer__to_custodian")
        .annotate(recall_reference=Subquery(recall))
        .order_by("pk")
    ) if unit_ids else []
    counts: dict[tuple[str, str], int] = {}
    for device in units:
        key = _unusable_reason(device, event=event, viewer=viewer)
        counts[key] = counts.get(key, 0) + 1
    kits = {what: n for (reason, what), n in counts.items() if reason == "kit"}
    if kits:  # one sentence for every kit: "in kits A (2), B (1): ..."
        for what in kits:
            del counts[("kit", what)]
        tags = (f"kit {next(iter(kits))}" if len(kits) == 1 else
                "kits " + ", ".join(f"{what} ({n})" for what, n in sorted(kits.items())))
        counts[("kit", f"in {tags}: a kit's units are used only from a kit on loan to the "
                       "case's facility")] = sum(kits.values())
    said = []
    for (_reason, what), n in sorted(counts.items(),
                                    key=lambda item: (UNUSABLE_ORDER.index(item[0][0]),
                                                      item[0][1])):
        said.append(f"{n} {'match is' if n == 1 else 'matches are'} {what}.")
    if len(units) == UNUSABLE_LIMIT:
        said.append(f"The first {UNUSABLE_LIMIT} such matches are counted: narrow the search.")
        return said  # there are more, of any kind: nothing else to add
    if not candidates.complete:
        said.append(f"Only part of the matches is counted (one way of matching named more "
                    f"than {UNUSABLE_READ_LIMIT:,} units): narrow the search.")
    if not candidates.anywhere:
        said.append("A unit whose serial or lot only contains the search is not counted "
                    "here: serials are matched from their start (whole below "
                    f"{SERIAL_PREFIX_MIN} characters), lots whole.")
    return said


def expiry_warning_days(device, *, today: datetime.date, within: int) -> int | None:
    """Days until ``device`` expires when that is within ``within`` days (0: today), else None:
    the Mark Used tab flags such units."""
    days = (device.expiration_date - today).days
    return days if 0 <= days <= within else None


def facilities_in_scope(user: User) -> QuerySet:
    """The facilities whose stock ``user`` sees: all of the organisation, or a rep's own — the
    facilities they are assigned to cover (``Facility.reps``). Assignments only: an event a rep
    creates (a draft at any facility, a cancelled one) never widens what they see."""
    qs = Facility.objects.for_user(user)
    if getattr(user, "role", None) == User.Role.REP:
        covers = Facility.reps.through.objects.filter(facility_id=OuterRef("pk"), user_id=user.pk)
        qs = qs.filter(Exists(covers))
    return qs.order_by("name")
