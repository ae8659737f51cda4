from django import template

from coordination.suppression import suppress as suppress_count

register = template.Library()


@register.filter
def suppress(count, enabled=True):
    """{{ count|suppress:needs_suppression }} -> the count, or "<5" for small positive counts."""
    return suppress_count(count) if enabled else count
