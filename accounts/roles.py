"""The roles a user may have (``User.Role``): below the models and the permission table, which
both read them."""

from django.db import models


class UserRole(models.TextChoices):
    """Use it as ``User.Role``."""

    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    REP = "rep", "Rep"
