"""The demo data set behind ``manage.py seed_demo``."""

from __future__ import annotations

import random
from decimal import Decimal

from django.db import transaction
from tqdm import tqdm

from accounts.models import Organization, User
from consignment.models import Facility, FacilityContact, ParLevel
from inventory.models import Manufacturer, Product, ProductLine
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
    ("warehouse", "Central", "Warehouse", User.Role.REP),
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
                    "gtin": make_gtin(f"0{7640123000000 + counter:012d}"[-13:]),
                    "description": f"{family}, {size}",
                    "unit_price": Decimal(price),
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
    return {"org": org, "users": users, "products": products, "facilities": facilities}


def seed(*, devices: int = 5000, progress: bool = True, stdout=None) -> list[str]:
    base = seed_organisation_base(progress=progress)
    org = base["org"]
    return [
        f"{org.name}: {len(base['products'])} products, {len(base['facilities'])} facilities, "
        f"{org.users.count()} users",
    ]
