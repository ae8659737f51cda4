"""Writes to the registry. Each service validates fully and changes nothing when it fails."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm

from stakeholders.models import Agency, AgencyService, Membership, Partnership

AGENCY_ADMIN_PERMISSIONS = ("stakeholders.change_agency", "stakeholders.manage_members")


def parent_cycle(*, agency_pk: int | None, parent: Agency | None, parents: dict[int, int | None] | None = None) -> bool:
    """True if making `parent` the parent of `agency_pk` closes a loop in the hierarchy.

    `parents` (agency id -> parent id) lets the importer check a whole file at once.
    """
    if parent is None or agency_pk is None:
        return False
    seen = set()
    current = parent.pk
    while current is not None and current not in seen:
        if current == agency_pk:
            return True
        seen.add(current)
        if parents is not None and current in parents:
            current = parents[current]
        else:
            current = Agency.objects.filter(pk=current).values_list("parent_id", flat=True).first()
    return False


def _save_agency(agency: Agency, services: Iterable[str] | None) -> Agency:
    if parent_cycle(agency_pk=agency.pk, parent=agency.parent):
        raise ValidationError({"parent": _("This parent would make the agency its own ancestor.")})
    agency.full_clean()
    agency.save()
    if services is not None:
        wanted = set(services)
        AgencyService.objects.filter(agency=agency).exclude(service__in=wanted).delete()
        existing = set(AgencyService.objects.filter(agency=agency).values_list("service", flat=True))
        AgencyService.objects.bulk_create([AgencyService(agency=agency, service=s) for s in sorted(wanted - existing)])
    return agency


@transaction.atomic
def agency_create(*, agency: Agency, services: Iterable[str] = (), by=None) -> Agency:
    return _save_agency(agency, services)


@transaction.atomic
def agency_update(*, agency: Agency, services: Iterable[str] | None = None, by=None) -> Agency:
    old = Agency.objects.filter(pk=agency.pk).values("beds_total", "beds_available").first()
    if old and (old["beds_total"], old["beds_available"]) != (agency.beds_total, agency.beds_available):
        agency.capacity_updated_at = timezone.now()
    return _save_agency(agency, services)


@transaction.atomic
def agency_set_free_beds(*, agency: Agency, beds_available: int, by=None) -> Agency:
    """The shelter's daily update: how many beds are free now."""
    agency.beds_available = beds_available
    agency.capacity_updated_at = timezone.now()
    agency.full_clean()
    agency.save(update_fields=["beds_available", "capacity_updated_at", "updated_at"])
    return agency


def agency_admins_group(agency: Agency) -> Group:
    """The per-agency group holding the object permissions of the agency's admins."""
    group, created = Group.objects.get_or_create(name=f"agency-{agency.pk}-admins")
    if created:
        for perm in AGENCY_ADMIN_PERMISSIONS:
            assign_perm(perm, group, agency)
    return group


def agency_members_group(agency: Agency) -> Group:
    """The per-agency group every member is in; referrals grant shares to it."""
    group, _created = Group.objects.get_or_create(name=f"agency-{agency.pk}-members")
    return group


@transaction.atomic
def membership_grant(*, agency: Agency, user, role: str, by=None) -> Membership:
    if role not in Membership.Role.values:
        raise ValidationError({"role": _("Unknown role %(role)s.") % {"role": role}})
    current = Membership.objects.filter(user=user, agency=agency).first()
    if current and current.role == Membership.Role.ADMIN and role != Membership.Role.ADMIN:
        _ensure_another_admin(current, by)
    membership, _created = Membership.objects.update_or_create(user=user, agency=agency, defaults={"role": role})
    user.groups.add(agency_members_group(agency))
    admins = agency_admins_group(agency)
    if role == Membership.Role.ADMIN:
        user.groups.add(admins)
    else:
        user.groups.remove(admins)
    return membership


def _ensure_another_admin(membership: Membership, by) -> None:
    # An agency left without an admin can only be repaired by a superuser, so only they may do it.
    if by is not None and by.is_superuser:
        return
    others = Membership.objects.filter(agency_id=membership.agency_id, role=Membership.Role.ADMIN).exclude(pk=membership.pk)
    if not others.exists():
        raise ValidationError(_("An agency keeps at least one admin; make someone else admin first."))


@transaction.atomic
def membership_revoke(*, membership: Membership, by=None) -> None:
    agency, user = membership.agency, membership.user
    if membership.role == Membership.Role.ADMIN:
        _ensure_another_admin(membership, by)
    user.groups.remove(agency_admins_group(agency), agency_members_group(agency))
    membership.delete()


@transaction.atomic
def partnership_create(*, partnership: Partnership, by=None) -> Partnership:
    partnership.full_clean()
    partnership.save()
    return partnership

