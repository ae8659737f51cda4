from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coordination import rules
from coordination.indicators import FIELDS
from coordination.models import (
    PARTICIPANT_FIELDS,
    ActionItem,
    ActionStatus,
    AhtuReturn,
    CommitteeMeeting,
    ReturnStatus,
    TrainingEvent,
)
from coordination.periods import first_of_month, month_key, parse_month
from coordination.selectors import impact_states
from coordination.services import return_problems
from stakeholders.models import Agency, District, State
from stakeholders.vocab import AgencyKind, JurisdictionLevel


class MonthField(forms.CharField):
    """A month typed as YYYY-MM (a native month picker where the browser has one)."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM", "pattern": r"\d{4}-\d{2}", "inputmode": "numeric"})
    default_error_messages = {"invalid": _("Write the month as YYYY-MM, e.g. 2024-03.")}

    def prepare_value(self, value):
        return month_key(value) if hasattr(value, "year") else value

    def to_python(self, value):
        if hasattr(value, "year"):
            return first_of_month(value)
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        month = parse_month(value)
        if month is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return month


def _number_widget():
    return forms.NumberInput(attrs={"min": 0, "inputmode": "numeric", "class": "figure"})


class AhtuReturnForm(forms.ModelForm):
    month = MonthField(label=_("Month"))

    class Meta:
        model = AhtuReturn
        fields = ["ahtu", "month", *FIELDS, "remarks"]
        widgets = {**{name: _number_widget() for name in FIELDS}, "remarks": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        ahtus = Agency.objects.filter(kind=AgencyKind.AHTU, active=True).only("pk", "name").order_by("name")
        if not user.is_superuser:
            ahtus = ahtus.filter(pk__in=rules.filing_ahtu_ids(user))
        self.fields["ahtu"].queryset = ahtus
        self.fields["ahtu"].empty_label = None
        for name in FIELDS:
            self.fields[name].min_value = 0
        if self.instance.pk:
            self.fields["ahtu"].disabled = True
            self.fields["month"].disabled = True
            self.initial["month"] = self.instance.month

    def clean(self):
        data = super().clean()
        values = {name: data.get(name) for name in FIELDS}
        if any(name in self.errors for name in FIELDS):
            return data
        problems = return_problems(
            ahtu=data.get("ahtu") if "ahtu" not in self.errors else None,
            month=data.get("month") if "month" not in self.errors else None,
            values=values,
            instance_pk=self.instance.pk,
        )
        for name, messages in problems.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
        return data

    def _post_clean(self):
        # The service saves; the model's own unique/constraint checks would repeat `return_problems`.
        pass

    @property
    def values(self) -> dict[str, int]:
        return {name: self.cleaned_data[name] for name in FIELDS}


class ReviewForm(forms.Form):
    action = forms.ChoiceField(choices=[("approve", _("Approve")), ("return", _("Return for correction"))], widget=forms.RadioSelect)
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when returning: say what the AHTU should correct."),
    )

    def clean(self):
        data = super().clean()
        if data.get("action") == "return" and not (data.get("comment") or "").strip():
            self.add_error("comment", _("Say what the AHTU should correct."))
        return data


class ReturnImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    status = forms.ChoiceField(
        label=_("Imported returns are"), initial=ReturnStatus.APPROVED,
        choices=[(ReturnStatus.APPROVED, _("Approved (figures the state has already checked)")),
                 (ReturnStatus.SUBMITTED, _("Submitted (to review here, one by one)"))],
    )
    dry_run = forms.BooleanField(label=_("Only check the file; write nothing"), required=False)
    skip_invalid = forms.BooleanField(label=_("Write the good rows even if some rows are bad"), required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 10 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 10 MB."))
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file is not UTF-8 text; save it as “CSV UTF-8”.")) from None


class ImpactFilterForm(forms.Form):
    since = MonthField(label=_("From"), required=False)
    until = MonthField(label=_("To"), required=False)
    state = forms.ModelMultipleChoiceField(
        label=_("States"), queryset=State.objects.none(), required=False,
        help_text=_("None chosen: every state."), widget=forms.SelectMultiple(attrs={"size": 6}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].queryset = impact_states()

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The period ends before it starts."))
        return data


class TrackerFilterForm(forms.Form):
    state = forms.ModelChoiceField(label=_("State"), queryset=State.objects.none(), required=False, empty_label=_("All states"))
    until = MonthField(label=_("Up to month"), required=False)
    q = forms.CharField(label=_("AHTU"), required=False)

    def __init__(self, *args, state_ids=None, **kwargs):
        super().__init__(*args, **kwargs)
        states = impact_states()
        if state_ids is not None:
            states = states.filter(pk__in=state_ids)
        self.fields["state"].queryset = states


class TrainingEventForm(forms.ModelForm):
    class Meta:
        model = TrainingEvent
        fields = [
            "title", "topic", "starts_on", "ends_on", "state", "district", "organiser", *PARTICIPANT_FIELDS,
            "master_trainers", "pre_test_mean", "post_test_mean", "notes",
        ]
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 2}),
            **{name: _number_widget() for name in [*PARTICIPANT_FIELDS, "master_trainers"]},
            "pre_test_mean": forms.NumberInput(attrs={"min": 0, "max": 100, "step": "0.1", "inputmode": "decimal"}),
            "post_test_mean": forms.NumberInput(attrs={"min": 0, "max": 100, "step": "0.1", "inputmode": "decimal"}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organiser"].queryset = rules.training_organisers(user)
        if self.instance.pk and self.instance.organiser_id:
            self.fields["organiser"].queryset = self.fields["organiser"].queryset | Agency.objects.filter(pk=self.instance.organiser_id)
        state_id = self.data.get(self.add_prefix("state")) or self.initial.get("state") or self.instance.state_id
        self.fields["district"].queryset = (
            District.objects.filter(state_id=state_id) if str(state_id or "").isdigit() else District.objects.none()
        )

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("A training cannot end before it starts."))
        if starts and starts > timezone.localdate():
            self.add_error("starts_on", _("Record trainings once they have taken place."))
        if not any(data.get(name) for name in PARTICIPANT_FIELDS) and not any(name in self.errors for name in PARTICIPANT_FIELDS):
            self.add_error(None, _("Record how many people took part."))
        district, state = data.get("district"), data.get("state")
        if district and state and district.state_id != state.pk:
            self.add_error("district", _("This district is not in the chosen state."))
        return data


class MeetingForm(forms.ModelForm):
    class Meta:
        model = CommitteeMeeting
        fields = ["committee", "held_on", "title", "place", "agencies_present", "summary"]
        widgets = {
            "held_on": forms.DateInput(attrs={"type": "date"}),
            "summary": forms.Textarea(attrs={"rows": 4}),
            "agencies_present": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["committee"].queryset = rules.recording_committees(user)
        self.fields["committee"].empty_label = None
        # Committees gather national and state bodies; district agencies are rarely present.
        self.fields["agencies_present"].queryset = (
            Agency.objects.active().filter(level__in=[JurisdictionLevel.NATIONAL, JurisdictionLevel.STATE])
            .exclude(kind=AgencyKind.COMMITTEE).only("pk", "name").order_by("name")
        )

    def clean_held_on(self):
        held_on = self.cleaned_data["held_on"]
        if held_on > timezone.localdate():
            raise forms.ValidationError(_("Record meetings once they have taken place."))
        return held_on


class ActionItemForm(forms.ModelForm):
    owner = forms.ModelChoiceField(
        label=_("Owner agency"), queryset=Agency.objects.none(), to_field_name="code",
        widget=forms.TextInput(attrs={"list": "owner-choices", "autocomplete": "off"}),
        help_text=_("The agency's code; state and national bodies are suggested as you type."),
        error_messages={"invalid_choice": _("No active agency has this code.")},
    )

    class Meta:
        model = ActionItem
        fields = ["title", "owner", "due_on"]
        widgets = {"due_on": forms.DateInput(attrs={"type": "date"}), "title": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = Agency.objects.active()

    @staticmethod
    def suggestions():
        return Agency.objects.active().filter(level__in=[JurisdictionLevel.NATIONAL, JurisdictionLevel.STATE]).exclude(
            kind=AgencyKind.COMMITTEE
        ).only("code", "name").order_by("name")


class ActionUpdateForm(forms.Form):
    note = forms.CharField(label=_("Progress"), widget=forms.Textarea(attrs={"rows": 3}))
    status = forms.ChoiceField(label=_("Status"), choices=ActionStatus.choices)

