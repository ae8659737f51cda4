"""Small factories: each returns a saved object with sensible defaults that a test can override."""

from __future__ import annotations

import itertools

from django.contrib.auth import get_user_model

from stakeholders.models import Agency, AgencyService, District, State
from stakeholders.services import membership_grant
from stakeholders.vocab import LocationPrecision, normalise

_seq = itertools.count(1)


def make_state(name="Maharashtra", **kwargs) -> State:
    state, _ = State.objects.get_or_create(key=normalise(name), defaults={"name": name, **kwargs})
    return state


def make_district(name, state, latitude=None, longitude=None, **kwargs) -> District:
    district, _ = District.objects.get_or_create(
        state=state, key=normalise(name),
        defaults={"name": name, "latitude": latitude, "longitude": longitude, **kwargs},
    )
    return district


def make_agency(*, services=(), **kwargs) -> Agency:
    n = next(_seq)
    district = kwargs.get("district")
    if district is not None:
        kwargs.setdefault("state", district.state)
        kwargs.setdefault("latitude", district.latitude)
        kwargs.setdefault("longitude", district.longitude)
        kwargs.setdefault("location_precision", LocationPrecision.DISTRICT)
    kwargs.setdefault("code", f"T-{n:05d}")
    kwargs.setdefault("name", f"Test agency {n}")
    kwargs.setdefault("kind", "ngo")
    agency = Agency.objects.create(**kwargs)
    AgencyService.objects.bulk_create([AgencyService(agency=agency, service=s) for s in services])
    return agency


def make_user(username, *, agency=None, role="caseworker", **kwargs):
    User = get_user_model()
    kwargs.setdefault("email", f"{username}@example.org")
    user = User.objects.create_user(username=username, password="pw-for-tests-only", **kwargs)
    if agency is not None:
        membership_grant(agency=agency, user=user, role=role)
    return user


def make_case(*, opened_by, **kwargs):
    from referrals.models import Case

    kwargs.setdefault("holder", opened_by)
    kwargs.setdefault("exploitation", "sexual_exploitation")
    kwargs.setdefault("age_status", "adult")
    kwargs.setdefault("gender", "female")
    return Case.objects.create(opened_by=opened_by, **kwargs)


def make_referral(*, case, from_agency, to_agency, purpose="counselling", status="sent", **kwargs):
    """A referral row as it would be after its transitions (no events): for analyses and lists."""
    from django.utils import timezone

    from referrals.models import Referral

    now = timezone.now()
    kwargs.setdefault("from_state_id", from_agency.state_id)
    kwargs.setdefault("to_state_id", to_agency.state_id)
    kwargs.setdefault("created_at", kwargs.get("sent_at") or now)
    if status != "draft":
        kwargs.setdefault("sent_at", kwargs["created_at"])
    if status in {"accepted", "declined", "completed"}:
        kwargs.setdefault("responded_at", kwargs["sent_at"])
    if status in {"completed", "withdrawn"}:
        kwargs.setdefault("closed_at", kwargs.get("responded_at") or kwargs["sent_at"])
    return Referral.objects.create(
        case=case, from_agency=from_agency, to_agency=to_agency, purpose=purpose, status=status, **kwargs
    )
