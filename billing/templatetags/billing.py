"""The event page's billing panel figures: billing shows them on a page of events/.

events/ never imports billing/; its event page loads this tag library instead
(``{% load billing %}{% billing_figures event as figures %}``).
"""

from django import template

from billing import selectors
from billing.ageing import pending_po_summary

register = template.Library()


@register.simple_tag
def billing_figures(event) -> dict:
    """Invoice credits and balance of a submitted sale; the credited orders of a return."""
    return selectors.billing_figures(event=event)


@register.simple_tag
def pending_po_waiting(user):
    """The dashboard's figure: the total waiting for a PO and the oldest (billing.ageing)."""
    return pending_po_summary(user=user)
