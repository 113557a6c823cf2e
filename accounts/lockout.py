"""The login lockout policy, on django-axes.

A username is locked from one address after ``LOGIN_FAILURE_LIMIT`` (5) wrong passwords from that
address: one person's typos, or an attacker's guesses, never lock the same user elsewhere, nor
other users behind the same address (a hospital's Wi-Fi). An address alone is locked only after
``LOGIN_ADDRESS_FAILURE_LIMIT`` (50) wrong passwords across all usernames, against guessing many
accounts from one place. Both last ``LOGIN_COOLOFF_MINUTES`` (15).

django-axes counts failures per parameter set (``AXES_LOCKOUT_PARAMETERS``: username and address
together, then the address alone) and compares the largest count with one limit. The handler
below gives that comparison both limits: the address's count is shifted down by the difference
of the two limits, so 50 failures from an address weigh as 5 of one username there.
"""

from __future__ import annotations

from dataclasses import dataclass

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_ip_address, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.utils import timezone

PAIR, ADDRESS = 0, 1  # positions in settings.AXES_LOCKOUT_PARAMETERS


def _address_offset() -> int:
    return max(settings.LOGIN_ADDRESS_FAILURE_LIMIT - settings.AXES_FAILURE_LIMIT, 0)


class FieldstockAxesHandler(AxesDatabaseHandler):
    def failure_counts(self, request, credentials=None) -> tuple[int, int]:
        """Failures within the cool-off of (this username from this address, this address)."""
        counts = [
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        ]
        return counts[PAIR], counts[ADDRESS]

    def get_failures(self, request, credentials=None) -> int:
        pair, address = self.failure_counts(request, credentials)
        return max(pair, address - _address_offset())

    def reset_user_attempts(self, request, credentials=None) -> int:
        """A successful login clears that username's failures from that address only: someone
        with an account of their own cannot clear the address's count of guesses at others."""
        count, _ = self.filter_user_attempts(request, credentials)[PAIR].delete()
        return count


@dataclass(frozen=True)
class LoginStanding:
    """What is left before a lock, for the warning on the login page."""

    account_left: int
    address_left: int

    @property
    def warning(self) -> str:
        minutes = int(get_cool_off().total_seconds() // 60) if get_cool_off() else 0
        lasting = f" for {minutes} minutes" if minutes else ""
        if self.address_left < self.account_left:
            left = self.address_left
            what = "logins from this network address are locked"
        else:
            left = self.account_left
            what = "this account is locked"
        plural = "attempt" if left == 1 else "attempts"
        return f"{left} {plural} left before {what}{lasting}."


def login_standing(request, username: str) -> LoginStanding | None:
    """After a failed login for ``username``: how many tries are left from this address, or None
    when there are no failures to warn about."""
    handler = FieldstockAxesHandler()
    credentials = {settings.AXES_USERNAME_FORM_FIELD: username}
    if not hasattr(request, "axes_ip_address"):  # axes sets these on every login attempt
        request.axes_ip_address = get_client_ip_address(request)
        request.axes_user_agent = request.META.get("HTTP_USER_AGENT", "<unknown>")[:255]
        request.axes_attempt_time = None
    pair, address = handler.failure_counts(request, credentials)
    if not pair and not address:
        return None
    return LoginStanding(
        account_left=max(settings.AXES_FAILURE_LIMIT - pair, 0),
        address_left=max(settings.LOGIN_ADDRESS_FAILURE_LIMIT - address, 0),
    )


def current_locks(usernames=None):
    """The locks in force now: (username, address, failures, last failure) of each locked pair,
    and of each address locked across usernames (username None), newest first. ``usernames``
    limits the pairs to those users (an organisation admin sees only their own users)."""
    attempts = AccessAttempt.objects.all()
    cool_off = get_cool_off()
    if cool_off:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    pairs = attempts.values("username", "ip_address").annotate(
        failures=Sum("failures_since_start"), last=Max("attempt_time")
    ).filter(failures__gte=settings.AXES_FAILURE_LIMIT)
    if usernames is not None:
        pairs = pairs.filter(username__in=list(usernames))
    locks = [
        Lock(row["username"], row["ip_address"], row["failures"], row["last"]) for row in pairs
    ]
    if usernames is None:
        addresses = attempts.values("ip_address").annotate(
            failures=Sum("failures_since_start"), last=Max("attempt_time")
        ).filter(failures__gte=settings.LOGIN_ADDRESS_FAILURE_LIMIT)
        locks += [Lock(None, row["ip_address"], row["failures"], row["last"]) for row in addresses]
    return sorted(locks, key=lambda lock: lock.last, reverse=True)


@dataclass(frozen=True)
class Lock:
    username: str | None
    address: str | None
    failures: int
    last: object


def unlock(*, username: str | None = None, address: str | None = None) -> int:
    """Clear the failures of ``username`` (from every address) and/or of ``address``; the number
    of failure records removed."""
    attempts = AccessAttempt.objects.all()
    if username is None and address is None:
        raise ValueError("Name a username or an address to unlock.")
    if username is not None:
        attempts = attempts.filter(username=username)
    if address is not None:
        attempts = attempts.filter(ip_address=address)
    count, _ = attempts.delete()
    return count
