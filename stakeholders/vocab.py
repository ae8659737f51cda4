"""Vocabularies of the registry, defined once. Imports accept a slug or its label."""

from __future__ import annotations

import functools
import re

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class AgencyKind(models.TextChoices):
    MINISTRY = "ministry", _("Ministry (central government)")
    STATE_DEPARTMENT = "state_department", _("State department (WCD / Social Welfare / Home)")
    STATE_AHT_BUREAU = "state_aht_bureau", _("State anti-trafficking bureau / nodal cell")
    POLICE = "police", _("District police / police station")
    AHTU = "ahtu", _("Anti-Human Trafficking Unit (AHTU)")
    CWC = "cwc", _("Child Welfare Committee (CWC)")
    DCPU = "dcpu", _("District Child Protection Unit (DCPU)")
    CHILD_CARE_INSTITUTION = "cci", _("Child care institution")
    SHELTER_HOME = "shelter_home", _("Shelter home (Shakti Sadan / protective home)")
    ONE_STOP_CENTRE = "one_stop_centre", _("One Stop Centre (Sakhi)")
    NGO = "ngo", _("NGO / civil society organisation")
    LEGAL_SERVICES = "legal_services", _("Legal services authority (SLSA / DLSA)")
    PROSECUTION = "prosecution", _("Prosecution")
    MAGISTRATE = "magistrate", _("Magistrate (judicial / DM / SDM)")
    LABOUR_DEPARTMENT = "labour_department", _("Labour department")
    HOSPITAL = "hospital", _("Hospital / medical officer")
    RAILWAY_POLICE = "railway_police", _("Railway police (RPF / GRP)")
    BORDER_FORCE = "border_force", _("Border force (SSB / BSF) / immigration")
    HELPLINE = "helpline", _("Helpline (1098 / 181)")
    TRAINING_INSTITUTE = "training_institute", _("Training institute")
    INTERNATIONAL_ORG = "international_org", _("International organisation")
    DONOR = "donor", _("Donor")
    COMMITTEE = "committee", _("Committee (steering / task force)")


# State-level agencies that supervise referrals touching their state (read-only, no identity).
SUPERVISING_KINDS = frozenset({AgencyKind.STATE_DEPARTMENT, AgencyKind.STATE_AHT_BUREAU})
# Agencies that place people in beds.
RESIDENTIAL_KINDS = frozenset({AgencyKind.SHELTER_HOME, AgencyKind.CHILD_CARE_INSTITUTION, AgencyKind.ONE_STOP_CENTRE})

DEFAULT_LEVEL_FOR_KIND = {
    AgencyKind.MINISTRY: "national",
    AgencyKind.INTERNATIONAL_ORG: "national",
    AgencyKind.DONOR: "national",
    AgencyKind.COMMITTEE: "national",
    AgencyKind.STATE_DEPARTMENT: "state",
    AgencyKind.STATE_AHT_BUREAU: "state",
    AgencyKind.TRAINING_INSTITUTE: "state",
}


class JurisdictionLevel(models.TextChoices):
    NATIONAL = "national", _("National")
    STATE = "state", _("State / UT")
    DISTRICT = "district", _("District")
    SUB_DISTRICT = "sub_district", _("Sub-district / police station")


class Service(models.TextChoices):
    RESCUE = "rescue", _("Rescue")
    INVESTIGATION = "investigation", _("Investigation")
    SHELTER_WOMEN = "shelter_women", _("Shelter for adult women")
    SHELTER_CHILDREN = "shelter_children", _("Shelter for children")
    SHELTER_MEN = "shelter_men", _("Shelter for adult men")
    MEDICAL = "medical", _("Medical care / examination")
    LEGAL_AID = "legal_aid", _("Legal aid")
    COUNSELLING = "counselling", _("Counselling")
    REPATRIATION = "repatriation", _("Repatriation")
    COMPENSATION = "compensation", _("Victim compensation")
    VOCATIONAL_TRAINING = "vocational_training", _("Vocational training")
    HELPLINE = "helpline", _("Helpline")
    AGE_DETERMINATION = "age_determination", _("Age determination")
    CHILD_PROTECTION = "child_protection", _("Child protection orders")
    BONDED_LABOUR_RELEASE = "bonded_labour_release", _("Bonded-labour release")
    FAMILY_TRACING = "family_tracing", _("Family tracing / home investigation")
    PROSECUTION = "prosecution", _("Prosecution")
    TRAINING = "training", _("Training")


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    TRANSGENDER = "transgender", _("Transgender")


class LocationPrecision(models.TextChoices):
    EXACT = "exact", _("Exact coordinates")
    PIN = "pin", _("PIN-code centroid")
    DISTRICT = "district", _("District centroid")
    NONE = "none", _("Not located")


class PartnershipKind(models.TextChoices):
    MOU = "mou", _("Memorandum of understanding")
    TASK_FORCE = "task_force", _("Task force membership")
    NETWORK = "network", _("Network membership")
    OTHER = "other", _("Other formal link")


def normalise(text: str) -> str:
    """Lower-case alphanumerics only: 'North  Goa' == 'NORTH-GOA' == 'north goa'."""
    return re.sub(r"[^0-9a-z]", "", (text or "").lower().replace("&", "and"))


def choice_from_text(choices: type[models.TextChoices], text: str) -> str | None:
    """Resolve a slug or a label (any case, any punctuation) to the choice's value."""
    key = normalise(text)
    if not key:
        return None
    return _choice_keys(choices, get_language()).get(key)


@functools.lru_cache(maxsize=64)
def _choice_keys(choices: type[models.TextChoices], language: str | None) -> dict[str, str]:
    """Normalised slugs and labels (in `language`) -> value; built once per vocabulary and language, since
    an import resolves a kind and services on every row. Slugs win over a label that happens to match one."""
    keys: dict[str, str] = {}
    for value, label in choices.choices:
        keys.setdefault(normalise(str(label)), value)
    keys.update({normalise(value): value for value in choices.values})
    return keys
