from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from api import kit_views, pages, views

router = SimpleRouter(use_regex_path=False)  # <int:pk>: URL names reverse with converters
router.register("devices", views.DeviceViewSet, basename="device")
router.register("events", views.EventViewSet, basename="event")
router.register("facilities", views.FacilityViewSet, basename="facility")
router.register("products", views.ProductViewSet, basename="product")
router.register("sales-orders", views.SalesOrderViewSet, basename="sales-order")
router.register("invoices", views.InvoiceViewSet, basename="invoice")
router.register("credit-memos", views.CreditMemoViewSet, basename="credit-memo")
router.register("transfers", views.TransferViewSet, basename="transfer")
router.register("kit-templates", kit_views.KitTemplateViewSet, basename="kit-template")
router.register("kits", kit_views.KitViewSet, basename="kit")
router.register("loans", kit_views.LoanViewSet, basename="loan")

app_name = "api"
urlpatterns = [
    path("v1/", include(router.urls)),
    path("v1/me/", views.MeView.as_view(), name="me"),
    path("v1/accounting/journal/", views.JournalView.as_view(), name="journal"),
    path("v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("v1/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
         name="docs"),
    path("tokens/", pages.token_list, name="token_list"),
    path("tokens/<int:pk>/revoke/", pages.token_revoke, name="token_revoke"),
]

# The one permission policy (accounts/permissions.py): every API URL needs "use_api" (what a
# token may then do is the services' own checks), the journal "export_accounting" (checked in
# the view too).
for pattern in [*urlpatterns[1:], *router.urls]:
    pattern.callback.permission = "use_api"
urlpatterns[2].callback.permission = views.JournalView.permission
