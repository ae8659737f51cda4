"""Where an agency is: fill coordinates from the PIN or district when missing, and say how precise they are."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from stakeholders.geography import display_name, in_india, is_well_formed_pin, lookup_pin
from stakeholders.vocab import JurisdictionLevel, LocationPrecision, normalise


@dataclass
class Location:
    state: object | None
    district: object | None
    pincode: str
    latitude: float | None
    longitude: float | None
    precision: str


def resolve_location(*, state, district, pincode: str, latitude, longitude, geo=None, level=None):
    """Check the pieces of a location against each other and fill what is missing.

    Returns (Location, errors) where errors maps a field name to a message; nothing is
    guessed silently: a PIN of another state or district, or a district outside the state, is an error.
    `geo` (a GeographyIndex) lets imports look districts up without a query per row.
    `level` (the jurisdiction level): a PIN fills the state only below national level and the
    district only below state level, so a ministry or a state bureau keeps its jurisdiction.
    """
    errors: dict[str, str] = {}
    pincode = (pincode or "").strip()
    pin = None
    if pincode:
        if not is_well_formed_pin(pincode):
            errors["pincode"] = _("%(pin)s is not a PIN code: six digits, not starting with 0.") % {"pin": pincode}
        else:
            pin = lookup_pin(pincode)
            if pin is None:
                errors["pincode"] = _("PIN code %(pin)s is not in the India Post directory.") % {"pin": pincode}

    if district is not None and state is not None and district.state_id != state.pk:
        errors["district"] = _("%(district)s is not in %(state)s.") % {"district": district.name, "state": state.name}
    if district is not None and state is None:
        state = geo.states_by_id[district.state_id] if geo else district.state

    if pin and "pincode" not in errors:
        fills_state = level != JurisdictionLevel.NATIONAL
        fills_district = level not in (JurisdictionLevel.NATIONAL, JurisdictionLevel.STATE)
        if state is None:
            if fills_state:
                state = _state_for_key(pin.state_keys[0], geo)
        elif state.key not in pin.state_keys:
            errors["pincode"] = _("PIN code %(pin)s belongs to %(pin_state)s, not %(state)s.") % {
                "pin": pincode,
                "pin_state": pin.state_name.title(),
                "state": state.name,
            }
        if district is not None and "district" not in errors and "pincode" not in errors and pin.district_names:
            if district.key not in {normalise(name) for name in pin.district_names}:
                errors["pincode"] = _("PIN code %(pin)s is in %(pin_districts)s, not in %(district)s.") % {
                    "pin": pincode,
                    "pin_districts": _(" or ").join(display_name(name) for name in pin.district_names),
                    "district": district.name,
                }
        if district is None and state is not None and not errors and fills_district:
            district = _district_for_names(state, pin.district_names, geo)

    if (latitude is None) != (longitude is None):
        errors["longitude" if longitude is None else "latitude"] = _("Give both latitude and longitude, or neither.")
    elif latitude is not None and not in_india(latitude, longitude):
        errors["latitude"] = _(
            "%(lat)s, %(lon)s is outside India (or far from any India Post office): check the numbers and their order."
        ) % {"lat": latitude, "lon": longitude}

    if latitude is not None and longitude is not None:
        precision = LocationPrecision.EXACT
    elif pin and pin.latitude is not None:
        latitude, longitude, precision = pin.latitude, pin.longitude, LocationPrecision.PIN
    elif district is not None and district.latitude is not None:
        latitude, longitude, precision = district.latitude, district.longitude, LocationPrecision.DISTRICT
    else:
        precision = LocationPrecision.NONE
    return Location(state, district, pincode, latitude, longitude, precision), errors


def _state_for_key(key, geo):
    if geo is not None:
        return geo.states_by_key.get(key)
    from stakeholders.models import State

    return State.objects.filter(key=key).first()


def _district_for_names(state, names, geo):
    keys = [normalise(name) for name in names]
    if geo is not None:
        in_state = geo.districts_by_state.get(state.pk, {})
        return next((in_state[k] for k in keys if k in in_state), None)
    from stakeholders.models import District

    return District.objects.filter(state=state, key__in=keys).order_by("name").first()
