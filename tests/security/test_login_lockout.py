"""Login lockout (django-axes, accounts.lockout): a username is locked at one address after a few
failures, an address alone only after many; while locked even the right password is refused, on
the app's login and the admin's; the login page warns before; admins unlock (admin page, command).
"""

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import PASSWORD, AdminFactory, UserFactory

pytestmark = pytest.mark.django_db
LIMIT = settings.AXES_FAILURE_LIMIT


def login(client, url, username, password, address="10.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_a_username_is_locked_at_one_address_after_failures_even_for_the_right_password(
    client, url_name
):
    url = reverse(url_name)
    user = AdminFactory(username="alice")
    for attempt in range(LIMIT - 1):
        response = login(client, url, "alice", f"wrong-{attempt}", address="10.0.0.1")
        assert response.status_code == 200  # the form again, with its message
    response = login(client, url, "alice", "wrong-last", address="10.0.0.1")
    assert response.status_code == 429

    # From the same address, the right password: refused with the lockout page.
    response = login(client, url, "alice", PASSWORD, address="10.0.0.1")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed logins" in html and "even the right password is refused" in html
    assert "_auth_user_id" not in client.session
    # Another user behind the same address (a hospital's Wi-Fi) is not affected.
    AdminFactory(username="bob")
    response = login(client, url, "bob", PASSWORD, address="10.0.0.1")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(
        type(user).objects.get(username="bob").pk
    )
    client.logout()
    # Nor is alice herself from another address: someone else's guesses never lock her out.
    response = login(client, url, "alice", PASSWORD, address="10.0.2.2")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_failures_spread_over_addresses_lock_nobody(client):
    user = UserFactory(username="frank")
    url = reverse("login")
    for attempt in range(LIMIT * 3):
        login(client, url, "frank", "wrong", address=f"10.9.0.{attempt}")
    assert login(client, url, "frank", PASSWORD, address="10.9.1.1").status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_an_address_alone_is_locked_only_at_its_much_higher_limit(client):
    url = reverse("login")
    address_limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
    assert address_limit >= 10 * LIMIT
    UserFactory(username="carol")
    # Made-up usernames from one address: far more than LIMIT wrong passwords lock no one else.
    for attempt in range(address_limit - 1):
        login(client, url, f"nobody{attempt}", "wrong", address="192.0.2.7")
    response = login(client, url, "carol", PASSWORD, address="192.0.2.7")
    assert response.status_code == 302
    client.logout()
    login(client, url, "nobody-last", "wrong", address="192.0.2.7")
    # At the address limit, the address is locked for everyone...
    response = login(client, url, "carol", PASSWORD, address="192.0.2.7")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # ... and the same user from elsewhere logs in.
    response = login(client, url, "carol", PASSWORD, address="198.51.100.9")
    assert response.status_code == 302


def test_the_login_page_warns_with_the_attempts_left(client):
    UserFactory(username="gina")
    url = reverse("login")
    response = login(client, url, "gina", "wrong")
    assert f"{LIMIT - 1} attempts left before this account is locked for 15 minutes" in (
        response.content.decode())
    for _ in range(LIMIT - 3):
        response = login(client, url, "gina", "wrong")
    assert "2 attempts left before this account is locked for 15 minutes." in (
        response.content.decode())
    response = login(client, url, "gina", "wrong")
    assert "1 attempt left before this account is locked" in response.content.decode()
    # A first visit, or a first failure from elsewhere, warns of nothing more than it should.
    assert 'data-testid="lockout-warning"' not in client.get(url).content.decode()
    response = login(client, url, "gina", "wrong", address="10.7.7.7")
    assert f"{LIMIT - 1} attempts left" in response.content.decode()


def test_unlock_login_command_unlocks_a_locked_out_admin(client):
    from io import StringIO

    from django.core.management import call_command

    admin = AdminFactory(username="root-admin")
    url = reverse("admin:login")
    for _ in range(LIMIT):
        login(client, url, "root-admin", "wrong")
    assert login(client, url, "root-admin", PASSWORD).status_code == 429
    out = StringIO()
    call_command("unlock_login", "root-admin", stdout=out)
    assert "Unlocked username 'root-admin'" in out.getvalue()
    assert login(client, url, "root-admin", PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(admin.pk)


def test_the_admin_lists_login_locks_and_another_admin_unlocks(client):
    rep = UserFactory(username="henry")
    stranger = UserFactory(username="ivan")  # another organisation
    admin = AdminFactory(organization=rep.organization)
    url = reverse("login")
    for who in ("henry", "ivan"):
        for _ in range(LIMIT):
            login(client, url, who, "wrong", address="10.4.4.4")
    assert login(client, url, "henry", PASSWORD, address="10.4.4.4").status_code == 429

    client.force_login(admin)
    locks_url = reverse("admin:accounts_user_login_locks")
    html = client.get(locks_url).content.decode()
    assert "henry" in html and "10.4.4.4" in html and ">Unlock<" in html
    assert "ivan" not in html  # another organisation's user
    assert stranger.organization_id != admin.organization_id
    response = client.post(locks_url, {"username": "ivan"}, follow=True)
    assert "Nothing to unlock" in response.content.decode()
    response = client.post(locks_url, {"username": "henry"}, follow=True)
    assert "Unlocked henry" in response.content.decode()
    assert 'data-testid="no-login-locks"' in response.content.decode()
    client.logout()
    assert login(client, url, "henry", PASSWORD, address="10.4.4.4").status_code == 302
    client.logout()
    assert login(client, url, "ivan", PASSWORD, address="10.4.4.4").status_code == 429


def test_a_manager_reads_the_login_locks_but_cannot_unlock(client):
    from tests.factories import ManagerFactory

    rep = UserFactory(username="jack")
    manager = ManagerFactory(organization=rep.organization)
    for _ in range(LIMIT):
        login(client, reverse("login"), "jack", "wrong")
    client.force_login(manager)
    locks_url = reverse("admin:accounts_user_login_locks")
    html = client.get(locks_url).content.decode()
    assert "jack" in html and ">Unlock<" not in html
    assert client.post(locks_url, {"username": "jack"}).status_code == 403


def test_an_organisation_admin_unlocks_a_user_in_the_admin(client):
    rep = UserFactory(username="dave")
    admin = AdminFactory(organization=rep.organization)
    url = reverse("login")
    for _ in range(LIMIT):
        login(client, url, "dave", "wrong", address="10.1.1.1")
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
