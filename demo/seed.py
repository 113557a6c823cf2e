"""The demo data set behind ``manage.py seed_demo``."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from tqdm import tqdm

from accounts.models import Organization, User
from consignment.models import Facility, FacilityContact, ParLevel
from demo.seed_contracts import seed_contracts
from inventory.models import Device, DeviceStatus, Manufacturer, Product, ProductLine
from inventory.selectors import sellable_devices
from inventory.udi import make_gtin

DEMO_PASSWORD = "fieldstock-demo"

ORG_NAME = "Summit Surgical Distributors"
OTHER_ORG_NAME = "Coastal Implant Partners"

USERS = [
    ("admin", "Alex", "Admin", User.Role.ADMIN),
    ("manager", "Morgan", "Manager", User.Role.MANAGER),
    ("rep1", "Riley", "Parker", User.Role.REP),
    ("rep2", "Sam", "Ortiz", User.Role.REP),
    ("rep3", "Jordan", "Lee", User.Role.REP),
    # Reads the North region only (seed_regions): its facilities and rep1's work.
    ("regional", "Robin", "Regional", User.Role.REGIONAL_MANAGER),
    # The warehouse holds received stock; it is not a rep (no events, no commissions).
    ("warehouse", "Central", "Warehouse", User.Role.ADMIN),
]

# manufacturer -> product lines -> (item family, sizes, price)
CATALOGUE = {
    "Meridian Spine": {
        "Spine – Pedicle Screws": [
            ("Polyaxial pedicle screw", [f"{d} x {ln} mm" for d in ("5.5", "6.5", "7.5")
                                         for ln in (30, 35, 40, 45, 50, 55, 60)], "845.00"),
            ("Reduction pedicle screw", [f"{d} x {ln} mm" for d in ("5.5", "6.5")
                                         for ln in (40, 45, 50, 55)], "925.00"),
        ],
        "Spine – Interbody Cages": [
            ("PEEK TLIF cage", [f"{h} mm x {w} mm" for h in (8, 9, 10, 11, 12, 13, 14)
                                for w in (26, 30)], "2450.00"),
            ("Titanium ALIF cage", [f"{h} mm, {a}°" for h in (10, 12, 14, 16)
                                    for a in (6, 12)], "3150.00"),
        ],
        "Spine – Rods & Connectors": [
            ("Titanium rod 5.5 mm", [f"{ln} mm" for ln in range(40, 520, 40)], "310.00"),
            ("Cross connector", [f"{ln} mm" for ln in (30, 35, 40, 45, 50)], "480.00"),
        ],
    },
    "Aurora Orthopedics": {
        "Joint – Hip Stems": [
            ("Cementless femoral stem", [f"size {s}" for s in range(1, 13)], "4200.00"),
            ("Femoral head", [f"{d} mm, {o:+d} mm" for d in (28, 32, 36)
                              for o in (-4, 0, 4, 8, 12)], "1450.00"),
            ("Acetabular shell", [f"{d} mm" for d in range(44, 66, 2)], "2900.00"),
        ],
        "Joint – Knee Tibial Trays": [
            ("Tibial tray", [f"size {s}" for s in range(1, 10)], "3600.00"),
            ("Femoral component", [f"size {s}, {side}" for s in range(1, 11)
                                   for side in ("left", "right")], "3900.00"),
            ("Tibial insert", [f"size {s}, {t} mm" for s in range(1, 7) for t in (9, 11, 13)],
             "1250.00"),
        ],
    },
    "Keystone Trauma": {
        "Trauma – Locking Plates": [
            ("Distal radius locking plate", [f"{h} holes, {side}" for h in (3, 4, 5, 6, 7)
                                             for side in ("left", "right")], "1350.00"),
            ("Proximal humerus plate", [f"{h} holes" for h in (3, 5, 7, 9)], "1650.00"),
        ],
        "Trauma – Cortical Screws": [
            ("Cortical screw 3.5 mm", [f"{ln} mm" for ln in range(10, 72, 2)], "95.00"),
            ("Cannulated screw 4.0 mm", [f"{ln} mm" for ln in range(10, 80, 2)], "210.00"),
            ("Locking screw 3.5 mm", [f"{ln} mm" for ln in range(10, 90, 2)], "165.00"),
            ("Locking screw 2.4 mm", [f"{ln} mm" for ln in range(8, 32, 2)], "120.00"),
        ],
        "Biologics – Bone Graft": [
            ("Demineralized bone matrix", ["1 cc", "2.5 cc", "5 cc", "10 cc"], "690.00"),
        ],
    },
}

FACILITIES = [
    ("St. Mary's Medical Center", "1200 Cathedral Ave\nSpringfield, IL 62701", 30),
    ("Mercy General Hospital", "4001 J St\nSacramento, CA 95819", 45),
    ("Lakeside Surgery Center", "88 Shoreline Dr\nMadison, WI 53703", 30),
    ("Riverside Orthopedic Institute", "500 River Rd\nAustin, TX 78701", 60),
    ("Northgate Community Hospital", "17 Northgate Blvd\nDenver, CO 80221", 30),
    ("Valley Spine & Joint ASC", "2450 Valley View Pkwy\nPhoenix, AZ 85016", 30),
    ("Harbor Regional Medical Center", "9 Harbor Plaza\nBaltimore, MD 21202", 45),
    ("Pinecrest Children's Hospital", "301 Pinecrest Way\nPortland, OR 97205", 30),
]

CONTACT_TITLES = ["Materials manager", "OR charge nurse", "Purchasing", "Value analysis"]
CONTACT_NAMES = ["Dana Whitfield", "Chris Alvarez", "Taylor Nguyen", "Robin Okafor",
                 "Jamie Chen", "Casey Morgan", "Avery Brooks", "Drew Patel", "Quinn Rivera",
                 "Harper Singh", "Emerson Cole", "Rowan Fischer"]


# Demo products labelled the HIBC way (issue 30): every third product also carries a HIBC
# labeler code + catalogue number + unit of measure, and every tenth has only those (no GTIN),
# so a scan box meets both agencies' labels on demo devices.
DEMO_HIBC_LABELER = "H703"


def _identifiers(prefix: str, counter: int) -> dict:
    identifiers = {}
    if counter % 10 != 0:
        identifiers["gtin"] = make_gtin(f"0{7640123000000 + counter:012d}"[-13:])
    if counter % 3 == 0 or counter % 10 == 0:
        identifiers.update(hibc_labeler=DEMO_HIBC_LABELER,
                           hibc_product=f"{prefix}{counter:05d}", hibc_unit=0)
    return identifiers


def _bar(iterable, progress: bool, desc: str, total: int | None = None):
    return tqdm(iterable, desc=desc, total=total, disable=not progress, leave=False)


def _user(org, username, first, last, role) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"organization": org, "first_name": first, "last_name": last, "role": role,
                  "email": f"{username}@example.com",
                  "is_staff": role in (User.Role.ADMIN, User.Role.MANAGER)},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    elif user.role != role and username == "warehouse":  # earlier demos made it a rep
        user.role = role
        user.save(update_fields=["role"])
    return user


@transaction.atomic
def seed_organisation_base(progress: bool = True) -> dict:
    org, _ = Organization.objects.get_or_create(name=ORG_NAME)
    users = {u: _user(org, u, first, last, r) for u, first, last, r in USERS}

    other, _ = Organization.objects.get_or_create(name=OTHER_ORG_NAME)
    _user(other, "other-admin", "Olivia", "Other", User.Role.ADMIN)
    _user(other, "other-rep", "Oscar", "Other", User.Role.REP)
    other_maker, _ = Manufacturer.objects.get_or_create(organization=other, name="Coastal Ortho")
    other_line, _ = ProductLine.objects.get_or_create(
        organization=other, manufacturer=other_maker, name="Other – Screws"
    )
    Facility.objects.get_or_create(
        organization=other, name="Bayview Hospital", defaults={"address": "1 Bay Rd"}
    )
    Product.objects.get_or_create(
        organization=other, reference="CO-1000",
        defaults={"product_line": other_line, "gtin": make_gtin("0880000000001"),
                  "description": "Coastal cortical screw", "unit_price": Decimal("99.00")},
    )

    rng = random.Random(7)
    products = []
    counter = 0
    families = [
        (maker, line, family, sizes, price)
        for maker, lines in CATALOGUE.items()
        for line, fams in lines.items()
        for family, sizes, price in fams
    ]
    for maker_name, line_name, family, sizes, price in _bar(families, progress, "catalogue"):
        maker, _ = Manufacturer.objects.get_or_create(organization=org, name=maker_name)
        line, _ = ProductLine.objects.get_or_create(
            organization=org, manufacturer=maker, name=line_name
        )
        prefix = "".join(w[0] for w in maker_name.split()).upper()
        for size in sizes:
            counter += 1
            product, _ = Product.objects.get_or_create(
                organization=org, reference=f"{prefix}-{counter:05d}",
                defaults={
                    "product_line": line,
                    "description": f"{family}, {size}",
                    "unit_price": Decimal(price),
                    **_identifiers(prefix, counter),
                },
            )
            products.append(product)

    facilities = []
    reps = [users["rep1"], users["rep2"], users["rep3"]]
    for i, (name, address, terms) in enumerate(FACILITIES):
        facility, created = Facility.objects.get_or_create(
            organization=org, name=name,
            defaults={"address": address, "account_number": f"ACCT-{1001 + i}",
                      "payment_terms_days": terms},
        )
        if created:
            facility.reps.add(reps[i % 3], reps[(i + 1) % 3])
            for j in range(2):
                FacilityContact.objects.create(
                    organization=org, facility=facility,
                    name=CONTACT_NAMES[(2 * i + j) % len(CONTACT_NAMES)],
                    title=CONTACT_TITLES[(i + j) % len(CONTACT_TITLES)],
                    email=f"contact{2 * i + j}@{name.split()[0].lower().strip('.')}.example.org",
                    phone=f"555-01{i}{j}",
                )
            for product in rng.sample(products, 12):
                ParLevel.objects.get_or_create(
                    organization=org, facility=facility, product=product,
                    defaults={"minimum": rng.choice([2, 3, 4, 5, 6])},
                )
        facilities.append(facility)
    seed_regions(users, facilities)
    return {"org": org, "users": users, "products": products, "facilities": facilities}


def seed_regions(users: dict, facilities: list) -> None:
    """Two regions: North (the first half of the facilities, rep1 and the regional manager
    ``regional``) and South (the rest, rep2 and rep3). Kept as they are when they exist."""
    from consignment.models import Region
    from consignment.services import region_save

    half = (len(facilities) + 1) // 2
    for name, members, region_facilities in (
        ("North", [users["rep1"], users["regional"]], facilities[:half]),
        ("South", [users["rep2"], users["rep3"]], facilities[half:]),
    ):
        org = users["admin"].organization
        if not Region.objects.filter(organization=org, name=name).exists():
            region_save(actor=users["admin"], region=Region(organization=org, name=name),
                        facilities=region_facilities, members=members)


def seed_devices(base: dict, *, devices: int, progress: bool) -> None:
    """Receive ~``devices`` units across the warehouse and the reps, through devices_receive."""
    from inventory.services import devices_receive

    org, users, products = base["org"], base["users"], base["products"]
    other = Organization.objects.get(name=OTHER_ORG_NAME)
    if not Device.objects.filter(organization=other).exists():
        devices_receive(
            actor=User.objects.get(username="other-admin"),
            product=Product.objects.get(organization=other, reference="CO-1000"), lot="CO-L1",
            expiration_date=timezone.localdate() + datetime.timedelta(days=400),
            serials=[f"CO{n}" for n in range(1, 11)],
            custodian=User.objects.get(username="other-rep"),
        )
    if Device.objects.filter(organization=org).exists():
        return
    rng = random.Random(11)
    admin = users["admin"]
    today = timezone.localdate()
    custodians = [users["warehouse"], users["warehouse"], users["rep1"], users["rep2"],
                  users["rep3"]]
    per_product = devices / (len(products) * len(custodians))
    serial = 100000
    for index, product in enumerate(_bar(products, progress, "devices")):
        for custodian in custodians:
            roll = rng.random()
            if roll < 0.03:  # already expired: received before it expired
                expiry = today - datetime.timedelta(days=rng.randint(1, 60))
            elif roll < 0.10:  # expiring within 90 days
                expiry = today + datetime.timedelta(days=rng.randint(5, 90))
            else:
                expiry = today + datetime.timedelta(days=rng.randint(180, 1100))
            units = int(per_product) + (1 if rng.random() < per_product % 1 else 0)
            if not units:
                continue
            serials = []
            for _ in range(units):
                serial += 1
                serials.append(f"{serial}")
            devices_receive(
                actor=admin, product=product, lot=f"L{expiry:%y%m}-{index:03d}",
                expiration_date=expiry, serials=serials, custodian=custodian,
                today=min(today, expiry - datetime.timedelta(days=90)),
            )


def _pick(org, custodian, manufacturer, count, rng, used):
    """Sellable devices of ``custodian`` from ``manufacturer`` (``sellable_devices``)."""
    candidates = list(
        sellable_devices(organization_id=org.pk, custodian_id=custodian.pk)
        .filter(product__product_line__manufacturer=manufacturer)
        .exclude(pk__in=used).select_related("product__product_line")[:200]
    )
    chosen = rng.sample(candidates, min(count, len(candidates)))
    used.update(d.pk for d in chosen)
    return chosen


def seed_events(base: dict, *, progress: bool) -> None:
    """Transfers, stocking orders, cases of both kinds and an adjustment, through the services."""
    from billing.submit import event_submit_for_billing
    from commissions.models import CommissionPlan
    from events.models import Event
    from events.services import event_add_devices, event_create
    from inventory.services import AdjustmentLine, devices_transfer, stock_adjustment_create

    org, users, facilities = base["org"], base["users"], base["facilities"]
    if Event.objects.filter(organization=org).exists():
        return
    rng = random.Random(13)
    admin = users["admin"]
    reps = [users["rep1"], users["rep2"], users["rep3"]]
    today = timezone.localdate()
    CommissionPlan.objects.get_or_create(
        organization=org, rep=None, product_line=None,
        defaults={"rate": Decimal("0.0800"), "stocking_share": Decimal("0.6000")},
    )
    spine = ProductLine.objects.get(organization=org, name="Spine – Pedicle Screws")
    CommissionPlan.objects.get_or_create(
        organization=org, rep=users["rep1"], product_line=spine,
        defaults={"rate": Decimal("0.1000"), "stocking_share": Decimal("0.6000")},
    )
    used: set[int] = set()
    # The warehouse ships stock to the reps; one shipment waits for rep1 to accept it.
    for rep in reps:
        shipment = list(
            Device.objects.filter(organization=org, custodian=users["warehouse"],
                                  status=DeviceStatus.AVAILABLE,
                                  expiration_date__gt=today).order_by("?")[:15]
        )
        devices_transfer(actor=admin, devices=shipment, to_custodian=rep)
    pending = list(Device.objects.filter(organization=org, custodian=users["warehouse"],
                                         status=DeviceStatus.AVAILABLE,
                                         expiration_date__gt=today).order_by("?")[:4])
    devices_transfer(actor=admin, devices=pending, to_custodian=users["rep1"], accept_now=False)

    lines = list(ProductLine.objects.filter(organization=org).select_related("manufacturer"))
    stocking_orders = []
    steps = list(range(12))
    for i in _bar(steps, progress, "stocking orders"):
        facility = facilities[i % 6]
        seller = reps[i % 3]
        line = lines[i % len(lines)]
        date = today - datetime.timedelta(days=150 - 12 * i)
        event = event_create(
            actor=admin, event_type="stocking_order",
            name=f"Stocking {facility.name} #{i + 1}", date=date, facility=facility,
            representative=seller,
            manufacturer=line.manufacturer, product_line=line,
            facility_contact=facility.contacts.first(),
        )
        chosen = _pick(org, seller, line.manufacturer, rng.randint(5, 9), rng, used)
        if chosen:
            event_add_devices(actor=admin, event=event, devices=chosen)
            event_submit_for_billing(actor=admin, event=event, signature_name="Alex Admin")
            _as_of_event_date(event)
            stocking_orders.append(event)

    surgeons = ["Dr. Amelia Hart", "Dr. Ben Carter", "Dr. Priya Raman", "Dr. Luis Ortega"]
    case_no = 0
    # Cases that use facility stock, covered by a rep who is not always the seller.
    for order in _bar(stocking_orders[:9], progress, "facility-stock cases"):
        stock = list(order.sold_devices.filter(status=DeviceStatus.FACILITY_STOCK)[:2])
        if not stock:
            continue
        case_no += 1
        covering = reps[(reps.index(order.representative) + 1) % 3]
        case = event_create(
            actor=covering, event_type="case", name=f"Case {1000 + case_no}",
            date=min(today, order.date + datetime.timedelta(days=20)), facility=order.facility,
            representative=covering, manufacturer=order.manufacturer,
            product_line=order.product_line, patient_id=f"MRN-{rng.randint(100000, 999999)}",
            surgeon=rng.choice(surgeons), facility_stock_only=True,
        )
        event_add_devices(actor=covering, event=case, devices=stock)
        event_submit_for_billing(actor=covering, event=case, signature_name=str(covering))
        _as_of_event_date(case)
    # Cases that sell and use the rep's own inventory.
    for i in _bar(range(10), progress, "cases"):
        rep = reps[i % 3]
        line = lines[(i * 3) % len(lines)]
        chosen = _pick(org, rep, line.manufacturer, rng.randint(1, 3), rng, used)
        if not chosen:
            continue
        case_no += 1
        facility = facilities[i % len(facilities)]
        case = event_create(
            actor=rep, event_type="case", name=f"Case {1000 + case_no}",
            date=today - datetime.timedelta(days=140 - 14 * i), facility=facility,
            representative=rep, manufacturer=line.manufacturer, product_line=line,
            patient_id=f"MRN-{rng.randint(100000, 999999)}", surgeon=rng.choice(surgeons),
        )
        event_add_devices(actor=rep, event=case, devices=chosen)
        event_submit_for_billing(actor=rep, event=case, signature_name=str(rep))
        _as_of_event_date(case)
    # Billing under way: POs recorded for the oldest stocking orders, some invoiced, one paid.
    from billing.services import event_mark_paid, invoice_issue, purchase_order_record

    for i, order in enumerate(stocking_orders[:5]):
        purchase_order_record(actor=admin, event=order, number=f"PO-{order.facility_id}-{4410 + i}")
        if i < 3:
            invoice_issue(actor=admin, event=order)
        if i == 0:
            event_mark_paid(actor=admin, event=order)
    # A return: an invoiced stocking order's facility stock comes back (one unit damaged), so
    # the hospital gets a credit memo, the invoice a balance and the seller a clawback.
    from events.services import event_line_set_damaged

    for order in stocking_orders[1:3]:
        back = list(order.sold_devices.filter(status=DeviceStatus.FACILITY_STOCK)[:2])
        if not back:
            continue
        ret = event_create(
            actor=admin, event_type="return", name=f"Return {order.facility.name[:20]}",
            date=today, facility=order.facility,
            representative=order.representative, manufacturer=order.manufacturer,
            product_line=order.product_line, facility_contact=order.facility_contact,
        )
        event_add_devices(actor=admin, event=ret, devices=back)
        if len(back) > 1:
            event_line_set_damaged(actor=admin, event=ret, device=back[1], damaged=True)
        event_submit_for_billing(actor=admin, event=ret, signature_name="Alex Admin")
        break
    # A swap prepared from the dashboard's expiring list: the soonest-expiring facility stock of
    # one facility, as a draft return and a draft stocking order of fresh units for review.
    from events.services import swap_expiring_create

    soonest = (Device.objects.filter(organization=org, status=DeviceStatus.FACILITY_STOCK)
               .select_related("product__product_line").order_by("expiration_date", "pk").first())
    if soonest:
        units = list(Device.objects.filter(
            organization=org, status=DeviceStatus.FACILITY_STOCK, facility=soonest.facility,
            product__product_line__manufacturer=soonest.product.product_line.manufacturer,
        ).order_by("expiration_date", "pk")[:2])
        swap_expiring_create(actor=admin, devices=units)
    # A draft case waiting for its devices.
    line = lines[0]
    event_create(
        actor=users["rep1"], event_type="case", name="Case (draft) – tomorrow's spine fusion",
        date=today + datetime.timedelta(days=1), facility=facilities[0],
        representative=users["rep1"], manufacturer=line.manufacturer, product_line=line,
        surgeon=surgeons[0],
    )
    # A draft that was called off: cancelled, kept in the list.
    from events.services import event_cancel

    postponed = event_create(
        actor=users["rep2"], event_type="case", name="Case (cancelled) – postponed hip revision",
        date=today - datetime.timedelta(days=3), facility=facilities[1],
        representative=users["rep2"], manufacturer=line.manufacturer, product_line=line,
        surgeon=surgeons[1],
    )
    event_cancel(actor=users["rep2"], event=postponed, reason="Surgery postponed by the surgeon.")
    # One damaged device removed by a stock adjustment.
    damaged = Device.objects.filter(organization=org, custodian=users["warehouse"],
                                    status=DeviceStatus.AVAILABLE,
                                    pending_transfer__isnull=True).first()
    if damaged:
        stock_adjustment_create(
            actor=admin, reason="damaged", note="Packaging torn on arrival.",
            lines=[AdjustmentLine(device=damaged, effect="remove")],
        )


def seed_kits(base: dict) -> None:
    """Two kit templates and four kits: PSS-001 complete at rep1's, PSS-002 loaned to the
    first facility and overdue, PSS-003 short after a case used two of its units (checked in),
    CAGE-001 at rep2's. Made through the services, with units received for them."""
    from billing.submit import event_submit_for_billing
    from events.loan_services import kit_check_in, loan_create
    from events.services import event_add_devices, event_create
    from inventory.kit_services import kit_create, kit_template_create
    from inventory.models import KitTemplate
    from inventory.services import devices_receive

    org, users, facilities = base["org"], base["users"], base["facilities"]
    if KitTemplate.objects.filter(organization=org).exists():
        return
    admin, today = users["admin"], timezone.localdate()
    screws = ProductLine.objects.get(organization=org, name="Spine – Pedicle Screws")
    cages = ProductLine.objects.get(organization=org, name="Spine – Interbody Cages")
    screw_items = [(p, q) for p, q in zip(screws.products.order_by("reference")[:3], (4, 4, 2),
                                         strict=False)]
    cage_items = [(p, 2) for p in cages.products.order_by("reference")[:2]]
    pss = kit_template_create(actor=admin, name="Pedicle Screw Set 5.5", product_line=screws,
                              items=screw_items)
    cage = kit_template_create(actor=admin, name="Interbody Cage Set", product_line=cages,
                               items=cage_items)
    serial = [0]

    def units(template, custodian):
        received = []
        for item in template.items.select_related("product"):
            serials = []
            for _ in range(item.quantity):
                serial[0] += 1
                serials.append(f"KT{serial[0]:05d}")
            received += devices_receive(
                actor=admin, product=item.product, lot=f"KLOT-{item.product.reference}",
                expiration_date=today + datetime.timedelta(days=400 + 30 * serial[0] % 200),
                serials=serials, custodian=custodian)
        return received

    rep1, rep2 = users["rep1"], users["rep2"]
    kit_create(actor=admin, template=pss, tag="PSS-001", custodian=rep1, devices=units(pss, rep1))
    overdue = kit_create(actor=admin, template=pss, tag="PSS-002", custodian=rep1,
                         devices=units(pss, rep1))
    loan_create(actor=rep1, kits=[overdue], facility=facilities[0], representative=rep1,
                date=today - datetime.timedelta(days=6), due_back=today - datetime.timedelta(2),
                name=f"Loan – {facilities[0].name[:30]} (overdue)",
                today=today - datetime.timedelta(days=6))
    short = kit_create(actor=admin, template=pss, tag="PSS-003", custodian=rep2,
                       devices=units(pss, rep2))
    loan = loan_create(actor=rep2, kits=[short], facility=facilities[1], representative=rep2,
                       date=today - datetime.timedelta(days=3), due_back=today,
                       today=today - datetime.timedelta(days=3))
    members = list(Device.objects.filter(kit=short).order_by("product__reference", "pk"))
    case = event_create(
        actor=rep2, event_type="case", name="Case – L4-L5 fusion (kit PSS-003)",
        date=loan.date, facility=facilities[1], representative=rep2,
        manufacturer=screws.manufacturer, product_line=screws, patient_id="PT-K-3003",
        surgeon="Dr. Ben Carter",
    )
    event_add_devices(actor=rep2, event=case, devices=members[:2])
    event_submit_for_billing(actor=rep2, event=case, signature_name="Sam Ortiz")
    _as_of_event_date(case)
    kit_check_in(actor=rep2, kit=short, present=members[2:])
    kit_create(actor=admin, template=cage, tag="CAGE-001", custodian=rep2,
               devices=units(cage, rep2))


def seed_recall(base: dict) -> None:
    """One open recall, R-DEMO-001: the lot with the most active units outside kits, spread over
    reps, the warehouse and facilities — quarantined, one letter per facility, none sent or
    acknowledged yet. Made through the services."""
    from inventory.models import Recall
    from recalls.services import recall_start

    org, admin = base["org"], base["users"]["admin"]
    if Recall.objects.filter(organization=org).exists():
        return
    rows = list(
        Device.objects.filter(organization=org, status__in=["available", "facility_stock"],
                              kit__isnull=True, pending_transfer__isnull=True)
        .exclude(lot__startswith="KLOT-")
        .values("lot", "product__product_line__manufacturer")
        .annotate(n=Count("pk"), facilities=Count("facility", distinct=True),
                  held=Count("pk", filter=Q(status="available")))
        .order_by("-facilities", "-n", "lot")[:50]
    )
    if not rows:
        return
    # A lot both at facilities and in someone's custody, when one is among them: the recall
    # page then shows every kind of holder (which lot that is depends on the random data).
    row = next((r for r in rows if r["facilities"] and r["held"]), rows[0])
    from inventory.models import Manufacturer

    recall_start(
        actor=admin, manufacturer=Manufacturer.objects.get(
            pk=row["product__product_line__manufacturer"]),
        reference="R-DEMO-001", recall_class="II", action="return", scope="lots",
        lots=[row["lot"]],
        reason="The manufacturer found that the thread of this lot may strip under insertion "
               "torque. Stop using the lot and return every unit.",
    )


def _as_of_event_date(event) -> None:
    """Demo history: date the submission, sales order and commission credits on the event's
    date (late afternoon), as if it had been submitted then, so a statement for this month
    lists this month's sales (the dashboard's credit summary moves with its credits). The
    movement ledger keeps its real, append-only times."""
    from billing.models import SalesOrder
    from commissions.models import CommissionCredit, CommissionCreditSummary
    from events.models import Event

    at = timezone.make_aware(datetime.datetime.combine(event.date, datetime.time(17, 0)))
    at = min(at, timezone.now())
    Event.objects.filter(pk=event.pk).update(submitted_at=at)
    SalesOrder.objects.filter(event=event).update(issued_at=at)
    CommissionCredit.objects.filter(event=event).update(created_at=at)
    CommissionCreditSummary.objects.filter(event=event).update(created_at=at)


SURGEONS = ["Dr. Maria Lopez", "Dr. James Okafor", "Dr. Priya Natarajan", "Dr. Ethan Brooks"]
PROCEDURES = ["Lumbar fusion L4-L5", "ACDF C5-C6", "TLIF", "Pedicle screw revision"]


def seed_schedule(base: dict) -> None:
    """Scheduled cases for the coming week (issue 25): surgeons and procedures in the
    directories, cases of each rep with a time, inventory requests (one open in the admins'
    queue, one partly sent with the rest refused)."""
    from consignment.services import surgeon_create
    from events.models import Event
    from events.request_services import inventory_request_answer, inventory_request_create
    from events.schedule_services import case_schedule, procedure_create

    org, users, facilities = base["org"], base["users"], base["facilities"]
    if Event.objects.filter(organization=org, scheduled_at__isnull=False).exists():
        return
    admin = users["admin"]
    surgeons = [surgeon_create(actor=admin, facility=facilities[i % len(facilities)], name=name)
                for i, name in enumerate(SURGEONS)]
    procedures = [procedure_create(actor=admin, name=name) for name in PROCEDURES]
    today = timezone.localdate()
    cases = []
    for n in range(6):
        rep = users[f"rep{n % 3 + 1}"]
        surgeon = surgeons[n % len(surgeons)]
        facility = surgeon.facilities.first()
        product = base["products"][n % len(base["products"])]
        line = product.product_line
        when = timezone.make_aware(datetime.datetime.combine(
            today + datetime.timedelta(days=1 + n % 5), datetime.time(7 + n % 4, 30)))
        cases.append((case_schedule(
            actor=admin, name=f"{procedures[n % 4].name} – {surgeon.name.split()[-1]}",
            scheduled_at=when, facility=facility, representative=rep,
            manufacturer=line.manufacturer, product_line=line, physician=surgeon,
            procedure=procedures[n % 4],
        ), product))
    (first, product), (second, other) = cases[0], cases[1]
    inventory_request_create(actor=first.representative, event=first,
                             quantities=[(product, 2)], note="Two sizes up, just in case")
    answered = inventory_request_create(actor=second.representative, event=second,
                                        quantities=[(other, 3)])
    spare = list(Device.objects.filter(
        organization=org, product=other, status=DeviceStatus.AVAILABLE, kit__isnull=True,
        pending_transfer__isnull=True, custodian=users["warehouse"],
        expiration_date__gte=second.date,
    ).order_by("-expiration_date", "pk")[:1])
    inventory_request_answer(actor=admin, request=answered, devices=spare,
                             refusal_reason="Back-ordered until next week")


def seed(*, devices: int = 5000, progress: bool = True, stdout=None) -> list[str]:
    from events.models import Event

    base = seed_organisation_base(progress=progress)
    org = base["org"]
    with transaction.atomic():
        seed_devices(base, devices=devices, progress=progress)
    with transaction.atomic():
        seed_events(base, progress=progress)
    with transaction.atomic():
        seed_kits(base)
    with transaction.atomic():
        seed_recall(base)
        contract_notes = seed_contracts(base, backdate=_as_of_event_date)
        seed_schedule(base)
    by_status = dict(
        Device.objects.filter(organization=org).values_list("status").annotate(Count("pk"))
    )
    return [
        f"{org.name}: {len(base['products'])} products, {len(base['facilities'])} facilities, "
        f"{org.users.count()} users",
        "devices: " + ", ".join(f"{count} {status}" for status, count in sorted(by_status.items())),
        f"events: {Event.objects.filter(organization=org).count()}",
        *contract_notes,
    ]
