from django.contrib import admin

from accounts.admin_base import ReadOnlyTenantAdmin, TenantAdmin
from inventory.models import (
    Device,
    DeviceMovement,
    Manufacturer,
    Product,
    ProductLine,
    StockAdjustment,
    Transfer,
)


@admin.register(Manufacturer)
class ManufacturerAdmin(TenantAdmin):
    list_display = ["name"]
    search_fields = ["^name"]


@admin.register(ProductLine)
class ProductLineAdmin(TenantAdmin):
    list_display = ["name", "manufacturer"]
    list_filter = ["manufacturer"]
    search_fields = ["^name"]


@admin.register(Product)
class ProductAdmin(TenantAdmin):
    list_display = ["reference", "description", "gtin", "product_line", "unit_price"]
    list_filter = ["product_line__manufacturer", "product_line"]
    search_fields = ["^reference", "^description", "=gtin"]
    list_select_related = ["product_line"]


class MovementInline(admin.TabularInline):
    model = DeviceMovement
    extra = 0
    can_delete = False
    fields = ["at", "kind", "actor", "from_status", "to_status", "to_custodian", "facility",
              "event", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Device)
class DeviceAdmin(ReadOnlyTenantAdmin):
    list_display = ["__str__", "product", "lot", "expiration_date", "status", "custodian",
                    "facility"]
    list_filter = ["status"]
    # What the search box matches (get_search_results below does it through indexes).
    search_fields = ["^serial", "=lot", "=product__reference", "=product__gtin"]
    list_select_related = ["product", "custodian", "facility"]
    inlines = [MovementInline]

    def get_search_results(self, request, queryset, search_term):
        """Each word (at most ADMIN_SEARCH_MAX_TERMS) is a serial prefix (3 characters or more,
        else the whole serial), a whole lot, or a whole catalogue number or GTIN, looked up
        among the products first: every condition is served by an index on the device table
        (UPPER(serial) pattern, (organization, UPPER(lot)), product), no join per word."""
        from django.db.models import Q
        from django.utils.text import smart_split, unescape_string_literal

        from inventory.selectors import SERIAL_PREFIX_MIN

        search_term = self.bounded_search_term(request, search_term)
        for word in smart_split(search_term):
            if word[:1] in {'"', "'"} and word[-1:] == word[:1] and len(word) > 1:
                word = unescape_string_literal(word)
            if not word:
                continue
            products = Product.objects.filter(Q(reference__iexact=word) | Q(gtin=word))
            if not request.user.is_superuser:
                products = products.filter(organization_id=request.user.organization_id)
            products = list(products.values_list("pk", flat=True))
            serial = (Q(serial__istartswith=word) if len(word) >= SERIAL_PREFIX_MIN
                      else Q(serial__iexact=word))
            queryset = queryset.filter(serial | Q(lot__iexact=word) | Q(product_id__in=products))
        return queryset, False


@admin.register(DeviceMovement)
class DeviceMovementAdmin(ReadOnlyTenantAdmin):
    list_display = ["at", "device", "kind", "actor", "from_status", "to_status"]
    list_filter = ["kind"]
    list_select_related = ["device", "actor"]


@admin.register(Transfer)
class TransferAdmin(ReadOnlyTenantAdmin):
    list_display = ["id", "from_custodian", "to_custodian", "status", "created_at"]


@admin.register(StockAdjustment)
class StockAdjustmentAdmin(ReadOnlyTenantAdmin):
    list_display = ["id", "reason", "actor", "created_at"]
