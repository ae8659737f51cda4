"""The identity vault: who a person is, encrypted at rest, decrypted in exactly one function.

`identity_read` is the only place that turns ciphertext into text. It checks access first and
writes an audit event every time. Encryption uses MultiFernet over `settings.IDENTITY_KEYS`: the
first key encrypts, every key decrypts, and `identity_rotate` re-encrypts every record with the
first key so an old key can then be dropped (README: "Rotating the identity key").

Who may read an identity (acting members only: agency admins and caseworkers):
- the agency holding the case now;
- the sender or receiver of an open (sent, acknowledged, accepted) referral of the case whose
  purpose needs identity (`identity_shared`);
- an agency (or user) granted `view_identity` on the case through guardian.
Viewers, state supervisors, the steering committee, agencies that declined and superusers (as such)
never read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from referrals.vocab import OPEN_STATUSES

# The fields of an identity record, in display order.
IDENTITY_FIELDS = (
    ("name", gettext_lazy("Name")),
    ("guardian", gettext_lazy("Parent / guardian")),
    ("address", gettext_lazy("Address")),
    ("phone", gettext_lazy("Phone")),
    ("id_numbers", gettext_lazy("ID numbers (Aadhaar, ration card…)")),
    ("photo_ref", gettext_lazy("Photo reference")),
)
FIELD_NAMES = tuple(name for name, _label in IDENTITY_FIELDS)


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.IDENTITY_KEYS])


def encrypt_identity(data: dict) -> str:
    """Ciphertext for an identity record (unknown keys dropped, values stripped)."""
    clean = {name: str(data.get(name) or "").strip() for name in FIELD_NAMES}
    return _fernet().encrypt(json.dumps(clean, ensure_ascii=False).encode()).decode()


@dataclass(frozen=True)
class IdentityAccess:
    """Whether the user may read a case's identity, through which agency, and why (for the audit log)."""

    allowed: bool
    agency_id: int | None = None
    reason: str = ""


def identity_access(*, case, user) -> IdentityAccess:
    """Decide without decrypting: used for showing the panel, and again by `identity_read`."""
    from referrals.models import Referral, user_shares
    from stakeholders.selectors import user_scope

    if not getattr(user, "is_authenticated", False):
        return IdentityAccess(False)
    scope = user_scope(user)
    acting = scope.acting_agency_ids
    if not acting:
        return IdentityAccess(False)
    if case.holder_id in acting:
        return IdentityAccess(True, case.holder_id, "holder of the case")
    referral = (
        Referral.objects.filter(case=case, identity_shared=True, status__in=OPEN_STATUSES)
        .filter(Q(from_agency_id__in=acting) | Q(to_agency_id__in=acting))
        .only("reference", "purpose", "from_agency_id", "to_agency_id")
        .first()
    )
    if referral is not None:
        agency_id = referral.to_agency_id if referral.to_agency_id in acting else referral.from_agency_id
        return IdentityAccess(True, agency_id, f"open referral {referral.reference} ({referral.purpose})")
    if case.pk in user_shares(user).identity_case_ids:
        return IdentityAccess(True, min(acting), "identity shared with the agency")
    return IdentityAccess(False)


def identity_read(*, case, user, legal_basis: str = "") -> dict:
    """Decrypt and return the case's identity for an allowed user, writing an audit event.

    Raises PermissionDenied when the user may not read it; returns {} when none was recorded.
    """
    from referrals.audit import audit

    access = identity_access(case=case, user=user)
    if not access.allowed:
        raise PermissionDenied(_("Your agency may not read this person's identity."))
    from referrals.models import CaseIdentity

    ciphertext = CaseIdentity.objects.filter(case_id=case.pk).values_list("ciphertext", flat=True).first()
    basis = legal_basis or case_legal_basis(case)
    audit(
        user=user, agency_id=access.agency_id, action="view_identity", object_type="case", object_ref=case.code,
        legal_basis=basis, detail={"access": access.reason, "recorded": ciphertext is not None},
    )
    if ciphertext is None:
        return {}
    try:
        plain = _fernet().decrypt(ciphertext.encode())
    except InvalidToken:
        raise ValidationError(
            _("This identity record cannot be decrypted with the configured keys (IDENTITY_KEYS). Ask the administrator.")
        ) from None
    data = json.loads(plain)
    return {name: data.get(name, "") for name in FIELD_NAMES}


def case_legal_basis(case) -> str:
    """The basis on which the case's data is processed: its latest active consent or legal basis."""
    consent = case.consents.filter(withdrawn_at__isnull=True).order_by("-given_on", "-created_at").first()
    if consent is None:
        return ""
    text = str(consent.get_legal_basis_display())
    if consent.statutory_reference:
        text += f"; {consent.statutory_reference}"
    return text[:120]


@transaction.atomic
def identity_write(*, case, data: dict, by) -> None:
    """Record or replace the identity of a case (acting members with identity access only)."""
    from referrals.audit import audit
    from referrals.models import CaseIdentity

    access = identity_access(case=case, user=by)
    if not access.allowed:
        raise PermissionDenied(_("Your agency may not record this person's identity."))
    CaseIdentity.objects.update_or_create(case=case, defaults={"ciphertext": encrypt_identity(data)})
    audit(
        user=by, agency_id=access.agency_id, action="update", object_type="identity", object_ref=case.code,
        legal_basis=case_legal_basis(case), detail={"fields": sorted(k for k in FIELD_NAMES if (data.get(k) or "").strip())},
    )


def identity_rotate(*, batch_size: int = 1000, progress=None) -> int:
    """Re-encrypt every identity record with the first key in IDENTITY_KEYS; returns how many.

    Each batch is its own transaction, so a large table is rotated without one long lock; the
    command can be re-run safely (records already on the first key are simply re-encrypted).
    """
    from referrals.models import CaseIdentity

    fernet = _fernet()
    done, last_pk = 0, 0
    total = CaseIdentity.objects.count()
    while True:
        with transaction.atomic():
            batch = list(
                CaseIdentity.objects.select_for_update().filter(pk__gt=last_pk).order_by("pk").only("pk", "ciphertext")[:batch_size]
            )
            if not batch:
                break
            for record in batch:
                try:
                    record.ciphertext = fernet.rotate(record.ciphertext.encode()).decode()
                except InvalidToken:
                    raise ValidationError(
                        f"Identity record {record.pk} cannot be decrypted with any key in IDENTITY_KEYS; nothing after it was rotated."
                    ) from None
            CaseIdentity.objects.bulk_update(batch, ["ciphertext"])
        done += len(batch)
        last_pk = batch[-1].pk
        if progress:
            progress(min(done, total))
    return done
