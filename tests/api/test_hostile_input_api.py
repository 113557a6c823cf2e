"""Hostile input on the API answers in the API's JSON error shape (never the HTML page, never a
500) and changes nothing."""

from __future__ import annotations

import datetime
import json

import pytest

from accounts.middleware import INPUT_REFUSED
from events.models import Event

pytestmark = pytest.mark.django_db


def test_a_control_character_in_the_query_string_answers_the_apis_json_error(world, api_as):
    api = api_as(world.rep)
    response = api.get("/api/v1/devices/", {"lot": "L\x00T"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": INPUT_REFUSED, "errors": [INPUT_REFUSED]}
    assert api.get("/api/v1/devices/", {"lot": "LOT"}).status_code == 200


def test_a_control_character_in_a_form_body_answers_json_and_creates_nothing(client, world, api_as):
    api = api_as(world.rep)
    response = client.post(
        "/api/v1/events/", {"name": "Case\x07", "event_type": "case"}, headers=api.headers
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [INPUT_REFUSED]
    assert not Event.objects.exists()


def test_a_nul_in_a_json_body_is_a_field_error(world, api_as):
    response = api_as(world.rep).post(
        "/api/v1/events/",
        {
            "event_type": "case",
            "name": "Case\x00",
            "date": datetime.date.today().isoformat(),
            "facility": world.st_marys.pk,
            "representative": world.rep.pk,
            "manufacturer": world.maker.pk,
            "product_line": world.line.pk,
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == ["name: Null characters are not allowed."]
    assert set(body["fields"]) == {"name"}
    assert not Event.objects.exists()


def test_the_token_page_under_api_is_a_page_and_keeps_the_html_refusal(client, world):
    client.force_login(world.rep)
    response = client.get("/api/tokens/", {"q": "\x00"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "Your input was refused" in response.content.decode()
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
