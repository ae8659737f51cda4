"""Hand-built referral networks (plain rows) with known answers, for the network-analysis tests."""

from __future__ import annotations

import random

from mapping.network import AgencyRow, NetworkInput, TieRow, Window

DISTRICTS = {"Pune": (1, "Maharashtra", 1), "Mumbai": (2, "Maharashtra", 1), "Patna": (3, "Bihar", 2), "Kolkata": (4, "West Bengal", 3)}


def agency(id, kind, district="Pune", *, code=None, focus=True, active=True, name=None) -> AgencyRow:
    district_id, state, state_id = DISTRICTS[district] if district else (None, "Maharashtra", 1)
    return AgencyRow(
        id=id, code=code or f"{kind.upper()}-{id}", name=name or f"{kind} {id}", kind=kind, state_id=state_id,
        state=state, district_id=district_id, district=district or "", latitude=18.5 + id / 100, longitude=73.8,
        active=active, focus=focus,
    )


def tie(source, target, referrals=1, **kwargs) -> TieRow:
    kwargs.setdefault("accepted", referrals)
    kwargs.setdefault("answered", kwargs["accepted"] + kwargs.get("declined", 0))
    return TieRow(source=source, target=target, referrals=referrals, **kwargs)


def planted_articulation() -> NetworkInput:
    """NGOs 1, 2 and AHTU 3 work together; only the AHTU refers to CWC 4. The CWC places children in CCI 5
    (its only tie) and works with DCPU 6, which alone links the CWC to shelter 7, DLSA 8 and hospital 9.

    Articulation points: 3 (cuts off 1, 2), 4 (cuts off 1, 2, 3 and 5), 6 (cuts off 7, 8, 9).
    Bridges: 3–4 (smaller side 1, 2, 3), 4–6 (smaller side 6–9), 4–5 (a single agency: not reported).
    """
    agencies = [
        agency(1, "ngo"), agency(2, "ngo"), agency(3, "ahtu"), agency(4, "cwc"), agency(5, "cci"),
        agency(6, "dcpu"), agency(7, "shelter_home"), agency(8, "legal_services"), agency(9, "hospital"),
    ]
    ties = [
        tie(1, 3, 6), tie(2, 3, 4), tie(1, 2, 2), tie(3, 4, 5), tie(4, 5, 3), tie(4, 6, 4),
        tie(6, 7, 2), tie(7, 8, 2), tie(8, 6, 1), tie(6, 9, 1), tie(9, 7, 1),
    ]
    return NetworkInput(agencies=agencies, ties=ties, window=Window())


def random_network(n=300, m=900, seed=3) -> NetworkInput:
    rng = random.Random(seed)
    kinds = ["ngo", "ahtu", "cwc", "police", "shelter_home", "cci", "dcpu", "legal_services", "hospital"]
    districts = list(DISTRICTS)
    agencies = [agency(i, rng.choice(kinds), rng.choice(districts)) for i in range(1, n + 1)]
    pairs = set()
    while len(pairs) < m:
        a, b = rng.randint(1, n), rng.randint(1, n)
        if a != b:
            pairs.add((a, b))
    ties = [tie(a, b, rng.randint(1, 20), declined=0) for a, b in sorted(pairs)]
    return NetworkInput(agencies=agencies, ties=ties, window=Window())
