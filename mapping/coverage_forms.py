"""The choices every coverage page, map and export reads from the query string."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from mapping import coverage
from mapping.coverage_maps import INDICATOR_CHOICES
from mapping.coverage_selectors import DEFAULT_PERIOD_MONTHS

MAX_RADIUS_KM = 1000
MAX_SUGGESTIONS = 25
PERIOD_CHOICES = [
    (3, _("Last 3 months")),
    (6, _("Last 6 months")),
    (12, _("Last 12 months")),
    (24, _("Last 24 months")),
    (0, _("All time")),
]
UNIT_CHOICES = [(coverage.UNIT_AHTU, _("AHTUs")), (coverage.UNIT_SHELTER, _("Shelters"))]
WEIGHT_CHOICES = [(coverage.WEIGHT_POPULATION, _("Population")), (coverage.WEIGHT_RESCUED, _("Rescued victims"))]
MEASURE_CHOICES = [("originating", _("Cases originating")), ("rescued", _("Victims rescued"))]


class CoverageForm(forms.Form):
    """GET parameters. An invalid value shows its error and the default is used in its place."""

    state = forms.TypedChoiceField(label=_("State / UT"), required=False, coerce=int, empty_value=None)
    radius_km = forms.FloatField(
        label=_("Reach (km)"), required=False, min_value=1, max_value=MAX_RADIUS_KM,
        help_text=_("Straight-line distance from a district centre."),
    )
    period = forms.TypedChoiceField(label=_("Period"), choices=PERIOD_CHOICES, coerce=int, required=False, empty_value=None)
    indicator = forms.ChoiceField(label=_("Colour districts by"), choices=INDICATOR_CHOICES, required=False)
    gap = forms.ChoiceField(
        label=_("Gap"), required=False,
        choices=[("", _("Any gap"))] + [(slug, coverage.GAP_LABELS[slug]) for slug in coverage.GAP_SLUGS],
    )
    measure = forms.ChoiceField(label=_("Count"), choices=MEASURE_CHOICES, required=False)
    unit = forms.ChoiceField(label=_("Suggest new"), choices=UNIT_CHOICES, required=False)
    count = forms.IntegerField(label=_("How many"), required=False, min_value=0, max_value=MAX_SUGGESTIONS)
    weight = forms.ChoiceField(label=_("Weigh need by"), choices=WEIGHT_CHOICES, required=False)

    def __init__(self, data=None, *, states=(), everything=True):
        defaults = self.defaults()
        if data is not None:
            # Choices left out of the query string show (and mean) their default, not the first option.
            data = data.copy()
            for key, value in defaults.items():
                if key not in data and value not in (None, ""):
                    data[key] = value
        super().__init__(data, initial=defaults)
        all_label = _("All states / UTs") if everything else _("All the districts you may see")
        self.fields["state"].choices = [("", all_label)] + [(sid, name) for sid, name in states]

    @staticmethod
    def defaults() -> dict:
        return {
            "state": None, "radius_km": settings.COVERAGE_RADIUS_KM, "period": DEFAULT_PERIOD_MONTHS, "indicator": "ahtu",
            "gap": "", "measure": "originating", "unit": coverage.UNIT_AHTU, "count": 5, "weight": coverage.WEIGHT_POPULATION,
        }

    def values(self) -> dict:
        """Every parameter, valid or defaulted."""
        defaults = self.defaults()
        if not self.is_bound:
            values = defaults
        else:
            self.is_valid()
            cleaned = getattr(self, "cleaned_data", {})
            values = {
                key: (cleaned[key] if key in cleaned and cleaned[key] not in (None, "") and key not in self.errors else default)
                for key, default in defaults.items()
            }
            if "gap" in cleaned and "gap" not in self.errors:
                values["gap"] = cleaned["gap"]
            if cleaned.get("count") == 0 and "count" not in self.errors:
                values["count"] = 0
        return values
