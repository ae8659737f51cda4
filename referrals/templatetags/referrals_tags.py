"""Badges for referral status and deadlines, the same on every referral page."""

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _

from referrals.vocab import PENDING_STATUSES, Status

register = template.Library()

STATUS_CLASSES = {
    Status.DRAFT: "",
    Status.SENT: "info",
    Status.ACKNOWLEDGED: "info",
    Status.ACCEPTED: "ok",
    Status.DECLINED: "bad",
    Status.COMPLETED: "ok",
    Status.WITHDRAWN: "",
}


@register.simple_tag
def status_badge(referral):
    return format_html('<span class="badge {}">{}</span>', STATUS_CLASSES.get(referral.status, ""), referral.get_status_display())


@register.simple_tag
def due_badge(referral, now=None):
    """Overdue by…, due in…, or (once answered) whether the deadline was met."""
    if referral.due_at is None:
        return ""
    now = now or timezone.now()
    due = timezone.localtime(referral.due_at)
    stamp = due.strftime("%d %b %Y, %H:%M")
    if referral.status in PENDING_STATUSES:
        if referral.due_at < now:
            return format_html('<span class="badge bad" title="{}">{}</span>', stamp,
                               _("overdue by %(time)s") % {"time": timesince(referral.due_at, now, depth=1)})
        soon = (referral.due_at - now).total_seconds() < 6 * 3600
        return format_html('<span class="badge {}" title="{}">{}</span>', "warn" if soon else "", stamp,
                           _("due in %(time)s") % {"time": timeuntil(referral.due_at, now, depth=1)})
    answered = referral.responded_at or referral.closed_at
    if answered is None:
        return ""
    if answered <= referral.due_at:
        return format_html('<span class="badge ok" title="{}">{}</span>', stamp, _("deadline met"))
    return format_html('<span class="badge warn" title="{}">{}</span>', stamp, _("answered late"))
