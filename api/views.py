"""The REST API (``/api/v1/``). Reads go through each app's ``for_user`` scoping; every write
calls the same service as the page, so the same rules, roles and messages apply."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ensure_permission
from accounts.security import patient_access_record
from api import serializers as s
from api.journal import journal_response
from billing import services as billing
from billing.documents import DocumentIntegrityError, document_pdf_bytes
from billing.models import CreditMemo, Invoice, SalesOrder
from billing.submit import event_submit_for_billing
from consignment.models import Facility
from core.replica import replica_reads
from events import services as events
from events.models import Event, EventLine
from inventory import services as inventory
from inventory.filters import DeviceFilter
from inventory.models import Device, Product, Transfer
from inventory.selectors import device_movements, transfer_list

logger = logging.getLogger(__name__)

ERRORS = {400: s.ErrorSerializer, 403: s.ErrorSerializer, 404: s.ErrorSerializer}


def _devices(request, ids: list[int]) -> list[Device]:
    """The caller's devices by id, in the order given; an id they can't see is refused."""
    found = Device.objects.for_user(request.user).in_bulk(ids)
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise ValidationError(
            [f"No device #{pk} is in your inventory." for pk in missing])
    return [found[pk] for pk in dict.fromkeys(ids)]


class ReplicaListMixin:
    """Lists read the replica when one is configured (core.replica); details and writes the
    primary."""

    def list(self, request, *args, **kwargs):
        def primary_list(req, *a, **kw):
            return super(ReplicaListMixin, self).list(req, *a, **kw)

        return replica_reads(primary_list)(request, *args, **kwargs)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()
    organization = s.RefSerializer()


class MeView(APIView):
    @extend_schema(responses={200: MeSerializer}, summary="Who this token acts as")
    def get(self, request):
        user = request.user
        return Response({"id": user.pk, "name": str(user), "role": user.role,
                         "organization": s.ref(user.organization)})


@extend_schema_view(list=extend_schema(summary="All Inventory (its filters)"),
                    retrieve=extend_schema(summary="A device"))
class DeviceViewSet(ReplicaListMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.DeviceSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = DeviceFilter
    lookup_value_converter = "int"

    def get_queryset(self):
        return Device.objects.for_user(self.request.user).select_related(
            "product", "custodian", "facility")

    @extend_schema(responses={200: s.MovementSerializer(many=True), 404: s.ErrorSerializer},
                   summary="A device's whole movement history, oldest first")
    @action(detail=True, filter_backends=[], pagination_class=None)
    def history(self, request, pk=None):
        device = self.get_object()
        return Response(s.MovementSerializer(device_movements(device=device), many=True).data)

    @extend_schema(request=s.ReceiveSerializer,
                   responses={201: s.DeviceSerializer(many=True), **ERRORS},
                   summary="Receive devices (admins)")
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def receive(self, request):
        data = s.ReceiveSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        devices = inventory.devices_receive(actor=request.user, **data.validated_data)
        fresh = self.get_queryset().filter(pk__in=[d.pk for d in devices]).order_by("pk")
        return Response(s.DeviceSerializer(fresh, many=True).data, status=201)


class ReadOnlyScoped(ReplicaListMixin, viewsets.ReadOnlyModelViewSet):
    lookup_value_converter = "int"


class FacilityViewSet(ReadOnlyScoped):
    serializer_class = s.FacilitySerializer

    def get_queryset(self):
        return Facility.objects.for_user(self.request.user)


class ProductViewSet(ReadOnlyScoped):
    serializer_class = s.ProductSerializer

    def get_queryset(self):
        return Product.objects.for_user(self.request.user).select_related(
            "product_line__manufacturer")


@extend_schema_view(
    list=extend_schema(summary="Events (a rep's own; the organisation's for admins, managers)"),
    retrieve=extend_schema(summary="An event with its lines"),
)
class EventViewSet(ReplicaListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                   viewsets.GenericViewSet):
    lookup_value_converter = "int"

    def get_queryset(self):
        qs = Event.objects.for_user(self.request.user).select_related(
            "facility", "representative", "sales_order", "credit_memo")
        if self.action == "retrieve":
            qs = qs.prefetch_related(Prefetch(
                "lines", queryset=EventLine.objects.select_related("device").order_by("id"),
                to_attr="api_lines"))
        return qs

    def get_serializer_class(self):
        return s.EventDetailSerializer if self.action == "retrieve" else s.EventSerializer

    def retrieve(self, request, *args, **kwargs):
        event = self.get_object()
        data = self.get_serializer(event).data
        if data["patient_id"]:
            patient_access_record(request, patient_ids=[event.patient_id], what="API event",
                                  subject=str(event))
        return Response(data)

    def _detail(self, event: Event, code=200) -> Response:
        event = self.get_queryset().prefetch_related(Prefetch(
            "lines", queryset=EventLine.objects.select_related("device").order_by("id"),
            to_attr="api_lines")).get(pk=event.pk)
        return Response(s.EventDetailSerializer(event, context={"request": self.request}).data,
                        status=code)

    @extend_schema(request=s.EventCreateSerializer,
                   responses={201: s.EventDetailSerializer, **ERRORS},
                   summary="Create a draft Case, Stocking Order or Return")
    def create(self, request):
        data = s.EventCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        event = events.event_create(actor=request.user, **data.validated_data)
        return self._detail(event, 201)

    @extend_schema(request=s.EventAddDevicesSerializer,
                   responses={200: s.EventDetailSerializer, **ERRORS},
                   summary="Add devices to a draft, by id or by a scanned UDI label")
    @action(detail=True, methods=["post"])
    def devices(self, request, pk=None):
        event = self.get_object()
        data = s.EventAddDevicesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data.get("udi"):
            events.event_add_by_udi(actor=request.user, event=event,
                                    label=data.validated_data["udi"])
        else:
            events.event_add_devices(actor=request.user, event=event,
                                     devices=_devices(request, data.validated_data["device_ids"]))
        return self._detail(event)

    @extend_schema(request=s.EventRemoveDeviceSerializer,
                   responses={200: s.EventDetailSerializer, **ERRORS},
                   summary="Remove a device's line from a draft")
    @action(detail=True, methods=["post"], url_path="devices/remove", url_name="devices-remove")
    def devices_remove(self, request, pk=None):
        event = self.get_object()
        data = s.EventRemoveDeviceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device_id = data.validated_data["device_id"]
        line = EventLine.objects.filter(event=event, device_id=device_id).select_related(
            "device").first()
        if line is None:
            raise ValidationError(f"Device #{device_id} is not on {event}.")
        events.event_remove_device(actor=request.user, event=event, device=line.device)
        return self._detail(event)

    @extend_schema(request=s.EventSubmitSerializer,
                   responses={200: s.EventDetailSerializer, **ERRORS},
                   summary="Submit For Billing (signed)")
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        event = self.get_object()
        data = s.EventSubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event_submit_for_billing(actor=request.user, event=event,
                                         signature_name=data.validated_data["signature_name"])
        return self._detail(event)

    @extend_schema(request={"application/json": s.PurchaseOrderRecordSerializer,
                            "multipart/form-data": s.PurchaseOrderRecordSerializer},
                   responses={200: s.EventDetailSerializer, **ERRORS},
                   summary="Record the facility's PO number, with its PDF if sent (admins)")
    @action(detail=True, methods=["post"], url_path="purchase-order",
            parser_classes=[JSONParser, MultiPartParser])
    def purchase_order(self, request, pk=None):
        event = self.get_object()
        data = s.PurchaseOrderRecordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        billing.purchase_order_record(actor=request.user, event=event,
                                      number=data.validated_data["number"],
                                      pdf_file=data.validated_data.get("pdf_file"))
        return self._detail(event)

    @extend_schema(request=None, responses={200: s.EventDetailSerializer, **ERRORS},
                   summary="Issue the invoice once the PO is recorded (admins)")
    @action(detail=True, methods=["post"])
    def invoice(self, request, pk=None):
        event = self.get_object()
        billing.invoice_issue(actor=request.user, event=event)
        return self._detail(event)


def _pdf(request, document, event: Event, filename: str) -> HttpResponse:
    try:
        data = document_pdf_bytes(document=document)
    except ValidationError as error:
        raise NotFound(" ".join(error.messages)) from None
    except DocumentIntegrityError:
        logger.exception("Stored PDF failed its integrity check: %s", document)
        return HttpResponse("The stored document failed its integrity check.", status=503,
                            content_type="text/plain")
    if event.is_case and event.patient_id:
        patient_access_record(request, patient_ids=[event.patient_id], what="API document PDF",
                              subject=str(event))
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


class DocumentViewSet(ReadOnlyScoped):
    model = None

    def get_queryset(self):
        qs = self.model.objects.for_user(self.request.user).select_related("event")
        if self.request.user.is_rep:
            qs = qs.filter(event__representative=self.request.user)
        return qs

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY,
                              404: OpenApiResponse(description="No such document")},
                   summary="The document's PDF")
    @action(detail=True, filter_backends=[], pagination_class=None)
    def pdf(self, request, pk=None):
        document = self.get_object()
        return _pdf(request, document, document.event, f"{document.number}.pdf")


class SalesOrderViewSet(DocumentViewSet):
    model = SalesOrder
    serializer_class = s.SalesOrderSerializer


class InvoiceViewSet(DocumentViewSet):
    model = Invoice
    serializer_class = s.InvoiceSerializer

    @extend_schema(request=None, responses={200: s.InvoiceSerializer, **ERRORS},
                   summary="Mark the invoice paid: its event becomes Paid (admins)")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def paid(self, request, pk=None):
        invoice = self.get_object()
        billing.event_mark_paid(actor=request.user, event=invoice.event)
        invoice.refresh_from_db()
        return Response(s.InvoiceSerializer(invoice).data)


class CreditMemoViewSet(DocumentViewSet):
    model = CreditMemo
    serializer_class = s.CreditMemoSerializer


@extend_schema_view(list=extend_schema(summary="Transfers (a rep's own)"))
class TransferViewSet(ReplicaListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      viewsets.GenericViewSet):
    serializer_class = s.TransferSerializer
    lookup_value_converter = "int"

    def get_queryset(self):
        return transfer_list(user=self.request.user).order_by().prefetch_related(
            Prefetch("devices", queryset=Device.objects.only("id")))

    def _detail(self, transfer: Transfer, code=200) -> Response:
        return Response(s.TransferSerializer(self.get_queryset().get(pk=transfer.pk)).data,
                        status=code)

    @extend_schema(request=s.TransferCreateSerializer,
                   responses={201: s.TransferSerializer, **ERRORS},
                   summary="Send devices to another custodian")
    def create(self, request):
        data = s.TransferCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        transfer = inventory.devices_transfer(
            actor=request.user, devices=_devices(request, data.validated_data["device_ids"]),
            to_custodian=data.validated_data["to_custodian"])
        return self._detail(transfer, 201)

    @extend_schema(request=None, responses={200: s.TransferSerializer, **ERRORS},
                   summary="Accept a transfer sent to you")
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._detail(inventory.transfer_accept(actor=request.user,
                                                      transfer=self.get_object()))

    @extend_schema(request=s.TransferDeclineSerializer,
                   responses={200: s.TransferSerializer, **ERRORS},
                   summary="Decline a transfer sent to you, saying why")
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        transfer = self.get_object()
        data = s.TransferDeclineSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._detail(inventory.transfer_decline(
            actor=request.user, transfer=transfer, reason=data.validated_data["reason"]))


class JournalQuery(serializers.Serializer):
    date_from = serializers.DateField(help_text="First day (YYYY-MM-DD)")
    date_to = serializers.DateField(help_text="Last day (YYYY-MM-DD), included")

    def validate(self, attrs):
        if attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError("date_to is before date_from.")
        if (attrs["date_to"] - attrs["date_from"]).days > 366:
            raise serializers.ValidationError("Export at most a year at a time.")
        return attrs


class JournalView(APIView):
    permission = "export_accounting"

    @extend_schema(parameters=[JournalQuery],
                   responses={(200, "text/csv"): OpenApiTypes.STR, **ERRORS},
                   summary="Accounting journal: invoices, credit memos, payments (CSV)")
    def get(self, request):
        ensure_permission(request.user, self.permission)
        query = JournalQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        return journal_response(user=request.user, **query.validated_data)


