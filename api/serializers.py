"""What the API reads and writes. Related rows are given by id and a display name; every
choice of a related row is limited to the caller's organisation (``Scoped``)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from billing.models import CreditMemo, Invoice, SalesOrder
from consignment.models import Facility, FacilityContact
from events.models import Event, EventLine, EventType
from inventory.models import Device, DeviceMovement, Manufacturer, Product, ProductLine, Transfer

BIGINT_MAX = 2**63 - 1


@extend_schema_field(OpenApiTypes.INT)
class Scoped(serializers.PrimaryKeyRelatedField):
    """A related row of the caller's organisation, by id (another organisation's id reads as
    unknown: nothing confirms it exists)."""

    def __init__(self, model, **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        user = self.context["request"].user
        qs = self.model.objects.for_user(user)
        if self.model is User:
            qs = qs.exclude(role=User.Role.MANAGER).filter(is_active=True)
        return qs

    def to_internal_value(self, data):
        if isinstance(data, int) and not 0 < data <= BIGINT_MAX:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class RefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


def ref(obj) -> dict | None:
    return None if obj is None else {"id": obj.pk, "name": str(obj)}


class ProductSerializer(serializers.ModelSerializer):
    product_line = serializers.SerializerMethodField()
    manufacturer = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["id", "reference", "gtin", "description", "unit_price", "product_line",
                  "manufacturer"]

    @extend_schema_field(RefSerializer)
    def get_product_line(self, obj):
        return ref(obj.product_line)

    @extend_schema_field(RefSerializer)
    def get_manufacturer(self, obj):
        return ref(obj.product_line.manufacturer)


class FacilitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Facility
        fields = ["id", "name", "address", "account_number"]


class DeviceSerializer(serializers.ModelSerializer):
    label = serializers.CharField()
    product = serializers.SerializerMethodField()
    custodian = serializers.SerializerMethodField()
    facility = serializers.SerializerMethodField()
    in_transit = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = ["id", "label", "serial", "lot", "expiration_date", "udi", "status", "product",
                  "custodian", "facility", "in_transit", "sold_on", "used_in", "created_at"]

    @extend_schema_field(RefSerializer)
    def get_product(self, obj):
        return {"id": obj.product_id, "name": str(obj.product)}

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_custodian(self, obj):
        return ref(obj.custodian)

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_facility(self, obj):
        return ref(obj.facility)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_in_transit(self, obj):
        return obj.pending_transfer_id is not None


class MovementSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    from_custodian = serializers.SerializerMethodField()
    to_custodian = serializers.SerializerMethodField()
    facility = serializers.SerializerMethodField()

    class Meta:
        model = DeviceMovement
        fields = ["id", "at", "kind", "from_status", "to_status", "actor", "from_custodian",
                  "to_custodian", "facility", "event", "transfer", "adjustment", "note"]

    @extend_schema_field(RefSerializer)
    def get_actor(self, obj):
        return ref(obj.actor)

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_from_custodian(self, obj):
        return ref(obj.from_custodian)

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_to_custodian(self, obj):
        return ref(obj.to_custodian)

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_facility(self, obj):
        return ref(obj.facility)


class DocumentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()


class EventLineSerializer(serializers.ModelSerializer):
    device = serializers.SerializerMethodField()

    class Meta:
        model = EventLine
        fields = ["id", "device", "kind", "price", "committed", "damaged"]

    @extend_schema_field(RefSerializer)
    def get_device(self, obj):
        return {"id": obj.device_id, "name": obj.device.label}


class EventSerializer(serializers.ModelSerializer):
    facility = serializers.SerializerMethodField()
    representative = serializers.SerializerMethodField()
    sales_order = serializers.SerializerMethodField()
    credit_memo = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["id", "event_type", "name", "date", "status", "facility", "representative",
                  "manufacturer", "product_line", "facility_contact", "surgeon",
                  "facility_stock_only", "created_at", "submitted_at", "signature_name",
                  "sales_order", "credit_memo"]

    @extend_schema_field(RefSerializer)
    def get_facility(self, obj):
        return ref(obj.facility)

    @extend_schema_field(RefSerializer)
    def get_representative(self, obj):
        return ref(obj.representative)

    def _doc(self, obj, name):
        try:
            doc = getattr(obj, name)
        except (SalesOrder.DoesNotExist, CreditMemo.DoesNotExist):
            return None
        return {"id": doc.pk, "number": doc.number}

    @extend_schema_field(DocumentRefSerializer(allow_null=True))
    def get_sales_order(self, obj):
        return self._doc(obj, "sales_order")

    @extend_schema_field(DocumentRefSerializer(allow_null=True))
    def get_credit_memo(self, obj):
        return self._doc(obj, "credit_memo")


class EventDetailSerializer(EventSerializer):
    patient_id = serializers.SerializerMethodField()
    lines = EventLineSerializer(many=True, source="api_lines")

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "patient_id", "lines"]

    @extend_schema_field(OpenApiTypes.STR)
    def get_patient_id(self, obj):
        """Shown to admins, managers and the event's rep (as on the page); never in webhooks."""
        request = self.context.get("request")
        if request is None:
            return ""
        user = request.user
        return obj.patient_id if user.is_admin_or_manager or obj.representative_id == user.pk \
            else ""


class EventCreateSerializer(serializers.Serializer):
    event_type = serializers.ChoiceField(choices=EventType.choices)
    name = serializers.CharField(max_length=200)
    date = serializers.DateField()
    facility = Scoped(Facility)
    representative = Scoped(User)
    manufacturer = Scoped(Manufacturer)
    product_line = Scoped(ProductLine)
    facility_contact = Scoped(FacilityContact, required=False, allow_null=True)
    patient_id = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                       default="")
    surgeon = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                    default="")
    facility_stock_only = serializers.BooleanField(required=False, default=False)


class EventAddDevicesSerializer(serializers.Serializer):
    device_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=BIGINT_MAX), max_length=500,
        required=False, help_text="Devices to add, by id.")
    udi = serializers.CharField(required=False, max_length=500,
                                help_text="A scanned GS1 UDI label (one device).")

    def validate(self, attrs):
        if bool(attrs.get("device_ids")) == bool(attrs.get("udi")):
            raise serializers.ValidationError("Send either device_ids or udi.")
        return attrs


class EventSubmitSerializer(serializers.Serializer):
    signature_name = serializers.CharField(max_length=200,
                                           help_text="Your typed name: the signature.")
    attestation = serializers.BooleanField(
        help_text="true: you attest the devices listed were used/sold as recorded.")

    def validate_attestation(self, value):
        if not value:
            raise serializers.ValidationError(
                "Confirm the attestation to sign the submission.")
        return value


class EventRemoveDeviceSerializer(serializers.Serializer):
    device_id = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX,
                                         help_text="The device whose line leaves the draft.")


class PurchaseOrderRecordSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=100)
    pdf_file = serializers.FileField(
        required=False, help_text="The facility's PO as a PDF (send multipart/form-data): PDF "
        "only, no active content, at most PO_UPLOAD_MAX_BYTES (5 MB by default), as on the page.")


class ReceiveSerializer(serializers.Serializer):
    product = Scoped(Product)
    lot = serializers.CharField(max_length=64)
    expiration_date = serializers.DateField()
    serials = serializers.ListField(child=serializers.CharField(max_length=64, allow_blank=True),
                                    min_length=1, max_length=500)
    custodian = Scoped(User)


class TransferCreateSerializer(serializers.Serializer):
    device_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=BIGINT_MAX), min_length=1,
        max_length=500)
    to_custodian = Scoped(User)


class TransferDeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class TransferSerializer(serializers.ModelSerializer):
    from_custodian = serializers.SerializerMethodField()
    to_custodian = serializers.SerializerMethodField()
    device_ids = serializers.SerializerMethodField()

    class Meta:
        model = Transfer
        fields = ["id", "status", "from_custodian", "to_custodian", "created_at", "decided_at",
                  "decline_reason", "device_ids"]

    @extend_schema_field(RefSerializer)
    def get_from_custodian(self, obj):
        return ref(obj.from_custodian)

    @extend_schema_field(RefSerializer)
    def get_to_custodian(self, obj):
        return ref(obj.to_custodian)

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_device_ids(self, obj):
        return sorted(d.pk for d in obj.devices.all())


class SalesOrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = SalesOrder
        fields = ["id", "number", "event", "issued_at", "total"]


class InvoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invoice
        fields = ["id", "number", "event", "issued_at", "total", "due_date", "paid_at"]


class CreditMemoSerializer(serializers.ModelSerializer):
    class Meta:
        model = CreditMemo
        fields = ["id", "number", "event", "issued_at", "total"]


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="The message, as the page shows it.")
    errors = serializers.ListField(child=serializers.CharField(), required=False,
                                   help_text="Each message on its own.")
    fields = serializers.DictField(required=False,
                                   help_text="Messages per request field, when malformed.")
