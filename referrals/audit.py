"""Writing the audit log: one helper, used by every service and view that reads or changes case data.

Entries never hold identity text: only codes, references, counts, field names and filters.
"""

from __future__ import annotations

from django.utils import timezone


def agency_for(user, *candidates) -> int | None:
    """The agency a user acts for in an audit entry: the first of `candidates` (agency ids) they belong
    to, else any of their agencies (a supervisor reading a referral between two other agencies)."""
    from stakeholders.selectors import user_scope

    scope = user_scope(user)
    for agency_id in candidates:
        if agency_id in scope.agency_ids:
            return agency_id
    if scope.supervised_state_ids:
        supervising = [m.agency_id for m in scope.memberships if m.agency.state_id in scope.supervised_state_ids]
        if supervising:
            return min(supervising)
    return min(scope.agency_ids) if scope.agency_ids else None


def audit(*, user, action: str, object_type: str, object_ref: str = "", agency_id: int | None = None,
          legal_basis: str = "", detail: dict | None = None, at=None):
    """Append one entry to the audit log."""
    from referrals.models import AuditEvent

    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    return AuditEvent.objects.create(
        at=at or timezone.now(),
        user=user,
        agency_id=agency_id if agency_id is not None else (agency_for(user) if user is not None else None),
        action=action,
        object_type=object_type,
        object_ref=str(object_ref)[:60],
        legal_basis=(legal_basis or "")[:120],
        detail=detail or {},
    )
