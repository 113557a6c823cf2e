"""Recall pages, mounted under /recalls/ (config/urls.py)."""

from django.urls import path

from recalls import views

app_name = "recalls"
urlpatterns = [
    path("", views.recall_list, name="list"),
    path("new/", views.recall_create, name="create"),
    path("<int:pk>/", views.recall_detail, name="detail"),
    path("<int:pk>/notice.pdf", views.recall_notice_pdf, name="notice_pdf"),
    path("<int:pk>/letters/", views.recall_letters_send, name="letters_send"),
    path("<int:pk>/letters/<int:notice_pk>.pdf", views.notice_letter_pdf, name="letter_pdf"),
    path(
        "<int:pk>/letters/<int:notice_pk>/acknowledge/",
        views.notice_acknowledge,
        name="acknowledge",
    ),
    path("<int:pk>/close/", views.recall_close, name="close"),
    path("<int:pk>/report.pdf", views.recall_report_pdf, name="report_pdf"),
    path("<int:pk>/report.csv", views.recall_report_csv, name="report_csv"),
    # The facility contact's link: signed, expiring, no login.
    path("acknowledge/<str:token>/", views.acknowledge_link, name="acknowledge_link"),
]
