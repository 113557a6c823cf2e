"""The path to sharding tenants (docs/scaling.md): a distributed PostgreSQL (Citus) spreads each
table by one column that every table, primary key, unique constraint and foreign key carries.
Here that column would be ``organization``. This test lists, from the models themselves, which
tables lack it and which unique keys leave it out, and fails when either list changes, so a new
table or key is a decision written down in docs/scaling.md, not an accident."""

from pathlib import Path

from django.apps import apps
from django.db import models

ROOT = Path(__file__).resolve().parents[2]
OURS = {
    "core",
    "accounts",
    "ops",
    "consignment",
    "inventory",
    "contracts",
    "events",
    "commissions",
    "billing",
    "recalls",
    "reporting",
    "api",
}

# Tables without an ``organization`` column, and why they can still be sharded (docs/scaling.md).
WITHOUT_ORGANIZATION = {
    "accounts.Organization": "the tenant itself: its id is the distribution value",
    "core.StoredFile": "documents: would take the organisation of the row that names them",
    "core.OutboxMessage": "has organization_id as a plain integer (no foreign key)",
    "ops.TaskOrigin": "operational, not tenant data: a local table",
    "inventory.StockAdjustmentLine": "child of StockAdjustment: would copy its organisation",
    "inventory.KitTemplateItem": "child of KitTemplate: would copy its organisation",
    "events.LoanExtension": "child of Event: would copy its organisation",
    "events.EventLine": "child of Event: would copy its organisation",
    "api.WebhookAttempt": "child of WebhookDelivery: would copy its organisation",
    "events.InventoryRequestLine": "child of InventoryRequest: would copy its organisation",
    "events.CalendarFeed": "one per user: would copy the user's organisation",
}
# Unique keys that leave the organisation out (Citus refuses them on a distributed table).
UNIQUE_WITHOUT_ORGANIZATION = {
    ("core.StoredFile", "name"),
    ("accounts.Organization", "name"),
    ("accounts.User", "username"),
    ("inventory.ProductLine", "product_line_name_unique"),
    ("inventory.Device", "device_serial_unique_per_product"),
    ("inventory.StockAdjustmentLine", "adjustment_line_device_once"),
    ("inventory.KitTemplateItem", "kit_template_item_product_once"),
    ("consignment.ParLevel", "par_level_unique"),
    ("events.EventLine", "event_line_device_once"),
    ("events.EventLine", "device_sold_once"),
    ("events.EventLine", "device_sale_used_or_returned_once"),
    ("events.EventLine", "device_used_once"),
    ("events.EventLineSummary", "event_line_summary_once"),
    ("commissions.CommissionCredit", "commission_credit_once"),
    ("commissions.CommissionCreditSummary", "credit_summary_once"),
    ("billing.SalesOrder", "event"),
    ("billing.PurchaseOrder", "event"),
    ("billing.Invoice", "event"),
    ("billing.CreditMemo", "event"),
    ("api.ApiToken", "prefix"),
    ("inventory.RecallUnit", "recall_unit_once"),
    ("recalls.RecallNotice", "recall_notice_once"),
    ("contracts.ContractPrice", "contract_price_product_once"),
    ("contracts.ContractPrice", "contract_price_line_once"),
    ("contracts.FacilityGroupMember", "facility"),
    ("billing.PurchaseOrderLine", "purchase_order_line_product_once"),
    ("events.InventoryRequestLine", "inv_request_line_product_once"),
    ("events.Event", "swap_order"),
    ("events.CaseSignOff", "event"),
    ("events.CalendarFeed", "user"),
    ("events.CalendarFeed", "token_hash"),
    ("consignment.RegionMember", "user"),
}


def our_models():
    for model in apps.get_models():
        if model._meta.app_label in OURS and model._meta.managed and not model._meta.proxy:
            yield f"{model._meta.app_label}.{model.__name__}", model


def test_every_tenant_table_carries_organization_or_is_listed():
    missing = {
        label
        for label, model in our_models()
        if "organization" not in {f.name for f in model._meta.concrete_fields}
    }
    assert missing == set(WITHOUT_ORGANIZATION)
    carrying = [label for label, model in our_models() if label not in missing]
    assert len(carrying) > 25  # the walk saw the domain's tables


def test_unique_keys_that_leave_the_organization_out_are_listed():
    found = set()
    for label, model in our_models():
        for field in model._meta.concrete_fields:
            if field.unique and not field.primary_key:
                found.add((label, field.name))
        for constraint in model._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint) and "organization" not in (
                constraint.fields or ()
            ):
                found.add((label, constraint.name))
        for together in model._meta.unique_together:
            if "organization" not in together:
                found.add((label, together))
    assert found == UNIQUE_WITHOUT_ORGANIZATION


def test_docs_scaling_names_every_listed_table_and_key():
    text = (ROOT / "docs" / "scaling.md").read_text()
    for label in WITHOUT_ORGANIZATION:
        assert f"`{label}`" in text, label
    for label, key in UNIQUE_WITHOUT_ORGANIZATION:
        assert f"`{key}`" in text, (label, key)
