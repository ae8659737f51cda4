"""The steering committee's records: AHTU monthly returns and their review, training events, committee
meetings and the action items they decide.

Returns hold counts only (never a person); they are read through `AhtuReturn.objects.visible_to(user)`:
the AHTU's own members and the supervisors of its state. Everyone else sees them only as suppressed
aggregates in the impact table.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coordination.indicators import BY_FIELD, FIELDS, MAX_MONTHLY_VALUE
from coordination.periods import is_late, month_key
from stakeholders.models import Agency, District, State


def _count_field(name: str) -> models.PositiveIntegerField:
    indicator = BY_FIELD[name]
    return models.PositiveIntegerField(indicator.label, default=0, validators=[MaxValueValidator(MAX_MONTHLY_VALUE)])


class ReturnStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    RETURNED = "returned", _("Returned for correction")


# The AHTU may change its figures only while the return is in its hands.
EDITABLE_STATUSES = frozenset({ReturnStatus.DRAFT, ReturnStatus.RETURNED})
# Counted as filed by the tracker (a returned return was filed; it now awaits correction).
FILED_STATUSES = frozenset({ReturnStatus.SUBMITTED, ReturnStatus.APPROVED, ReturnStatus.RETURNED})


class AhtuReturnQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The one gate for reading returns: superusers all; members of the AHTU its own; members of a
        state department or anti-trafficking bureau the returns of their state's AHTUs."""
        from stakeholders.selectors import user_scope

        if not getattr(user, "is_authenticated", False):
            return self.none()
        if user.is_superuser:
            return self
        scope = user_scope(user)
        return self.filter(Q(ahtu_id__in=scope.agency_ids) | Q(ahtu__state_id__in=scope.supervised_state_ids))

    def approved(self):
        return self.filter(status=ReturnStatus.APPROVED)

    def with_list_related(self):
        return self.select_related("ahtu", "ahtu__state", "ahtu__district")


class AhtuReturn(models.Model):
    """One AHTU's figures for one month, filed by the AHTU and approved by its state's nodal agency."""

    ahtu = models.ForeignKey(
        Agency, verbose_name=_("AHTU"), on_delete=models.PROTECT, related_name="ahtu_returns",
        limit_choices_to={"kind": "ahtu"},
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month the figures cover."))
    cases_registered = _count_field("cases_registered")
    rescue_operations = _count_field("rescue_operations")
    victims_rescued = _count_field("victims_rescued")
    minors_rescued = _count_field("minors_rescued")
    female_rescued = _count_field("female_rescued")
    arrested = _count_field("arrested")
    customers_arrested = _count_field("customers_arrested")
    chargesheets = _count_field("chargesheets")
    convicted = _count_field("convicted")
    places_closed = _count_field("places_closed")
    rehabilitation_initiated = _count_field("rehabilitation_initiated")
    remarks = models.CharField(
        _("remarks"), max_length=500, blank=True,
        help_text=_("Context for the figures (a joint operation, a large rescue). Never a name or an address."),
    )

    status = models.CharField(_("status"), max_length=12, choices=ReturnStatus.choices, default=ReturnStatus.DRAFT)
    review_comment = models.TextField(_("reviewer's comment"), blank=True)
    imported = models.BooleanField(_("imported from a file"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    first_submitted_at = models.DateTimeField(
        _("first submitted"), null=True, blank=True, help_text=_("Decides whether the return was late.")
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    objects = AhtuReturnQuerySet.as_manager()

    class Meta:
        ordering = ["-month", "ahtu__name"]
        verbose_name = _("AHTU monthly return")
        verbose_name_plural = _("AHTU monthly returns")
        indexes = [
            models.Index(fields=["status", "month"]),
            models.Index(fields=["month", "status"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["ahtu", "month"], name="ahtu_return_one_per_month",
                violation_error_message=_("This AHTU already has a return for this month."),
            ),
            models.CheckConstraint(
                condition=Q(minors_rescued__lte=F("victims_rescued")),
                name="ahtu_return_minors_within_rescued",
                violation_error_message=_("Minors rescued cannot exceed victims rescued."),
            ),
            models.CheckConstraint(
                condition=Q(female_rescued__lte=F("victims_rescued")),
                name="ahtu_return_female_within_rescued",
                violation_error_message=_("Women and girls rescued cannot exceed victims rescued."),
            ),
            models.CheckConstraint(
                condition=Q(customers_arrested__lte=F("arrested")),
                name="ahtu_return_customers_within_arrested",
                violation_error_message=_("Customers arrested cannot exceed persons arrested."),
            ),
            models.CheckConstraint(
                condition=Q(status__in=ReturnStatus.values),
                name="ahtu_return_status_known",
            ),
            models.CheckConstraint(
                condition=~Q(status=ReturnStatus.RETURNED) | ~Q(review_comment=""),
                name="ahtu_return_returned_with_comment",
                violation_error_message=_("A return sent back needs a comment saying what to correct."),
            ),
            models.CheckConstraint(
                condition=Q(status=ReturnStatus.DRAFT) | Q(first_submitted_at__isnull=False),
                name="ahtu_return_filed_has_date",
            ),
        ]

    def __str__(self):
        return f"{self.ahtu} {month_key(self.month)}"

    def get_absolute_url(self):
        return reverse("coordination:return_detail", args=[self.pk])

    @property
    def month_label(self) -> str:
        return month_key(self.month)

    def values(self) -> dict[str, int]:
        return {field: getattr(self, field) for field in FIELDS}

    @property
    def is_late(self) -> bool:
        return is_late(self.month, self.first_submitted_at, due_day=settings.AHTU_RETURN_DUE_DAY, tz=settings.TIME_ZONE)

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES


class AhtuReturnEvent(models.Model):
    """One step of a return's review: who, for which agency, when, and the comment they left."""

    ahtu_return = models.ForeignKey(AhtuReturn, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor_agency = models.ForeignKey(Agency, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(max_length=12, choices=ReturnStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=ReturnStatus.choices)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["ahtu_return", "at"])]

    def __str__(self):
        return f"{self.ahtu_return_id}: {self.from_status or '—'} → {self.to_status}"


class TrainingTopic(models.TextChoices):
    INVESTIGATION = "investigation", _("Investigation")
    VICTIM_CARE = "victim_care", _("Victim care and rehabilitation")
    PROSECUTION = "prosecution", _("Prosecution")
    SOPS = "sops", _("SOPs and protocols")
    CHILD_PROTECTION = "child_protection", _("Child protection (JJ Act, POCSO)")
    JUDICIAL = "judicial", _("Judicial sensitisation")
    CROSS_BORDER = "cross_border", _("Cross-border cases and repatriation")
    OTHER = "other", _("Other")


# Participant groups, as columns of a training event (field name, label).
PARTICIPANT_GROUPS: tuple[tuple[str, str], ...] = (
    ("police", _("Police")),
    ("prosecutors", _("Prosecutors")),
    ("judiciary", _("Judiciary")),
    ("ngo", _("NGO")),
    ("other", _("Other")),
)
PARTICIPANT_FIELDS = tuple(f"participants_{group}" for group, _label in PARTICIPANT_GROUPS)


class TrainingEventQuerySet(models.QuerySet):
    def with_list_related(self):
        return self.select_related("state", "district", "organiser")


def _participants(label) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(label, default=0, validators=[MaxValueValidator(10_000)])


def _score(label) -> models.DecimalField:
    return models.DecimalField(
        label, max_digits=5, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)], help_text=_("Mean score in per cent (0–100)."),
    )


class TrainingEvent(models.Model):
    """A training or capacity-building event: who was trained, on what, where, and how much they learnt."""

    title = models.CharField(_("title"), max_length=200)
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    state = models.ForeignKey(State, verbose_name=_("state / UT"), on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey(District, verbose_name=_("district"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    organiser = models.ForeignKey(
        Agency, verbose_name=_("organising institution"), on_delete=models.PROTECT, related_name="trainings_organised"
    )
    topic = models.CharField(_("topic"), max_length=30, choices=TrainingTopic.choices)
    participants_police = _participants(_("police"))
    participants_prosecutors = _participants(_("prosecutors"))
    participants_judiciary = _participants(_("judiciary"))
    participants_ngo = _participants(_("NGO staff"))
    participants_other = _participants(_("others"))
    master_trainers = models.PositiveSmallIntegerField(_("master trainers involved"), default=0)
    pre_test_mean = _score(_("pre-test mean score"))
    post_test_mean = _score(_("post-test mean score"))
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TrainingEventQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "-pk"]
        verbose_name = _("training event")
        verbose_name_plural = _("training events")
        indexes = [models.Index(fields=["starts_on"]), models.Index(fields=["state", "starts_on"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")),
                name="training_dates_ordered",
                violation_error_message=_("A training cannot end before it starts."),
            ),
            models.CheckConstraint(
                condition=Q(participants_police__gt=0) | Q(participants_prosecutors__gt=0) | Q(participants_judiciary__gt=0)
                | Q(participants_ngo__gt=0) | Q(participants_other__gt=0),
                name="training_has_participants",
                violation_error_message=_("Record how many people took part."),
            ),
            models.CheckConstraint(
                condition=(Q(pre_test_mean__isnull=True) | (Q(pre_test_mean__gte=0) & Q(pre_test_mean__lte=100)))
                & (Q(post_test_mean__isnull=True) | (Q(post_test_mean__gte=0) & Q(post_test_mean__lte=100))),
                name="training_scores_in_range",
                violation_error_message=_("Scores are per cent, from 0 to 100."),
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("coordination:training_detail", args=[self.pk])

    @property
    def participants_total(self) -> int:
        return sum(getattr(self, field) for field in PARTICIPANT_FIELDS)

    @property
    def score_gain(self):
        if self.pre_test_mean is None or self.post_test_mean is None:
            return None
        return self.post_test_mean - self.pre_test_mean

    def participants_by_group(self) -> list[tuple[str, int]]:
        return [(label, getattr(self, f"participants_{group}")) for group, label in PARTICIPANT_GROUPS]


class MeetingQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Meetings a user may read: superusers all; members of the committee that met, of an agency
        present, or of an agency owning one of its action items."""
        from stakeholders.selectors import user_scope

        if not getattr(user, "is_authenticated", False):
            return self.none()
        if user.is_superuser:
            return self
        agencies = user_scope(user).agency_ids
        if not agencies:
            return self.none()
        present = CommitteeMeeting.agencies_present.through.objects.filter(agency_id__in=agencies).values("committeemeeting_id")
        owning = ActionItem.objects.filter(owner_id__in=agencies).values("meeting_id")
        return self.filter(Q(committee_id__in=agencies) | Q(pk__in=present) | Q(pk__in=owning))


class CommitteeMeeting(models.Model):
    """A meeting of the steering committee (or a state task force): when, who came, what was decided."""

    committee = models.ForeignKey(
        Agency, verbose_name=_("committee"), on_delete=models.PROTECT, related_name="meetings_held",
        limit_choices_to={"kind": "committee"},
    )
    held_on = models.DateField(_("date"))
    title = models.CharField(_("title"), max_length=200)
    place = models.CharField(_("place"), max_length=200, blank=True)
    agencies_present = models.ManyToManyField(Agency, verbose_name=_("agencies present"), related_name="meetings_attended", blank=True)
    summary = models.TextField(_("summary of decisions"), blank=True, help_text=_("Never names of victims or case details."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = MeetingQuerySet.as_manager()

    class Meta:
        ordering = ["-held_on", "-pk"]
        verbose_name = _("committee meeting")
        verbose_name_plural = _("committee meetings")
        indexes = [models.Index(fields=["committee", "held_on"])]

    def __str__(self):
        return f"{self.title} ({self.held_on:%d %b %Y})"

    def get_absolute_url(self):
        return reverse("coordination:meeting_detail", args=[self.pk])


class ActionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    DROPPED = "dropped", _("Dropped")


OPEN_ACTION_STATUSES = frozenset({ActionStatus.OPEN, ActionStatus.IN_PROGRESS})


class ActionItemQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(meeting__in=CommitteeMeeting.objects.visible_to(user))

    def open(self):
        return self.filter(status__in=OPEN_ACTION_STATUSES)

    def overdue(self, today=None):
        return self.open().filter(due_on__lt=today or timezone.localdate())

    def with_list_related(self):
        return self.select_related("owner", "meeting", "meeting__committee")


class ActionItem(models.Model):
    """A decision of a meeting that one agency owns, with a due date, followed up until done."""

    meeting = models.ForeignKey(CommitteeMeeting, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(_("action"), max_length=300)
    owner = models.ForeignKey(Agency, verbose_name=_("owner agency"), on_delete=models.PROTECT, related_name="action_items")
    due_on = models.DateField(_("due"))
    status = models.CharField(_("status"), max_length=12, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    closed_on = models.DateField(_("closed"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ActionItemQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "pk"]
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        indexes = [models.Index(fields=["owner", "status", "due_on"]), models.Index(fields=["status", "due_on"])]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ActionStatus.values), name="action_item_status_known"),
            models.CheckConstraint(
                condition=Q(status__in=[ActionStatus.OPEN, ActionStatus.IN_PROGRESS], closed_on__isnull=True)
                | Q(status__in=[ActionStatus.DONE, ActionStatus.DROPPED], closed_on__isnull=False),
                name="action_item_closed_when_done",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("coordination:action_item_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ACTION_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_on < timezone.localdate()


class ActionItemUpdate(models.Model):
    """Progress on an action item: a note, and the status it moved to (if it moved)."""

    item = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="updates")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    author_agency = models.ForeignKey(Agency, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(_("update"))
    from_status = models.CharField(max_length=12, choices=ActionStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=ActionStatus.choices, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["item", "at"])]

    def __str__(self):
        return f"{self.item_id} {self.at:%Y-%m-%d}"
