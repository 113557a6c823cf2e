"""Rendering PDFs does not grow the process (the task worker renders them all day).

WeasyPrint given no font configuration makes a new one per document (fontconfig scans the
system's fonts, Pango builds a font map) and that native memory is never all returned: ~240 KiB
a render here, invisible to tracemalloc, ~2 MiB a minute for the worker in the soak
(docs/benchmarks.md "Soak"). core.pdf keeps one font configuration per thread. The bound is
loose (a tenth of the growth seen before, over 120 renders): it catches a leak per render, not
noise in the allocator. No timing.
"""

from __future__ import annotations

import gc

from billing.documents import document_render
from tests.events.conftest import build_world

RENDERS = 120


def rss_mib() -> float:
    gc.collect()
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_rendering_a_document_many_times_keeps_memory_flat(db):
    world = build_world()
    order = world.stocking_order(world.devices(2)).sales_order
    for _ in range(10):  # warm-up: templates, fonts, the first font configuration
        assert document_render(order).startswith(b"%PDF")
    before = rss_mib()
    for _ in range(RENDERS):
        document_render(order)
    growth = rss_mib() - before
    # Before the fix: ~28 MiB over 120 renders (linear); after: within a MiB or two of zero.
    assert growth < 10, f"RSS grew {growth:.1f} MiB over {RENDERS} renders"
