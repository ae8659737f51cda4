"""The referral pathways the law and the national schemes expect between kinds of agencies, defined once.

Based on ../shared/reference/domain-india.md ("Referral types and rules" and section 2, "The referral
pathway after a rescue"). Each pathway names its statute or scheme so it can be checked against the
gazetted text. The network analysis uses the table three ways:

- `missing_pathway` findings, for the pathways with a `check` (where both ends exist and no referral runs);
- the "what if this agency closes" simulation (which agencies lose their only route along a pathway);
- which kinds normally both send and receive (`one_way`) and which kinds take part in referrals at all
  (`isolated`), and which cells of the kind × kind matrix are expected.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from stakeholders.vocab import AgencyKind as K


class Check:
    """How a missing pathway is detected (plain strings: the analysis is pure Python)."""

    DISTRICT = "district"  # a district has both ends and no referral between them in the window
    STATE = "state"  # a state has both ends and no referral between them in the window
    RESCUES = "rescues"  # a district with rescues in the window and a receiving agency, but no referral to it
    AGENCY = "agency"  # an agency that received people in the window never referred on to the receiving kind
    NONE = ""  # documented and used by "what if", not checked (needs case detail the analysis does not read)


@dataclass(frozen=True)
class Pathway:
    slug: str
    label: str
    from_kinds: frozenset[str]
    to_kinds: frozenset[str]
    purpose: str  # referrals.vocab.Purpose value ("" when the step is not one referral purpose)
    deadline: str
    basis: str
    check: str = Check.NONE
    severity: str = "medium"

    def __post_init__(self):
        if not self.from_kinds or not self.to_kinds:
            raise ValueError(f"Pathway {self.slug} needs sending and receiving kinds.")


_POLICE = frozenset({K.POLICE, K.AHTU})
_SHELTERS = frozenset({K.SHELTER_HOME, K.ONE_STOP_CENTRE})
_RESIDENTIAL = frozenset({K.SHELTER_HOME, K.ONE_STOP_CENTRE, K.CHILD_CARE_INSTITUTION})

PATHWAYS: tuple[Pathway, ...] = (
    Pathway(
        "police_to_cwc", _("Police / AHTU → Child Welfare Committee"), _POLICE, frozenset({K.CWC}),
        "produce_before_cwc", _("within 24 hours (journey excluded)"), "JJ Act 2015 s.31; POCSO s.19(6)",
        Check.DISTRICT, "high",
    ),
    Pathway(
        "first_responder_to_cwc", _("Railway police, border force, DCPU, helpline, NGO, hospital → CWC"),
        frozenset({K.RAILWAY_POLICE, K.BORDER_FORCE, K.DCPU, K.HELPLINE, K.NGO, K.HOSPITAL, K.LABOUR_DEPARTMENT}),
        frozenset({K.CWC}), "produce_before_cwc", _("within 24 hours (journey excluded)"), "JJ Act 2015 s.31",
    ),
    Pathway(
        "railway_to_child_protection", _("Railway police → Child Helpline or CWC"), frozenset({K.RAILWAY_POLICE}),
        frozenset({K.CWC, K.HELPLINE, K.DCPU}), "produce_before_cwc", _("within 24 hours"),
        "JJ Act 2015 s.31; RPF Nanhe Farishte SOP", Check.DISTRICT, "medium",
    ),
    Pathway(
        "police_to_hospital", _("Police / AHTU → hospital (medical examination)"), _POLICE, frozenset({K.HOSPITAL}),
        "medical_examination", _("within 24 hours; report within 7 days"), "BNSS 2023 s.184; POCSO Rules 2020",
        Check.DISTRICT, "medium",
    ),
    Pathway(
        "police_to_magistrate", _("Police / AHTU → magistrate (production after a rescue)"), _POLICE,
        frozenset({K.MAGISTRATE}), "magistrate_production", _("forthwith"), "ITPA 1956 s.15(5); BNSS 2023 s.183",
        Check.DISTRICT, "low",
    ),
    Pathway(
        "rescue_to_shelter", _("Police / AHTU / magistrate → shelter (custody and placement of adults)"),
        frozenset({K.POLICE, K.AHTU, K.MAGISTRATE}), _SHELTERS, "shelter_placement",
        _("intermediate custody at most 10 days"), "ITPA 1956 s.17(1), s.21", Check.STATE, "medium",
    ),
    Pathway(
        "osc_to_shelter", _("One Stop Centre → Shakti Sadan (long-term shelter)"), frozenset({K.ONE_STOP_CENTRE}),
        frozenset({K.SHELTER_HOME}), "shelter_placement", _("OSC stay at most 5 days"), "Mission Shakti (MWCD 2023)",
        Check.AGENCY, "medium",
    ),
    Pathway(
        "cwc_to_cci", _("CWC → child care institution (placement)"), frozenset({K.CWC}),
        frozenset({K.CHILD_CARE_INSTITUTION}), "shelter_placement", _("reviewed by the CWC"),
        "JJ Act 2015 s.36-37", Check.DISTRICT, "medium",
    ),
    Pathway(
        "cwc_to_dcpu", _("CWC → DCPU (social investigation, age determination)"), frozenset({K.CWC}),
        frozenset({K.DCPU}), "home_investigation", _("within 15 days"), "JJ Act 2015 s.36, s.94",
        Check.DISTRICT, "medium",
    ),
    Pathway(
        "cwc_transfer", _("CWC → CWC of the home district (inter-district / inter-state transfer)"),
        frozenset({K.CWC}), frozenset({K.CWC}), "repatriation", _("escort within 15 days of the order"),
        "JJ Act 2015 s.95; JJ Model Rules r.81",
    ),
    Pathway(
        "rescues_to_dlsa", _("District with rescues → DLSA (victim compensation)"),
        frozenset({K.POLICE, K.AHTU, K.NGO, K.SHELTER_HOME, K.ONE_STOP_CENTRE, K.CWC, K.DCPU, K.CHILD_CARE_INSTITUTION}),
        frozenset({K.LEGAL_SERVICES}), "victim_compensation", _("DLSA enquiry within 2 months"),
        "BNSS 2023 s.396; NALSA scheme 2018", Check.RESCUES, "medium",
    ),
    Pathway(
        "shelter_to_legal", _("Shelter → legal services (legal aid and compensation)"), _RESIDENTIAL,
        frozenset({K.LEGAL_SERVICES}), "legal_aid", _("DLSA enquiry within 2 months"), "BNSS 2023 s.396",
        Check.AGENCY, "medium",
    ),
    Pathway(
        "bonded_labour_release", _("Police / AHTU / NGO / labour department → DM or SDM (bonded-labour release)"),
        frozenset({K.POLICE, K.AHTU, K.NGO, K.LABOUR_DEPARTMENT}), frozenset({K.MAGISTRATE}),
        "bonded_labour_release", _("prima-facie order within 24 hours (state SOP)"), "BLSA 1976 s.12; CSS-RBL 2021",
    ),
    Pathway(
        "hospital_to_police", _("Hospital → police (after treating a victim of a sexual offence)"),
        frozenset({K.HOSPITAL}), _POLICE, "investigation_handover", _("immediately"), "BNSS 2023 s.397",
    ),
    Pathway(
        "ngo_to_police", _("NGO → AHTU / police (rescue and FIR)"), frozenset({K.NGO}), _POLICE,
        "investigation_handover", _("—"), "ITPA 1956 s.13-16; MHA advisory 2009",
    ),
    Pathway(
        "helpline_response", _("Child Helpline 1098 → DCPU / police / CWC"), frozenset({K.HELPLINE}),
        frozenset({K.DCPU, K.POLICE, K.AHTU, K.CWC}), "", _("emergency response"), "Mission Vatsalya; ERSS-112",
    ),
    Pathway(
        "home_investigation", _("Magistrate → probation officer / DCPU / NGO (home investigation)"),
        frozenset({K.MAGISTRATE}), frozenset({K.DCPU, K.NGO}), "home_investigation", _("—"), "ITPA 1956 s.17(2)",
    ),
    Pathway(
        "repatriation", _("State department / CWC → MEA, other states (repatriation)"),
        frozenset({K.STATE_DEPARTMENT, K.STATE_AHT_BUREAU, K.CWC}), frozenset({K.MINISTRY, K.STATE_DEPARTMENT}),
        "repatriation", _("as expeditiously as possible"), "MHA OM 01.05.2012; India-Bangladesh MoU 2015",
    ),
)

PATHWAYS_BY_SLUG = {pathway.slug: pathway for pathway in PATHWAYS}
if len(PATHWAYS_BY_SLUG) != len(PATHWAYS):
    raise ValueError("Pathway slugs must be unique.")

# Kinds that take part in referrals at all: an isolated ministry or donor is not a gap.
REFERRAL_KINDS = frozenset().union(*(p.from_kinds | p.to_kinds for p in PATHWAYS)) - {K.MINISTRY}
# Kinds in the middle of the pathways, which receive people and must refer them on (and are referred to):
# one doing only one of the two is one-way. NGOs, hospitals, magistrates and helplines often only send or
# only receive, by design, so they are left out.
TWO_WAY_KINDS = frozenset({K.POLICE, K.AHTU, K.CWC, K.DCPU, K.SHELTER_HOME, K.ONE_STOP_CENTRE, K.CHILD_CARE_INSTITUTION})
# Kinds whose silence hurts victims first (isolation and findings about them rank higher).
CRITICAL_KINDS = frozenset({K.AHTU, K.CWC, K.SHELTER_HOME, K.CHILD_CARE_INSTITUTION, K.ONE_STOP_CENTRE})
EXPECTED_KIND_PAIRS = frozenset((f, t) for p in PATHWAYS for f in p.from_kinds for t in p.to_kinds)


def checked_pathways(check: str) -> tuple[Pathway, ...]:
    return tuple(p for p in PATHWAYS if p.check == check)


def pathways_from(kind: str) -> tuple[Pathway, ...]:
    """The pathways an agency of this kind is expected to start (what it must be able to reach)."""
    return tuple(p for p in PATHWAYS if kind in p.from_kinds)
