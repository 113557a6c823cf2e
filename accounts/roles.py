"""The roles a user may have (``User.Role``): below the models and the permission table, which
both read them."""

from django.db import models


class UserRole(models.TextChoices):
    """Use it as ``User.Role``."""

    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    # Reads like a manager, but only their region (``consignment.Region``): its facilities and
    # its reps (``consignment.regions``).
    REGIONAL_MANAGER = "regional_manager", "Regional manager"
    REP = "rep", "Rep"
