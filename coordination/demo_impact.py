"""Demo AHTU returns, trainings and committee action items for `seed_demo` (filled in by the steering-committee work)."""


def seed_impact(agencies, rng) -> dict:
    """Create the demo returns, trainings and action items; return counts for the command's summary."""
    return {}
