"""Template helpers of the steering pages: links to pages that may not be installed yet, figures."""

from django import template
from django.urls import NoReverseMatch, reverse

from coordination.periods import month_key
from coordination.suppression import suppress

register = template.Library()


@register.filter
def safe_url(name, arg=None):
    """{{ "referrals:referral_detail"|safe_url:referral.reference }}: the URL, or "" while that page does not exist."""
    try:
        return reverse(name, args=[arg] if arg not in (None, "") else [])
    except NoReverseMatch:
        return ""


@register.filter
def figure(value, suppressed=False):
    """A count for display: suppressed when asked ("<5"), thousands separated, "—" for nothing."""
    if value is None:
        return "—"
    value = suppress(value) if suppressed else value
    if isinstance(value, int):
        return f"{value:,}"
    return value


@register.filter
def get(mapping, key):
    """{{ row|get:field }}: a dict value by a variable key."""
    try:
        return mapping[key]
    except (KeyError, TypeError, IndexError):
        return None


@register.filter
def month(value):
    return month_key(value) if value else ""


@register.filter
def percent(part, whole):
    try:
        return round(100 * part / whole) if whole else None
    except TypeError:
        return None


@register.filter
def get_attr(obj, name):
    """{{ object|get_attr:field }}: an attribute by a variable name."""
    return getattr(obj, name, None)
