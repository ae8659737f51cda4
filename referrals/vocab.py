"""Vocabularies of cases and referrals, defined once (labels translatable; imports accept slugs or labels)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AgeBand(models.TextChoices):
    UNDER_6 = "0-5", _("0–5 years")
    AGE_6_11 = "6-11", _("6–11 years")
    AGE_12_14 = "12-14", _("12–14 years")
    AGE_15_17 = "15-17", _("15–17 years")
    AGE_18_24 = "18-24", _("18–24 years")
    AGE_25_39 = "25-39", _("25–39 years")
    AGE_40_PLUS = "40+", _("40 years or more")
    UNDETERMINED = "undetermined", _("Age to be determined")


MINOR_BANDS = frozenset({AgeBand.UNDER_6, AgeBand.AGE_6_11, AgeBand.AGE_12_14, AgeBand.AGE_15_17})


class AgeStatus(models.TextChoices):
    MINOR = "minor", _("Minor (under 18)")
    ADULT = "adult", _("Adult")
    UNDETERMINED = "undetermined", _("Age to be determined")


class AgeBasis(models.TextChoices):
    """How a person's age was determined (JJ Act 2015 s.94: documents first, else a medical age assessment
    ordered by the CWC or JJB; the committee's or board's order records it)."""

    DOCUMENTS = "documents", _("Documents (birth or school certificate)")
    MEDICAL = "medical", _("Medical age assessment")
    ORDER = "order", _("Order of the CWC / JJB")
    SELF_DECLARED = "self_declared", _("Self-declared")


# A person's own statement may record them as a child, never as an adult: traffickers coach victims to say
# they are over 18, and until the age is determined the benefit of the doubt treats them as a child.
ADULT_AGE_BASES = frozenset({AgeBasis.DOCUMENTS, AgeBasis.MEDICAL, AgeBasis.ORDER})


class CaseGender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    TRANSGENDER = "transgender", _("Transgender")
    UNKNOWN = "unknown", _("Not recorded")


class Exploitation(models.TextChoices):
    SEXUAL = "sexual_exploitation", _("Sexual exploitation")
    FORCED_LABOUR = "forced_labour", _("Forced labour")
    BONDED_LABOUR = "bonded_labour", _("Bonded labour")
    DOMESTIC_SERVITUDE = "domestic_servitude", _("Domestic servitude")
    CHILD_MARRIAGE = "child_marriage", _("Child marriage")
    BEGGING = "begging", _("Forced begging")
    CYBER_SCAM = "cyber_scam", _("Cyber-scam compound")
    OTHER = "other", _("Other")


class Purpose(models.TextChoices):
    PRODUCE_BEFORE_CWC = "produce_before_cwc", _("Produce before the CWC")
    MEDICAL_EXAMINATION = "medical_examination", _("Medical examination")
    MAGISTRATE_PRODUCTION = "magistrate_production", _("Production before a magistrate")
    SHELTER_PLACEMENT = "shelter_placement", _("Shelter placement")
    HOME_INVESTIGATION = "home_investigation", _("Home / social investigation")
    LEGAL_AID = "legal_aid", _("Legal aid")
    VICTIM_COMPENSATION = "victim_compensation", _("Victim compensation (DLSA)")
    BONDED_LABOUR_RELEASE = "bonded_labour_release", _("Bonded-labour release (DM/SDM)")
    REPATRIATION = "repatriation", _("Repatriation (inter-state / cross-border)")
    COUNSELLING = "counselling", _("Counselling")
    VOCATIONAL_REHABILITATION = "vocational_rehabilitation", _("Vocational rehabilitation")
    INVESTIGATION_HANDOVER = "investigation_handover", _("Investigation hand-over")
    OTHER = "other", _("Other")


# Minimum necessary sharing: the receiving agency sees identity only for these purposes
# (domain-india.md §4.3: shelter placement, DLSA compensation, repatriation; the CWC decides custody).
IDENTITY_PURPOSES = frozenset(
    {
        Purpose.SHELTER_PLACEMENT,
        Purpose.VICTIM_COMPENSATION,
        Purpose.REPATRIATION,
        Purpose.PRODUCE_BEFORE_CWC,
        Purpose.BONDED_LABOUR_RELEASE,
    }
)
# Accepting these moves the person into the receiver's care: the receiver becomes the case's holder.
CUSTODY_PURPOSES = frozenset(
    {Purpose.SHELTER_PLACEMENT, Purpose.PRODUCE_BEFORE_CWC, Purpose.REPATRIATION, Purpose.INVESTIGATION_HANDOVER}
)


class Urgency(models.TextChoices):
    ROUTINE = "routine", _("Routine")
    URGENT = "urgent", _("Urgent")
    EMERGENCY = "emergency", _("Emergency")


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    COMPLETED = "completed", _("Completed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# Waiting for the receiver's answer: what "pending" and "overdue" mean everywhere.
PENDING_STATUSES = frozenset({Status.SENT, Status.ACKNOWLEDGED})
OPEN_STATUSES = frozenset({Status.SENT, Status.ACKNOWLEDGED, Status.ACCEPTED})
CLOSED_STATUSES = frozenset({Status.DECLINED, Status.COMPLETED, Status.WITHDRAWN})
# Every status a referral can have once sent (what the receiving side and supervisors may see).
SENT_STATUSES = tuple(s for s in Status.values if s != Status.DRAFT)


class DeclineReason(models.TextChoices):
    AT_CAPACITY = "at_capacity", _("At capacity (no free bed)")
    NOT_ELIGIBLE = "not_eligible", _("Person not eligible for our services")
    OUTSIDE_JURISDICTION = "outside_jurisdiction", _("Outside our jurisdiction")
    SERVICE_UNAVAILABLE = "service_unavailable", _("Service not available now")
    DUPLICATE = "duplicate", _("Duplicate referral")
    OTHER = "other", _("Other (explain in the note)")


class Outcome(models.TextChoices):
    SERVICE_PROVIDED = "service_provided", _("Service provided")
    PLACED = "placed", _("Placed / in our care")
    PRODUCED = "produced", _("Produced; order passed")
    COMPENSATION_AWARDED = "compensation_awarded", _("Compensation awarded")
    RESTORED = "restored", _("Restored to family / repatriated")
    REFERRED_ON = "referred_on", _("Referred on to another agency")
    PERSON_LEFT = "person_left", _("Person left / declined the service")
    OTHER = "other", _("Other (explain in the note)")


class ConsentGiver(models.TextChoices):
    PERSON = "person", _("The person")
    GUARDIAN = "guardian", _("Parent or guardian")
    CWC = "cwc", _("The CWC, acting for the child")
    NONE_LEGAL_BASIS = "legal_basis", _("No consent: a legal basis applies")


class LegalBasis(models.TextChoices):
    CONSENT = "consent", _("Consent (DPDP Act s.6)")
    STATE_FUNCTION = "s7_state_function", _("Function under law (DPDP Act s.7)")
    INVESTIGATION = "s17_investigation", _("Prevention / investigation of an offence (DPDP Act s.17(1)(c))")
    CHILD_FUNCTION = "child_function", _("Duty in the interest of a child (DPDP Rules, Fourth Schedule B)")
    COURT_ORDER = "court_order", _("Court order")
