"""The soak run behind ``scripts/soak``: the production topology under mixed load for N minutes.

Starts ``scripts/serve-prod`` (nginx, two gunicorn instances, the worker, pgbouncer) on the
database named by DATABASE_URL (its owner: the run migrates it, seeds the demo data if the demo
organisation is missing, and adds its own devices and draft stocking orders, so use a database
made for the run), then runs several HTTP clients through nginx for ``--minutes``:

- reps (rep1, rep2, rep3): open a draft, Mark Used (two devices, one POST each), Submit For
  Billing, open the event, download the sales order PDF; between rounds, their event list;
- browsers (manager, admin): the lists: Home, All Inventory (pages, a search), Events, the
  billing queue, the Facility Stock dashboard;
- an exporter (admin): the All Inventory CSV export, read to its end, then a pause.

Every minute it samples the resident memory (RSS) of each gunicorn worker process, each
instance's master and the background worker, and prints per minute: requests, errors, p50 and
p95 (ms). At the end: totals, the memory growth of each process kind from the end of the warm-up
to the end (gunicorn recycles a worker after ``max_requests``: a recycled worker starts small, so
the figure is the largest worker's RSS), and the load average at start and end. ``--json FILE``
writes the same as data (tests/prod/test_soak.py reads it).

An error is any answer other than the one expected (a 5xx, a 4xx, a login page instead of the
page, a PDF that is not a PDF) or a request that failed (connection refused, time-out). Every
request loop is bounded by the run's deadline; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")
DEMO_PASSWORD = "fieldstock-demo"  # demo/seed.py
PAGE_SIZE = 4096


# --- what the clients record -------------------------------------------------------------------


@dataclass
class Sample:
    at: float  # seconds since the start of the load
    kind: str
    ms: float
    ok: bool
    detail: str = ""


@dataclass
class Record:
    start: float = field(default_factory=time.monotonic)
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, began: float, ok: bool, detail: str = "") -> None:
        now = time.monotonic()
        with self.lock:
            self.samples.append(Sample(began - self.start, kind, (now - began) * 1000, ok, detail))


def timed(record: Record, session: requests.Session, kind: str, method: str, url: str,
          expect=(200,), check=None, **kwargs) -> requests.Response | None:
    began = time.monotonic()
    try:
        response = session.request(method, url, timeout=120, allow_redirects=False, **kwargs)
        if kind == "csv export":  # streamed: the time is the whole download
            size = sum(len(chunk) for chunk in response.iter_content(65536))
            response._soak_size = size  # noqa: SLF001
    except requests.RequestException as error:
        record.add(kind, began, False, f"{method} {url}: {error!r}"[:300])
        return None
    ok = response.status_code in expect and (check is None or check(response))
    detail = "" if ok else f"{method} {url}: {response.status_code} {response.text[:200]!r}"
    record.add(kind, began, ok, detail)
    return response


def log_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=120)
    page.raise_for_status()
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": DEMO_PASSWORD,
              "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{base}/accounts/login/"}, timeout=120, allow_redirects=False,
    )
    if response.status_code != 302:
        raise SystemExit(f"soak: {username} could not log in ({response.status_code})")
    session.get(f"{base}/", timeout=120)
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    session.headers["Referer"] = f"{base}/events/"
    return session


def is_pdf(response: requests.Response) -> bool:
    return response.content[:5] == b"%PDF-"


def is_page(response: requests.Response) -> bool:
    return "</html>" in response.text and 'name="password"' not in response.text


def rep_client(base: str, username: str, work: list[tuple[int, list[int]]], record: Record,
               deadline: float, think: float, submitted: list[int], pace: float) -> None:
    """A rep: a round (open a draft, Mark Used, submit, the PDF) every ``pace`` seconds, so the
    drafts last the whole run whatever the machine's speed; the events list between rounds."""
    session = log_in(base, username)
    next_round = time.monotonic()
    while time.monotonic() < deadline:
        if work and time.monotonic() >= next_round:
            next_round += pace
            event, devices = work.pop()
            detail = f"{base}/events/{event}/"
            timed(record, session, "event page", "GET", detail, check=is_page)
            for device in devices:
                timed(record, session, "mark used", "POST", f"{detail}add/",
                      data={"device": device}, headers={"HX-Request": "true"},
                      check=lambda r: "Added" in r.text)
            response = timed(record, session, "submit", "POST", f"{detail}submit/",
                             data={"signature_name": "Soak Rep", "attest": "on"}, expect=(302,))
            if response is not None and response.status_code == 302:
                submitted.append(event)
                timed(record, session, "event page", "GET", f"{detail}?tab=billing",
                      check=is_page)
                timed(record, session, "pdf", "GET", f"{detail}billing/sales-order.pdf",
                      check=is_pdf)
        timed(record, session, "list", "GET", f"{base}/events/", check=is_page)
        time.sleep(think)


BROWSE = [
    "/", "/inventory/", "/inventory/?page=3", "/inventory/?serial=SOAK", "/events/",
    "/events/billing/", "/reports/", "/inventory/?status=facility_stock",
]


def browse_client(base: str, username: str, record: Record, deadline: float,
                  think: float, offset: int) -> None:
    session = log_in(base, username)
    n = offset
    while time.monotonic() < deadline:
        path = BROWSE[n % len(BROWSE)]
        n += 1
        timed(record, session, "list", "GET", f"{base}{path}", check=is_page)
        time.sleep(think)


def export_client(base: str, username: str, record: Record, deadline: float,
                  pause: float) -> None:
    session = log_in(base, username)
    while time.monotonic() < deadline:
        timed(record, session, "csv export", "GET", f"{base}/inventory/export.csv",
              check=lambda r: r.headers.get("Content-Type", "").startswith("text/csv")
              and getattr(r, "_soak_size", 0) > 100)
        time.sleep(pause)


# --- memory -------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            found.extend(int(p) for p in text)
    except OSError:
        pass
    return found


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        for child in children(todo.pop()):
            out.append(child)
            todo.append(child)
    return out


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def memory(serve_prod_pid: int, run_dir: Path) -> dict:
    """RSS (KiB) of each gunicorn worker (by instance), each master, and the task worker."""
    out = {"gunicorn_workers": {}, "gunicorn_masters": {}, "task_worker": 0}
    for i in (1, 2):
        try:
            master = int((run_dir / f"app{i}.pid").read_text())
        except (OSError, ValueError):
            continue
        out["gunicorn_masters"][f"app{i}"] = rss_kb(master)
        out["gunicorn_workers"][f"app{i}"] = {pid: rss_kb(pid) for pid in children(master)}
    for pid in descendants(serve_prod_pid):
        if "db_worker" in cmdline(pid):
            out["task_worker"] = max(out["task_worker"], rss_kb(pid))
    return out


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- the run ------------------------------------------------------------------------------------


def prepare(env: dict, reps: list[str], rounds: int, per_round: int) -> dict[str, list]:
    """Migrate, seed the demo organisation if missing, then give each rep ``rounds`` draft
    stocking orders and ``rounds * per_round`` devices of their own (through the services)."""
    for args in (["migrate", "--no-input", "-v", "0"],):
        subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import datetime

    from django.utils import timezone

    from accounts.models import User
    from events.services import event_create
    from inventory.models import Product
    from inventory.services import devices_receive

    if not User.objects.filter(username="rep1").exists():  # seed_demo runs with DEBUG on only
        subprocess.run([PY, "manage.py", "seed_demo"], cwd=ROOT, env=dict(env, DEBUG="1"),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    admin = User.objects.get(username="admin")
    org = admin.organization
    product = (Product.objects.filter(organization=org, product_line__isnull=False)
               .select_related("product_line__manufacturer").order_by("pk").first())
    from consignment.models import Facility

    facility = Facility.objects.filter(organization=org).order_by("pk").first()
    today = timezone.localdate()
    run = uuid.uuid4().hex[:6].upper()
    work: dict[str, list] = {}
    for username in reps:
        rep = User.objects.get(username=username)
        devices = devices_receive(
            actor=admin, product=product, lot=f"SOAK-{run}",
            expiration_date=today + datetime.timedelta(days=400),
            serials=[f"SOAK{run}{username}{i:05d}" for i in range(rounds * per_round)],
            custodian=rep,
        )
        items = []
        for i in range(rounds):
            event = event_create(
                actor=admin, event_type="stocking_order", name=f"Soak {run} {username} {i}",
                date=today, facility=facility, representative=rep,
                manufacturer=product.product_line.manufacturer, product_line=product.product_line,
            )
            items.append((event.pk, [d.pk for d in devices[i * per_round:(i + 1) * per_round]]))
        items.reverse()  # the clients pop from the end: the first made goes first
        work[username] = items
    from django.db import connections

    connections.close_all()
    return work


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summarise(record: Record, mem: list[dict], minutes: float, warmup: float,
              period: float) -> dict:
    buckets = int(minutes * 60 // period) + (1 if (minutes * 60) % period else 0)
    rows = []
    for b in range(buckets):
        inside = [s for s in record.samples if b * period <= s.at < (b + 1) * period]
        ms = [s.ms for s in inside]
        rows.append({
            "minute": b + 1, "requests": len(inside), "errors": sum(not s.ok for s in inside),
            "p50_ms": round(percentile(ms, 50)), "p95_ms": round(percentile(ms, 95)),
        })
    by_kind = {}
    for kind in sorted({s.kind for s in record.samples}):
        ms = [s.ms for s in record.samples if s.kind == kind]
        by_kind[kind] = {"requests": len(ms), "p50_ms": round(statistics.median(ms)),
                         "p95_ms": round(percentile(ms, 95)),
                         "errors": sum(not s.ok for s in record.samples if s.kind == kind)}

    def series(sample: dict) -> dict:
        workers = [kb for inst in sample["gunicorn_workers"].values() for kb in inst.values()]
        return {"max_gunicorn_worker_kb": max(workers, default=0),
                "sum_gunicorn_workers_kb": sum(workers),
                "task_worker_kb": sample["task_worker"],
                "worker_pids": sorted(pid for inst in sample["gunicorn_workers"].values()
                                      for pid in inst)}

    points = [dict(series(m), at=m["at"]) for m in mem]
    after = [p for p in points if p["at"] >= warmup * 60]
    growth = {}
    if len(after) >= 2:
        first, last = after[0], after[-1]
        for key in ("max_gunicorn_worker_kb", "sum_gunicorn_workers_kb", "task_worker_kb"):
            growth[key] = round(100 * (last[key] - first[key]) / first[key], 1) if first[key] else 0
        # The same worker processes at both ends (none recycled in between): their own growth.
        growth["recycled_workers"] = len(set(first["worker_pids"]) - set(last["worker_pids"]))
    errors = [s.detail for s in record.samples if not s.ok]
    return {
        "minutes": minutes, "warmup_minutes": warmup, "period": period,
        "requests": len(record.samples), "errors": len(errors), "error_examples": errors[:10],
        "per_minute": rows, "by_kind": by_kind, "memory": points, "growth_pct": growth,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=None,
                        help="minutes before memory growth is counted (default: 3, or a quarter "
                             "of a short run)")
    parser.add_argument("--reps", default="rep1,rep2,rep3")
    parser.add_argument("--browsers", default="manager,admin")
    parser.add_argument("--think", type=float, default=0.3, help="seconds between a client's "
                        "requests rounds")
    parser.add_argument("--export-pause", type=float, default=15)
    parser.add_argument("--period", type=float, default=60, help="seconds per sample row")
    parser.add_argument("--port", type=int, default=8500)
    parser.add_argument("--json", help="write the results here as JSON")
    args = parser.parse_args(argv)
    warmup = args.warmup if args.warmup is not None else min(3.0, args.minutes / 4)
    owner_url = os.environ.get("DATABASE_URL")
    if not owner_url or not owner_url.startswith("postgres"):
        print("soak: set DATABASE_URL to a PostgreSQL database made for the run (its owner)",
              file=sys.stderr)
        return 2
    reps = [r for r in args.reps.split(",") if r]
    browsers = [b for b in args.browsers.split(",") if b]
    run_dir = Path(os.environ.get("RUN_DIR") or tempfile.mkdtemp(prefix="fieldstock-soak."))
    run_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        # The device ledger is signed with a key derived from SECRET_KEY: the same key for every
        # run on the same database (a soak database is for soak runs only).
        DEBUG="0", SECRET_KEY=env.get("SECRET_KEY")
        or hashlib.sha256(f"fieldstock-soak {owner_url}".encode()).hexdigest(),
        ALLOWED_HOSTS="127.0.0.1,localhost", SECURE_SSL_REDIRECT="0", SECURE_COOKIES="0",
        DOCUMENT_STORAGE="database", TASKS_BACKEND="database", RUN_DIR=str(run_dir),
        PORT=str(args.port), APP_PORTS=env.get("APP_PORTS") or f"{args.port + 1} {args.port + 2}",
        PGBOUNCER_PORT=env.get("PGBOUNCER_PORT") or str(args.port + 3),
        LOG_LEVEL=env.get("LOG_LEVEL") or "WARNING", DJANGO_SETTINGS_MODULE="config.settings",
    )
    # A rep's round (open, Mark Used twice, submit, the PDF) every 5 s (rep_client paces it): 12
    # drafts a minute last the run. Unpaced, a quiet machine used them up in four minutes and
    # the reps only browsed for the rest.
    rounds = max(10, int(args.minutes * 12))
    print(f"# soak: {args.minutes:g} min, reps {reps}, browsers {browsers}, 1 exporter; "
          f"{os.cpu_count()} cores; load {loadavg()}", flush=True)
    started = time.monotonic()
    work = prepare(env, reps, rounds, per_round=2)
    print(f"# prepared {rounds} drafts and {rounds * 2} devices per rep in "
          f"{time.monotonic() - started:.0f} s; starting serve-prod (logs in {run_dir})",
          flush=True)
    serve = subprocess.Popen([str(ROOT / "scripts" / "serve-prod")], cwd=ROOT, env=env,
                             stdout=(run_dir / "serve-prod.log").open("wb"),
                             stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{args.port}"
    try:
        ready = time.monotonic() + 600
        while True:
            if serve.poll() is not None:
                print((run_dir / "serve-prod.log").read_text()[-4000:], file=sys.stderr)
                return 1
            if "serve-prod: ready" in (run_dir / "serve-prod.log").read_text():
                break
            if time.monotonic() > ready:
                print("soak: serve-prod was not ready in 600 s", file=sys.stderr)
                return 1
            time.sleep(1)
        return run_load(args, warmup, base, serve.pid, run_dir, reps, browsers, work)
    finally:
        serve.send_signal(signal.SIGTERM)  # serve-prod stops nginx, the instances, the worker
        try:
            serve.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()


def run_load(args, warmup, base, serve_pid, run_dir, reps, browsers, work) -> int:
    record = Record()
    deadline = record.start + args.minutes * 60
    submitted: list[int] = []
    load_start = loadavg()
    pace = args.minutes * 60 / max(1, len(next(iter(work.values()), [])))
    threads = [threading.Thread(target=rep_client, args=(base, r, work[r], record, deadline,
                                                         args.think, submitted, pace))
               for r in reps]
    threads += [threading.Thread(target=browse_client, args=(base, b, record, deadline,
                                                             args.think, i))
                for i, b in enumerate(browsers)]
    threads.append(threading.Thread(target=export_client, args=(base, "admin", record, deadline,
                                                                args.export_pause)))
    failures: list[BaseException] = []

    def guarded(thread: threading.Thread) -> threading.Thread:
        target = thread._target  # noqa: SLF001

        def run(*a):
            try:
                target(*a)
            except BaseException as error:  # a client that died is an error of the run
                failures.append(error)
        return threading.Thread(target=run, args=thread._args, daemon=True)  # noqa: SLF001

    threads = [guarded(t) for t in threads]
    for t in threads:
        t.start()
    mem = []
    next_sample = record.start
    while time.monotonic() < deadline:
        if time.monotonic() >= next_sample:
            sample = memory(serve_pid, run_dir)
            sample["at"] = time.monotonic() - record.start
            mem.append(sample)
            next_sample += args.period
            done = [s for s in record.samples if s.at < sample["at"]]
            print(f"  t={sample['at']:6.0f} s  requests {len(done):6d}  errors "
                  f"{sum(not s.ok for s in done)}  load {loadavg()}", flush=True)
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    for t in threads:
        t.join(timeout=180)
    sample = memory(serve_pid, run_dir)
    sample["at"] = time.monotonic() - record.start
    mem.append(sample)
    result = summarise(record, mem, args.minutes, warmup, args.period)
    result.update(load_start=load_start, load_end=loadavg(), submitted=len(submitted),
                  client_failures=[repr(f) for f in failures], cores=os.cpu_count())
    result["errors"] += len(failures)
    print_result(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0 if result["errors"] == 0 else 1


def print_result(r: dict) -> None:
    print(f"\n# {r['minutes']:g} min, {r['cores']} cores, load {r['load_start']} -> "
          f"{r['load_end']}; {r['requests']} requests, {r['errors']} errors, "
          f"{r['submitted']} submits")
    print("\n| from s | requests | errors | p50 ms | p95 ms | max worker RSS MiB | "
          "task worker RSS MiB |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in r["per_minute"]:
        m = next((p for p in r["memory"] if p["at"] >= row["minute"] * r["period"] - 5), None)
        mw = f"{m['max_gunicorn_worker_kb'] / 1024:.0f}" if m else ""
        tw = f"{m['task_worker_kb'] / 1024:.0f}" if m else ""
        start = (row["minute"] - 1) * r["period"]
        print(f"| {start:.0f} | {row['requests']} | {row['errors']} | {row['p50_ms']} | "
              f"{row['p95_ms']} | {mw} | {tw} |")
    print("\n| request | count | errors | p50 ms | p95 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for kind, k in r["by_kind"].items():
        print(f"| {kind} | {k['requests']} | {k['errors']} | {k['p50_ms']} | {k['p95_ms']} |")
    g = r["growth_pct"]
    print(f"\nmemory growth after the {r['warmup_minutes']:g}-min warm-up: largest gunicorn "
          f"worker {g.get('max_gunicorn_worker_kb')} %, all gunicorn workers "
          f"{g.get('sum_gunicorn_workers_kb')} %, task worker {g.get('task_worker_kb')} % "
          f"({g.get('recycled_workers')} workers recycled by max_requests meanwhile)")
    for example in r["error_examples"] + r["client_failures"]:
        print(f"error: {example}")


if __name__ == "__main__":
    sys.exit(main())
