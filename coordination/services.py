"""Writes of the steering committee's records. Each service checks who acts, validates fully, runs in one
transaction and changes nothing when it fails (PermissionDenied or ValidationError)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coordination import rules
from coordination.indicators import CUMULATIVE_RULES, FIELDS, cumulative_violations, row_problems
from coordination.models import (
    EDITABLE_STATUSES,
    ActionItem,
    ActionItemUpdate,
    ActionStatus,
    AhtuReturn,
    AhtuReturnEvent,
    CommitteeMeeting,
    ReturnStatus,
    TrainingEvent,
)
from coordination.periods import EARLIEST_MONTH, add_months, first_of_month, last_ended_month, month_key
from stakeholders.models import Agency
from stakeholders.vocab import AgencyKind

_CUMULATIVE_FIELDS = tuple(sorted({field for rule in CUMULATIVE_RULES for field in rule}))


# AHTU returns ---------------------------------------------------------------------------------------


def return_problems(
    *, ahtu: Agency | None, month: date | None, values: Mapping[str, int | None], instance_pk: int | None = None,
    today: date | None = None,
) -> dict[str, list[str]]:
    """Every rule a return must obey, as {field: [messages]} ("__all__" for the return as a whole).

    Used by the form (to show field errors), by the services (to refuse) and, with the same rules on
    plain rows, by the import.
    """
    problems: dict[str, list[str]] = {}
    today = today or timezone.localdate()
    if ahtu is not None and ahtu.kind != AgencyKind.AHTU:
        problems.setdefault("ahtu", []).append(_("%(name)s is not an AHTU.") % {"name": ahtu.name})
    if month is not None:
        problems.update({k: v for k, v in month_problems(month, today=today).items()})
    for field, messages in row_problems(values).items():
        problems.setdefault(field, []).extend(messages)
    if ahtu is None or month is None or problems:
        return problems
    others = AhtuReturn.objects.filter(ahtu=ahtu).exclude(pk=instance_pk)
    if others.filter(month=month).exists():
        problems.setdefault("month", []).append(
            _("%(ahtu)s already has a return for %(month)s.") % {"ahtu": ahtu.name, "month": month_key(month)}
        )
        return problems
    series = [(row["month"], row) for row in others.values("month", *_CUMULATIVE_FIELDS)]
    series.append((month, values))
    for violation in cumulative_violations(series, from_month=month):
        problems.setdefault(violation.part, []).append(violation.message())
    return problems


def month_problems(month: date, *, today: date) -> dict[str, list[str]]:
    if month.day != 1:
        return {"month": [_("A return covers a whole month: give the month only.")]}
    if month < EARLIEST_MONTH:
        return {"month": [_("Returns start in %(month)s.") % {"month": month_key(EARLIEST_MONTH)}]}
    if month > first_of_month(today):
        return {"month": [_("%(month)s has not started yet.") % {"month": month_key(month)}]}
    return {}


def _raise(problems: dict[str, list[str]]) -> None:
    if problems:
        raise ValidationError(problems)


def _lock_ahtu(ahtu: Agency) -> None:
    # The "to date" rules read all of an AHTU's returns: writes for one AHTU take turns.
    list(Agency.objects.select_for_update().filter(pk=ahtu.pk).values_list("pk"))


def _event(ahtu_return, *, by, agency, from_status, to_status, comment="") -> None:
    AhtuReturnEvent.objects.create(
        ahtu_return=ahtu_return, actor=by if getattr(by, "pk", None) else None, actor_agency=agency,
        from_status=from_status, to_status=to_status, comment=comment,
    )


@transaction.atomic
def ahtu_return_create(*, ahtu: Agency, month: date, values: Mapping[str, int], remarks: str = "", by) -> AhtuReturn:
    """A draft return for one AHTU and month, by one of its admins or caseworkers."""
    if not rules.can_file(by, ahtu):
        raise PermissionDenied(_("Only the AHTU's admins and caseworkers file its returns."))
    _lock_ahtu(ahtu)
    _raise(return_problems(ahtu=ahtu, month=month, values=values))
    ahtu_return = AhtuReturn(ahtu=ahtu, month=month, remarks=remarks, created_by=by, **{f: values[f] for f in FIELDS})
    ahtu_return.full_clean(validate_unique=False, validate_constraints=False)
    ahtu_return.save()
    _event(ahtu_return, by=by, agency=ahtu, from_status="", to_status=ReturnStatus.DRAFT)
    return ahtu_return


@transaction.atomic
def ahtu_return_update(*, ahtu_return: AhtuReturn, values: Mapping[str, int], remarks: str | None = None, by) -> AhtuReturn:
    """Change the figures of a return still in the AHTU's hands (draft, or returned for correction)."""
    current = _locked(ahtu_return)
    if not rules.can_file(by, current.ahtu):
        raise PermissionDenied(_("Only the AHTU's admins and caseworkers file its returns."))
    if current.status not in EDITABLE_STATUSES:
        raise ValidationError(_("A %(status)s return cannot be changed.") % {"status": current.get_status_display().lower()})
    _raise(return_problems(ahtu=current.ahtu, month=current.month, values=values, instance_pk=current.pk))
    for field in FIELDS:
        setattr(current, field, values[field])
    if remarks is not None:
        current.remarks = remarks
    current.full_clean(validate_unique=False, validate_constraints=False)
    current.save()
    _copy(current, ahtu_return)
    return ahtu_return


@transaction.atomic
def ahtu_return_submit(*, ahtu_return: AhtuReturn, by, today: date | None = None) -> AhtuReturn:
    """Draft or returned → submitted: the AHTU hands the month's figures to its state for review."""
    current = _locked(ahtu_return)
    if not rules.can_file(by, current.ahtu):
        raise PermissionDenied(_("Only the AHTU's admins and caseworkers submit its returns."))
    if current.status not in EDITABLE_STATUSES:
        raise ValidationError(_("This return was already submitted."))
    today = today or timezone.localdate()
    if current.month > last_ended_month(today):
        raise ValidationError(
            _("A month's return can be submitted once the month is over (from %(date)s).")
            % {"date": add_months(current.month, 1).strftime("%d %b %Y")}
        )
    # Re-check: another month's figures may have changed since this one was saved.
    _raise(return_problems(ahtu=current.ahtu, month=current.month, values=current.values(), instance_pk=current.pk, today=today))
    now = timezone.now()
    previous = current.status
    current.status = ReturnStatus.SUBMITTED
    current.submitted_at = now
    current.submitted_by = by
    current.first_submitted_at = current.first_submitted_at or now
    current.save(update_fields=["status", "submitted_at", "submitted_by", "first_submitted_at", "updated_at"])
    _event(current, by=by, agency=current.ahtu, from_status=previous, to_status=ReturnStatus.SUBMITTED)
    _copy(current, ahtu_return)
    return ahtu_return


@transaction.atomic
def ahtu_return_approve(*, ahtu_return: AhtuReturn, by, comment: str = "") -> AhtuReturn:
    """Submitted → approved by the state's nodal agency: the figures now count in the impact table."""
    current = _locked(ahtu_return)
    _check_reviewer(current, by)
    if current.status != ReturnStatus.SUBMITTED:
        raise ValidationError(_("Only a submitted return can be approved."))
    return _review(current, ahtu_return, by=by, to_status=ReturnStatus.APPROVED, comment=comment.strip())


@transaction.atomic
def ahtu_return_send_back(*, ahtu_return: AhtuReturn, by, comment: str) -> AhtuReturn:
    """Submitted (or approved, to reopen it) → returned to the AHTU with a comment saying what to correct."""
    current = _locked(ahtu_return)
    _check_reviewer(current, by)
    if current.status not in (ReturnStatus.SUBMITTED, ReturnStatus.APPROVED):
        raise ValidationError(_("Only a submitted or approved return can be sent back."))
    if not (comment or "").strip():
        raise ValidationError({"comment": [_("Say what the AHTU should correct.")]})
    return _review(current, ahtu_return, by=by, to_status=ReturnStatus.RETURNED, comment=comment.strip())


def _check_reviewer(current: AhtuReturn, by) -> None:
    if not rules.can_review(by, current):
        if current.submitted_by_id == getattr(by, "pk", None):
            raise PermissionDenied(_("Someone else must review a return you submitted."))
        raise PermissionDenied(_("Only the state's nodal agency reviews this AHTU's returns."))


def _review(current, original, *, by, to_status, comment) -> AhtuReturn:
    previous = current.status
    current.status = to_status
    current.review_comment = comment
    current.reviewed_at = timezone.now()
    current.reviewed_by = by
    current.save(update_fields=["status", "review_comment", "reviewed_at", "reviewed_by", "updated_at"])
    _event(current, by=by, agency=rules.reviewer_agency(by, current.ahtu.state_id), from_status=previous,
           to_status=to_status, comment=comment)
    _copy(current, original)
    return original


def _locked(ahtu_return: AhtuReturn) -> AhtuReturn:
    current = AhtuReturn.objects.select_for_update().get(pk=ahtu_return.pk)
    current.ahtu = Agency.objects.get(pk=current.ahtu_id)
    return current


def _copy(source: AhtuReturn, target: AhtuReturn) -> None:
    if source is target:
        return
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


# Trainings ------------------------------------------------------------------------------------------


@transaction.atomic
def training_event_create(*, event: TrainingEvent, by) -> TrainingEvent:
    if not rules.can_record_training(by):
        raise PermissionDenied(_("Only agency admins and caseworkers record trainings."))
    event.created_by = by
    event.full_clean()
    event.save()
    return event


@transaction.atomic
def training_event_update(*, event: TrainingEvent, by) -> TrainingEvent:
    original = TrainingEvent.objects.get(pk=event.pk)
    if not rules.can_edit_training(by, original):
        raise PermissionDenied(_("Only the organiser (or the state's admins) may change this training."))
    event.full_clean()
    event.save()
    return event


# Meetings and action items ----------------------------------------------------------------------


@transaction.atomic
def meeting_create(*, meeting: CommitteeMeeting, agencies_present: Iterable[Agency], by) -> CommitteeMeeting:
    if not rules.can_record_meeting(by, meeting.committee):
        raise PermissionDenied(_("Only the committee's admins and caseworkers record its meetings."))
    meeting.created_by = by
    meeting.full_clean()
    meeting.save()
    meeting.agencies_present.set(list(agencies_present))
    return meeting


@transaction.atomic
def action_item_create(*, item: ActionItem, by) -> ActionItem:
    if not rules.can_record_meeting(by, item.meeting.committee):
        raise PermissionDenied(_("Only the committee's admins and caseworkers add its action items."))
    item.created_by = by
    item.status = ActionStatus.OPEN
    item.closed_on = None
    item.full_clean()
    item.save()
    return item


@transaction.atomic
def action_item_update(*, item: ActionItem, by, note: str, status: str | None = None) -> ActionItemUpdate:
    """The owner (or the committee) reports progress; a status change to done or dropped closes the item."""
    current = ActionItem.objects.select_for_update().get(pk=item.pk)
    current.meeting = CommitteeMeeting.objects.get(pk=current.meeting_id)
    if not rules.can_update_action(by, current):
        raise PermissionDenied(_("Only the owner agency or the committee reports on this action."))
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": [_("Write what was done or what is blocking.")]})
    if status and status not in ActionStatus.values:
        raise ValidationError({"status": [_("Unknown status.")]})
    previous = current.status
    changed = bool(status) and status != previous
    if changed:
        current.status = status
        current.closed_on = None if status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS) else timezone.localdate()
        current.save(update_fields=["status", "closed_on", "updated_at"])
    else:
        current.save(update_fields=["updated_at"])
    update = ActionItemUpdate.objects.create(
        item=current, author=by, author_agency=rules.acting_agency(by, {current.owner_id, current.meeting.committee_id}),
        note=note, from_status=previous if changed else "", to_status=status if changed else "",
    )
    for field in ("status", "closed_on", "updated_at"):
        setattr(item, field, getattr(current, field))
    return update
