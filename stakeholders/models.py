"""The registry: geography (states, districts) and the agencies that work against trafficking."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from stakeholders.vocab import (
    AgencyKind,
    Gender,
    JurisdictionLevel,
    LocationPrecision,
    PartnershipKind,
    Service,
)

# A sanity bound on bed counts, checked by the form and the import (the column itself is a plain integer).
MAX_BEDS = 100_000

pincode_validator = RegexValidator(r"^[1-9][0-9]{5}$", _("A PIN code is six digits and does not start with 0."))


class State(models.Model):
    """A State or Union Territory, as named by the India Post directory."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    key = models.CharField(max_length=100, unique=True, help_text="normalised name used for matching")
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    population = models.BigIntegerField(_("population"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("state / UT")
        verbose_name_plural = _("states / UTs")

    def __str__(self):
        return self.name


class District(models.Model):
    """A district with its centre (median of its post offices) and, when imported, population and boundary."""

    state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="districts")
    name = models.CharField(_("name"), max_length=100)
    key = models.CharField(max_length=100, help_text="normalised name used for matching")
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    post_office_count = models.PositiveIntegerField(default=0)
    population = models.BigIntegerField(_("population"), null=True, blank=True)
    census_code = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["state__name", "name"]
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        constraints = [
            models.UniqueConstraint(fields=["state", "key"], name="district_unique_in_state"),
        ]

    def __str__(self):
        return f"{self.name} ({self.state.name})"


class StateBoundary(models.Model):
    """A state's outline (simplified GeoJSON geometry), kept apart so lists never load it."""

    state = models.OneToOneField(State, on_delete=models.CASCADE, related_name="boundary")
    geometry = models.JSONField()
    source = models.CharField(max_length=200, blank=True)
    imported_at = models.DateTimeField(auto_now=True)


class DistrictBoundary(models.Model):
    """A district's outline (simplified GeoJSON geometry), imported by `import_boundaries`."""

    district = models.OneToOneField(District, on_delete=models.CASCADE, related_name="boundary")
    geometry = models.JSONField()
    source = models.CharField(max_length=200, blank=True)
    imported_at = models.DateTimeField(auto_now=True)


class AgencyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)

    def editable_by(self, user):
        """The one gate for agency edits: superusers all; agency admins their agency (guardian
        object permission on the agency's admin group); admins of a state-level agency every
        agency in their state."""
        from stakeholders.selectors import user_scope

        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        scope = user_scope(user)
        granted = AgencyGroupObjectPermission.objects.filter(
            group__user=user, permission__codename="change_agency"
        ).values("content_object_id")
        return self.filter(Q(pk__in=granted) | Q(state_id__in=scope.state_admin_state_ids))

    def with_list_related(self):
        return self.select_related("state", "district", "parent")


class Agency(models.Model):
    """An organisation in the referral network: a ministry, an AHTU, a shelter, a CWC, an NGO…"""

    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", _("Use letters, digits, '.', '_' or '-'."))],
        help_text=_("A unique external code, used by imports and exports."),
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=30, choices=AgencyKind.choices)
    level = models.CharField(
        _("jurisdiction level"), max_length=20, choices=JurisdictionLevel.choices, default=JurisdictionLevel.DISTRICT
    )
    state = models.ForeignKey(State, verbose_name=_("state / UT"), on_delete=models.PROTECT, null=True, blank=True)
    district = models.ForeignKey(
        District, verbose_name=_("district"), on_delete=models.PROTECT, null=True, blank=True
    )
    address = models.TextField(_("address"), blank=True)
    pincode = models.CharField(_("PIN code"), max_length=6, blank=True, validators=[pincode_validator])
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    location_precision = models.CharField(
        _("location precision"), max_length=10, choices=LocationPrecision.choices, default=LocationPrecision.NONE
    )
    parent = models.ForeignKey(
        "self", verbose_name=_("parent agency"), on_delete=models.SET_NULL, null=True, blank=True, related_name="children"
    )

    serves_female = models.BooleanField(_("serves women / girls"), default=True)
    serves_male = models.BooleanField(_("serves men / boys"), default=True)
    serves_transgender = models.BooleanField(_("serves transgender persons"), default=True)
    min_age = models.PositiveSmallIntegerField(
        _("minimum age served"), null=True, blank=True, validators=[MaxValueValidator(120)]
    )
    max_age = models.PositiveSmallIntegerField(
        _("maximum age served"), null=True, blank=True, validators=[MaxValueValidator(120)]
    )

    beds_total = models.PositiveIntegerField(_("beds in total"), null=True, blank=True)
    beds_available = models.PositiveIntegerField(_("beds available now"), null=True, blank=True)
    capacity_updated_at = models.DateTimeField(_("capacity updated"), null=True, blank=True)

    languages = models.CharField(_("languages"), max_length=200, blank=True, help_text=_("Separated by ';'."))
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    nodal_officer_role = models.CharField(
        _("nodal officer (role, not a name)"), max_length=120, blank=True
    )

    ahtu_notified = models.BooleanField(_("AHTU notified by the state"), null=True, blank=True)
    ahtu_functional = models.BooleanField(_("AHTU functional"), null=True, blank=True)
    can_register_fir = models.BooleanField(_("can register FIRs"), null=True, blank=True)
    staff_sanctioned = models.PositiveSmallIntegerField(_("staff sanctioned"), null=True, blank=True)
    staff_in_position = models.PositiveSmallIntegerField(_("staff in position"), null=True, blank=True)
    vehicles = models.PositiveSmallIntegerField(_("vehicles"), null=True, blank=True)

    active = models.BooleanField(_("active"), default=True)
    verified = models.BooleanField(_("verified"), default=False)
    last_verified_on = models.DateField(_("last verified"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AgencyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        permissions = [("manage_members", "Can manage the agency's members")]
        indexes = [
            models.Index(fields=["name"]),
            models.Index(fields=["kind", "name"]),
            models.Index(fields=["state", "district"]),
            models.Index(fields=["district", "kind"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(beds_available__isnull=True)
                | Q(beds_total__isnull=True)
                | Q(beds_available__lte=F("beds_total")),
                name="agency_beds_available_within_total",
                violation_error_message=_("Beds available cannot exceed beds in total."),
            ),
            models.CheckConstraint(
                condition=Q(min_age__isnull=True) | Q(max_age__isnull=True) | Q(min_age__lte=F("max_age")),
                name="agency_age_range_ordered",
                violation_error_message=_("The minimum age cannot exceed the maximum age."),
            ),
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | ~Q(parent=F("pk")),
                name="agency_not_own_parent",
                violation_error_message=_("An agency cannot be its own parent."),
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("stakeholders:agency_detail", args=[self.pk])

    @property
    def free_beds(self) -> int | None:
        return self.beds_available

    @property
    def service_slugs(self) -> list[str]:
        """Services as slugs; uses the prefetch cache when the list view prefetched them."""
        return sorted(s.service for s in self.services.all())

    def service_labels(self) -> list[str]:
        labels = dict(Service.choices)
        return [str(labels.get(slug, slug)) for slug in self.service_slugs]

    def served_groups(self) -> list[str]:
        """Who the agency serves, as labels for its page ("women/girls, men/boys")."""
        groups = [(self.serves_female, _("women/girls")), (self.serves_male, _("men/boys")),
                  (self.serves_transgender, _("transgender persons"))]
        return [str(label) for served, label in groups if served]

    def serves_gender(self, gender: str) -> bool:
        return {
            Gender.FEMALE: self.serves_female,
            Gender.MALE: self.serves_male,
            Gender.TRANSGENDER: self.serves_transgender,
        }.get(gender, True)


class AgencyService(models.Model):
    """A service an agency offers (one row per service, so filters use an index, not a text scan)."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="services")
    service = models.CharField(max_length=30, choices=Service.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "service"], name="agency_service_unique")]
        indexes = [models.Index(fields=["service", "agency"])]

    def __str__(self):
        return f"{self.agency_id}:{self.service}"


class Membership(models.Model):
    """A user's place in an agency. Admins manage the agency; caseworkers act on referrals; viewers read."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Agency admin")
        CASEWORKER = "caseworker", _("Caseworker")
        VIEWER = "viewer", _("Viewer")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.CASEWORKER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agency__name", "user__username"]
        constraints = [models.UniqueConstraint(fields=["user", "agency"], name="membership_unique")]

    def __str__(self):
        return f"{self.user} @ {self.agency} ({self.role})"

    @property
    def can_act(self) -> bool:
        return self.role in {self.Role.ADMIN, self.Role.CASEWORKER}


class Partnership(models.Model):
    """A formal link between two agencies (an MoU, membership of a task force…), with its dates."""

    from_agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="partnerships_out")
    to_agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="partnerships_in")
    kind = models.CharField(_("kind"), max_length=20, choices=PartnershipKind.choices, default=PartnershipKind.MOU)
    title = models.CharField(_("title"), max_length=200, blank=True)
    starts_on = models.DateField(_("starts"), null=True, blank=True)
    ends_on = models.DateField(_("ends"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_agency=F("to_agency")),
                name="partnership_two_agencies",
                violation_error_message=_("A partnership links two different agencies."),
            ),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True) | Q(ends_on__isnull=True) | Q(starts_on__lte=F("ends_on")),
                name="partnership_dates_ordered",
                violation_error_message=_("A partnership cannot end before it starts."),
            ),
        ]

    def __str__(self):
        return f"{self.from_agency} ↔ {self.to_agency} ({self.get_kind_display()})"


class AgencyUserObjectPermission(UserObjectPermissionBase):
    """Direct-FK guardian table: integer joins, rows cascade with the agency."""

    content_object = models.ForeignKey(Agency, on_delete=models.CASCADE)


class AgencyGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Agency, on_delete=models.CASCADE)
