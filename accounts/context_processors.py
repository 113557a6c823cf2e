def currency(request):
    """The organisation's currency for the ``money`` filter (``{{ amount|money:currency }}``)."""
    user = getattr(request, "user", None)
    organization = getattr(user, "organization", None) if getattr(
        user, "is_authenticated", False) else None
    return {"currency": getattr(organization, "currency", None) or "USD"}
