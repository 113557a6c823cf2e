from django.urls import path

from events import (
    loan_views,
    pricing_views,
    request_views,
    schedule_views,
    signoff_views,
    views,
)

app_name = "events"
urlpatterns = [
    path("", views.event_list, name="list"),
    path("new/", views.event_create, name="create"),
    path("new/product-lines/", views.product_line_options, name="product_line_options"),
    path("new/contacts/", views.contact_options, name="contact_options"),
    path("new/contacts/add/", views.contact_create, name="contact_create"),
    path("<int:pk>/", views.event_detail, name="detail"),
    path("<int:pk>/edit/", views.event_update, name="update"),
    path("<int:pk>/search/", views.event_device_search, name="device_search"),
    path("<int:pk>/add/", views.event_add_device, name="add_device"),
    path("<int:pk>/scan/", views.event_scan, name="scan"),
    path("<int:pk>/lines/<int:device_pk>/remove/", views.event_remove_device,
         name="remove_device"),
    path("<int:pk>/lines/<int:device_pk>/damaged/", views.event_line_damaged,
         name="line_damaged"),
    path("<int:pk>/lines/<int:device_pk>/price/", pricing_views.event_line_price,
         name="line_price"),
    path("<int:pk>/facility-stock-only/", views.event_facility_stock_only,
         name="facility_stock_only"),
    path("<int:pk>/cancel/", views.event_cancel, name="cancel"),
    # Scheduled cases and the agenda (events/schedule_views.py)
    path("schedule/", schedule_views.case_schedule, name="schedule"),
    path("schedule/surgeons/", schedule_views.surgeon_options, name="surgeon_options"),
    path("schedule/surgeons/add/", schedule_views.surgeon_add, name="surgeon_add"),
    path("schedule/procedures/add/", schedule_views.procedure_add, name="procedure_add"),
    path("agenda/", schedule_views.agenda, name="agenda"),
    path("agenda/calendar/", schedule_views.calendar_feed_settings, name="calendar_feed_settings"),
    path("calendar/<str:token>.ics", schedule_views.calendar_feed, name="calendar_feed"),
    # Inventory requests for upcoming cases (events/request_views.py)
    path("<int:pk>/request-inventory/", request_views.request_create, name="request_create"),
    path("requests/", request_views.request_queue, name="request_queue"),
    path("requests/<int:pk>/", request_views.request_answer, name="request_answer"),
    # The hospital's sign-off of a case (events/signoff_views.py)
    path("<int:pk>/sign-off/", signoff_views.case_sign_off, name="sign_off"),
    path("<int:pk>/sticker/", signoff_views.sticker_photo, name="sticker_photo"),
    # Loans of kits (events/loan_views.py)
    path("loans/new/", loan_views.loan_create, name="loan_create"),
    path("loans/<int:pk>/", loan_views.loan_detail, name="loan_detail"),
    path("loans/<int:pk>/edit/", loan_views.loan_edit, name="loan_edit"),
    path("loans/<int:pk>/extend/", loan_views.loan_extend, name="loan_extend"),
    path("loans/<int:pk>/kits/<int:kit_pk>/check-in/", loan_views.kit_check_in,
         name="kit_check_in"),
    path("loans/<int:pk>/kits/<int:kit_pk>/check-in/charge/", loan_views.kit_check_in_charge,
         name="kit_check_in_charge"),
    path("kit-utilisation/", loan_views.kit_utilisation, name="kit_utilisation"),
]
