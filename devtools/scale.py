"""The scale data set behind ``manage.py seed_scale``: up to a million devices, PostgreSQL COPY.
Part of ``devtools``, the development app (installed with DEBUG or DEV_TOOLS=1 only).

It builds on ``seed_demo`` (the demo logins stay valid; their organisation is the largest one)
and adds nine more organisations, ~500 facilities, ~3,000 products and ``devices`` devices with
a realistic status mix (≈ 69 % available, 10 % facility stock, 20 % consumed, 1.5 % removed),
the whole movement ledger, events with their lines, sales orders, purchase orders, invoices and
commission credits. Rows go in with ``COPY`` while every constraint, foreign key and trigger is
live, so the database checks every row; ``verify_ledger`` passes on the result.

The rows are written directly (not through the services) for speed, but they are exactly the
rows the services would write: the same transitions, one movement per change, in time order.
"""

from __future__ import annotations

import datetime
import io
import multiprocessing
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import connection, connections, transaction
from django.utils import timezone
from tqdm import tqdm

from accounts.models import Organization, User
from billing.models import DocumentCounter, Invoice, PurchaseOrder, SalesOrder
from commissions.models import CommissionCredit, CommissionPlan
from commissions.services import (
    commission_plan_for,
    commission_sale_amount,
    commission_summary_rebuild,
    commission_usage_amount,
)
from consignment.models import Facility, FacilityContact, ParLevel
from demo import seed as demo
from devtools.scale_kits import kits_summary, seed_scale_kits
from events.models import Event, EventLine, EventStatus
from events.services import event_line_summary_rebuild
from inventory.labels import hibc_text
from inventory.ledger import (
    CONTENT_FIELDS,
    KIT_FIELDS,
    check_head_key,
    key_id,
    ledger_key,
    movement_hash,
)
from inventory.models import (
    Device,
    DeviceMovement,
    DeviceStatus,
    LedgerChainHead,
    Manufacturer,
    MovementKind,
    Product,
    ProductLine,
    StockAdjustment,
    StockAdjustmentLine,
)
from inventory.udi import make_gtin, udi_hri

SCALE_ORG_PREFIX = "Scale Org"
MAIN_SHARE = 0.42  # the demo organisation: the largest one (420k of 1M devices)
LARGEST_SHARE = 0.20  # with --organisations: the demo organisation (2M of 10M devices)
ORGS = 10  # the demo organisation, the second demo organisation and eight scale ones
FACILITIES_PER_ORG = 50
REPS_PER_ORG = 20
CHUNK = 100_000  # devices generated and written per transaction
SURGEONS = ["Dr. Amelia Hart", "Dr. Ben Carter", "Dr. Priya Raman", "Dr. Luis Ortega",
            "Dr. Grace Kim", "Dr. Omar Haddad", "Dr. Nina Volkova", "Dr. Tom Becker"]
FACILITY_WORDS = ["General", "Regional", "Community", "University", "Memorial", "Orthopedic",
                  "Spine & Joint", "Children's", "Veterans", "Surgery Center"]
CITIES = ["Springfield", "Riverside", "Franklin", "Greenville", "Fairview", "Madison", "Salem",
          "Georgetown", "Clinton", "Arlington", "Ashland", "Dover", "Milton", "Newport"]
NULL = r"\N"


def _text(value) -> str:
    """One field in PostgreSQL COPY text format."""
    if value is None:
        return NULL
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                .replace("\r", "\\r"))
    return text


class CopyBuffer:
    """Rows for one table in COPY text format, sent with psycopg's ``cursor.copy``."""

    def __init__(self, table: str, columns: list[str]):
        self.table, self.columns = table, columns
        self.buffer = io.StringIO()
        self.rows = 0

    def add(self, *values) -> None:
        self.buffer.write("\t".join(map(_text, values)))
        self.buffer.write("\n")
        self.rows += 1

    def send(self, cursor) -> int:
        if self.rows:
            sql = f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN"
            data = self.buffer.getvalue()
            with cursor.copy(sql) as copy:
                for start in range(0, len(data), 1 << 20):
                    copy.write(data[start:start + (1 << 20)])
        sent, self.rows = self.rows, 0
        self.buffer = io.StringIO()
        return sent


MOVEMENT_COLUMNS = [*CONTENT_FIELDS, *KIT_FIELDS, "chain_seq", "chain_hash"]


class LedgerChain:
    """An organisation's HMAC chain (inventory/ledger.py) while its movements are written: the
    head row is locked for the transaction and moved on at the end, as ledger_append does."""

    def __init__(self, organization_id: int):
        LedgerChainHead.objects.bulk_create(
            [LedgerChainHead(organization_id=organization_id)], ignore_conflicts=True)
        self.head = LedgerChainHead.objects.select_for_update().get(
            organization_id=organization_id)
        self.seq, self.hash, self.key = self.head.last_seq, self.head.last_hash, ledger_key()
        self.kit_from = self.head.kit_content_from
        check_head_key(self.head, key_id(self.key))

    def link(self, values: dict) -> tuple[int, str]:
        self.seq += 1
        self.hash = movement_hash(self.key, self.hash, values, self.seq,
                                  with_kit=self.seq >= self.kit_from)
        return self.seq, self.hash

    def save(self) -> None:
        self.head.last_seq, self.head.last_hash = self.seq, self.hash
        self.head.key_id = key_id(self.key)
        self.head.save(update_fields=["last_seq", "last_hash", "key_id"])


def movement_add(
    buffer: CopyBuffer, chain: LedgerChain, *, organization_id: int, device_id: int,
    at: datetime.datetime, actor_id: int, kind: str, previous: tuple, new: tuple, event_id=None,
    adjustment_id=None, note: str = "",
) -> None:
    """Write one ledger row: ``previous`` and ``new`` are (status, custodian_id, facility_id).

    The only place this module writes DeviceMovement rows, chained in the order they are written
    (COPY keeps it, so ids follow the chain); each device's movements are in time order.
    """
    values = dict(zip((*CONTENT_FIELDS, *KIT_FIELDS), (
        organization_id, device_id, at, actor_id, str(kind), previous[0], new[0], previous[1],
        new[1], previous[2], new[2], event_id, None, adjustment_id, note, None, None),
        strict=True))
    buffer.add(*values.values(), *chain.link(values))


def _reserve_ids(model, count: int) -> int:
    """Take ``count`` primary keys from the table's sequence; returns the first."""
    if count == 0:
        return 0
    table = model._meta.db_table
    with connection.cursor() as cursor:
        # Workers seed organisations side by side: one reservation at a time (a session lock,
        # so it does not wait for the other workers' transactions).
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [table])
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), "
            f"(SELECT last_value FROM {table}_id_seq)) + %s)",
            [count],
        )
        last = cursor.fetchone()[0]
        cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [table])
    return last - count + 1


# --- the organisations and their catalogues, people and facilities (ORM, small) ----------------


@dataclass
class OrgBase:
    org: Organization
    admin: User
    warehouse: User
    reps: list[User]
    facilities: list[Facility]
    # (id, product_line_id, manufacturer_id, gtin, unit_price, hibc labeler, catalogue, unit)
    products: list[tuple]
    plans: list[CommissionPlan]
    code: str
    contacts: dict[int, int] = field(default_factory=dict)  # facility id -> a contact id
    terms: dict[int, int] = field(default_factory=dict)  # facility id -> payment terms


def _users(org, code: str, roles: list[tuple[str, str, str, str]], password: str) -> None:
    existing = set(User.objects.filter(username__in=[r[0] for r in roles])
                   .values_list("username", flat=True))
    User.objects.bulk_create([
        User(username=username, first_name=first, last_name=last, role=role, organization=org,
             email=f"{username}@example.com", password=password,
             is_staff=role in (User.Role.ADMIN, User.Role.MANAGER))
        for username, first, last, role in roles if username not in existing
    ])


FIRST = ["Avery", "Blake", "Cameron", "Devon", "Elliot", "Finley", "Gray", "Hayden", "Jesse",
         "Kendall", "Logan", "Micah", "Noel", "Parker", "Reese", "Sawyer", "Skyler", "Tatum"]
LAST = ["Adams", "Brooks", "Chavez", "Dunn", "Ellis", "Foster", "Garcia", "Hughes", "Ibarra",
        "Jensen", "Khan", "Lopez", "Mendez", "Nolan", "Owens", "Price", "Quinn", "Reyes"]


def scale_gtin(index: int, counter: int) -> str:
    """The ``counter``-th product GTIN of organisation ``index`` (14 digits up to index 999)."""
    return make_gtin(f"08{index:02d}{counter:09d}" if index < 100
                     else f"8{index:03d}{counter:09d}")


def _org_base(index: int, org: Organization, rng: random.Random, password: str) -> OrgBase:
    """Fill an organisation up to 50 facilities, 20 reps and a ~300-product catalogue."""
    main = org.name == demo.ORG_NAME
    code = "" if main else f"s{index:02d}-"
    if main:
        roles = [(f"rep{n}", rng.choice(FIRST), rng.choice(LAST), User.Role.REP)
                 for n in range(4, REPS_PER_ORG + 1)]
    else:
        roles = [(f"{code}admin", "Admin", org.name, User.Role.ADMIN),
                 (f"{code}manager", "Manager", org.name, User.Role.MANAGER),
                 (f"{code}warehouse", "Central", "Warehouse", User.Role.REP)]
        roles += [(f"{code}rep{n}", rng.choice(FIRST), rng.choice(LAST), User.Role.REP)
                  for n in range(1, REPS_PER_ORG + 1)]
    _users(org, code, roles, password)
    people = User.objects.filter(organization=org)
    if main:
        admin, warehouse = people.get(username="admin"), people.get(username="warehouse")
        reps = list(people.filter(role=User.Role.REP).exclude(pk=warehouse.pk).order_by("pk"))
    elif org.name == demo.OTHER_ORG_NAME:
        admin = people.get(username="other-admin")
        warehouse = people.get(username=f"{code}warehouse")
        reps = list(people.filter(role=User.Role.REP).exclude(pk=warehouse.pk).order_by("pk"))
    else:
        admin, warehouse = people.get(username=f"{code}admin"), people.get(
            username=f"{code}warehouse")
        reps = list(people.filter(role=User.Role.REP).exclude(pk=warehouse.pk).order_by("pk"))

    # Catalogue: the demo's families, under this organisation's own references and GTINs.
    if Product.objects.filter(organization=org).count() < 100:
        counter = Product.objects.filter(organization=org).count()
        new_products = []
        for maker_name, lines in demo.CATALOGUE.items():
            maker, _ = Manufacturer.objects.get_or_create(organization=org, name=maker_name)
            prefix = "".join(w[0] for w in maker_name.split()).upper()
            for line_name, families in lines.items():
                line, _ = ProductLine.objects.get_or_create(
                    organization=org, manufacturer=maker, name=line_name)
                for family, sizes, price in families:
                    for size in sizes:
                        counter += 1
                        new_products.append(Product(
                            organization=org, product_line=line,
                            reference=f"{prefix}-{index:02d}{counter:05d}",
                            gtin=scale_gtin(index, counter),
                            description=f"{family}, {size}", unit_price=Decimal(price)))
        Product.objects.bulk_create(new_products)
    products = list(Product.objects.filter(organization=org).order_by("pk").values_list(
        "pk", "product_line_id", "product_line__manufacturer_id", "gtin", "unit_price",
        "hibc_labeler", "hibc_product", "hibc_unit"))

    have = Facility.objects.filter(organization=org).count()
    new_facilities = []
    for n in range(have, FACILITIES_PER_ORG):
        city = CITIES[n % len(CITIES)]
        new_facilities.append(Facility(
            organization=org,
            name=f"{city} {FACILITY_WORDS[(n // len(CITIES)) % len(FACILITY_WORDS)]} "
                 f"{'Hospital' if n % 3 else 'Medical Center'} {n + 1}",
            address=f"{100 + n} Main St\n{city}", account_number=f"ACCT-{index:02d}{n:04d}",
            payment_terms_days=rng.choice([30, 30, 45, 60])))
    Facility.objects.bulk_create(new_facilities)
    facilities = list(Facility.objects.filter(organization=org).order_by("pk"))
    if new_facilities:
        Through = Facility.reps.through
        Through.objects.bulk_create([
            Through(facility_id=f.pk, user_id=rep.pk)
            for f in facilities if f.name in {nf.name for nf in new_facilities}
            for rep in rng.sample(reps, 2)
        ], ignore_conflicts=True)
        FacilityContact.objects.bulk_create([
            FacilityContact(organization=org, facility=f,
                            name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                            title=rng.choice(demo.CONTACT_TITLES),
                            email=f"materials{f.pk}@example.org", phone=f"555-{f.pk % 10000:04d}")
            for f in facilities if f.name in {nf.name for nf in new_facilities}
        ])
        product_ids = [p[0] for p in products]
        ParLevel.objects.bulk_create([
            ParLevel(organization=org, facility=f, product_id=product_id,
                     minimum=rng.choice([2, 3, 4, 5, 6]))
            for f in facilities if f.name in {nf.name for nf in new_facilities}
            for product_id in rng.sample(product_ids, 45)
        ], ignore_conflicts=True)
    CommissionPlan.objects.get_or_create(
        organization=org, rep=None, product_line=None,
        defaults={"rate": Decimal("0.0800"), "stocking_share": Decimal("0.6000")})
    base = OrgBase(org=org, admin=admin, warehouse=warehouse, reps=reps, facilities=facilities,
                   products=products, plans=list(CommissionPlan.objects.filter(organization=org)),
                   code=code)
    for contact_facility, contact in FacilityContact.objects.filter(
            organization=org).values_list("facility_id", "pk"):
        base.contacts.setdefault(contact_facility, contact)
    base.terms = {f.pk: f.payment_terms_days for f in facilities}
    return base


def _udi(product: tuple, expiry, lot: str, serial: str) -> str:
    """A device's UDI as ``Product.label_text`` prints it: GS1 with a GTIN, else HIBC."""
    if product[3]:
        return udi_hri(product[3], expiry, lot, serial)
    return hibc_text(product[5], product[6], product[7], expiry, lot, serial)


# --- devices, events, ledger (COPY) ------------------------------------------------------------


class Dev:
    __slots__ = ("id", "product", "lot", "expiry", "custodian", "received", "status",
                 "facility", "sold_on", "used_in", "removed_at")

    def __init__(self, product, lot, expiry, custodian, received):
        self.id = None
        self.product, self.lot, self.expiry = product, lot, expiry
        self.custodian, self.received = custodian, received
        self.status = DeviceStatus.AVAILABLE
        self.facility = self.sold_on = self.used_in = self.removed_at = None


class Ev:
    __slots__ = ("id", "kind", "rep", "facility", "date", "devices", "line", "manufacturer",
                 "status", "sold_by", "patient")

    def __init__(self, kind, rep, facility, date, devices, product):
        self.id = None
        self.kind, self.rep, self.facility, self.date = kind, rep, facility, date
        self.devices, self.line, self.manufacturer = devices, product[1], product[2]
        self.status = None
        self.sold_by = None  # facility-stock case: its stocking order
        self.patient = ""


def _at(day: datetime.date, hour: int, spread: int = 0) -> datetime.datetime:
    """A moment within ``hour`` of ``day``: receipts at 8, removals at 12, sales at 14,
    facility-stock use at 17, so each device's movements are in time order."""
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC) + (
        datetime.timedelta(seconds=spread % 3600))


def _billing_status(rng: random.Random, age_days: int) -> str:
    if age_days < 20:
        return EventStatus.PENDING_PO
    roll = rng.random()
    if age_days < 60:
        return (EventStatus.PENDING_PO if roll < 0.4 else EventStatus.READY_TO_INVOICE
                if roll < 0.7 else EventStatus.INVOICED)
    return (EventStatus.PENDING_PO if roll < 0.05 else EventStatus.READY_TO_INVOICE
            if roll < 0.15 else EventStatus.INVOICED if roll < 0.35 else EventStatus.PAID)


class ChunkWriter:
    """Generates one chunk of an organisation's devices with their history, then COPYs it."""

    def __init__(self, base: OrgBase, rng: random.Random, today: datetime.date):
        self.base, self.rng, self.today = base, rng, today
        self.devices: list[Dev] = []
        self.events: list[Ev] = []
        self.pools: dict[tuple, list[Dev]] = {}
        self.targets: dict[tuple, int] = {}

    def generate(self, count: int, lot_counter: int) -> int:
        rng, today, base = self.rng, self.today, self.base
        made = 0
        while made < count:
            product = base.products[rng.randrange(len(base.products))]
            custodian = base.warehouse if rng.random() < 0.4 else rng.choice(base.reps)
            size = min(rng.randint(4, 30), count - made)
            received = today - datetime.timedelta(days=rng.randint(1, 540))
            roll = rng.random()
            if roll < 0.03:
                expiry = today - datetime.timedelta(days=rng.randint(1, 60))
            elif roll < 0.10:
                expiry = today + datetime.timedelta(days=rng.randint(5, 90))
            else:
                expiry = today + datetime.timedelta(days=rng.randint(180, 1100))
            received = min(received, expiry - datetime.timedelta(days=120))
            lot_counter += 1
            lot = f"L{expiry:%y%m}-{lot_counter:06d}"
            for _ in range(size):
                dev = Dev(product, lot, expiry, custodian, received)
                self.devices.append(dev)
                roll = rng.random()
                if roll < 0.015:
                    dev.status = DeviceStatus.REMOVED
                    dev.removed_at = received + datetime.timedelta(
                        days=rng.randint(0, (today - received).days))
                elif custodian is not base.warehouse and expiry > today:
                    roll = rng.random()
                    if roll < 0.2675:
                        self._pool(dev, "stock")
                    elif roll < 0.5350:
                        self._pool(dev, "case")
            made += size
        for key in list(self.pools):
            if self.pools[key]:
                self._emit(key)
        return lot_counter

    def _pool(self, dev: Dev, fate: str) -> None:
        key = (dev.custodian.pk, dev.product[1], fate)
        pool = self.pools.setdefault(key, [])
        pool.append(dev)
        if key not in self.targets:
            self.targets[key] = self.rng.randint(1, 8) if fate == "case" else self.rng.randint(
                3, 12)
        if len(pool) >= self.targets[key]:
            self._emit(key)

    def _emit(self, key) -> None:
        rng, today, base = self.rng, self.today, self.base
        devices = self.pools.pop(key)
        self.targets.pop(key, None)
        fate = key[2]
        rep = devices[0].custodian
        facility = rng.choice(base.facilities)
        start = max(d.received for d in devices)
        date = min(today, start + datetime.timedelta(days=rng.randint(0, 90)))
        event = Ev("stocking_order" if fate == "stock" else "case", rep, facility, date, devices,
                   devices[0].product)
        event.status = _billing_status(rng, (today - date).days)
        self.events.append(event)
        if fate == "case":
            event.patient = f"MRN-{rng.randint(100000, 999999)}"
            for dev in devices:
                dev.status, dev.facility = DeviceStatus.CONSUMED, facility
                dev.sold_on = dev.used_in = event
            return
        used = []
        for dev in devices:
            dev.status, dev.facility, dev.sold_on = DeviceStatus.FACILITY_STOCK, facility, event
            if rng.random() < 1 / 3:
                used.append(dev)
        if used:
            covering = rng.choice(base.reps)
            case = Ev("case", covering, facility,
                      min(today, date + datetime.timedelta(days=rng.randint(0, 60))), used,
                      used[0].product)
            case.status, case.sold_by = EventStatus.CLOSED, event
            case.patient = f"MRN-{rng.randint(100000, 999999)}"
            self.events.append(case)
            for dev in used:
                dev.status, dev.used_in = DeviceStatus.CONSUMED, case

    def write(self, cursor, counters: dict) -> dict:
        """Assign ids and COPY everything: events, devices, ledger, lines, credits, documents."""
        base, org_id = self.base, self.base.org.pk

        first_event = _reserve_ids(Event, len(self.events))
        for n, event in enumerate(self.events):
            event.id = first_event + n
        first_device = _reserve_ids(Device, len(self.devices))
        for n, dev in enumerate(self.devices):
            dev.id = first_device + n
        removed = [d for d in self.devices if d.status == DeviceStatus.REMOVED]
        adjustment = None
        if removed:
            adjustment = StockAdjustment.objects.create(
                organization=base.org, reason=StockAdjustment.Reason.DAMAGED, actor=base.admin,
                note="Cycle count: damaged or missing units written off.",
                created_at=_at(self.today, 7))

        events = CopyBuffer(Event._meta.db_table, [
            "id", "organization_id", "event_type", "name", "date", "facility_id",
            "representative_id", "facility_contact_id", "manufacturer_id", "product_line_id",
            "patient_id", "surgeon", "facility_stock_only", "status", "created_by_id",
            "created_at", "submitted_at", "submitted_by_id", "signature_name", "cancel_reason"])
        for ev in self.events:
            created = _at(ev.date, 9, ev.id)
            submitted = _at(ev.date, 17 if ev.sold_by else 14, ev.id)
            signer = f"{ev.rep.first_name} {ev.rep.last_name}"
            events.add(
                ev.id, org_id, ev.kind,
                f"{'Case' if ev.kind == 'case' else 'Stocking'} {ev.id}", ev.date,
                ev.facility.pk, ev.rep.pk, base.contacts.get(ev.facility.pk), ev.manufacturer,
                ev.line, ev.patient, self.rng.choice(SURGEONS) if ev.kind == "case" else "",
                "t" if ev.sold_by else "f", ev.status, ev.rep.pk, created, submitted, ev.rep.pk,
                signer, "")

        devices = CopyBuffer(Device._meta.db_table, [
            "id", "organization_id", "product_id", "serial", "lot", "expiration_date", "udi",
            "status", "custodian_id", "facility_id", "sold_on_id", "used_in_id",
            "pending_transfer_id", "created_at"])
        movements = CopyBuffer(DeviceMovement._meta.db_table, MOVEMENT_COLUMNS)
        chain = LedgerChain(org_id)
        adjustment_lines = CopyBuffer(StockAdjustmentLine._meta.db_table, [
            "adjustment_id", "device_id", "effect", "from_status", "to_status", "to_facility_id",
            "to_custodian_id"])
        admin_id = base.admin.pk
        for dev in self.devices:
            serial = f"{base.code.upper().rstrip('-')}{dev.id:09d}"
            status = dev.status
            custodian = dev.custodian.pk if status == DeviceStatus.AVAILABLE else None
            facility = dev.facility.pk if dev.facility else None
            devices.add(
                dev.id, org_id, dev.product[0], serial, dev.lot, dev.expiry,
                _udi(dev.product, dev.expiry, dev.lot, serial), status, custodian, facility,
                dev.sold_on.id if dev.sold_on else None, dev.used_in.id if dev.used_in else None,
                None, _at(dev.received, 8, dev.id))
            state = (DeviceStatus.AVAILABLE, dev.custodian.pk, None)
            movement_add(movements, chain, organization_id=org_id, device_id=dev.id,
                         at=_at(dev.received, 8, dev.id), actor_id=admin_id,
                         kind=MovementKind.RECEIVED, previous=("", None, None), new=state)
            if status == DeviceStatus.REMOVED:
                new = (DeviceStatus.REMOVED, None, None)
                movement_add(movements, chain, organization_id=org_id, device_id=dev.id,
                             at=_at(dev.removed_at, 12, dev.id), actor_id=admin_id,
                             kind=MovementKind.ADJUSTMENT_REMOVED, previous=state, new=new,
                             adjustment_id=adjustment.pk)
                adjustment_lines.add(adjustment.pk, dev.id, "remove", state[0], new[0], None,
                                     None)
                continue
            sale = dev.sold_on
            if sale is None:
                continue
            if sale.kind == "stocking_order":
                new = (DeviceStatus.FACILITY_STOCK, None, sale.facility.pk)
                movement_add(movements, chain, organization_id=org_id, device_id=dev.id,
                             at=_at(sale.date, 14, sale.id), actor_id=sale.rep.pk,
                             kind=MovementKind.SOLD_TO_FACILITY, previous=state, new=new,
                             event_id=sale.id)
                state = new
                if dev.used_in is not None:
                    case = dev.used_in
                    new = (DeviceStatus.CONSUMED, None, sale.facility.pk)
                    movement_add(movements, chain, organization_id=org_id, device_id=dev.id,
                                 at=_at(case.date, 17, case.id), actor_id=case.rep.pk,
                                 kind=MovementKind.FACILITY_STOCK_CONSUMED, previous=state,
                                 new=new, event_id=case.id)
            else:
                new = (DeviceStatus.CONSUMED, None, sale.facility.pk)
                movement_add(movements, chain, organization_id=org_id, device_id=dev.id,
                             at=_at(sale.date, 14, sale.id), actor_id=sale.rep.pk,
                             kind=MovementKind.SOLD_AND_CONSUMED, previous=state, new=new,
                             event_id=sale.id)

        lines = CopyBuffer(EventLine._meta.db_table, [
            "event_id", "device_id", "kind", "price", "sold_by_id", "committed", "added_at",
            "damaged", "price_override_reason"])
        credits = CopyBuffer(CommissionCredit._meta.db_table, [
            "organization_id", "rep_id", "event_id", "device_id", "kind", "amount",
            "base_price", "rate", "stocking_share", "created_at", "paid_at"])
        orders = CopyBuffer(SalesOrder._meta.db_table, [
            "organization_id", "event_id", "number", "issued_at", "total", "pdf", "sha256"])
        pos = CopyBuffer(PurchaseOrder._meta.db_table, [
            "organization_id", "event_id", "number", "pdf", "sha256", "recorded_by_id",
            "recorded_at", "lines_source"])
        invoices = CopyBuffer(Invoice._meta.db_table, [
            "organization_id", "event_id", "number", "issued_at", "issued_by_id", "due_date",
            "total", "pdf", "sha256", "paid_at", "paid_by_id", "mismatch_reason",
            "mismatch_differences"])
        sale_credit: dict[int, tuple] = {}
        for ev in self.events:
            submitted = _at(ev.date, 17 if ev.sold_by else 14, ev.id)
            added = _at(ev.date, 10, ev.id)
            total = Decimal("0.00")
            for dev in ev.devices:
                if ev.sold_by is not None:
                    lines.add(ev.id, dev.id, "usage", "0.00", ev.sold_by.id, "t", added, "f", "")
                    rate, price, amount, share = sale_credit[dev.id]
                    rest = commission_usage_amount(rate=rate, base_price=price,
                                                   sale_amount=amount)
                    if rest > 0:
                        credits.add(org_id, ev.rep.pk, ev.id, dev.id, "usage", rest, price,
                                    rate, share, submitted, None)
                    continue
                price = dev.product[4]
                total += price
                lines.add(ev.id, dev.id, "sale", price, None, "t", added, "f", "")
                plan = commission_plan_for(base.plans, ev.rep.pk, ev.line)
                earned = commission_sale_amount(plan, price,
                                                stocking_order=ev.kind == "stocking_order")
                if earned is None:
                    continue
                share, amount = earned
                sale_credit[dev.id] = (plan.rate, price, amount, share)
                credits.add(org_id, ev.rep.pk, ev.id, dev.id, "sale", amount, price, plan.rate,
                            share, submitted, None)
            counters["SO"] += 1
            orders.add(org_id, ev.id, f"SO-{counters['SO']:06d}", submitted, total, "", "")
            if ev.status in (EventStatus.READY_TO_INVOICE, EventStatus.INVOICED,
                             EventStatus.PAID):
                recorded = submitted + datetime.timedelta(days=3)
                pos.add(org_id, ev.id, f"PO-S{ev.facility.pk}-{ev.id}", "", "", base.admin.pk,
                        recorded, "")
                if ev.status != EventStatus.READY_TO_INVOICE:
                    counters["INV"] += 1
                    issued = recorded + datetime.timedelta(days=2)
                    paid = (issued + datetime.timedelta(days=25)
                            if ev.status == EventStatus.PAID else None)
                    invoices.add(org_id, ev.id, f"INV-{counters['INV']:06d}", issued,
                                 base.admin.pk,
                                 issued.date() + datetime.timedelta(
                                     days=base.terms[ev.facility.pk]),
                                 total, "", "", paid, base.admin.pk if paid else None, "", "")

        chain.save()
        sent = {}
        for buffer in (events, devices, movements, adjustment_lines, lines, credits, orders, pos,
                       invoices):
            sent[buffer.table] = buffer.send(cursor)
        return sent


def _counters(org: Organization) -> dict:
    rows = dict(DocumentCounter.objects.filter(organization=org).values_list(
        "doc_type", "last_number"))
    return {"SO": rows.get("SO", 0), "INV": rows.get("INV", 0)}


def _save_counters(org: Organization, counters: dict) -> None:
    for doc_type, number in counters.items():
        DocumentCounter.objects.update_or_create(
            organization=org, doc_type=doc_type, defaults={"last_number": number})


def org_shares(organisations: int | None) -> list[float]:
    """Each organisation's share of the devices, the demo organisation first.

    Without ``organisations``: today's ten (the demo organisation 42 %, nine others 6.44 %
    each). With it: a skewed (Zipf) distribution, as a hosted Fieldstock would see it: the demo
    organisation 20 % (2M of 10M), the k-th of the others (k = 2 … N) in proportion to 1/k, so
    the second holds ~9.5 % and the hundredth ~0.19 % (19k of 10M).
    """
    if organisations is None:
        return [MAIN_SHARE] + [(1 - MAIN_SHARE) / (ORGS - 1)] * (ORGS - 1)
    weights = [1 / k for k in range(2, organisations + 1)]
    rest = sum(weights)
    return [LARGEST_SHARE] + [(1 - LARGEST_SHARE) * w / rest for w in weights]


def _split(devices: int, shares: list[float]) -> list[int]:
    counts = [round(devices * share) for share in shares[:-1]]
    return [*counts, devices - sum(counts)]


def _seed_org(index: int, org: Organization, count: int, rng: random.Random, password: str,
              lot_counter: int, today: datetime.date, bar=None) -> tuple[dict, int]:
    """One organisation: its people, facilities and catalogue, then ``count`` devices with their
    history, a transaction per CHUNK devices. Returns the rows sent per table and the lot
    counter."""
    totals: dict[str, int] = {}
    with transaction.atomic():
        base = _org_base(index, org, rng, password)
    counters = _counters(org)
    remaining = count
    while remaining > 0:
        chunk = min(CHUNK, remaining)
        writer = ChunkWriter(base, rng, today)
        lot_counter = writer.generate(chunk, lot_counter)
        with transaction.atomic(), connection.cursor() as cursor:
            for table, sent in writer.write(cursor, counters).items():
                totals[table] = totals.get(table, 0) + sent
            _save_counters(org, counters)
        remaining -= chunk
        if bar is not None:
            bar.update(chunk)
    return totals, lot_counter


def _seed_org_job(job: tuple) -> tuple[int, int, dict, float, int]:
    """An organisation of ``--organisations``: its own random stream and its own range of lot
    numbers, so the result does not depend on which worker ran it or when. The demo
    organisation (index 1) then gets its kits, while the other workers go on."""
    index, org_id, count, password, today = job
    started = time.monotonic()
    org = Organization.objects.get(pk=org_id)
    rng = random.Random(2026 * 1000 + index)
    totals, _ = _seed_org(index, org, count, rng, password, index * 1_000_000, today)
    kits = seed_scale_kits(org=org, today=today) if index == 1 else 0
    return index, count, totals, time.monotonic() - started, kits


def _seed_org_worker(job: tuple) -> tuple[int, int, dict, float, int]:
    try:
        return _seed_org_job(job)
    finally:
        connection.close()


def _pool(workers: int):
    """A pool of forked worker processes; each opens its own database connection."""
    connections.close_all()  # never share the parent's socket with a child
    return multiprocessing.get_context("fork").Pool(workers)


def _vacuum_analyze(workers: int) -> None:
    """VACUUM ANALYZE every table, the largest first, ``workers`` tables at a time. VACUUM too:
    index-only scans (reports join lines to devices that way) need the visibility map of the
    freshly loaded tables. Inside a transaction (tests) ANALYZE only."""
    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = "
                       "current_schema() ORDER BY pg_total_relation_size(quote_ident(tablename)) "
                       "DESC")
        tables = [row[0] for row in cursor.fetchall()]
    if workers <= 1:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        return
    with _pool(workers) as pool:
        list(pool.imap_unordered(_vacuum_table, tables))


def _vacuum_table(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")
    connection.close()


def seed_scale(*, devices: int, progress: bool = True, stdout=None, demo_devices: int = 5000,
               organisations: int | None = None, workers: int = 1) -> list[str]:
    """Build the scale data set on top of seed_demo; returns summary lines.

    ``organisations`` (at least 2): that many organisations, sized by ``org_shares``, each
    seeded by one of ``workers`` processes (the largest first), each with its own random
    stream. Without it: today's ten organisations from one random stream, in this process.
    """
    demo.seed(devices=demo_devices, progress=progress, stdout=stdout)
    if Organization.objects.filter(name__startswith=SCALE_ORG_PREFIX).exists():
        return ["The scale data set is already loaded: nothing added."]
    count = ORGS if organisations is None else organisations
    if count < 2:
        raise ValueError("The scale data set has at least the two demo organisations.")
    rng = random.Random(2026)
    today = timezone.localdate()
    password = make_password(demo.DEMO_PASSWORD)
    orgs = [Organization.objects.get(name=demo.ORG_NAME),
            Organization.objects.get(name=demo.OTHER_ORG_NAME)]
    for n in range(1, count - 1):
        orgs.append(Organization.objects.get_or_create(name=f"{SCALE_ORG_PREFIX} {n:02d}")[0])
    sizes = _split(devices, org_shares(organisations))
    started = time.monotonic()
    totals: dict[str, int] = {}
    timings: list[str] = []
    kits = 0
    bar = tqdm(total=devices, desc="devices", disable=not progress, unit="dev")
    if organisations is None:
        lot_counter = 0
        for index, (org, size) in enumerate(zip(orgs, sizes, strict=True), start=1):
            org_totals, lot_counter = _seed_org(index, org, size, rng, password, lot_counter,
                                                today, bar)
            for table, sent in org_totals.items():
                totals[table] = totals.get(table, 0) + sent
    else:
        jobs = sorted(((index, org.pk, size, password, today) for index, (org, size) in
                       enumerate(zip(orgs, sizes, strict=True), start=1)),
                      key=lambda job: -job[2])
        results = (map(_seed_org_job, jobs) if workers <= 1 or connection.in_atomic_block
                   else None)
        pool = None
        if results is None:
            pool = _pool(workers)
            results = pool.imap_unordered(_seed_org_worker, jobs)
        try:
            for index, size, org_totals, seconds, org_kits in results:
                for table, sent in org_totals.items():
                    totals[table] = totals.get(table, 0) + sent
                bar.update(size)
                if index == 1:
                    kits = org_kits
                    timings.append(f"largest organisation: {size:,} devices and {kits} kits in "
                                   f"{seconds:.0f} s")
        finally:
            if pool is not None:
                pool.close()
                pool.join()
    bar.close()
    if organisations is None:
        # Kits (through the kit services) among the main organisation's devices: the kit
        # pages' benchmark reads them at scale.
        kits = seed_scale_kits(org=orgs[0], today=today)
    # Lines and credits went in with COPY, not through Submit For Billing: summarise them for
    # the reports.
    loaded = time.monotonic()
    event_line_summary_rebuild()
    commission_summary_rebuild()
    summarised = time.monotonic()
    _vacuum_analyze(workers)
    timings += [f"devices, ledger and documents loaded in {loaded - started:.0f} s; summaries "
                f"{summarised - loaded:.0f} s; VACUUM ANALYZE "
                f"{time.monotonic() - summarised:.0f} s"]
    return [f"{table}: {count:,} rows added" for table, count in totals.items()] + timings + [
        f"devices in all: {Device.objects.count():,}; movements: "
        f"{DeviceMovement.objects.count():,}",
        f"kits built: {kits}; {kits_summary(orgs[0])}",
    ]
