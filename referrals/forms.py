"""Forms of the referral pages. Few required fields, sensible defaults, large touch targets: a
caseworker in the field must be able to refer on a phone in under a minute."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from referrals.identity import IDENTITY_FIELDS
from referrals.models import Case
from referrals.vocab import (
    AgeBand, AgeBasis, AgeStatus, CaseGender, ConsentGiver, DeclineReason, LegalBasis, Outcome, Purpose, Urgency,
)
from stakeholders.models import Agency, District, State

# The statute to record when a legal basis is chosen and none is typed.
DEFAULT_STATUTE = {
    LegalBasis.CHILD_FUNCTION: "JJ Act 2015 s.31; DPDP Rules 2025 Fourth Schedule Part B",
    LegalBasis.INVESTIGATION: "DPDP Act 2023 s.17(1)(c)",
    LegalBasis.STATE_FUNCTION: "DPDP Act 2023 s.7",
}
DEFAULT_SCOPE = _("Share with the agencies this case is referred to, for the person's care, protection and legal remedies.")


class ChoiceCards(forms.RadioSelect):
    """Radio buttons drawn as large tappable cards (templates/referrals/includes/choice_field.html)."""


class CaseForm(forms.ModelForm):
    """A new case: what the receiver needs to know, never who the person is."""

    class Meta:
        model = Case
        fields = [
            "age_status", "gender", "exploitation", "age_years", "rescued_at", "rescue_district", "origin_state",
            "origin_district", "origin_country", "languages", "needs",
        ]
        widgets = {
            "age_status": ChoiceCards,
            "gender": ChoiceCards,
            "rescued_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "age_years": forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": 120}),
            "needs": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "age_years": _("If known; it decides minor or adult."),
            "rescued_at": _("Legal deadlines (e.g. 24 h to the CWC) count from here."),
        }

    def __init__(self, *args, home_agency: Agency | None = None, state_ids=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["age_status"].choices = AgeStatus.choices
        self.fields["gender"].choices = CaseGender.choices
        if not self.is_bound:
            # The model's defaults ("to be determined", "not recorded") must be a choice, not a silent default.
            for name in ("age_status", "gender"):
                self.initial.pop(name, None)
                self.fields[name].initial = None  # the model field's default is the form field's initial too
        for name in ("age_status", "gender", "age_years", "rescue_district"):
            self.fields[name].widget.attrs["class"] = "picker-input"
        self.fields["exploitation"].choices = [("", _("Choose…"))] + list(self.fields["exploitation"].choices)[1:]
        self.fields["rescued_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
        districts = District.objects.select_related("state").order_by("state__name", "name")
        if state_ids:
            districts = districts.filter(state_id__in=state_ids)
        self.fields["rescue_district"].queryset = districts
        self.fields["origin_state"].queryset = State.objects.order_by("name")
        state_id = self.data.get(self.add_prefix("origin_state")) if self.is_bound else None
        self.fields["origin_district"].queryset = (
            District.objects.filter(state_id=state_id) if str(state_id or "").isdigit() else District.objects.none()
        )
        if not self.is_bound:
            self.initial.setdefault("rescued_at", timezone.localtime().replace(second=0, microsecond=0))
            if home_agency is not None and home_agency.district_id:
                self.initial.setdefault("rescue_district", home_agency.district_id)

    def _get_validation_exclusions(self):
        # The choice fields already fetched these rows; don't ask the database again whether they exist.
        return super()._get_validation_exclusions() | {"rescue_district", "origin_state", "origin_district"}

    def validate_unique(self):
        pass  # the only unique field is the random case code, made by the model

    def clean(self):
        data = super().clean()
        age_years, status = data.get("age_years"), data.get("age_status")
        if age_years is not None and status and status != AgeStatus.UNDETERMINED:
            if (age_years < 18) != (status == AgeStatus.MINOR):
                self.add_error("age_years", _("An age of %(age)s does not match “%(status)s”.") % {
                    "age": age_years, "status": dict(AgeStatus.choices)[status]})
        rescued_at = data.get("rescued_at")
        if rescued_at and rescued_at > timezone.now() + timezone.timedelta(minutes=5):
            self.add_error("rescued_at", _("The rescue time cannot be in the future."))
        if data.get("origin_district") and data.get("origin_state") and data["origin_district"].state_id != data["origin_state"].pk:
            self.add_error("origin_district", _("This district is not in the chosen state."))
        return data


class ConsentForm(forms.Form):
    """Who consented, or which legal basis applies instead (with its statute)."""

    given_by = forms.ChoiceField(label=_("Basis for sharing"), choices=ConsentGiver.choices, widget=ChoiceCards,
                                 initial=ConsentGiver.PERSON)
    legal_basis = forms.ChoiceField(label=_("Legal basis"), choices=LegalBasis.choices, initial=LegalBasis.CONSENT,
                                    help_text=_("Keep “Consent” when someone consented."))
    statutory_reference = forms.CharField(label=_("Statutory reference"), max_length=120, required=False,
                                          help_text=_("e.g. JJ Act 2015 s.31; filled in for the usual bases when empty."))
    scope = forms.CharField(label=_("What may be shared, with whom"), max_length=200, initial=DEFAULT_SCOPE)
    language = forms.CharField(label=_("Explained in (language)"), max_length=40, required=False)
    given_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}), required=False)

    def clean(self):
        data = super().clean()
        given_by, basis = data.get("given_by"), data.get("legal_basis")
        if given_by == ConsentGiver.NONE_LEGAL_BASIS and basis == LegalBasis.CONSENT:
            self.add_error("legal_basis", _("Without consent, choose the legal basis that applies."))
        if basis and basis != LegalBasis.CONSENT and not (data.get("statutory_reference") or "").strip():
            default = DEFAULT_STATUTE.get(basis)
            if default:
                data["statutory_reference"] = default
            else:
                self.add_error("statutory_reference", _("Name the statute or order (e.g. the court order's number and date)."))
        if data.get("given_on") and data["given_on"] > timezone.localdate():
            self.add_error("given_on", _("The date cannot be in the future."))
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "given_by": data["given_by"], "legal_basis": data["legal_basis"],
            "statutory_reference": data.get("statutory_reference") or "", "scope": data["scope"],
            "language": data.get("language") or "", "given_on": data.get("given_on") or timezone.localdate(),
        }


class AgeForm(forms.Form):
    """The person's age once determined (JJ Act 2015 s.94), or corrected, and how it was determined. The service
    (`case_determine_age`) checks the combination and names the field at fault."""

    basis = forms.ChoiceField(label=_("Determined from"), choices=AgeBasis.choices, widget=ChoiceCards)
    age_years = forms.IntegerField(label=_("Age (years)"), required=False, min_value=0, max_value=120,
                                   widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": 120}),
                                   help_text=_("It decides minor or adult."))
    age_band = forms.ChoiceField(label=_("Or the age band"), required=False,
                                 choices=[("", "—")] + [c for c in AgeBand.choices if c[0] != AgeBand.UNDETERMINED],
                                 help_text=_("Only when the age in years is not known."))

    def service_kwargs(self) -> dict:
        # An age in years decides the band (as when the case is opened): a band left over from before is dropped.
        data = self.cleaned_data
        age_years = data.get("age_years")
        return {"basis": data["basis"], "age_years": age_years,
                "age_band": (data.get("age_band") or None) if age_years is None else None}


class IdentityForm(forms.Form):
    """Who the person is: optional, encrypted, shown only to agencies holding the case or needing it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in IDENTITY_FIELDS:
            widget = forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}) if name == "address" else forms.TextInput(
                attrs={"autocomplete": "off", **({"inputmode": "tel"} if name == "phone" else {})})
            self.fields[name] = forms.CharField(label=label, max_length=300, required=False, widget=widget)


class ReferralForm(forms.Form):
    from_agency = forms.ModelChoiceField(label=_("Referring as"), queryset=Agency.objects.none(), empty_label=None)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=[("", _("Choose…"))] + list(Purpose.choices))
    to_agency = forms.ModelChoiceField(
        label=_("Refer to"), queryset=Agency.objects.filter(active=True), widget=forms.HiddenInput,
        error_messages={"required": _("Choose the agency to refer to."),
                        "invalid_choice": _("That agency is not in the registry (or not active).")},
    )
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.ROUTINE, widget=ChoiceCards)
    note = forms.CharField(label=_("Note for the receiving agency"), required=False,
                           widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("What they need to know to act. Never a name, address or phone number."))

    def __init__(self, *args, acting_agencies=None, purposes=None, **kwargs):
        super().__init__(*args, **kwargs)
        agencies = list(acting_agencies or [])
        self.fields["from_agency"].queryset = Agency.objects.filter(pk__in=[a.pk for a in agencies]).order_by("name")
        if len(agencies) == 1:
            self.fields["from_agency"].widget = forms.HiddenInput()
            self.initial.setdefault("from_agency", agencies[0].pk)
        for name in ("from_agency", "purpose"):
            self.fields[name].widget.attrs["class"] = "picker-input"
        if purposes is not None:
            self.fields["purpose"].choices = [("", _("Choose…"))] + [c for c in Purpose.choices if c[0] in purposes]


class RerouteForm(forms.Form):
    to_agency = ReferralForm.base_fields["to_agency"]
    urgency = ReferralForm.base_fields["urgency"]
    note = forms.CharField(label=_("Note for the new agency"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("Leave empty to pass on the original note."))


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class CommentForm(forms.Form):
    note = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 2}))


class DeclineForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=[("", _("Choose…"))] + list(DeclineReason.choices))
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("Required for “Other”. Suggest where the person could go instead."))


class CompleteForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", _("Choose…"))] + list(Outcome.choices))
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


ACTION_FORMS = {
    "send": NoteForm,
    "acknowledge": NoteForm,
    "accept": NoteForm,
    "withdraw": NoteForm,
    "comment": CommentForm,
    "decline": DeclineForm,
    "complete": CompleteForm,
}


class ShareForm(forms.Form):
    agency = forms.ModelChoiceField(
        label=_("Agency code"), queryset=Agency.objects.filter(active=True), to_field_name="code",
        widget=forms.TextInput(attrs={"placeholder": _("e.g. DEMO-MH-PUNE-DLSA"), "autocomplete": "off"}),
        error_messages={"invalid_choice": _("No active agency has this code.")},
    )
    identity = forms.BooleanField(label=_("Also let its caseworkers read the identity"), required=False)


class ReferralShareForm(forms.Form):
    agency = ShareForm.base_fields["agency"]
    act = forms.BooleanField(
        label=_("Delegate: its caseworkers may also acknowledge, accept, decline and complete for us"), required=False,
        help_text=_("Only the receiving agency delegates. The identity is never shared this way."),
    )


class WithdrawConsentForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
