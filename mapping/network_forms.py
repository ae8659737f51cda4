"""Filters of the network pages: area, window, agency kinds (and the what-if / comparison inputs)."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mapping.network_selectors import NetworkFilters, default_window
from stakeholders.models import District, State
from stakeholders.vocab import AgencyKind

MAX_WINDOW_DAYS = 366 * 5
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class NetworkFilterForm(forms.Form):
    state = forms.ModelChoiceField(queryset=State.objects.none(), required=False, label=_("State / UT"),
                                   empty_label=_("All states you may see"))
    district = forms.ModelChoiceField(queryset=District.objects.none(), required=False, label=_("District"),
                                      empty_label=_("All districts"))
    since = forms.DateField(required=False, label=_("From"), widget=DATE_WIDGET)
    until = forms.DateField(required=False, label=_("To"), widget=DATE_WIDGET,
                            help_text=_("Referrals sent between these dates (default: the last 90 days)."))
    kinds = forms.MultipleChoiceField(choices=AgencyKind.choices, required=False, label=_("Agency kinds"),
                                      widget=forms.CheckboxSelectMultiple,
                                      help_text=_("Only referrals between agencies of these kinds."))

    def __init__(self, data=None, *, allowed_state_ids=None, **kwargs):
        super().__init__(data, **kwargs)
        states = State.objects.all()
        if allowed_state_ids is not None:
            states = states.filter(pk__in=allowed_state_ids)
        self.fields["state"].queryset = states
        # The district list follows the chosen state (loaded by htmx), so the page never renders ~750 options.
        state_id = (data or {}).get("state")
        district_id = (data or {}).get("district")
        districts = District.objects.select_related("state").filter(state__in=states)
        if state_id and str(state_id).isdigit():
            districts = districts.filter(state_id=state_id)
        elif district_id and str(district_id).isdigit():
            districts = districts.filter(pk=district_id)
        else:
            districts = districts.none()
        self.fields["district"].queryset = districts

    def clean(self):
        cleaned = super().clean()
        state, district = cleaned.get("state"), cleaned.get("district")
        if district and state and district.state_id != state.pk:
            self.add_error("district", _("This district is not in the chosen state."))
        since, until = cleaned.get("since"), cleaned.get("until")
        default_since, default_until = default_window()
        if since is None and until is None:
            since, until = default_since, default_until
        elif since is None:
            since = until - timedelta(days=89)
        elif until is None:
            until = max(since, default_until)
        if since > until:
            self.add_error("until", _("The end date is before the start date."))
        elif (until - since).days > MAX_WINDOW_DAYS:
            self.add_error("since", _("Choose a window of at most five years."))
        cleaned["since"], cleaned["until"] = since, until
        return cleaned

    def filters(self) -> NetworkFilters:
        data = self.cleaned_data
        district = data.get("district")
        state = data.get("state") or (district.state if district else None)
        return NetworkFilters(
            state_id=state.pk if state else None, district_id=district.pk if district else None,
            since=data["since"], until=data["until"], kinds=tuple(sorted(data.get("kinds") or ())),
        )


class EgoForm(forms.Form):
    direction = forms.ChoiceField(
        choices=[("both", _("Both ways")), ("out", _("Referrals it sends")), ("in", _("Referrals it receives"))],
        required=False, label=_("Direction"))
    steps = forms.TypedChoiceField(choices=[(1, _("One step")), (2, _("Two steps"))], coerce=int, required=False,
                                   label=_("Reach"))

    def values(self) -> tuple[str, int]:
        if not self.is_valid():
            return "both", 1
        return self.cleaned_data.get("direction") or "both", self.cleaned_data.get("steps") or 1


class WhatIfForm(forms.Form):
    agency = forms.CharField(label=_("Agency code"), max_length=40,
                             help_text=_("The code shown under the agency's name, e.g. DEMO-MH-PUNE-SS."))
    hops = forms.TypedChoiceField(
        choices=[(1, _("Direct referrals only")), (2, _("Directly or through one other agency")),
                 (3, _("Up to three referrals")), (0, _("Any route"))],
        coerce=int, initial=2, required=False, label=_("Routes counted"))

    def max_hops(self) -> int | None:
        hops = self.cleaned_data.get("hops")
        hops = 2 if hops in (None, "") else hops
        return None if hops == 0 else hops


def quarter_bounds(day: date) -> tuple[date, date]:
    start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    next_start = date(start.year + (start.month == 10), (start.month + 2) % 12 + 1, 1)
    return start, next_start - timedelta(days=1)


class CompareForm(forms.Form):
    """Two windows; by default this quarter (so far) against the last one."""

    since = forms.DateField(required=False, label=_("This window from"), widget=DATE_WIDGET)
    until = forms.DateField(required=False, label=_("to"), widget=DATE_WIDGET)
    previous_since = forms.DateField(required=False, label=_("Compared with the window from"), widget=DATE_WIDGET)
    previous_until = forms.DateField(required=False, label=_("to"), widget=DATE_WIDGET)

    def clean(self):
        cleaned = super().clean()
        today = timezone.localdate()
        this_start, _end = quarter_bounds(today)
        last_start, last_end = quarter_bounds(this_start - timedelta(days=1))
        defaults = {"since": this_start, "until": today, "previous_since": last_start, "previous_until": last_end}
        for name, value in defaults.items():
            if cleaned.get(name) is None and name not in self.errors:
                cleaned[name] = value
        for start, end in (("since", "until"), ("previous_since", "previous_until")):
            if cleaned.get(start) and cleaned.get(end) and cleaned[start] > cleaned[end]:
                self.add_error(end, _("The end date is before the start date."))
        return cleaned
