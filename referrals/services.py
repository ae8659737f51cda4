"""Writes to cases and referrals. Every service is atomic, checks who acts and in which state the
referral is, writes a ReferralEvent and an AuditEvent, and changes nothing when it refuses.

Refusals: `PermissionDenied` when the user may see the referral but their role may not do this
(viewers, supervisors, the wrong side); `ValidationError` with a message for the user when the
referral is not in a state that allows it or the input is incomplete.

Transitions lock the referral row (`select_for_update`), so of two people acting at once exactly one
wins and the other is told what happened. Accepting a shelter placement also locks the receiving
agency's row to take a bed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from guardian.shortcuts import assign_perm, remove_perm

from referrals.audit import audit
from referrals.deadlines import RULES, rule_for
from referrals.identity import case_legal_basis, encrypt_identity
from referrals.matching import SHELTER_SERVICES, serves
from referrals.models import Case, CaseIdentity, Consent, Referral, ReferralEvent, forget_shares, user_shares
from referrals.vocab import (
    ADULT_AGE_BASES,
    CUSTODY_PURPOSES,
    IDENTITY_PURPOSES,
    MINOR_BANDS,
    OPEN_STATUSES,
    PENDING_STATUSES,
    AgeBand,
    AgeBasis,
    AgeStatus,
    ConsentGiver,
    DeclineReason,
    LegalBasis,
    Outcome,
    Purpose,
    Status,
    Urgency,
)
from stakeholders.models import Agency
from stakeholders.selectors import user_scope
from stakeholders.services import agency_members_group
from stakeholders.vocab import AgencyKind

SENDER, RECEIVER, EITHER = "sender", "receiver", "either"


@dataclass(frozen=True)
class Transition:
    side: str
    from_statuses: tuple[str, ...]
    to_status: str | None  # None: the referral keeps its status (comment, re-route)
    label: str  # the verb in messages: "Only … may accept this referral."


TRANSITIONS: dict[str, Transition] = {
    "send": Transition(SENDER, (Status.DRAFT,), Status.SENT, _l("send")),
    "acknowledge": Transition(RECEIVER, (Status.SENT,), Status.ACKNOWLEDGED, _l("acknowledge")),
    "accept": Transition(RECEIVER, (Status.SENT, Status.ACKNOWLEDGED), Status.ACCEPTED, _l("accept")),
    "decline": Transition(RECEIVER, (Status.SENT, Status.ACKNOWLEDGED), Status.DECLINED, _l("decline")),
    "complete": Transition(RECEIVER, (Status.ACCEPTED,), Status.COMPLETED, _l("complete")),
    "withdraw": Transition(SENDER, (Status.DRAFT, Status.SENT, Status.ACKNOWLEDGED), Status.WITHDRAWN, _l("withdraw")),
    "reroute": Transition(SENDER, (Status.DECLINED,), None, _l("re-route")),
    "comment": Transition(EITHER, tuple(Status.values), None, _l("comment")),
}


def _status_label(status: str) -> str:
    return str(dict(Status.choices).get(status, status)).lower()


def side_agency(referral: Referral, user, side: str) -> int | None:
    """The agency the user acts for on this side of the referral (admin or caseworker), or None.

    On the receiving side this may be an agency the receiver delegated the referral to (`referral_share`
    with `act`): its caseworkers act for the receiver, and the timeline names their own agency."""
    acting = user_scope(user).acting_agency_ids
    if side in (RECEIVER, EITHER) and referral.to_agency_id in acting:
        return referral.to_agency_id
    if side in (SENDER, EITHER) and referral.from_agency_id in acting:
        return referral.from_agency_id
    if side in (RECEIVER, EITHER) and acting:
        delegates = sorted(a for r, a in user_shares(user).delegated if r == referral.pk and a in acting)
        if delegates:
            return delegates[0]
    return None


def allowed_actions(referral: Referral, user) -> list[str]:
    """The actions this user may take on this referral now (the buttons a page shows)."""
    actions = []
    for name, spec in TRANSITIONS.items():
        if referral.status in spec.from_statuses and side_agency(referral, user, spec.side) is not None:
            if name == "comment" and referral.status == Status.DRAFT:
                continue
            actions.append(name)
    return actions


def refuse_side(referral: Referral, user, action: str) -> None:
    spec = TRANSITIONS[action]
    if spec.side == RECEIVER:
        who = _("caseworkers and admins of %(agency)s (the receiving agency, or of an agency it delegated the referral "
                "to)") % {"agency": referral.to_agency.name}
    elif spec.side == SENDER:
        who = _("caseworkers and admins of %(agency)s (the sending agency)") % {"agency": referral.from_agency.name}
    else:
        who = _("caseworkers and admins of the two agencies")
    raise PermissionDenied(_("Only %(who)s may %(action)s this referral.") % {"who": who, "action": spec.label})


def _lock(referral: Referral) -> Referral:
    return (
        Referral.objects.select_for_update(of=("self",))
        .select_related("case", "from_agency", "to_agency")
        .get(pk=referral.pk)
    )


def _event(referral: Referral, *, by, agency_id, from_status: str, note: str = "", at=None) -> ReferralEvent:
    return ReferralEvent.objects.create(
        referral=referral, actor=by, actor_agency_id=agency_id, at=at or timezone.now(),
        from_status=from_status, to_status=referral.status, note=note,
    )


def _notify(referral: Referral, action: str, by) -> None:
    from referrals.notifications import notify_transition

    transaction.on_commit(partial(notify_transition, referral_id=referral.pk, action=action, actor_id=getattr(by, "pk", None)))


def _transition(*, referral: Referral, by, action: str, note: str = "", apply=None) -> Referral:
    """Lock, check side and status, apply the change, record event and audit, notify the other side."""
    spec = TRANSITIONS[action]
    with transaction.atomic():
        locked = _lock(referral)
        agency_id = side_agency(locked, by, spec.side)
        if agency_id is None:
            refuse_side(locked, by, action)
        if locked.status not in spec.from_statuses:
            raise ValidationError(
                _("This referral is %(status)s now, so it cannot be %(action)s. Nothing was changed.")
                % {"status": _status_label(locked.status), "action": past_tense(action)}
            )
        old_status = locked.status
        now = timezone.now()
        if apply is not None:
            apply(locked, now)
        if spec.to_status:
            locked.status = spec.to_status
        locked.save()
        _event(locked, by=by, agency_id=agency_id, from_status=old_status, note=note, at=now)
        audit(
            user=by, agency_id=agency_id, action="transition", object_type="referral", object_ref=locked.reference,
            legal_basis=case_legal_basis(locked.case),
            detail={"action": action, "from": old_status, "to": locked.status, "case": locked.case.code},
        )
        _notify(locked, action, by)
    return locked


def past_tense(action: str) -> str:
    return {
        "send": _("sent"), "acknowledge": _("acknowledged"), "accept": _("accepted"), "decline": _("declined"),
        "complete": _("completed"), "withdraw": _("withdrawn"), "reroute": _("re-routed"), "comment": _("commented on"),
    }.get(action, action)


# --- consent and sending -------------------------------------------------------------------------


def active_consents(case: Case) -> list[Consent]:
    return list(case.consents.filter(withdrawn_at__isnull=True).order_by("-given_on", "-created_at"))


def consent_problem(case: Case, consents: list[Consent] | None = None) -> str | None:
    """Why the case may not be referred now (no active consent or legal basis), or None."""
    active = active_consents(case) if consents is None else consents
    if not active:
        return _(
            "No active consent or legal basis is recorded for case %(code)s. Record the person's (or guardian's) "
            "consent, or the legal basis with its statutory reference, before sending."
        ) % {"code": case.code}
    if case.age_status != AgeStatus.ADULT and all(
        c.given_by == ConsentGiver.PERSON and c.legal_basis == LegalBasis.CONSENT for c in active
    ):
        return _(
            "A child's own consent is not enough (DPDP Act s.9): record the guardian's or the CWC's consent, or "
            "the legal basis (e.g. JJ Act 2015 s.31)."
        )
    return None


def basis_text(consents: list[Consent]) -> str:
    """The audit log's legal basis: the latest active consent or legal basis, with its statute."""
    if not consents:
        return ""
    consent = consents[0]
    text = str(consent.get_legal_basis_display()) + (f"; {consent.statutory_reference}" if consent.statutory_reference else "")
    return text[:120]


def _apply_send(referral: Referral, now, consents: list[Consent] | None = None) -> None:
    problem = consent_problem(referral.case, consents)
    if problem:
        raise ValidationError(problem)
    referral.sent_at = now
    rule = rule_for(referral.purpose, referral.case.age_status)
    referral.deadline_rule = rule.slug if rule else ""
    referral.due_at = rule.due_at(sent_at=now, rescued_at=referral.case.rescued_at) if rule else None
    referral.identity_shared = referral.purpose in IDENTITY_PURPOSES
    referral.from_state_id = referral.from_agency.state_id
    referral.to_state_id = referral.to_agency.state_id


def referral_send(*, referral: Referral, by) -> Referral:
    """Send a draft: needs an active consent or legal basis on the case; sets the legal deadline."""
    return _transition(referral=referral, by=by, action="send", apply=_apply_send)


def _open_referrals(case: Case) -> list[tuple]:
    if case._state.adding:
        return []
    return list(case.referrals.filter(status__in=OPEN_STATUSES).values_list("from_agency_id", "to_agency_id", "purpose", "reference"))


def stake_agency_ids(case: Case, open_referrals: list[tuple] | None = None) -> set[int]:
    """Agencies that work on the case now: it opened it, holds it, or is party to an open referral of it."""
    ids = {case.opened_by_id, case.holder_id}
    for from_id, to_id, *_rest in _open_referrals(case) if open_referrals is None else open_referrals:
        ids.update((from_id, to_id))
    return ids


def refuse_committee(agency: Agency, field: str) -> None:
    """Committees (the steering committee, task forces) coordinate; they never see case-level data, so no
    referral goes to them and no case or referral is shared with them."""
    if agency.kind == AgencyKind.COMMITTEE:
        raise ValidationError({field: _(
            "%(agency)s is a committee: committees see no case-level data, so cases and referrals are never sent "
            "or shared to them. Choose an agency that works with the person."
        ) % {"agency": agency.name}})


def _check_receiver(*, case: Case, to_agency: Agency, purpose: str) -> None:
    if not to_agency.active:
        raise ValidationError({"to_agency": _("%(agency)s is not active in the registry.") % {"agency": to_agency.name}})
    refuse_committee(to_agency, "to_agency")
    if purpose == Purpose.PRODUCE_BEFORE_CWC and case.age_status == AgeStatus.ADULT:
        raise ValidationError({"purpose": _("The CWC decides for children; this case is recorded as an adult.")})
    if purpose == Purpose.SHELTER_PLACEMENT:
        services = set(to_agency.services.values_list("service", flat=True))
        if not services & SHELTER_SERVICES:
            raise ValidationError({"to_agency": _("%(agency)s offers no shelter.") % {"agency": to_agency.name}})
        if not serves(to_agency, gender=case.gender, age_status=case.age_status, age_years=case.age_years):
            raise ValidationError(
                {"to_agency": _("%(agency)s does not take this person (gender or age).") % {"agency": to_agency.name}}
            )


def referral_create(*, case: Case, from_agency: Agency, to_agency: Agency, purpose: str, by, urgency: str = Urgency.ROUTINE,
                    note: str = "", send: bool = True, rerouted_from: Referral | None = None,
                    consent: dict | None = None) -> Referral:
    """Create a referral (and send it, unless `send` is False: then it stays a draft for the sender).

    `consent` (ConsentForm fields) records the consent or legal basis first, for a case that has none."""
    with transaction.atomic():
        if consent:
            _consent_create(case=case, by=by, agency_id=_acting_stake_agency(case, by, from_agency), **consent)
        return _referral_create(case=case, from_agency=from_agency, to_agency=to_agency, purpose=purpose, by=by,
                                urgency=urgency, note=note, send=send, rerouted_from=rerouted_from)


def _referral_create(*, case: Case, from_agency: Agency, to_agency: Agency, purpose: str, by, urgency: str,
                     note: str, send: bool, rerouted_from: Referral | None, new_case: bool = False,
                     consents: list[Consent] | None = None) -> Referral:
    if from_agency.pk not in user_scope(by).acting_agency_ids:
        raise PermissionDenied(_("Only caseworkers and admins of %(agency)s may refer from it.") % {"agency": from_agency.name})
    refuse_committee(from_agency, "from_agency")
    if from_agency.pk == to_agency.pk:
        raise ValidationError({"to_agency": _("An agency cannot refer to itself; choose another agency.")})
    if purpose not in Purpose.values:
        raise ValidationError({"purpose": _("Choose a purpose from the list.")})
    if urgency not in Urgency.values:
        raise ValidationError({"urgency": _("Choose an urgency from the list.")})
    open_referrals = [] if new_case else _open_referrals(case)
    if rerouted_from is None and from_agency.pk not in stake_agency_ids(case, open_referrals):
        raise PermissionDenied(
            _("%(agency)s does not work on case %(code)s now (it neither holds it nor has an open referral for it).")
            % {"agency": from_agency.name, "code": case.code}
        )
    _check_receiver(case=case, to_agency=to_agency, purpose=purpose)
    duplicate = next((ref for _f, to_id, p, ref in open_referrals if to_id == to_agency.pk and p == purpose), None)
    if duplicate:
        raise ValidationError(
            _("Referral %(ref)s already asks %(agency)s for this; nothing new was created.")
            % {"ref": duplicate, "agency": to_agency.name}
        )
    now = timezone.now()
    referral = Referral(
        case=case, from_agency=from_agency, to_agency=to_agency, from_state_id=from_agency.state_id,
        to_state_id=to_agency.state_id, purpose=purpose, urgency=urgency, note=note.strip(), status=Status.DRAFT,
        created_by=by, created_at=now, rerouted_from=rerouted_from,
    )
    consents = active_consents(case) if consents is None else consents
    if send:
        _apply_send(referral, now, consents)
        referral.status = Status.SENT
    referral.save()
    _event(referral, by=by, agency_id=from_agency.pk, from_status="", note=note.strip(), at=now)
    audit(
        user=by, agency_id=from_agency.pk, action="create", object_type="referral", object_ref=referral.reference,
        legal_basis=basis_text(consents),
        detail={"case": case.code, "purpose": purpose, "to": to_agency.code, "status": referral.status,
                **({"rerouted_from": rerouted_from.reference} if rerouted_from else {})},
    )
    if send:
        _notify(referral, "send", by)
    return referral


# --- the receiver's answers ------------------------------------------------------------------------


def referral_acknowledge(*, referral: Referral, by, note: str = "") -> Referral:
    """The receiver has seen the referral and is working on an answer."""

    def apply(r, now):
        r.acknowledged_at = now

    return _transition(referral=referral, by=by, action="acknowledge", note=note, apply=apply)


def _take_bed(referral: Referral, now) -> None:
    agency = Agency.objects.select_for_update().get(pk=referral.to_agency_id)
    if agency.beds_available is None:
        return  # the shelter does not report its capacity: nothing to count
    if agency.beds_available <= 0:
        raise ValidationError(
            _("%(agency)s has no free bed, so the placement cannot be accepted. Decline it as “at capacity”, "
              "or update the free beds first. Nothing was changed.") % {"agency": agency.name}
        )
    agency.beds_available -= 1
    agency.capacity_updated_at = now
    agency.save(update_fields=["beds_available", "capacity_updated_at", "updated_at"])
    referral.bed_taken = True


def _give_bed_back(referral: Referral, now) -> None:
    if not referral.bed_taken:
        return
    agency = Agency.objects.select_for_update().get(pk=referral.to_agency_id)
    if agency.beds_available is None:
        return
    limit = agency.beds_total if agency.beds_total is not None else agency.beds_available + 1
    agency.beds_available = min(agency.beds_available + 1, limit)
    agency.capacity_updated_at = now
    agency.save(update_fields=["beds_available", "capacity_updated_at", "updated_at"])


def share_case_with_agency(*, case: Case, agency: Agency, identity: bool = False) -> None:
    group = agency_members_group(agency)
    assign_perm("referrals.view_case", group, case)
    if identity:
        assign_perm("referrals.view_identity", group, case)


def referral_accept(*, referral: Referral, by, note: str = "") -> Referral:
    """Accept: a shelter placement takes a bed; a custody purpose makes the receiver the case's holder
    (and shares the case with it, so it sees the person's whole pathway)."""

    def apply(r, now):
        r.responded_at = now
        r.response_note = note.strip()
        if r.purpose == Purpose.SHELTER_PLACEMENT:
            _take_bed(r, now)
        if r.purpose in CUSTODY_PURPOSES:
            Case.objects.filter(pk=r.case_id).update(holder_id=r.to_agency_id, updated_at=now)
            r.case.holder_id = r.to_agency_id
            share_case_with_agency(case=r.case, agency=r.to_agency)

    return _transition(referral=referral, by=by, action="accept", note=note, apply=apply)


def referral_decline(*, referral: Referral, by, reason: str, note: str = "") -> Referral:
    """Decline with a reason ("at capacity" also records that the agency has no free bed now)."""
    if reason not in DeclineReason.values:
        raise ValidationError({"reason": _("Choose the reason for declining.")})
    if reason == DeclineReason.OTHER and not note.strip():
        raise ValidationError({"note": _("Explain the reason in the note.")})

    def apply(r, now):
        r.responded_at = now
        r.decline_reason = reason
        r.response_note = note.strip()
        if reason == DeclineReason.AT_CAPACITY:
            Agency.objects.filter(pk=r.to_agency_id, beds_available__gt=0).update(
                beds_available=0, capacity_updated_at=now, updated_at=now
            )

    return _transition(referral=referral, by=by, action="decline", note=note, apply=apply)


def referral_complete(*, referral: Referral, by, outcome: str, note: str = "") -> Referral:
    """Close the loop: record the outcome (required); a placement gives its bed back."""
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": _("Choose the outcome.")})
    if outcome == Outcome.OTHER and not note.strip():
        raise ValidationError({"note": _("Describe the outcome in the note.")})

    def apply(r, now):
        r.closed_at = now
        r.outcome = outcome
        if note.strip():
            r.response_note = note.strip()
        _give_bed_back(r, now)

    return _transition(referral=referral, by=by, action="complete", note=note, apply=apply)


# --- the sender's moves ----------------------------------------------------------------------------


def referral_withdraw(*, referral: Referral, by, note: str = "") -> Referral:
    """The sender withdraws before the receiver accepts."""

    def apply(r, now):
        r.closed_at = now
        _give_bed_back(r, now)

    return _transition(referral=referral, by=by, action="withdraw", note=note, apply=apply)


def referral_reroute(*, referral: Referral, to_agency: Agency, by, note: str = "", urgency: str | None = None) -> Referral:
    """Send a declined referral on to another agency as a new, linked referral (once per declined referral)."""
    with transaction.atomic():
        locked = _lock(referral)
        agency_id = side_agency(locked, by, SENDER)
        if agency_id is None:
            refuse_side(locked, by, "reroute")
        if locked.status != Status.DECLINED:
            raise ValidationError(
                _("Only a declined referral can be re-routed; this one is %(status)s. Nothing was changed.")
                % {"status": _status_label(locked.status)}
            )
        already = locked.reroutes.values_list("reference", flat=True).first()
        if already:
            raise ValidationError(_("This referral was already re-routed as %(ref)s. Nothing was changed.") % {"ref": already})
        if to_agency.pk == locked.to_agency_id:
            raise ValidationError({"to_agency": _("Choose another agency than the one that declined.")})
        new = referral_create(
            case=locked.case, from_agency=locked.from_agency, to_agency=to_agency, purpose=locked.purpose, by=by,
            urgency=urgency or locked.urgency, note=note or locked.note, send=True, rerouted_from=locked,
        )
        _event(locked, by=by, agency_id=agency_id, from_status=locked.status,
               # No agency name: the agency that declined still reads this timeline, and where the person went
               # next is not its business (the sender sees the new referral through the gate).
               note=_("Re-routed as %(ref)s.") % {"ref": new.reference})
        audit(
            user=by, agency_id=agency_id, action="transition", object_type="referral", object_ref=locked.reference,
            legal_basis=case_legal_basis(locked.case), detail={"action": "reroute", "to": to_agency.code, "new": new.reference},
        )
    return new


def referral_comment(*, referral: Referral, by, note: str) -> Referral:
    """A note on the timeline from either side's caseworkers; the other side is told."""
    if not note.strip():
        raise ValidationError({"note": _("Write the comment.")})
    return _transition(referral=referral, by=by, action="comment", note=note.strip())


ACTION_SERVICES = {
    "send": referral_send,
    "acknowledge": referral_acknowledge,
    "accept": referral_accept,
    "decline": referral_decline,
    "complete": referral_complete,
    "withdraw": referral_withdraw,
    "comment": referral_comment,
}


# --- cases and consent -----------------------------------------------------------------------------


def derive_age(*, age_years: int | None, age_band: str | None, age_status: str | None) -> tuple[str, str]:
    """(age_band, age_status) consistent with what is known: an age in years decides both."""
    if age_years is not None:
        bands = [(5, AgeBand.UNDER_6), (11, AgeBand.AGE_6_11), (14, AgeBand.AGE_12_14), (17, AgeBand.AGE_15_17),
                 (24, AgeBand.AGE_18_24), (39, AgeBand.AGE_25_39)]
        band = next((b for limit, b in bands if age_years <= limit), AgeBand.AGE_40_PLUS)
        return band, (AgeStatus.MINOR if age_years < 18 else AgeStatus.ADULT)
    band = age_band or AgeBand.UNDETERMINED
    if band != AgeBand.UNDETERMINED:
        return band, (AgeStatus.MINOR if band in MINOR_BANDS else AgeStatus.ADULT)
    return band, age_status or AgeStatus.UNDETERMINED


CASE_FIELDS = (
    "age_years", "age_band", "age_status", "gender", "exploitation", "origin_state", "origin_district", "origin_country",
    "languages", "rescued_at", "rescue_district", "needs",
)


def case_create(*, agency: Agency, by, fields: dict, consent: dict | None = None, identity: dict | None = None) -> Case:
    """Open a case for `agency` (which holds it), with its consent or legal basis and, optionally, identity."""
    with transaction.atomic():
        return _case_create(agency=agency, by=by, fields=fields, consent=consent, identity=identity)


def _case_create(*, agency: Agency, by, fields: dict, consent: dict | None, identity: dict | None) -> Case:
    if agency.pk not in user_scope(by).acting_agency_ids:
        raise PermissionDenied(_("Only caseworkers and admins of %(agency)s may open cases for it.") % {"agency": agency.name})
    refuse_committee(agency, "from_agency")
    values = {k: v for k, v in fields.items() if k in CASE_FIELDS}
    values["age_band"], values["age_status"] = derive_age(
        age_years=values.get("age_years"), age_band=values.get("age_band"), age_status=values.get("age_status")
    )
    case = Case(opened_by=agency, holder=agency, **values)
    # Foreign keys come from validated choices and the code is random: no existence or uniqueness queries.
    case.full_clean(exclude=["opened_by", "holder", "origin_state", "origin_district", "rescue_district"], validate_unique=False)
    case.save()
    consent_record_ = _consent_create(case=case, by=by, agency_id=agency.pk, audit_it=False, **consent) if consent else None
    case._new_consents = [consent_record_] if consent_record_ else []
    has_identity = bool(identity and any(str(v or "").strip() for v in identity.values()))
    if has_identity:
        CaseIdentity.objects.create(case=case, ciphertext=encrypt_identity(identity))
    audit(user=by, agency_id=agency.pk, action="create", object_type="case", object_ref=case.code,
          legal_basis=basis_text([consent_record_] if consent_record_ else []),
          detail={"exploitation": case.exploitation, "age_status": case.age_status,
                  "consent": consent_record_.given_by if consent_record_ else None, "identity": has_identity})
    return case


def case_refer(*, agency: Agency, by, fields: dict, consent: dict, identity: dict | None, to_agency: Agency, purpose: str,
               urgency: str = Urgency.ROUTINE, note: str = "", send: bool = True) -> Referral:
    """The field form in one step: open the case (consent, identity) and refer it; all or nothing."""
    with transaction.atomic():
        case = _case_create(agency=agency, by=by, fields=fields, consent=consent, identity=identity)
        return _referral_create(case=case, from_agency=agency, to_agency=to_agency, purpose=purpose, by=by, urgency=urgency,
                                note=note, send=send, rerouted_from=None, new_case=True,
                                consents=case._new_consents)


def _acting_stake_agency(case: Case, by, agency: Agency | None = None) -> int:
    acting = user_scope(by).acting_agency_ids
    stake = stake_agency_ids(case)
    if agency is not None:
        if agency.pk in acting and agency.pk in stake:
            return agency.pk
    else:
        for agency_id in sorted(stake & acting):
            return agency_id
    raise PermissionDenied(_("Only caseworkers of the agencies working on case %(code)s may do this.") % {"code": case.code})


def consent_record(*, case: Case, by, given_by: str, scope: str, given_on: date | None = None,
                   legal_basis: str = LegalBasis.CONSENT, statutory_reference: str = "", language: str = "",
                   agency: Agency | None = None) -> Consent:
    """Record who consented (or which legal basis applies instead, with its statute)."""
    with transaction.atomic():
        return _consent_create(
            case=case, by=by, agency_id=_acting_stake_agency(case, by, agency), given_by=given_by, scope=scope,
            given_on=given_on, legal_basis=legal_basis, statutory_reference=statutory_reference, language=language,
        )


def _consent_create(*, case: Case, by, agency_id: int, given_by: str, scope: str, given_on: date | None = None,
                    legal_basis: str = LegalBasis.CONSENT, statutory_reference: str = "", language: str = "",
                    audit_it: bool = True) -> Consent:
    if given_by not in ConsentGiver.values:
        raise ValidationError({"given_by": _("Choose who consented, or that a legal basis applies.")})
    if legal_basis not in LegalBasis.values:
        raise ValidationError({"legal_basis": _("Choose the legal basis.")})
    if given_by == ConsentGiver.NONE_LEGAL_BASIS and legal_basis == LegalBasis.CONSENT:
        raise ValidationError({"legal_basis": _("Without consent, name the legal basis that applies.")})
    if legal_basis != LegalBasis.CONSENT and not statutory_reference.strip():
        raise ValidationError({"statutory_reference": _("A legal basis needs its statutory reference (e.g. JJ Act 2015 s.31).")})
    consent = Consent(
        case=case, given_by=given_by, legal_basis=legal_basis, statutory_reference=statutory_reference.strip(),
        scope=scope.strip(), language=language.strip(), given_on=given_on or timezone.localdate(),
        recorded_by=by, recorded_by_agency_id=agency_id,
    )
    # The two rules of the model's check constraints are checked just above (the database enforces them too).
    consent.full_clean(exclude=["case", "recorded_by", "recorded_by_agency"], validate_constraints=False)
    consent.save()
    if audit_it:
        audit(user=by, agency_id=agency_id, action="create", object_type="consent", object_ref=case.code,
              legal_basis=basis_text([consent]), detail={"given_by": given_by, "legal_basis": legal_basis})
    return consent


def consent_withdraw(*, consent: Consent, by, note: str = "") -> Consent:
    """Record that consent was withdrawn (the record stays; new referrals then need another basis)."""
    with transaction.atomic():
        consent = Consent.objects.select_for_update().select_related("case").get(pk=consent.pk)
        agency_id = _acting_stake_agency(consent.case, by)
        if consent.withdrawn_at is not None:
            raise ValidationError(_("This consent was already withdrawn. Nothing was changed."))
        consent.withdrawn_at = timezone.now()
        consent.withdrawal_note = note.strip()[:200]
        consent.save(update_fields=["withdrawn_at", "withdrawal_note"])
        audit(user=by, agency_id=agency_id, action="update", object_type="consent", object_ref=consent.case.code,
              detail={"withdrawn": consent.pk})
    return consent


def _holder_actor(case: Case, by) -> int:
    if case.holder_id not in user_scope(by).acting_agency_ids:
        raise PermissionDenied(_("Only caseworkers and admins of the agency holding the case may share it."))
    return case.holder_id


def case_share(*, case: Case, agency: Agency, by, identity: bool = False) -> None:
    """Share a case (and its referrals) with a third agency, e.g. the DLSA or the home-district CWC;
    with `identity`, its acting members may also read the identity. Revocable."""
    with transaction.atomic():
        agency_id = _holder_actor(case, by)
        if agency.pk == case.holder_id:
            raise ValidationError({"agency": _("The agency holding the case sees it already.")})
        refuse_committee(agency, "agency")
        share_case_with_agency(case=case, agency=agency, identity=identity)
        audit(user=by, agency_id=agency_id, action="share", object_type="case", object_ref=case.code,
              legal_basis=case_legal_basis(case), detail={"with": agency.code, "identity": identity})
        forget_shares(by)


def case_share_revoke(*, case: Case, agency: Agency, by) -> None:
    with transaction.atomic():
        agency_id = _holder_actor(case, by)
        group = Group.objects.filter(name=f"agency-{agency.pk}-members").first()
        if group is not None:
            remove_perm("referrals.view_case", group, case)
            remove_perm("referrals.view_identity", group, case)
        audit(user=by, agency_id=agency_id, action="revoke", object_type="case", object_ref=case.code,
              detail={"with": agency.code})
        forget_shares(by)


# --- age determination -----------------------------------------------------------------------------


def _age_problem(*, age_years: int | None, age_band: str | None, basis: str) -> dict[str, str]:
    """Field errors of an age determination (empty when it may be recorded)."""
    if basis not in AgeBasis.values:
        return {"basis": _("Choose how the age was determined.")}
    if age_years is None and not age_band:
        return {"age_years": _("Give the age in years, or at least the age band.")}
    if age_years is not None and not (isinstance(age_years, int) and 0 <= age_years <= 120):
        return {"age_years": _("Give the age as a whole number of years between 0 and 120.")}
    if age_band and (age_band not in AgeBand.values or age_band == AgeBand.UNDETERMINED):
        return {"age_band": _("Choose an age band from the list.")}
    band, status = derive_age(age_years=age_years, age_band=age_band, age_status=None)
    if age_years is not None and age_band and age_band != band:
        return {"age_band": _("An age of %(age)s is not in the band “%(band)s”.") % {
            "age": age_years, "band": dict(AgeBand.choices)[age_band]}}
    if status == AgeStatus.ADULT and basis not in ADULT_AGE_BASES:
        return {"basis": _(
            "A self-declared age cannot record the person as an adult: until documents, a medical age assessment "
            "or the CWC's or JJB's order say so, the person is treated as a child (JJ Act 2015 s.94)."
        )}
    return {}


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%d %b %Y, %H:%M") if moment else _("none")


def _deadline_note(*, old_due, old_rule: str, new_due, new_rule: str, status: str, basis: str) -> str:
    """The timeline's line for a deadline moved by an age determination: what changed and why (no identity)."""
    rules = {rule.slug: rule for rule in RULES}
    source = lambda slug: f" ({rules[slug].source})" if slug in rules else ""  # noqa: E731
    return _(
        "Deadline changed: the person's age was determined (%(status)s; %(basis)s). Due: %(old)s%(old_source)s → "
        "%(new)s%(new_source)s."
    ) % {
        "status": str(dict(AgeStatus.choices)[status]).lower(), "basis": str(dict(AgeBasis.choices)[basis]).lower(),
        "old": _when(old_due), "old_source": source(old_rule), "new": _when(new_due), "new_source": source(new_rule),
    }


def case_determine_age(*, case: Case, age_years: int | None = None, age_band: str | None = None, basis: str, by) -> Case:
    """Record the person's age once determined (JJ Act 2015 s.94), or correct it: the age, band and minor/adult
    status are derived as when the case was opened (`derive_age`), with how the age was determined.

    Only caseworkers and admins of the agency holding the case may do this. When minor/adult changes, the
    legal deadlines of the case's referrals still waiting for an answer are recomputed from the rule table
    ("to be determined" counts as a child there, so determining a child changes none), each change noted on
    the referral's timeline; answered, closed and draft referrals keep theirs (a draft gets its deadline when
    sent). Audit-logged; a refusal changes nothing. Returns the case, with `changed_deadlines`: the references of
    the referrals whose deadline changed."""
    problem = _age_problem(age_years=age_years, age_band=age_band, basis=basis)
    if problem:
        raise ValidationError(problem)
    with transaction.atomic():
        # Referrals first, then the case: the order in which accepting a custody referral locks them.
        pending = list(
            Referral.objects.select_for_update().filter(case_id=case.pk, status__in=PENDING_STATUSES).order_by("pk")
        )
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.holder_id not in user_scope(by).acting_agency_ids:
            raise PermissionDenied(_("Only caseworkers and admins of the agency holding the case may record its age."))
        band, status = derive_age(age_years=age_years, age_band=age_band, age_status=None)
        before = {"age_years": locked.age_years, "age_band": locked.age_band, "age_status": locked.age_status,
                  "age_basis": locked.age_basis}
        after = {"age_years": age_years, "age_band": band, "age_status": status, "age_basis": basis}
        if before == after:
            raise ValidationError(_("Case %(code)s already records this age, determined this way. Nothing was changed.")
                                  % {"code": locked.code})
        now = timezone.now()
        for name, value in after.items():
            setattr(locked, name, value)
        locked.age_determined_at = now
        locked.save(update_fields=[*after, "age_determined_at", "updated_at"])
        deadlines = []
        if status != before["age_status"]:
            for referral in pending:
                if referral.sent_at is None:
                    continue  # no clock to count from (an imported row without its sending time)
                rule = rule_for(referral.purpose, status)
                due_at = rule.due_at(sent_at=referral.sent_at, rescued_at=locked.rescued_at) if rule else None
                slug = rule.slug if rule else ""
                if (slug, due_at) == (referral.deadline_rule, referral.due_at):
                    continue
                note = _deadline_note(old_due=referral.due_at, old_rule=referral.deadline_rule, new_due=due_at,
                                      new_rule=slug, status=status, basis=basis)
                deadlines.append({"referral": referral.reference, "from": referral.deadline_rule, "to": slug})
                referral.due_at, referral.deadline_rule = due_at, slug
                referral.save(update_fields=["due_at", "deadline_rule", "updated_at"])
                _event(referral, by=by, agency_id=locked.holder_id, from_status=referral.status, note=note, at=now)
        changed = sorted(name for name in after if before[name] != after[name])
        audit(user=by, agency_id=locked.holder_id, action="update", object_type="case", object_ref=locked.code,
              legal_basis=case_legal_basis(locked), at=now,
              detail={"age": changed, "age_status": [before["age_status"], status], "basis": basis, "deadlines": deadlines})
    locked.changed_deadlines = [row["referral"] for row in deadlines]
    return locked


# --- sharing and delegating a referral ----------------------------------------------------------------


def share_side(referral: Referral, user) -> int | None:
    """The party (receiver first, else sender) an acting member shares or revokes for; None for anyone else.
    Delegates and third agencies never pass a referral on."""
    acting = user_scope(user).acting_agency_ids
    for agency_id in (referral.to_agency_id, referral.from_agency_id):
        if agency_id in acting:
            return agency_id
    return None


def _share_actor(referral: Referral, by) -> int:
    agency_id = share_side(referral, by)
    if agency_id is None:
        raise PermissionDenied(_("Only caseworkers and admins of the sending or receiving agency may share this referral."))
    return agency_id


def referral_share(*, referral: Referral, agency: Agency, by, act: bool = False) -> None:
    """Share one referral with a third agency (e.g. the DLSA, the CWC of the home district): its members read
    the referral and the case summary, never the identity. With `act`, the receiving agency delegates: the
    third agency's caseworkers may also acknowledge, accept, decline, complete and comment for it, and find
    it in their inbox. Sharing again adds rights, never removes them; `referral_share_revoke` removes both."""
    with transaction.atomic():
        locked = _lock(referral)
        agency_id = _share_actor(locked, by)
        if act and agency_id != locked.to_agency_id:
            raise PermissionDenied(
                _("Only caseworkers and admins of %(agency)s (the receiving agency) may delegate acting on this referral.")
                % {"agency": locked.to_agency.name}
            )
        if locked.status == Status.DRAFT:
            raise ValidationError(_("Send the referral before sharing it. Nothing was changed."))
        if agency.pk in (locked.from_agency_id, locked.to_agency_id):
            raise ValidationError({"agency": _("%(agency)s is a party to this referral and sees it already.") % {"agency": agency.name}})
        if not agency.active:
            raise ValidationError({"agency": _("%(agency)s is not active in the registry.") % {"agency": agency.name}})
        refuse_committee(agency, "agency")
        if act and locked.status not in OPEN_STATUSES:
            raise ValidationError(
                _("This referral is %(status)s now: nothing is left to act on, so it can only be shared for reading.")
                % {"status": _status_label(locked.status)}
            )
        group = agency_members_group(agency)
        assign_perm("referrals.view_referral", group, locked)
        if act:
            assign_perm("referrals.act_on_referral", group, locked)
        audit(user=by, agency_id=agency_id, action="share", object_type="referral", object_ref=locked.reference,
              legal_basis=case_legal_basis(locked.case), detail={"with": agency.code, "act": act, "case": locked.case.code})
        forget_shares(by)


def referral_share_revoke(*, referral: Referral, agency: Agency, by) -> None:
    """End a third agency's share of a referral (reading and, if delegated, acting)."""
    with transaction.atomic():
        agency_id = _share_actor(referral, by)
        group = Group.objects.filter(name=f"agency-{agency.pk}-members").first()
        if group is not None:
            remove_perm("referrals.view_referral", group, referral)
            remove_perm("referrals.act_on_referral", group, referral)
        audit(user=by, agency_id=agency_id, action="revoke", object_type="referral", object_ref=referral.reference,
              detail={"with": agency.code})
        forget_shares(by)
