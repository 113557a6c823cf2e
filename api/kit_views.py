"""The API's kit and loan endpoints: read kit templates, kits (contents against the template,
status, loan) and loans; build a kit, pack units, transfer a kit, send a loan, check a kit in.
Reads are scoped as the kit pages are (``inventory.kit_selectors.kit_list``: a rep sees the kits
in their custody; ``events.loan_selectors.loan_list``: a rep's own loans); every write calls the
page's service (``inventory.kit_services``, ``events.loan_services``), so the same rules, roles
and messages apply and a refusal has the API's one error shape (``api.exceptions``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api import kit_serializers as ks
from api import serializers as s
from api.views import ERRORS, _devices
from events import loan_services
from events.loan_selectors import loan_list
from inventory import kit_services
from inventory.kit_selectors import kit_contents, kit_list, kit_states, kit_template_list
from inventory.models import Kit, KitTemplateItem, Transfer


@extend_schema_view(
    list=extend_schema(summary="Kit templates (a set's content list)"),
    retrieve=extend_schema(summary="A kit template with its items"),
)
class KitTemplateViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ks.KitTemplateSerializer
    lookup_value_converter = "int"

    def get_queryset(self):
        return kit_template_list(user=self.request.user).prefetch_related(
            Prefetch("items", queryset=KitTemplateItem.objects.select_related("product"))
        )


@extend_schema_view(
    list=extend_schema(summary="Kits (a rep's: the kits in their custody) and their state"),
    retrieve=extend_schema(
        summary="A kit: its contents against its template, status, loan",
        responses={200: ks.KitDetailSerializer, 404: s.ErrorSerializer},
    ),
)
class KitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ks.KitSerializer
    lookup_value_converter = "int"

    def get_queryset(self):
        return kit_list(user=self.request.user)

    def list(self, request, *args, **kwargs):
        # The page's units are counted with its states, not by joining every kit to its units.
        page = self.paginate_queryset(kit_list(user=request.user, with_units=False))
        data = ks.KitSerializer(page, many=True, context={"states": kit_states(kits=page)}).data
        return self.get_paginated_response(data)

    def _detail(self, kit: Kit, code: int = 200) -> Response:
        return Response(self._detail_data(kit), status=code)

    def _detail_data(self, kit: Kit) -> dict:
        kit = self.get_queryset().get(pk=kit.pk)
        context = {
            "contents": kit_contents(kit=kit),
            "device_ids": sorted(kit.devices.values_list("pk", flat=True)),
        }
        return ks.KitDetailSerializer(kit, context=context).data

    def retrieve(self, request, *args, **kwargs):
        return self._detail(self.get_object())

    @extend_schema(
        request=ks.KitCreateSerializer,
        responses={201: ks.KitDetailSerializer, **ERRORS},
        summary="Build a kit (its tag, template, custodian; units packed at once)",
    )
    def create(self, request):
        data = ks.KitCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        devices = _devices(request, fields.pop("device_ids", []))
        kit = kit_services.kit_create(actor=request.user, devices=devices, **fields)
        return self._detail(kit, 201)

    @extend_schema(
        request=ks.KitDevicesSerializer,
        responses={200: ks.KitDetailSerializer, **ERRORS},
        summary="Pack units into a kit (of its template, within its quantities)",
    )
    @action(detail=True, methods=["post"])
    def devices(self, request, pk=None):
        kit = self.get_object()
        data = ks.KitDevicesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kit_services.kit_add_devices(
            actor=request.user,
            kit=kit,
            devices=_devices(request, data.validated_data["device_ids"]),
        )
        return self._detail(kit)

    @extend_schema(
        request=ks.KitTransferSerializer,
        responses={201: s.TransferSerializer, **ERRORS},
        summary="Transfer a kit and every unit in it (one transfer)",
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None):
        kit = self.get_object()
        data = ks.KitTransferSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        transfer = kit_services.kit_transfer(actor=request.user, kit=kit, **data.validated_data)
        transfer = Transfer.objects.select_related("from_custodian", "to_custodian").get(
            pk=transfer.pk
        )
        return Response(s.TransferSerializer(transfer).data, status=201)

    @extend_schema(
        request=ks.KitCheckInSerializer,
        responses={200: ks.KitCheckInResultSerializer, **ERRORS},
        summary="Check a loaned kit in: every unit scanned back or reported lost",
    )
    @action(detail=True, methods=["post"], url_path="check-in", url_name="check-in")
    def check_in(self, request, pk=None):
        kit = self.get_object()
        data = ks.KitCheckInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = loan_services.kit_check_in(
            actor=request.user,
            kit=kit,
            present=_devices(request, data.validated_data["present_ids"]),
            lost=_devices(request, data.validated_data["lost_ids"]),
            note=data.validated_data["note"],
        )
        return Response(
            {
                "kit": self._detail_data(kit),
                "returned": sorted(d.pk for d in result.returned),
                "lost": sorted(d.pk for d in result.lost),
                "adjustment": result.adjustment.pk if result.adjustment else None,
                "loan_closed": result.loan_closed,
            }
        )


@extend_schema_view(
    list=extend_schema(summary="Loans (a rep's own): kits lent to a facility"),
    retrieve=extend_schema(summary="A loan with its kits"),
)
class LoanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ks.LoanSerializer
    lookup_value_converter = "int"

    def get_queryset(self):
        return (
            loan_list(user=self.request.user)
            .order_by()
            .prefetch_related(Prefetch("kits", queryset=Kit.objects.order_by("tag")))
        )

    @extend_schema(
        request=ks.LoanCreateSerializer,
        responses={201: ks.LoanSerializer, **ERRORS},
        summary="Send kits to a facility for a case date, due back on a date",
    )
    def create(self, request):
        data = ks.LoanCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        kit_ids = fields.pop("kit_ids")
        kits = list(kit_list(user=request.user).filter(pk__in=kit_ids))
        missing = sorted(set(kit_ids) - {kit.pk for kit in kits})
        if missing:
            raise ValidationError([f"No kit #{pk} is in your kits." for pk in missing])
        loan = loan_services.loan_create(actor=request.user, kits=kits, **fields)
        return Response(ks.LoanSerializer(self.get_queryset().get(pk=loan.pk)).data, status=201)
