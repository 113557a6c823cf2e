"""Login lockout (django-axes): a username, or an address, is locked after a few failures; while
locked even the right password is refused, on the app's login and the admin's; admins unlock."""

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import PASSWORD, AdminFactory, UserFactory

pytestmark = pytest.mark.django_db
LIMIT = settings.AXES_FAILURE_LIMIT


def login(client, url, username, password, address="10.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_a_username_is_locked_after_failures_even_for_the_right_password(client, url_name):
    url = reverse(url_name)
    user = AdminFactory(username="alice")
    for attempt in range(LIMIT - 1):
        response = login(client, url, "alice", f"wrong-{attempt}", address=f"10.0.0.{attempt}")
        assert response.status_code == 200  # the form again, with its message
    response = login(client, url, "alice", "wrong-last", address="10.0.1.1")
    assert response.status_code == 429

    # From yet another address, the right password: refused with the lockout page.
    response = login(client, url, "alice", PASSWORD, address="10.0.2.2")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed logins" in html and "even the right password is refused" in html
    assert "_auth_user_id" not in client.session
    # Another user is not affected.
    AdminFactory(username="bob")
    response = login(client, url, "bob", PASSWORD, address="10.0.3.3")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(
        type(user).objects.get(username="bob").pk
    )


def test_an_address_is_locked_after_failures_across_usernames(client):
    url = reverse("login")
    UserFactory(username="carol")
    for attempt in range(LIMIT):
        login(client, url, f"nobody{attempt}", "wrong", address="192.0.2.7")
    response = login(client, url, "carol", PASSWORD, address="192.0.2.7")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # The same user from elsewhere logs in.
    response = login(client, url, "carol", PASSWORD, address="198.51.100.9")
    assert response.status_code == 302


def test_an_organisation_admin_unlocks_a_user_in_the_admin(client):
    rep = UserFactory(username="dave")
    admin = AdminFactory(organization=rep.organization)
    url = reverse("login")
    for attempt in range(LIMIT):
        login(client, url, "dave", "wrong", address=f"10.1.0.{attempt}")
    assert login(client, url, "dave", PASSWORD, address="10.1.1.1").status_code == 429

    client.force_login(admin)
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "unlock_login", "_selected_action": [rep.pk]},
        follow=True,
    )
    assert "Unlocked 1 user(s)" in response.content.decode()
    client.logout()
    response = login(client, url, "dave", PASSWORD, address="10.1.1.1")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(rep.pk)


def test_a_success_before_the_limit_clears_the_failures(client):
    UserFactory(username="erin")
    url = reverse("login")
    for _ in range(LIMIT - 1):
        login(client, url, "erin", "wrong")
    assert login(client, url, "erin", PASSWORD).status_code == 302
    client.logout()
    for _ in range(LIMIT - 1):
        login(client, url, "erin", "wrong")
    assert login(client, url, "erin", PASSWORD).status_code == 302
