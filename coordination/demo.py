"""Demo data for `seed_demo`: the registry, demo users for every role, and (from the referrals
app) cases and referrals. Demo only: every agency code starts with DEMO-."""

from __future__ import annotations

import random

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from stakeholders.demo import DEMO_PREFIX, build_registry, save_partnerships, save_registry
from stakeholders.models import Agency, Membership
from stakeholders.services import membership_grant

DEMO_PASSWORD = "demo-pass-2026"

# username, full name, agency code (without DEMO-), role, what the README says they are for
DEMO_USERS = [
    ("asha", "Asha Kulkarni", "MH-PUNE-SAATHI", Membership.Role.CASEWORKER, "NGO caseworker in Pune who refers rescued persons"),
    ("bina", "Bina Rao", "MH-PUNE-SAATHI", Membership.Role.VIEWER, "NGO viewer (read-only) at the same NGO"),
    ("nina", "Nina D'Souza", "MH-PUNE-SAATHI", Membership.Role.ADMIN, "NGO admin: manages the NGO's profile and members"),
    ("chitra", "Chitra Patil", "MH-PUNE-SS", Membership.Role.CASEWORKER, "Shakti Sadan Pune caseworker, receives placements"),
    ("kavita", "Kavita Joshi", "MH-PUNE-CWC", Membership.Role.CASEWORKER, "Child Welfare Committee Pune member"),
    ("arjun", "Arjun Shinde", "MH-PUNE-AHTU", Membership.Role.ADMIN, "AHTU Pune officer; files the monthly AHTU return"),
    ("priya", "Priya Nair", "MH-PUNE-DLSA", Membership.Role.CASEWORKER, "DLSA Pune: victim compensation"),
    ("devi", "Devi Menon", "MH-WCD", Membership.Role.CASEWORKER, "Maharashtra state reviewer (WCD): all referrals in the state, no identities"),
    ("rahul", "Rahul Deshmukh", "MH-AHTB", Membership.Role.ADMIN, "Maharashtra nodal cell admin: edits the state's registry, reviews AHTU returns"),
    ("mitra", "Mitra Sen", "WB-WCD", Membership.Role.CASEWORKER, "West Bengal state reviewer"),
    ("omar", "Omar Khan", "BR-PATNA-NGO1", Membership.Role.CASEWORKER, "Outsider: NGO caseworker in Patna, sees none of Pune's cases"),
    ("sunil", "Sunil Verma", "SC", Membership.Role.VIEWER, "Steering committee member: maps, network and impact; no case data"),
]


def has_non_demo_data() -> bool:
    return Agency.objects.exclude(code__startswith=DEMO_PREFIX).exists()


@transaction.atomic
def seed_all() -> dict[str, int]:
    """Every demo step in order, in one transaction; each step is idempotent."""
    from coordination.demo_impact import seed_impact
    from referrals.demo import seed_referrals

    rng = random.Random(2011)
    agencies = seed_registry_and_users(rng)
    counts = {"agencies": len(agencies)}
    counts.update(seed_referrals(agencies, random.Random(2012)))
    counts.update(seed_impact(agencies, random.Random(2013)))
    return counts


def seed_registry_and_users(rng: random.Random) -> dict[str, Agency]:
    agencies = save_registry(build_registry(rng))
    save_partnerships(agencies, rng)
    User = get_user_model()
    # One hash for every demo user: hashing is deliberately slow, and they share the password.
    password_hash = make_password(DEMO_PASSWORD)
    admin, created = User.objects.get_or_create(
        username="admin", defaults={"is_superuser": True, "is_staff": True, "first_name": "Demo", "last_name": "Superuser"}
    )
    if created:
        admin.password = password_hash
        admin.save()
    for username, full_name, code, role, _purpose in DEMO_USERS:
        first, _, last = full_name.partition(" ")
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last, "email": f"{username}@demo.invalid"}
        )
        if created:
            user.password = password_hash
            user.save()
        membership_grant(agency=agencies[DEMO_PREFIX + code], user=user, role=role)
    return agencies
