"""Helpers for the referral tests: cases with consent and identity, referrals made through the services."""

from __future__ import annotations

from datetime import date

from referrals import services
from referrals.identity import encrypt_identity
from referrals.models import CaseIdentity, Consent
from tests.factories import make_case

SECRET_NAME = "Sunita Secretname"
SECRET_PHONE = "+91 98765 43210"
IDENTITY = {"name": SECRET_NAME, "guardian": "Ramesh Guardianname", "address": "House 7, Secret Lane, Pune",
            "phone": SECRET_PHONE, "id_numbers": "Aadhaar 1234 5678 9012", "photo_ref": "PHOTO-0001"}
IDENTITY_TEXTS = [SECRET_NAME, "Guardianname", "Secret Lane", "98765", "1234 5678 9012"]


def consent_for(case, user, agency, **kwargs):
    kwargs.setdefault("given_by", "person" if case.age_status == "adult" else "cwc")
    kwargs.setdefault("scope", "Share with receiving agencies for care")
    kwargs.setdefault("given_on", date.today())
    return Consent.objects.create(case=case, recorded_by=user, recorded_by_agency=agency, **kwargs)


def case_with_consent(cast, *, agency=None, user=None, identity=True, **kwargs):
    agency = agency or cast.ngo
    case = make_case(opened_by=agency, **kwargs)
    consent_for(case, user or cast.asha, agency)
    if identity:
        CaseIdentity.objects.create(case=case, ciphertext=encrypt_identity(IDENTITY))
    return case


def refer(cast, *, case=None, to=None, purpose="shelter_placement", by=None, from_agency=None, **kwargs):
    case = case or case_with_consent(cast)
    return services.referral_create(
        case=case, from_agency=from_agency or cast.ngo, to_agency=to or cast.shelter, purpose=purpose, by=by or cast.asha, **kwargs
    )
