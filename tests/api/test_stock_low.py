"""``stock.low``: a submission or a stock adjustment that takes a facility's stock of a product
below its par level announces it in its own transaction; the webhook delivers it, signed, to a
local receiver."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from standardwebhooks.webhooks import Webhook

from api.services import webhook_endpoint_create
from consignment.models import ParLevel
from core.models import OutboxMessage
from inventory.models import StockAdjustment, StockAdjustmentLine
from inventory.services import AdjustmentLine, stock_adjustment_create
from tests.api.test_webhooks import Receiver

pytestmark = pytest.mark.django_db


def par(world, minimum, facility=None):
    return ParLevel.objects.create(
        organization=world.org,
        facility=facility or world.st_marys,
        product=world.product,
        minimum=minimum,
    )


def use_facility_stock(world, devices):
    case = world.event("case", facility_stock_only=True)
    world.add(case, devices)
    return world.submit(case)


def stock_low_messages():
    return list(
        OutboxMessage.objects.filter(kind="stock.low")
        .order_by("id")
        .values_list("payload", flat=True)
    )


def test_a_case_taking_facility_stock_below_par_is_delivered_signed_once(
    world, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    stock = world.facility_stock(4)  # on hand 4, par 3
    par(world, 3)
    with Receiver([]) as receiver:
        endpoint = webhook_endpoint_create(actor=world.admin, url=receiver.url, kinds=["stock.low"])
        with django_capture_on_commit_callbacks(execute=True):
            use_facility_stock(world, stock[:1])  # 4 → 3: at par, not low
        assert receiver.requests == []
        with django_capture_on_commit_callbacks(execute=True):
            case = use_facility_stock(world, stock[1:2])  # 3 → 2: below par
        assert len(receiver.requests) == 1
        with django_capture_on_commit_callbacks(execute=True):
            use_facility_stock(world, stock[2:3])  # 2 → 1: still below, said already
        assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    verified = Webhook(endpoint.secret).verify(body, {k.lower(): v for k, v in headers.items()})
    assert verified["type"] == "stock.low"
    assert verified["data"] == {
        "facility": {"id": world.st_marys.pk, "name": world.st_marys.name},
        "product": {
            "id": world.product.pk,
            "reference": world.product.reference,
            "description": world.product.description,
        },
        "par": 3,
        "on_hand": 2,
        "shortfall": 1,
        "cause": {"event": case.pk},
    }
    assert json.loads(body) == verified


def test_an_adjustment_moving_or_removing_facility_stock_announces_the_facility_it_left(world):
    stock = world.facility_stock(2)  # at St. Mary's, par 2 there and at Mercy
    par(world, 2)
    par(world, 2, facility=world.mercy)
    adjustment = stock_adjustment_create(
        actor=world.admin,
        reason=StockAdjustment.Reason.FACILITY_CORRECTION,
        lines=[
            AdjustmentLine(
                device=stock[0],
                effect=StockAdjustmentLine.Effect.MOVE_TO_FACILITY,
                to_facility=world.mercy,
            )
        ],
    )
    [message] = stock_low_messages()
    assert message["facility"]["id"] == world.st_marys.pk  # Mercy gained one: 0 → 1, was below
    assert (message["on_hand"], message["cause"]) == (1, {"adjustment": adjustment.pk})
    # Removing the last unit at St. Mary's: already below par, nothing new.
    stock_adjustment_create(
        actor=world.admin,
        reason=StockAdjustment.Reason.LOST,
        lines=[AdjustmentLine(device=stock[1], effect=StockAdjustmentLine.Effect.REMOVE)],
    )
    assert len(stock_low_messages()) == 1


def test_a_move_and_a_restore_that_cancel_out_say_nothing(world):
    stock = world.facility_stock(3)
    par(world, 3)
    stock_adjustment_create(
        actor=world.admin,
        reason=StockAdjustment.Reason.LOST,
        lines=[AdjustmentLine(device=stock[0], effect=StockAdjustmentLine.Effect.REMOVE)],
    )
    messages = stock_low_messages()
    assert [m["on_hand"] for m in messages] == [2]
    # Found again while another unit leaves: on hand stays 2 (counting only the unit leaving
    # would say 3 → 2 and announce it again).
    stock_adjustment_create(
        actor=world.admin,
        reason=StockAdjustment.Reason.FACILITY_CORRECTION,
        lines=[
            AdjustmentLine(device=stock[0], effect=StockAdjustmentLine.Effect.RESTORE),
            AdjustmentLine(
                device=stock[1],
                effect=StockAdjustmentLine.Effect.MOVE_TO_FACILITY,
                to_facility=world.mercy,
            ),
        ],
    )
    assert len(stock_low_messages()) == 1


def test_a_refused_submission_announces_nothing(world):
    stock = world.facility_stock(1)
    par(world, 1)
    case = world.event("case", facility_stock_only=True, patient_id="")
    world.add(case, stock)
    with pytest.raises(ValidationError):
        world.submit(case)
    assert stock_low_messages() == []
    case.patient_id = "PT-2"
    case.save(update_fields=["patient_id"])
    world.submit(case)
    assert [m["on_hand"] for m in stock_low_messages()] == [0]


def test_a_return_taking_stock_below_par_announces_it(world):
    stock = world.facility_stock(2)
    par(world, 2)
    ret = world.event("return")
    world.add(ret, stock[:1])
    world.submit(ret)
    assert [(m["on_hand"], m["cause"]) for m in stock_low_messages()] == [(1, {"event": ret.pk})]
