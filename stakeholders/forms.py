from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from stakeholders.locations import resolve_location
from stakeholders.models import MAX_BEDS, Agency, District, Membership, Partnership, State
from stakeholders.services import parent_cycle
from stakeholders.vocab import JurisdictionLevel, LocationPrecision, Service


class AgencyForm(forms.ModelForm):
    services = forms.MultipleChoiceField(
        label=_("Services offered"), choices=Service.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Agency
        fields = [
            "name", "code", "kind", "level", "parent", "state", "district", "pincode", "address",
            "latitude", "longitude", "services", "serves_female", "serves_male", "serves_transgender",
            "min_age", "max_age", "beds_total", "beds_available", "languages", "phone", "email",
            "nodal_officer_role", "ahtu_notified", "ahtu_functional", "can_register_fir", "staff_sanctioned",
            "staff_in_position", "vehicles", "active", "verified", "last_verified_on",
        ]
        widgets = {
            "address": forms.Textarea(attrs={"rows": 2}),
            "pincode": forms.TextInput(attrs={"inputmode": "numeric", "pattern": "[1-9][0-9]{5}", "autocomplete": "postal-code"}),
            "last_verified_on": forms.DateInput(attrs={"type": "date"}),
            "latitude": forms.NumberInput(attrs={"step": "any"}),
            "longitude": forms.NumberInput(attrs={"step": "any"}),
        }
        help_texts = {
            "latitude": _("Leave empty to use the PIN code's (or the district's) centre."),
        }

    def __init__(self, *args, allowed_states=None, restricted=False, **kwargs):
        """`allowed_states`: a state admin's states (None = any); `restricted`: an agency admin
        editing their own agency may not change what the state vouches for."""
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["services"].initial = self.instance.service_slugs
            if self.instance.location_precision != LocationPrecision.EXACT:
                # Derived coordinates are not shown as input: saving the form would turn a PIN or
                # district centre into "exact" coordinates.
                self.initial["latitude"] = self.initial["longitude"] = None
                if self.instance.latitude is not None:
                    self.fields["latitude"].help_text = _(
                        "Now at %(lat).4f, %(lon).4f (%(precision)s). Enter surveyed coordinates to replace them."
                    ) % {
                        "lat": self.instance.latitude,
                        "lon": self.instance.longitude,
                        "precision": self.instance.get_location_precision_display(),
                    }
        if allowed_states is not None:
            self.fields["state"].queryset = State.objects.filter(pk__in=allowed_states)
            self.fields["state"].required = True
            self.fields["state"].error_messages["invalid_choice"] = _(
                "You may add or move agencies only within your own state(s)."
            )
        state_id = self.data.get(self.add_prefix("state")) or self.initial.get("state") or self.instance.state_id
        district = self.fields["district"]
        district.label_from_instance = lambda district: district.name
        # Any district validates, so that clean() can say "X is not in Y" instead of "not one of the
        # available choices"; the select still offers only the chosen state's districts.
        district.queryset = District.objects.all()
        in_state = (
            District.objects.filter(state_id=state_id).only("pk", "name")
            if str(state_id or "").isdigit() or isinstance(state_id, int)
            else District.objects.none()
        )
        district.widget.choices = [("", district.empty_label)] + [(d.pk, d.name) for d in in_state]
        self.fields["parent"].queryset = Agency.objects.only("pk", "name").order_by("name")
        self.fields["parent"].widget = forms.TextInput(attrs={"placeholder": _("code of the parent agency")})
        self.fields["parent"].to_field_name = "code"
        self.fields["parent"].error_messages["invalid_choice"] = _("No agency has the code %(value)s.")
        if self.instance.parent_id:
            self.initial["parent"] = self.instance.parent.code
        if restricted:
            for name in ("code", "kind", "level", "verified", "last_verified_on", "state", "active"):
                self.fields[name].disabled = True

    def clean_code(self):
        code = self.cleaned_data["code"]
        other = (
            Agency.objects.filter(code__iexact=code).exclude(pk=self.instance.pk).values_list("code", flat=True).first()
        )
        if other is not None and other != code:  # the same code exactly is the unique check's message
            raise forms.ValidationError(
                _("Agency %(other)s already exists; codes may not differ only in case.") % {"other": other}
            )
        return code

    def clean(self):
        data = super().clean()
        location, errors = resolve_location(
            state=data.get("state"),
            district=data.get("district"),
            pincode=data.get("pincode") or "",
            latitude=data.get("latitude"),
            longitude=data.get("longitude"),
            level=data.get("level"),
        )
        for field, message in errors.items():
            self.add_error(field, message)
        if not errors:
            data["state"], data["district"] = location.state, location.district
            self.instance.location_precision = location.precision
            data["latitude"], data["longitude"] = location.latitude, location.longitude
            level = data.get("level")
            if level in (JurisdictionLevel.DISTRICT, JurisdictionLevel.SUB_DISTRICT) and location.district is None:
                self.add_error("district", _("A district or sub-district agency needs its district (or a PIN code)."))
            elif level == JurisdictionLevel.STATE and location.state is None:
                self.add_error("state", _("A state-level agency needs its state."))
        min_age, max_age = data.get("min_age"), data.get("max_age")
        if min_age is not None and max_age is not None and min_age > max_age:
            self.add_error("max_age", _("The maximum age (%(max)s) is below the minimum age (%(min)s).") % {
                "max": max_age, "min": min_age})
        verified_on = data.get("last_verified_on")
        if verified_on and verified_on > timezone.localdate():
            self.add_error("last_verified_on", _("The date of the last verification cannot be in the future."))
        beds_total, beds_available = data.get("beds_total"), data.get("beds_available")
        for name in ("beds_total", "beds_available"):
            if data.get(name) is not None and data[name] > MAX_BEDS:
                self.add_error(name, _("At most %(max)s beds.") % {"max": f"{MAX_BEDS:,}"})
        if beds_total is not None and beds_available is not None and beds_available > beds_total:
            self.add_error("beds_available", _("Beds available (%(a)s) cannot exceed beds in total (%(t)s).") % {
                "a": beds_available, "t": beds_total})
        parent = data.get("parent")
        if parent is not None and (parent.pk == self.instance.pk or parent_cycle(agency_pk=self.instance.pk, parent=parent)):
            self.add_error("parent", _("This parent would make the agency its own ancestor."))
        return data


class FreeBedsForm(forms.Form):
    beds_available = forms.IntegerField(label=_("Beds free now"), min_value=0, max_value=MAX_BEDS)

    def __init__(self, *args, agency=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency = agency

    def clean_beds_available(self):
        value = self.cleaned_data["beds_available"]
        if self.agency.beds_total is not None and value > self.agency.beds_total:
            raise forms.ValidationError(
                _("Beds available (%(a)s) cannot exceed beds in total (%(t)s).") % {"a": value, "t": self.agency.beds_total}
            )
        return value


class MembershipForm(forms.Form):
    username = forms.CharField(label=_("User name or e-mail"))
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)

    def clean_username(self):
        value = self.cleaned_data["username"].strip()
        users = get_user_model().objects.filter(is_active=True)
        user = users.filter(username__iexact=value).first() or users.filter(email__iexact=value).first()
        if user is None:
            raise forms.ValidationError(_("No active user is called %(name)s.") % {"name": value})
        return user


class MembershipRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class PartnershipForm(forms.ModelForm):
    to_agency = forms.ModelChoiceField(
        label=_("Partner agency (code)"), queryset=Agency.objects.all(), to_field_name="code",
        error_messages={"invalid_choice": _("No agency has the code %(value)s.")},
        widget=forms.TextInput(attrs={"placeholder": _("code of the partner agency")}),
    )

    class Meta:
        model = Partnership
        fields = ["to_agency", "kind", "title", "starts_on", "ends_on"]
        widgets = {"starts_on": forms.DateInput(attrs={"type": "date"}), "ends_on": forms.DateInput(attrs={"type": "date"})}


class AgencyImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    dry_run = forms.BooleanField(label=_("Check only (write nothing)"), required=False, initial=True)
    skip_invalid = forms.BooleanField(label=_("Write the good rows even if some rows are bad"), required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 20 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 20 MB; split it or use the import_agencies command."))
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file is not UTF-8 text; save it from your spreadsheet as 'CSV UTF-8'.")) from None
