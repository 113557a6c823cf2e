"""``id_url``: the URL of a one-id view without resolving the pattern per row."""

from django.template import Context, Template
from django.urls import reverse, set_script_prefix

from core.templatetags.ui import id_url


def test_id_url_is_the_reversed_url():
    for name in ("consignment:facility_detail", "inventory:device_detail", "events:detail",
                 "inventory:kit_detail"):
        for pk in (1, 42, 987654321, 2**63 - 1):
            assert id_url(pk, name) == reverse(name, args=[pk])
    html = Template('{% load ui %}<a href="{{ pk|id_url:"events:detail" }}">').render(
        Context({"pk": 7}))
    assert html == f'<a href="{reverse("events:detail", args=[7])}">'


def test_id_url_follows_the_script_prefix():
    try:
        set_script_prefix("/fieldstock/")
        assert id_url(5, "events:detail") == reverse("events:detail", args=[5])
        assert id_url(5, "events:detail").startswith("/fieldstock/")
    finally:
        set_script_prefix("/")
    assert id_url(5, "events:detail") == reverse("events:detail", args=[5])
