"""What the API reads and writes for kits and loans (issue 31's models): kit templates, kits with
their contents against the template, loans. Related rows by id and display name, as in
``api.serializers``; every choice of a related row is limited to the caller's organisation."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from api.serializers import BIGINT_MAX, RefSerializer, Scoped, ref
from consignment.models import Facility
from events.models import Event, EventStatus
from inventory.kit_selectors import KitContents, KitState
from inventory.models import Kit, KitTemplate


def id_list(**kwargs):
    return serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=BIGINT_MAX), max_length=500, **kwargs
    )


class KitTemplateItemSerializer(serializers.Serializer):
    product = RefSerializer()
    quantity = serializers.IntegerField()


class KitTemplateSerializer(serializers.ModelSerializer):
    product_line = serializers.SerializerMethodField()
    items = serializers.SerializerMethodField()

    class Meta:
        model = KitTemplate
        fields = ["id", "name", "product_line", "items", "created_at"]

    @extend_schema_field(RefSerializer)
    def get_product_line(self, obj):
        return ref(obj.product_line)

    @extend_schema_field(KitTemplateItemSerializer(many=True))
    def get_items(self, obj):
        return [
            {"product": ref(item.product), "quantity": item.quantity} for item in obj.items.all()
        ]


class LoanRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    due_back = serializers.DateField()


class KitSerializer(serializers.ModelSerializer):
    """A kit in a list: where it is and its state against its template (``state``: complete,
    short, expiring or expired units; ``short``: units missing; ``expired``: expired units)."""

    template = serializers.SerializerMethodField()
    custodian = serializers.SerializerMethodField()
    facility = serializers.SerializerMethodField()
    loan = serializers.SerializerMethodField()
    in_transit_on = serializers.IntegerField(
        source="pending_transfer_id",
        allow_null=True,
        help_text="The transfer it is in transit on, if any.",
    )
    units = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()
    short = serializers.SerializerMethodField()
    expired = serializers.SerializerMethodField()
    earliest_expiry = serializers.SerializerMethodField()

    class Meta:
        model = Kit
        fields = [
            "id",
            "tag",
            "status",
            "template",
            "custodian",
            "facility",
            "loan",
            "in_transit_on",
            "units",
            "state",
            "short",
            "expired",
            "earliest_expiry",
            "created_at",
        ]

    def _state(self, obj) -> KitState:
        return self.context["states"][obj.pk]

    @extend_schema_field(RefSerializer)
    def get_template(self, obj):
        return ref(obj.template)

    @extend_schema_field(RefSerializer)
    def get_custodian(self, obj):
        return ref(obj.custodian)

    @extend_schema_field(RefSerializer(allow_null=True))
    def get_facility(self, obj):
        return ref(obj.facility)

    @extend_schema_field(LoanRefSerializer(allow_null=True))
    def get_loan(self, obj):
        loan = obj.loan
        return (
            None if loan is None else {"id": loan.pk, "name": loan.name, "due_back": loan.due_back}
        )

    @extend_schema_field(serializers.IntegerField())
    def get_units(self, obj):
        units = getattr(obj, "units", None)  # annotated by kit_list(with_units=True)
        return self._state(obj).units if units is None else units

    @extend_schema_field(
        serializers.ChoiceField(choices=["complete", "short", "expiring", "expired units"])
    )
    def get_state(self, obj):
        return self._state(obj).label

    @extend_schema_field(serializers.IntegerField())
    def get_short(self, obj):
        return self._state(obj).short

    @extend_schema_field(serializers.IntegerField())
    def get_expired(self, obj):
        return self._state(obj).expired

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_earliest_expiry(self, obj):
        return self._state(obj).earliest


class KitContentRowSerializer(serializers.Serializer):
    product = RefSerializer()
    required = serializers.IntegerField(help_text="Units the template asks for.")
    held = serializers.IntegerField(help_text="Units in the kit.")
    expired = serializers.IntegerField(help_text="Of them, expired today.")
    short = serializers.IntegerField(help_text="Usable units missing.")
    earliest_expiry = serializers.DateField(allow_null=True)


class KitDetailSerializer(KitSerializer):
    """A kit with its contents against its template and the ids of its units."""

    contents = serializers.SerializerMethodField()
    device_ids = serializers.SerializerMethodField()

    class Meta(KitSerializer.Meta):
        fields = [*KitSerializer.Meta.fields, "contents", "device_ids"]

    def _contents(self) -> KitContents:
        return self.context["contents"]

    def _state(self, obj) -> KitState:
        contents = self._contents()
        return KitState(
            short=sum(row.short for row in contents.rows),
            expired=len(contents.expired_units),
            earliest=contents.earliest_expiry,
            today=contents.today,
        )

    @extend_schema_field(KitContentRowSerializer(many=True))
    def get_contents(self, obj):
        return [
            {
                "product": ref(row.product),
                "required": row.required,
                "held": row.held,
                "expired": row.expired,
                "short": row.short,
                "earliest_expiry": row.earliest,
            }
            for row in self._contents().rows
        ]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_device_ids(self, obj):
        return self.context["device_ids"]


class KitCreateSerializer(serializers.Serializer):
    template = Scoped(KitTemplate)
    tag = serializers.CharField(max_length=32, help_text="Printed on the kit's label.")
    custodian = Scoped(User, help_text="Whose custody it is built in (a rep: themself).")
    device_ids = id_list(required=False, help_text="Units to pack at once, by id.")


class KitDevicesSerializer(serializers.Serializer):
    device_ids = id_list(min_length=1, help_text="Units to pack, by id.")


class KitTransferSerializer(serializers.Serializer):
    to_custodian = Scoped(User)
    accept_now = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Admins: accepted at once (the default for an admin); a rep's transfer waits "
        "for the recipient.",
    )


class KitCheckInSerializer(serializers.Serializer):
    present_ids = id_list(
        required=False, default=list, help_text="Units scanned back into the kit."
    )
    lost_ids = id_list(
        required=False,
        default=list,
        help_text="Units reported lost (a stock adjustment, reason Lost).",
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class KitCheckInResultSerializer(serializers.Serializer):
    kit = KitDetailSerializer()
    returned = serializers.ListField(child=serializers.IntegerField())
    lost = serializers.ListField(child=serializers.IntegerField())
    adjustment = serializers.IntegerField(
        allow_null=True, help_text="The stock adjustment of the lost units."
    )
    loan_closed = serializers.BooleanField(help_text="The loan's last kit is back.")


class LoanKitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    tag = serializers.CharField()
    status = serializers.ChoiceField(choices=Kit.Status.choices)
    checked_in = serializers.BooleanField(help_text="Back from this loan.")


class LoanSerializer(serializers.ModelSerializer):
    facility = serializers.SerializerMethodField()
    representative = serializers.SerializerMethodField()
    kits = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=EventStatus.choices)

    class Meta:
        model = Event
        fields = [
            "id",
            "name",
            "date",
            "due_back",
            "status",
            "facility",
            "representative",
            "kits",
            "created_at",
        ]

    @extend_schema_field(RefSerializer)
    def get_facility(self, obj):
        return ref(obj.facility)

    @extend_schema_field(RefSerializer)
    def get_representative(self, obj):
        return ref(obj.representative)

    @extend_schema_field(LoanKitSerializer(many=True))
    def get_kits(self, obj):
        return [
            {
                "id": kit.pk,
                "tag": kit.tag,
                "status": kit.status,
                "checked_in": kit.loan_id != obj.pk,
            }
            for kit in obj.kits.all()
        ]


class LoanCreateSerializer(serializers.Serializer):
    kit_ids = id_list(min_length=1, help_text="The kits to send, by id.")
    facility = Scoped(Facility)
    representative = Scoped(User)
    date = serializers.DateField(help_text="The case date.")
    due_back = serializers.DateField()
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
