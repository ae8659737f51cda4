"""Small-count suppression: the one function every aggregate shown beyond the agencies involved uses.

A count of 1 to threshold-1 could identify a person in a small district, so it is shown as "<5".
Zero is shown: "no referrals between these two agencies" identifies nobody and is the finding.
"""

from __future__ import annotations

from django.conf import settings


def suppress(count, threshold: int | None = None):
    """Return the count, or the string "<N" when it is positive and below the threshold."""
    limit = settings.SMALL_COUNT_THRESHOLD if threshold is None else threshold
    if count is None:
        return None
    if 0 < count < limit:
        return f"<{limit}"
    return count


def needs_suppression(user, *, state_ids=None) -> bool:
    """Whether aggregates shown to this user must be suppressed.

    Superusers see everything. A state supervisor reads every referral of their state(s) anyway, so
    aggregates restricted to those states need no suppression. Everyone else (the steering committee,
    agency admins looking beyond their own agency) gets suppressed counts.
    """
    from stakeholders.selectors import user_scope

    scope = user_scope(user)
    if scope.superuser:
        return False
    if scope.supervised_state_ids and state_ids is not None and set(state_ids) <= set(scope.supervised_state_ids):
        return False
    return True
