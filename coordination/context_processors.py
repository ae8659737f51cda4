from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from stakeholders.selectors import user_scope

# (url name, label, who sees it). Sections whose URL is not installed are skipped, so the
# navigation never links to a page that does not exist.
# The brand links home, so Home needs no item of its own.
NAV = [
    ("referrals:referral_create", _("Refer"), "acting"),
    ("referrals:inbox", _("Inbox"), "case"),
    ("referrals:sent", _("Sent"), "case"),
    ("referrals:review", _("Review"), "supervisor"),
    ("stakeholders:agency_list", _("Agencies"), "any"),
    ("mapping:network", _("Network"), "analysis"),
    ("mapping:coverage", _("Coverage"), "coverage"),
    ("coordination:impact", _("Impact"), "impact"),
    ("coordination:return_list", _("Returns"), "returns"),
    ("coordination:training_list", _("Training"), "training"),
    ("coordination:action_list", _("Actions"), "actions"),
]

# In-app counts shown next to a navigation item: url name -> function(user) -> int (one cheap indexed query).
BADGES = {
    "referrals:inbox": "referrals.selectors.inbox_pending_count",
}


def _visible(rule, scope) -> bool:
    if rule == "any":
        return True
    if rule == "acting":
        return bool(scope.acting_agency_ids) and not scope.committee
    if rule == "case":
        return bool(scope.agency_ids) and not (scope.committee and len(scope.agency_ids) == 1)
    if rule == "supervisor":
        return scope.is_supervisor or scope.superuser
    if rule == "analysis":
        return scope.superuser or scope.committee or scope.is_supervisor or bool(scope.admin_agency_ids)
    if rule == "coverage":
        # Coverage is drawn around places: an admin of a national body (no state) has none to see.
        return scope.superuser or scope.committee or scope.is_supervisor or any(
            m.role == m.Role.ADMIN and m.agency.state_id is not None for m in scope.memberships
        )
    if rule == "impact":
        return scope.superuser or scope.committee or scope.is_supervisor or bool(scope.agency_ids)
    # Steering pages: AHTU returns for AHTUs and their states; training and action items for the bodies
    # that run them (everyone else reaches them from the home page and the impact report).
    if rule == "returns":
        return scope.superuser or scope.is_supervisor or any(m.agency.kind == "ahtu" for m in scope.memberships)
    if rule == "training":
        return scope.superuser or scope.committee or scope.is_supervisor or any(
            m.agency.kind == "training_institute" for m in scope.memberships
        )
    if rule == "actions":
        return scope.superuser or scope.committee or scope.is_supervisor
    return False


def site(request):
    items = []
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        scope = user_scope(user)
        current = request.resolver_match.view_name if request.resolver_match else ""
        for name, label, rule in NAV:
            if not _visible(rule, scope):
                continue
            try:
                url = reverse(name)
            except NoReverseMatch:
                continue
            item = {"url": url, "label": label, "active": current == name, "primary": rule == "acting"}
            if name in BADGES:
                item["badge"] = import_string(BADGES[name])(user) or None
            items.append(item)
    return {
        "nav_items": items,
        "nav_primary": next((item for item in items if item["primary"]), None),
        "SITE_NAME": _("AHT Coordination"),
        "SMALL_COUNT_THRESHOLD": settings.SMALL_COUNT_THRESHOLD,
    }
