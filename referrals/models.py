"""Cases (pseudonymous people), their encrypted identities and consents, referrals between agencies,
their events, and the append-only audit log.

Visibility has exactly one gate per model: `Case.objects.visible_to(user)` and
`Referral.objects.visible_to(user)`. Every list, detail, form choice, export and count goes through it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import Exists, F, OuterRef, Q, Value
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from referrals.vocab import (
    CLOSED_STATUSES,
    IDENTITY_PURPOSES,
    OPEN_STATUSES,
    PENDING_STATUSES,
    SENT_STATUSES,
    AgeBand,
    AgeBasis,
    AgeStatus,
    CaseGender,
    ConsentGiver,
    DeclineReason,
    Exploitation,
    LegalBasis,
    Outcome,
    Purpose,
    Status,
    Urgency,
)
from stakeholders.models import Agency, District, State

# Crockford's base32 without look-alikes: codes are read aloud over phones.
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_case_code() -> str:
    """A random code carrying no information about the person, place or agency: 'C-7KQ4-M2XP'."""
    body = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"C-{body[:4]}-{body[4:]}"


def new_referral_reference() -> str:
    body = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"R-{body[:4]}-{body[4:]}"


def _shared_with(user, permission_model, codename):
    """Ids of objects granted to the user's agency groups (or the user) through guardian."""
    return permission_model.objects.filter(
        Q(group__user=user) if hasattr(permission_model, "group") else Q(user=user),
        permission__codename=codename,
    ).values("content_object_id")


@dataclass(frozen=True)
class Shares:
    """What guardian grants a user beyond their agencies' own referrals: explicit shares of cases and
    referrals with their agency's group (or with them), identity access granted on cases, and referrals
    a receiving agency delegated to their agency (`delegated`: (referral id, delegate agency id) pairs)."""

    referral_ids: frozenset[int] = frozenset()
    case_ids: frozenset[int] = frozenset()
    identity_case_ids: frozenset[int] = frozenset()
    delegated: frozenset[tuple[int, int]] = frozenset()


def _members_group_agency(name: str) -> int | None:
    """The agency id of a per-agency members group ("agency-12-members"), else None."""
    parts = name.split("-")
    if len(parts) == 3 and parts[0] == "agency" and parts[2] == "members" and parts[1].isdigit():
        return int(parts[1])
    return None


def user_shares(user) -> Shares:
    """The user's guardian shares, read in one query and kept on the user object for the request.

    The gates use these as id lists rather than sub-selects so that PostgreSQL can answer the whole
    OR of the gate from indexes (a sub-select inside an OR forces a scan of the referral table).
    """
    if not getattr(user, "is_authenticated", False):
        return Shares()
    cached = getattr(user, "_referral_shares", None)
    if cached is not None:
        return cached
    codenames = ("view_case", "view_referral", "view_identity", "act_on_referral")
    kinds = {"view_case": "c", "view_referral": "r", "view_identity": "i", "act_on_referral": "a"}
    queries = []
    for model in (CaseGroupObjectPermission, CaseUserObjectPermission, ReferralGroupObjectPermission, ReferralUserObjectPermission):
        by_group = hasattr(model, "group")
        grants = model.objects.filter(Q(group__user=user) if by_group else Q(user=user), permission__codename__in=codenames)
        # The group's name says which agency a grant was made to (a delegation acts for that agency).
        grants = grants.annotate(via=F("group__name") if by_group else Value("", output_field=models.CharField()))
        queries.append(grants.values_list("content_object_id", "permission__codename", "via"))
    rows = queries[0].union(*queries[1:], all=True)
    found: dict[str, set[int]] = {"c": set(), "r": set(), "i": set(), "a": set()}
    delegated: set[tuple[int, int]] = set()
    for object_id, codename, via in rows:
        found[kinds[codename]].add(object_id)
        if codename == "act_on_referral" and (agency_id := _members_group_agency(via or "")) is not None:
            delegated.add((object_id, agency_id))
    # A referral share names a referral id (acting on a referral implies reading it); case shares (view or
    # identity) name case ids.
    shares = Shares(
        referral_ids=frozenset(found["r"] | found["a"]), case_ids=frozenset(found["c"] | found["i"]),
        identity_case_ids=frozenset(found["i"]), delegated=frozenset(delegated),
    )
    user._referral_shares = shares
    return shares


def forget_shares(user) -> None:
    """Drop the cached shares (after granting or revoking within the same request)."""
    if hasattr(user, "_referral_shares"):
        del user._referral_shares


class CaseQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Cases the user may read: opened or held by their agency, reached by a referral their agency
        sent or received, shared with their agency, or touching a state they supervise."""
        from stakeholders.selectors import user_scope

        if not getattr(user, "is_authenticated", False):
            return self.none()
        if user.is_superuser:
            return self
        scope = user_scope(user)
        agencies = scope.agency_ids
        # EXISTS on the referral's case index: a case page costs one index probe, not the user's whole referral set.
        through_referrals = Referral.objects.visible_to(user).filter(case_id=OuterRef("pk"))
        condition = (
            Q(opened_by_id__in=agencies)
            | Q(holder_id__in=agencies)
            | Q(pk__in=user_shares(user).case_ids)
            | Q(Exists(through_referrals))
        )
        return self.filter(condition)

    def for_aggregates(self, user):
        """Cases a user may *count* (never list): the committee and superusers all, a state supervisor
        those originating in, rescued in or referred within their states, anyone else what they may read.
        Counts from here shown to roles without case access go through `suppress()`."""
        from stakeholders.selectors import user_scope

        if not getattr(user, "is_authenticated", False):
            return self.none()
        scope = user_scope(user)
        if scope.superuser or scope.committee:
            return self
        condition = Q(pk__in=self.visible_to(user).values("pk"))
        if scope.supervised_state_ids:
            condition |= Q(origin_state_id__in=scope.supervised_state_ids) | Q(
                rescue_district__state_id__in=scope.supervised_state_ids
            )
        return self.filter(condition)


class Case(models.Model):
    """A person helped through the network, known only by a random case code."""

    code = models.CharField(_("case code"), max_length=20, unique=True, default=new_case_code, editable=False)
    opened_by = models.ForeignKey(Agency, verbose_name=_("opened by"), on_delete=models.PROTECT, related_name="cases_opened")
    holder = models.ForeignKey(
        Agency, verbose_name=_("currently held by"), on_delete=models.PROTECT, related_name="cases_held",
        help_text=_("The agency with the person in its care now."),
    )
    age_years = models.PositiveSmallIntegerField(_("age (years)"), null=True, blank=True)
    age_band = models.CharField(_("age band"), max_length=15, choices=AgeBand.choices, default=AgeBand.UNDETERMINED)
    age_status = models.CharField(_("minor or adult"), max_length=15, choices=AgeStatus.choices, default=AgeStatus.UNDETERMINED)
    age_basis = models.CharField(_("age determined from"), max_length=20, choices=AgeBasis.choices, blank=True,
                                 help_text=_("Empty while the age is as recorded when the case was opened."))
    age_determined_at = models.DateTimeField(_("age determined"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=15, choices=CaseGender.choices, default=CaseGender.UNKNOWN)
    exploitation = models.CharField(_("form of exploitation"), max_length=30, choices=Exploitation.choices)
    origin_state = models.ForeignKey(State, verbose_name=_("state of origin"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    origin_district = models.ForeignKey(District, verbose_name=_("district of origin"), on_delete=models.PROTECT, null=True, blank=True, related_name="cases_originating")
    origin_country = models.CharField(_("country of origin (cross-border)"), max_length=60, blank=True)
    languages = models.CharField(_("languages"), max_length=200, blank=True)
    rescued_at = models.DateTimeField(_("rescued at"), null=True, blank=True)
    rescue_district = models.ForeignKey(District, verbose_name=_("district of rescue"), on_delete=models.PROTECT, null=True, blank=True, related_name="cases_rescued")
    needs = models.TextField(_("needs"), blank=True, help_text=_("Care needs only; never a name, address or story."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        permissions = [("view_identity", "Can read the case's identity record")]
        indexes = [
            models.Index(fields=["opened_by", "created_at"]),
            models.Index(fields=["holder"]),
            models.Index(fields=["origin_district"]),
            models.Index(fields=["rescue_district", "rescued_at"]),
        ]

    def __str__(self):
        return self.code

    def get_absolute_url(self):
        return reverse("referrals:case_detail", args=[self.code])

    @property
    def is_minor(self) -> bool:
        return self.age_status == AgeStatus.MINOR


class CaseIdentity(models.Model):
    """Who the person is, encrypted at rest (Fernet, keys from IDENTITY_KEYS).

    Read only through `referrals.identity.identity_read`, which checks access and writes an audit
    event. Nothing else imports this model's plaintext.
    """

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="identity")
    ciphertext = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("identity record")

    def __str__(self):
        return f"identity of {self.case_id}"


class Consent(models.Model):
    """Consent to share and refer, or the legal basis that applies instead, with its withdrawal."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="consents")
    given_by = models.CharField(_("given by"), max_length=20, choices=ConsentGiver.choices)
    legal_basis = models.CharField(_("legal basis"), max_length=30, choices=LegalBasis.choices, default=LegalBasis.CONSENT)
    statutory_reference = models.CharField(_("statutory reference"), max_length=120, blank=True, help_text=_("e.g. JJ Act s.31"))
    scope = models.CharField(_("scope"), max_length=200, help_text=_("What may be shared, with whom, for what."))
    language = models.CharField(_("language explained in"), max_length=40, blank=True)
    given_on = models.DateField(_("date"))
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    withdrawal_note = models.CharField(_("withdrawal note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_by_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-given_on", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(given_by="legal_basis") | ~Q(legal_basis="consent"),
                name="consent_legal_basis_named",
                violation_error_message=_("Without consent, name the legal basis that applies."),
            ),
            models.CheckConstraint(
                condition=Q(legal_basis="consent") | ~Q(statutory_reference=""),
                name="consent_statute_for_legal_basis",
                violation_error_message=_("A legal basis needs its statutory reference."),
            ),
        ]

    def __str__(self):
        return f"{self.get_given_by_display()} ({self.get_legal_basis_display()})"

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class ReferralQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The one gate for referrals: sent or received by the user's agency (indexed foreign keys),
        shared with it through guardian, or touching a state it supervises. Committees and other
        agencies see nothing here. A draft is the sender's alone until it is sent."""
        from stakeholders.selectors import user_scope

        if not getattr(user, "is_authenticated", False):
            return self.none()
        if user.is_superuser:
            return self
        scope = user_scope(user)
        shares = user_shares(user)
        sent = SENT_STATUSES  # every status but draft, spelled out so the (agency, status) indexes apply
        condition = Q(pk__in=[])
        if scope.agency_ids:
            condition |= Q(from_agency_id__in=scope.agency_ids)
            condition |= Q(to_agency_id__in=scope.agency_ids, status__in=sent)
        if scope.supervised_state_ids:
            condition |= Q(from_state_id__in=scope.supervised_state_ids, status__in=sent)
            condition |= Q(to_state_id__in=scope.supervised_state_ids, status__in=sent)
        if shares.referral_ids:
            condition |= Q(pk__in=shares.referral_ids, status__in=sent)
        if shares.case_ids:
            condition |= Q(case_id__in=shares.case_ids, status__in=sent)
        return self.filter(condition)

    def received_by(self, user):
        """The receiving side of the gate alone: referrals sent (or delegated) to the user's agencies (drafts
        excluded), on the (to_agency, status) index. Every row here is in `visible_to(user)`; the inbox and its navigation
        count use this part so that they cost one indexed query (after the user's shares, read once a request)."""
        from stakeholders.selectors import user_scope

        if not getattr(user, "is_authenticated", False):
            return self.none()
        scope = user_scope(user)
        if not scope.agency_ids:
            return self.none()
        condition = Q(to_agency_id__in=scope.agency_ids)
        # Referrals a receiving agency delegated to one of the user's agencies wait in their inbox too.
        delegated = [referral_id for referral_id, agency_id in user_shares(user).delegated if agency_id in scope.agency_ids]
        if delegated:
            condition |= Q(pk__in=delegated)
        return self.filter(condition, status__in=SENT_STATUSES)

    def for_aggregates(self, user):
        """Referrals a user may *count* (agency-level aggregates, never case rows): the committee and
        superusers every referral, a state supervisor those touching their states, an agency member those
        touching their agencies. Network and coverage analyses and dashboards read through this gate;
        what they show to roles without case access goes through `suppress()`."""
        from stakeholders.selectors import user_scope

        if not getattr(user, "is_authenticated", False):
            return self.none()
        scope = user_scope(user)
        if scope.superuser or scope.committee:
            return self
        condition = Q(pk__in=[])
        if scope.supervised_state_ids:
            condition |= Q(from_state_id__in=scope.supervised_state_ids) | Q(to_state_id__in=scope.supervised_state_ids)
        if scope.agency_ids:
            condition |= Q(from_agency_id__in=scope.agency_ids) | Q(to_agency_id__in=scope.agency_ids)
        return self.filter(condition)

    def pending(self):
        return self.filter(status__in=PENDING_STATUSES)

    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, now=None):
        return self.filter(status__in=PENDING_STATUSES, due_at__lt=now or timezone.now())

    def with_list_related(self):
        return self.select_related("case", "from_agency", "to_agency")


class Referral(models.Model):
    """One agency asks another to do something for a case; it moves through a lifecycle with a deadline."""

    reference = models.CharField(_("reference"), max_length=40, unique=True, default=new_referral_reference)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="referrals")
    from_agency = models.ForeignKey(Agency, verbose_name=_("from"), on_delete=models.PROTECT, related_name="referrals_sent")
    to_agency = models.ForeignKey(Agency, verbose_name=_("to"), on_delete=models.PROTECT, related_name="referrals_received")
    # The agencies' states at the time of referral, so state review and state×state matrices use an index.
    from_state = models.ForeignKey(State, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_state = models.ForeignKey(State, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    purpose = models.CharField(_("purpose"), max_length=40, choices=Purpose.choices)
    urgency = models.CharField(_("urgency"), max_length=15, choices=Urgency.choices, default=Urgency.ROUTINE)
    note = models.TextField(_("note"), blank=True, help_text=_("What the receiver needs to know. Never a name or address."))
    status = models.CharField(_("status"), max_length=15, choices=Status.choices, default=Status.DRAFT)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    deadline_rule = models.CharField(max_length=40, blank=True)
    identity_shared = models.BooleanField(
        default=False, help_text="The purpose needs identity: the receiver may read it while the referral is open."
    )
    bed_taken = models.BooleanField(default=False, help_text="Accepting this placement took one of the receiver's beds.")
    decline_reason = models.CharField(_("reason"), max_length=30, choices=DeclineReason.choices, blank=True)
    outcome = models.CharField(_("outcome"), max_length=30, choices=Outcome.choices, blank=True)
    response_note = models.TextField(_("response note"), blank=True)
    rerouted_from = models.ForeignKey(
        "self", verbose_name=_("re-routed from"), on_delete=models.SET_NULL, null=True, blank=True, related_name="reroutes"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    responded_at = models.DateTimeField(_("answered"), null=True, blank=True, help_text=_("Accepted or declined."))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, help_text=_("Completed or withdrawn."))
    reminded_at = models.DateTimeField(
        _("last overdue reminder"), null=True, blank=True,
        help_text="When send_overdue_reminders last e-mailed both agencies about this referral (one reminder a day).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        permissions = [("act_on_referral", "Can act on the referral for the receiving agency")]
        indexes = [
            models.Index(fields=["to_agency", "status", "created_at"]),
            models.Index(fields=["from_agency", "status", "created_at"]),
            models.Index(fields=["to_state", "created_at"]),
            models.Index(fields=["from_state", "created_at"]),
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["sent_at"]),
            models.Index(fields=["case", "created_at"]),
            # Covers the network analysis's one pass over every referral: grouped by agency pair in index
            # order, read from the index alone (no table rows, no sort).
            models.Index(
                fields=["from_agency", "to_agency", "status", "sent_at", "responded_at", "due_at", "decline_reason"],
                name="referral_pair_cover_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_agency=F("to_agency")),
                name="referral_not_to_self",
                violation_error_message=_("An agency cannot refer to itself."),
            ),
        ]

    def __str__(self):
        return self.reference

    def get_absolute_url(self):
        return reverse("referrals:referral_detail", args=[self.reference])

    @property
    def is_overdue(self) -> bool:
        return self.status in PENDING_STATUSES and self.due_at is not None and self.due_at < timezone.now()

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    @property
    def purpose_needs_identity(self) -> bool:
        return self.purpose in IDENTITY_PURPOSES


class ReferralEvent(models.Model):
    """One step of a referral's life: who, for which agency, when, from which status to which."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(max_length=15, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=15, choices=Status.choices)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["referral", "at"])]

    def __str__(self):
        return f"{self.referral_id}: {self.from_status or '—'} → {self.to_status}"


class AuditEvent(models.Model):
    """Append-only: who read or changed which case data, for which agency, when, on what legal basis.

    Never holds identity text. The app offers no way to change or delete an entry (see `save`,
    `delete` and the admin); on PostgreSQL a trigger refuses UPDATE and DELETE as well.
    """

    class Action(models.TextChoices):
        VIEW_CASE = "view_case", _("Viewed a case")
        VIEW_IDENTITY = "view_identity", _("Viewed an identity")
        VIEW_REFERRAL = "view_referral", _("Viewed a referral")
        CREATE = "create", _("Created")
        UPDATE = "update", _("Changed")
        TRANSITION = "transition", _("Changed a referral's status")
        SHARE = "share", _("Shared")
        REVOKE = "revoke", _("Revoked a share")
        EXPORT = "export", _("Exported")
        IMPORT = "import", _("Imported")

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_events")
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=40)
    object_ref = models.CharField(max_length=60, blank=True, help_text="case code, referral reference, or export name")
    legal_basis = models.CharField(max_length=120, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["agency", "at"]), models.Index(fields=["object_type", "object_ref"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.user_id} {self.action} {self.object_type} {self.object_ref}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events cannot be deleted.")


class CaseUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class CaseGroupObjectPermission(GroupObjectPermissionBase):
    """Explicit shares of a case with a third agency's group (e.g. a DLSA or the home-district CWC)."""

    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class ReferralUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Referral, on_delete=models.CASCADE)


class ReferralGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Referral, on_delete=models.CASCADE)
