"""Measure every list, detail, dashboard and report page and the hot actions on this database.

Meant for the ``seed_scale`` data set. In-process (Django's test client, no network): median and
p95 over ``--runs`` runs, query count, HTML size and, for list pages, the page's time as a ratio
to its own SQL run raw on the same connection in the same run. The actions (add device, submit
100 / 1,500 lines, CSV export) run inside a transaction that is rolled back: nothing is kept.
``--actions submit`` times only the submissions, ``--runs`` times each (e.g. before and after a
schema change, interleaved).

With ``--url http://127.0.0.1:8000`` it also load-tests a running server (gunicorn, DEBUG off):
``--clients`` concurrent clients on All Inventory for ``--seconds`` seconds, and All Inventory
requests made while a full CSV export downloads (does the export hold a worker?). Only
127.0.0.1 / localhost are accepted. Prints Markdown tables for docs/benchmarks.md.
"""

from __future__ import annotations

import base64
import datetime
import gc
import http.client
import logging
import statistics
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count, Q
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization, User
from events.models import Event, EventStatus, EventType
from inventory.models import Device, DeviceMovement, DeviceStatus, Kit, ProductLine, Recall


class Rollback(Exception):
    pass


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}" if seconds >= 0.01 else f"{seconds * 1000:.1f}"


class Command(BaseCommand):
    help = "Benchmark the pages and hot actions on this database (use the seed_scale data)."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=15, help="Timed runs per page.")
        parser.add_argument("--url", default="", help="A running server to load-test, e.g. "
                            "http://127.0.0.1:8000 (127.0.0.1 / localhost only).")
        parser.add_argument("--clients", type=int, default=10)
        parser.add_argument("--seconds", type=float, default=15.0)
        parser.add_argument("--skip-pages", action="store_true", help="Only the HTTP part.")
        parser.add_argument("--only", default="", help="Only pages whose name contains this; "
                            "no actions.")
        parser.add_argument("--actions", default="", help="Only the actions whose name contains "
                            "this (e.g. 'submit'), each timed --runs times; no pages, no CSV "
                            "export.")

    def handle(self, *args, runs: int, url: str, clients: int, seconds: float,
               skip_pages: bool, only: str, actions: str, **options):
        if url:
            host = urllib.parse.urlsplit(url).hostname
            if host not in ("127.0.0.1", "localhost"):
                raise CommandError("--url must point at 127.0.0.1 or localhost.")
        try:
            self.admin = User.objects.get(username="admin")
            self.rep = User.objects.get(username="rep1")
        except User.DoesNotExist as exc:
            raise CommandError("Run seed_demo / seed_scale first: no demo logins.") from exc
        self.runs = max(3, runs)
        logging.getLogger("axes").setLevel(logging.WARNING)  # a line per force_login otherwise
        self.only = only.lower()
        self.actions = actions.lower()
        self._shape()
        # As gunicorn.conf.py's post_worker_init does in each worker: what is loaded at start is
        # kept out of the garbage collector's full collections (shorter pauses).
        gc.collect()
        gc.freeze()
        if not skip_pages:
            with override_settings(ALLOWED_HOSTS=["testserver", *settings.ALLOWED_HOSTS]):
                if not self.actions:
                    self._pages()
                if not self.only:
                    self._actions()
        if url:
            self._http(url.rstrip("/"), clients, seconds)

    # --- the data set ---------------------------------------------------------------------------

    def _shape(self):
        org = self.admin.organization
        self.out("## Data set\n")
        self.out(f"- {Organization.objects.count()} organisations, "
                 f"{Device.objects.count():,} devices, "
                 f"{DeviceMovement.objects.count():,} ledger rows, "
                 f"{Event.objects.count():,} events")
        self.out(f"- largest organisation ({org.name}, the demo logins): "
                 f"{Device.objects.filter(organization=org).count():,} devices")
        self.out(f"- PostgreSQL: {connection.cursor().connection.info.server_version}")
        self.out("")

    def out(self, line: str = ""):
        self.stdout.write(line)

    # --- pages ----------------------------------------------------------------------------------

    def _measure(self, client: Client, path: str, *, raw: bool) -> dict:
        client.get(path, secure=True)  # warm up
        times, size, status = [], 0, 0
        for _ in range(self.runs):
            start = time.perf_counter()
            response = client.get(path, secure=True)
            body = (b"".join(response.streaming_content) if response.streaming
                    else response.content)
            times.append(time.perf_counter() - start)
            size, status = len(body), response.status_code
        with CaptureQueriesContext(connection) as queries:
            client.get(path, secure=True)
        result = {"median": statistics.median(times), "p95": _p95(times), "size": size,
                  "status": status, "queries": len(queries.captured_queries), "raw": None}
        if raw:
            result["raw"] = self._raw(queries)
        return result

    def _raw(self, queries: CaptureQueriesContext) -> float:
        """The median time of the captured SQL replayed raw (no ORM, no template) on the same
        connection."""
        sqls = [q["sql"] for q in queries.captured_queries
                if not q["sql"].startswith(("DECLARE", "CLOSE", "FETCH", "SAVEPOINT", "RELEASE"))]
        raw_times = []
        with connection.cursor() as cursor:
            for _ in range(self.runs):
                start = time.perf_counter()
                for sql in sqls:
                    cursor.execute(sql)
                    if cursor.description:
                        cursor.fetchall()
                raw_times.append(time.perf_counter() - start)
        return statistics.median(raw_times)

    def _orm_floor(self, pages: list[tuple[str, User, str]]):
        """All Inventory's data work alone: the filter bar, the count, the page's rows and the
        option lists, read through the ORM exactly as the view reads them (``device_table``;
        the option lists from the per-process cache under the organisation's version, as
        ``OptionsReaderMiddleware`` lets the page read them), without middleware, session or
        template. Its time over the same SQL run raw is the least the page's own ratio can be
        while it uses the ORM."""
        from django.forms import ModelChoiceField

        from core.options import reset_reader, set_reader
        from inventory.views import device_table

        factory = RequestFactory()

        def work(user, path):
            request = factory.get(path, secure=True)
            request.user = user
            token = set_reader(user)
            try:
                devices, table = device_table(request)
                table.page.paginator.count  # noqa: B018  (the count query, as the page shows)
                form = devices.form
                for field in form.fields.values():
                    if isinstance(field, ModelChoiceField):
                        list(form.option_labels(field.queryset,
                                                scope=getattr(field, "options_scope", None)))
            finally:
                reset_reader(token)

        self.out("### All Inventory's queries through the ORM, no HTML\n")
        self.out("| page | median ms | queries | raw SQL ms | ORM / raw SQL |")
        self.out("| --- | ---: | ---: | ---: | ---: |")
        for name, user, path in pages:
            work(user, path)  # warm up
            times = []
            for _ in range(self.runs):
                start = time.perf_counter()
                work(user, path)
                times.append(time.perf_counter() - start)
            with CaptureQueriesContext(connection) as queries:
                work(user, path)
            median, raw = statistics.median(times), self._raw(queries)
            self.out(f"| {name} | {_ms(median)} | {len(queries.captured_queries)} | {_ms(raw)} | "
                     f"{median / raw:.1f}× |")
        self.out("")

    def _pages(self):
        org = self.admin.organization
        admin, rep, manager = Client(), Client(), Client()
        admin.force_login(self.admin)
        rep.force_login(self.rep)
        manager.force_login(User.objects.filter(organization=org, role=User.Role.MANAGER)
                            .order_by("pk").first() or self.admin)
        available = (Device.objects.filter(organization=org, status=DeviceStatus.AVAILABLE)
                     .order_by("pk").values("serial", "lot", "product__product_line__manufacturer"))
        sample = available[5000:5001].first() or available.last()  # smaller data sets: the last
        consumed = Device.objects.filter(organization=org, status=DeviceStatus.CONSUMED).order_by(
            "-pk").first()
        big_event = (Event.objects.filter(organization=org).exclude(status=EventStatus.DRAFT)
                     .exclude(event_type=EventType.LOAN)  # a loan has its own page
                     .order_by("-pk").first())
        inv = reverse("inventory:device_list")
        # Kits (seed_scale builds them among the devices): the fullest one, and a loaned one.
        kits = Kit.objects.filter(organization=org).annotate(n=Count("devices"))
        kit = kits.order_by("-n", "pk").first()
        loaned = kits.filter(status=Kit.Status.LOANED).order_by("pk").first()
        # The recall with the most units, if any (open one on a copy: docs/benchmarks.md).
        recall = (Recall.objects.filter(organization=org).annotate(n=Count("units"))
                  .order_by("-n", "pk").first())
        year_ago = (timezone.localdate() - datetime.timedelta(days=365)).isoformat()
        ids = Device.objects.filter(organization=org).order_by("-id").values_list("id", flat=True)
        half_way = ids[ids.count() // 2]
        api_cursor = urllib.parse.quote(base64.b64encode(f"p={half_way}".encode()).decode())
        pages = [
            # Home's "Needs attention" counts (issue 23), per role.
            ("Home (rep1)", rep, reverse("home"), False),
            ("Home (admin)", admin, reverse("home"), False),
            ("Home (manager)", manager, reverse("home"), False),
            ("All Inventory", admin, inv, True),
            ("All Inventory, serial search", admin, f"{inv}?serial={sample['serial'][:-2]}", True),
            ("All Inventory, lot filter", admin, f"{inv}?lot={sample['lot'].lower()}", True),
            ("All Inventory, page 200", admin, f"{inv}?page=200", True),
            ("All Inventory, sort by serial, page 100", admin, f"{inv}?sort=serial&page=100",
             True),
            ("All Inventory, sort by custodian", admin, f"{inv}?sort=custodian", True),
            ("All Inventory, sort by reference desc", admin, f"{inv}?sort=-reference", True),
            ("All Inventory, facility stock + deactivated", admin,
             f"{inv}?status=facility_stock&show_deactivated=on", True),
            ("All Inventory, `?per_page=5000` (capped at 200)", admin, f"{inv}?per_page=5000",
             True),
            ("All Inventory (rep1)", rep, inv, True),
            ("Device page", admin, reverse("inventory:device_detail", args=[consumed.pk]),
             False),
            ("Events list", admin, reverse("events:list"), True),
            ("Event page", admin, reverse("events:detail", args=[big_event.pk]), False),
            ("Billing queue", admin, reverse("billing:queue"), True),
            ("Pending PO", admin, reverse("billing:pending_po"), True),
            ("Contracts", admin, reverse("contracts:list"), False),
            ("Transfers", admin, reverse("inventory:transfer_list"), True),
            ("Stock adjustments", admin, reverse("inventory:adjustment_list"), True),
            ("Recall trace (one lot)", admin,
             f"{reverse('inventory:recall_trace')}?lot={sample['lot']}"
             f"&manufacturer={sample['product__product_line__manufacturer']}", True),
            ("Facility Stock dashboard", admin, reverse("reporting:index"), False),
            *([("Recalls", admin, reverse("recalls:list"), False),
               ("Recall page", admin, reverse("recalls:detail", args=[recall.pk]), False)]
              if recall else []),
            *([("Kits", admin, reverse("inventory:kit_list"), False),
               ("Kit page", admin, reverse("inventory:kit_detail", args=[kit.pk]), False),
               ("Kit utilisation", admin, reverse("events:kit_utilisation"), False)]
              if kit else []),
            *([("Kit check-in", admin, reverse("events:kit_check_in",
                                               args=[loaned.loan_id, loaned.pk]), False)]
              if loaned else []),
            # The API's device list (keyset paging): page 1, a page deep in the list (a cursor
            # half-way down the organisation's ids, as DRF encodes it) and a rep's.
            ("API devices", admin, "/api/v1/devices/", False),
            ("API devices, a cursor half-way down", admin,
             f"/api/v1/devices/?cursor={api_cursor}", False),
            ("API devices (rep1)", rep, "/api/v1/devices/", False),
            ("Sales report", admin, reverse("reporting:sales"), False),
            ("Usage report", admin, reverse("reporting:usage"), False),
            ("Contracts & overrides report", admin, reverse("reporting:contracts"), False),
            ("Replenishment", admin, reverse("reporting:replenishment"), False),
            ("Commission statement, 12 months (rep1)", admin,
             f"{reverse('commissions:statement')}?rep={self.rep.pk}"
             f"&date_from={year_ago}", False),
        ]
        self.out(f"## Pages (in-process, {self.runs} runs each, single client)\n")
        # The machine's yardstick: the login page (no query, one small template), measured in
        # every run so that runs on different machines compare as multiples of it.
        yardstick = self._measure(Client(), reverse("login"), raw=False)
        self.out(f"Yardstick (the login page, signed out): median {_ms(yardstick['median'])} ms, "
                 f"p95 {_ms(yardstick['p95'])} ms; \"× yardstick\" is a page's median over "
                 "the yardstick's.\n")
        self.out("| page | median ms | p95 ms | × yardstick | queries | HTML KB | raw SQL ms | "
                 "page / raw SQL |")
        self.out("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, client, path, raw in pages:
            if self.only and self.only not in name.lower():
                continue
            r = self._measure(client, path, raw=raw)
            ratio = f"{r['median'] / r['raw']:.1f}×" if r["raw"] else "—"
            raw_ms = _ms(r["raw"]) if r["raw"] is not None else "—"
            flag = "" if r["status"] == 200 else f" (HTTP {r['status']})"
            self.out(f"| {name}{flag} | {_ms(r['median'])} | {_ms(r['p95'])} | "
                     f"{r['median'] / yardstick['median']:.0f}× | {r['queries']} | "
                     f"{r['size'] / 1024:,.0f} | {raw_ms} | {ratio} |")
        self.out("")
        self._orm_floor([
            (name, self.rep if client is rep else self.admin, path)
            for name, client, path, _ in pages
            if name.startswith("All Inventory") and (not self.only or self.only in name.lower())
        ])

    # --- actions (rolled back) ------------------------------------------------------------------

    def _actions(self):
        import billing.services  # noqa: F401  (imported once, as in a running server)
        from billing.submit import event_submit_for_billing
        from events.services import event_add_devices, event_create

        org = self.admin.organization
        # The drafts' rep holds the devices (rule 1): the active rep with the most available
        # devices (the "warehouse" login is an admin, and event_create wants an active rep).
        warehouse = (
            User.objects.filter(organization=org, role=User.Role.REP, is_active=True)
            .annotate(held=Count("custody", filter=Q(custody__status=DeviceStatus.AVAILABLE)))
            .order_by("-held", "pk").first()
        )
        today = timezone.localdate()
        maker_id = (Device.objects.filter(organization=org, custodian=warehouse,
                                          status=DeviceStatus.AVAILABLE, kit__isnull=True)
                    .values_list("product__product_line__manufacturer_id", flat=True).first())
        line = ProductLine.objects.filter(organization=org, manufacturer_id=maker_id).first()
        facility = org.facilities.order_by("pk").first()
        candidates = list(
            Device.objects.filter(
                organization=org, custodian=warehouse, status=DeviceStatus.AVAILABLE,
                kit__isnull=True,
                pending_transfer__isnull=True, expiration_date__gte=today,
                product__product_line__manufacturer_id=maker_id,
            ).order_by("pk")[:1600]
        )
        rows = []

        def draft(name, rep=warehouse):
            return event_create(actor=self.admin, event_type="stocking_order", name=name,
                                date=today, facility=facility, representative=rep,
                                manufacturer=line.manufacturer, product_line=line)

        def timed(label, fn, repeat):
            if self.actions:
                if self.actions not in label.lower():
                    return
                # Comparing runs (e.g. before and after an index change) wants more than the
                # three runs the 1,500-line submission gets by default.
                repeat = self.runs
            times = []
            for _ in range(repeat):
                try:
                    with transaction.atomic():
                        times.append(fn())
                        raise Rollback
                except Rollback:
                    pass
            rows.append((label, statistics.median(times), _p95(times)))

        def add_one():
            event = draft("bench add")
            start = time.perf_counter()
            event_add_devices(actor=self.admin, event=event, devices=candidates[:1])
            return time.perf_counter() - start

        def submit(n):
            def run():
                event = draft(f"bench submit {n}")
                event_add_devices(actor=self.admin, event=event, devices=candidates[:n])
                # The foreign keys are deferred to COMMIT, which a rolled-back run never
                # reaches: checked as each statement runs instead, so the time includes them.
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                start = time.perf_counter()
                event_submit_for_billing(actor=self.admin, event=event,
                                         signature_name="Bench")
                return time.perf_counter() - start
            return run

        client = Client()
        client.force_login(self.rep)
        rep_device = Device.objects.filter(custodian=self.rep, status=DeviceStatus.AVAILABLE,
                                           kit__isnull=True,
                                           expiration_date__gte=today).select_related(
            "product__product_line__manufacturer").first()

        def mark_used_search():
            event = event_create(
                actor=self.rep, event_type="case", name="bench case", date=today,
                facility=facility, representative=self.rep,
                manufacturer=rep_device.product.product_line.manufacturer,
                product_line=rep_device.product.product_line)
            path = reverse("events:device_search", args=[event.pk])
            client.get(path, {"q": rep_device.serial[:4]}, secure=True)
            times = []
            for text in (rep_device.serial[:3], rep_device.serial[:6], rep_device.lot,
                         "screw", rep_device.serial):
                start = time.perf_counter()
                client.get(path, {"q": text}, secure=True)
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        admin_client = Client()
        admin_client.force_login(self.admin)
        with_serial = (Device.objects.filter(organization=org, serial__isnull=False)
                       .select_related("product").order_by("pk"))
        sample = with_serial[5000:5001].first() or with_serial.last()

        def adjustment_search():
            path = reverse("inventory:device_search")
            admin_client.get(path, {"q": sample.serial[:4]}, secure=True)
            times = []
            for text in (sample.serial[:3], sample.serial[:6], sample.lot, "screw",
                         sample.product.reference, sample.serial):
                start = time.perf_counter()
                admin_client.get(path, {"q": text}, secure=True)
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        timed("Add one device to a draft (service)", add_one, self.runs)
        timed("Mark Used search, per keystroke (rep1, HTTP in-process)", mark_used_search,
              max(3, self.runs // 3))
        timed("Stock adjustment device search, per keystroke (admin, HTTP in-process)",
              adjustment_search, max(3, self.runs // 3))
        for n, repeat in ((100, max(3, self.runs // 3)), (1500, 3)):
            if len(candidates) >= n:
                timed(f"Submit for billing, {n:,} lines (no PDF)", submit(n), repeat)
            else:
                self.out(f"Submit for billing, {n:,} lines: skipped, the busiest rep holds "
                         f"{len(candidates)} devices that fit one draft.\n")

        self.out("## Actions (rolled back; PDF rendering runs after commit, see bench_pdf)\n")
        self.out("| action | median ms | p95 ms |")
        self.out("| --- | ---: | ---: |")
        for label, median, p95 in rows:
            self.out(f"| {label} | {_ms(median)} | {_ms(p95)} |")
        if self.actions:
            self.out("")
            return

        # CSV export: the whole organisation, active and deactivated.
        admin = Client()
        admin.force_login(self.admin)
        start = time.perf_counter()
        response = admin.get(reverse("inventory:device_export") + "?show_deactivated=on",
                             secure=True)
        lines = size = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
            size += len(chunk)
        elapsed = time.perf_counter() - start
        self.out(f"| CSV export, {lines - 1:,} rows ({size / 1e6:.0f} MB), in-process | "
                 f"{_ms(elapsed)} | {(lines - 1) / elapsed:,.0f} rows/s |")
        # The CSV writing alone: the same rows fetched first, then written as the export does.
        from core.exports import csv_download
        from inventory import selectors
        from inventory.views import DEVICE_EXPORT_COLUMNS, DEVICE_EXPORT_FIELDS

        rows_fetched = list(selectors.device_list(user=self.admin).values_list(
            *DEVICE_EXPORT_FIELDS, named=True).iterator(chunk_size=10_000))
        start = time.perf_counter()
        for _chunk in csv_download("bench.csv", DEVICE_EXPORT_COLUMNS,
                                   rows_fetched).streaming_content:
            pass
        elapsed = time.perf_counter() - start
        self.out(f"| CSV writing alone, {len(rows_fetched):,} rows | {_ms(elapsed)} | "
                 f"{len(rows_fetched) / elapsed:,.0f} rows/s |")
        self.out("")

    # --- HTTP against a running server ----------------------------------------------------------

    def _cookie(self, user) -> str:
        engine = import_module(settings.SESSION_ENGINE)
        session = engine.SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]  # the model backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"

    def _get(self, url: str, cookie: str, timeout: float = 30) -> tuple[int, int]:
        request = urllib.request.Request(url, headers={"Cookie": cookie,
                                                       "X-Forwarded-Proto": "https"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, len(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, 0
        except OSError:
            return 599, 0

    def _http(self, base: str, clients: int, seconds: float):
        cookie = self._cookie(self.admin)
        inv = base + reverse("inventory:device_list")
        paths = [inv, inv + "?page=2", inv + "?page=50", inv + "?sort=serial",
                 inv + "?status=facility_stock", inv + "?page=200"]
        status, _ = self._get(inv, cookie)
        if status != 200:
            raise CommandError(f"{inv} answered {status}: is the server running on this "
                               "database (DEBUG off, ALLOWED_HOSTS=127.0.0.1, SECURE_COOKIES=0)?")
        target = urllib.parse.urlsplit(base)
        headers = {"Cookie": cookie, "X-Forwarded-Proto": "https"}
        paths = [urllib.parse.urlsplit(path)._replace(scheme="", netloc="").geturl()
                 for path in paths]
        lock = threading.Lock()
        latencies, errors = [], [0]
        deadline = time.monotonic() + seconds

        def worker(n):
            # One kept-alive connection per client, as a browser keeps one (gunicorn's
            # keepalive); a new connection after any error.
            i, connection = n, None
            while time.monotonic() < deadline:
                start = time.perf_counter()
                try:
                    if connection is None:
                        connection = http.client.HTTPConnection(target.hostname, target.port,
                                                                timeout=30)
                    connection.request("GET", paths[i % len(paths)], headers=headers)
                    response = connection.getresponse()
                    response.read()
                    code = response.status
                    if response.will_close:
                        connection.close()
                        connection = None
                except (OSError, http.client.HTTPException):
                    code = 599
                    if connection is not None:
                        connection.close()
                    connection = None
                took = time.perf_counter() - start
                with lock:
                    latencies.append(took)
                    if code != 200:
                        errors[0] += 1
                i += 1
            if connection is not None:
                connection.close()

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - started
        self.out(f"## HTTP load ({base}, {clients} clients, {seconds:.0f} s)\n")
        self.out("| test | requests | req/s | median ms | p95 ms | errors |")
        self.out("| --- | ---: | ---: | ---: | ---: | ---: |")
        self.out(f"| All Inventory, {clients} concurrent clients | {len(latencies)} | "
                 f"{len(latencies) / wall:.1f} | {_ms(statistics.median(latencies))} | "
                 f"{_ms(_p95(latencies))} | {errors[0]} |")

        # A full CSV export downloading while single requests come in.
        export_result = {}

        def export():
            start = time.perf_counter()
            export_result["status"], export_result["bytes"] = self._get(
                base + reverse("inventory:device_export") + "?show_deactivated=on", cookie,
                timeout=300)
            export_result["seconds"] = time.perf_counter() - start

        thread = threading.Thread(target=export)
        thread.start()
        time.sleep(0.5)
        during = []
        while thread.is_alive() and len(during) < 40:
            start = time.perf_counter()
            code, _ = self._get(inv, cookie)
            during.append((time.perf_counter() - start, code))
            time.sleep(0.05)
        thread.join()
        ok = [t for t, code in during if code == 200]
        self.out(f"| All Inventory while a CSV export downloads | {len(during)} | — | "
                 f"{_ms(statistics.median(ok)) if ok else '—'} | "
                 f"{_ms(_p95(ok)) if ok else '—'} | {len(during) - len(ok)} |")
        self.out(f"| CSV export over HTTP: {export_result.get('bytes', 0) / 1e6:.0f} MB, "
                 f"HTTP {export_result.get('status')} | 1 | — | "
                 f"{_ms(export_result.get('seconds', 0))} | — | "
                 f"{0 if export_result.get('status') == 200 else 1} |")
        self.out("")
