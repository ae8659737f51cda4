"""Demo cases and referrals for `seed_demo` (filled in by the referrals work)."""


def seed_referrals(agencies, rng) -> dict:
    """Create the demo cases and referrals; return counts for the command's summary."""
    return {}
