from __future__ import annotations

import json

import pytest

from api.models import ApiToken
from api.services import api_token_create
from tests.events.conftest import world  # noqa: F401


class Api:
    """The Django test client speaking JSON with a personal token."""

    def __init__(self, client, secret: str):
        self.client, self.headers = client, {"Authorization": f"Bearer {secret}"}

    def get(self, path, data=None):
        return self.client.get(path, data, headers=self.headers)

    def post(self, path, body=None):
        return self.client.post(path, json.dumps(body or {}), content_type="application/json",
                                headers=self.headers)


@pytest.fixture
def api_as(client):
    def make(user, scope: str = ApiToken.Scope.WRITE) -> Api:
        if not user.can_write:
            scope = ApiToken.Scope.READ
        _token, secret = api_token_create(actor=user, name="test", scope=scope,
                                          expires_in_days=30)
        return Api(client, secret)

    return make
