"""Importing district/state boundaries (GeoJSON) and district populations (CSV) for coverage maps.

Both imports match the file's names to our districts (India Post names, newer than Census 2011) in
this order: a census code already stored on a district; the name as written within its state (or a
state carved out of it since, e.g. Telangana from Andhra Pradesh); the registry's aliases
(`stakeholders.geography`); and last a loose comparison that ignores word order, direction words
("Pashchim Medinipur" = "Medinipur West") and spelling variants ("Bulandsahar" = "Bulandshahr").
Loose matches are reported so someone can check them. A name that matches nothing is reported, not
guessed. Bad files and bad rows change nothing unless the caller asks to skip them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from django.db import transaction

from coordination.csvio import ImportReport, RowError, read_csv
from mapping.coverage_geometry import (
    DEFAULT_DIGITS,
    DEFAULT_TOLERANCE,
    GeometryError,
    simplify_geometry,
    validate_polygonal,
    vertex_count,
)
from stakeholders.geography import STATE_SUCCESSORS, GeographyIndex
from stakeholders.models import District, DistrictBoundary, StateBoundary

# How a name was matched, strongest first.
BY_CODE, BY_NAME, BY_LOOSE_NAME = "code", "name", "loose"
_STRENGTH = {BY_CODE: 0, BY_NAME: 1, BY_LOOSE_NAME: 2}

_DIRECTIONS = {
    "pashchim": "west", "paschim": "west", "pashchimi": "west", "west": "west",
    "purba": "east", "purbi": "east", "purv": "east", "east": "east",
    "uttar": "north", "north": "north", "dakshin": "south", "south": "south",
}
_GENERIC_WORDS = {"district", "dist", "the"}


class GeoImportError(ValueError):
    """The file as a whole cannot be imported (unreadable, wrong shape, unknown property)."""


def loose_key(text: str) -> str:
    """Words without brackets, generic words or word order; direction words in English."""
    text = re.sub(r"\([^)]*\)", " ", (text or "").lower().replace("&", " and "))
    words = [w for w in re.split(r"[^0-9a-z]+", text) if w and w not in _GENERIC_WORDS]
    if len(words) > 1:
        words = [_DIRECTIONS.get(w, w) for w in words]
    return " ".join(sorted(words))


def _skeleton_word(word: str) -> str:
    if len(word) > 3 and word.endswith("s"):
        word = word[:-1]
    word = word.replace("w", "v").replace("h", "")
    word = re.sub(r"(.)\1+", r"\1", word)
    word = word[:1] + re.sub(r"[aeiouy]", "", word[1:])
    return re.sub(r"(.)\1+", r"\1", word)


def spelling_key(text: str) -> str:
    """A consonant skeleton of the loose key: Darjiling = Darjeeling, Nagappattinam = Nagapattinam."""
    return " ".join(sorted(_skeleton_word(w) for w in loose_key(text).split()))


@dataclass
class NameMatch:
    target: object | None  # District or State
    method: str = ""
    problem: str = ""


class DistrictMatcher:
    """Matches (district name, state name, code) to our District rows; one instance per import."""

    def __init__(self, index: GeographyIndex, districts_by_code: dict[str, District] | None = None):
        self.index = index
        self.by_code = districts_by_code or {}
        self._loose: dict[int, dict[str, list]] = {}
        self._spelling: dict[int, dict[str, list]] = {}

    @classmethod
    def load(cls) -> DistrictMatcher:
        index = GeographyIndex.load()
        by_code = {
            d.census_code: index.districts_by_id[d.pk]
            for d in District.objects.exclude(census_code="").only("pk", "census_code")
        }
        return cls(index, by_code)

    def _keys(self, cache, state_id, keyfunc):
        if state_id not in cache:
            table: dict[str, list] = {}
            for district in self.index.districts_by_state.get(state_id, {}).values():
                table.setdefault(keyfunc(district.name), []).append(district)
            cache[state_id] = table
        return cache[state_id]

    def match(self, name: str, state_text: str = "", code: str = "") -> NameMatch:
        if code and code in self.by_code:
            return NameMatch(self.by_code[code], BY_CODE)
        if not (name or "").strip():
            return NameMatch(None, problem="no name")
        if state_text:
            state, message = self.index.match_state(state_text)
            if state is None:
                return NameMatch(None, problem=message)
            states = [state] + [self.index.states_by_key[k] for k in STATE_SUCCESSORS.get(state.key, ()) if k in self.index.states_by_key]
        else:
            states = sorted(self.index.states_by_id.values(), key=lambda s: s.name)
        found, first_message = [], ""
        for state in states:
            district, message = self.index.match_district(state, name)
            if district is not None:
                found.append(district)
            elif not first_message:
                first_message = message
        if len(found) == 1:
            return NameMatch(found[0], BY_NAME)
        if len(found) > 1:
            where = ", ".join(sorted(d_state(self.index, d) for d in found))
            return NameMatch(None, problem=f"{name!r} is a district in several states ({where}); give the state")
        # "Khandwa (East Nimar)": the name outside the brackets, then the one inside.
        bracketed = re.findall(r"\(([^)]*)\)", name)
        for text in [name, *bracketed]:
            for cache, keyfunc in ((self._loose, loose_key), (self._spelling, spelling_key)):
                key = keyfunc(text)
                if not key:
                    continue
                candidates = [d for state in states for d in self._keys(cache, state.pk, keyfunc).get(key, [])]
                if len(candidates) == 1:
                    return NameMatch(candidates[0], BY_LOOSE_NAME)
                if len(candidates) > 1:
                    names = ", ".join(sorted(f"{d.name} ({d_state(self.index, d)})" for d in candidates))
                    return NameMatch(None, problem=f"{name!r} could be any of {names}")
        if not state_text:
            return NameMatch(None, problem=f"No district is named {name!r}.")
        return NameMatch(None, problem=first_message)


def d_state(index: GeographyIndex, district) -> str:
    return index.states_by_id[district.state_id].name


@dataclass
class GeographyImportReport(ImportReport):
    """An ImportReport that also says what matched how, and what did not match on either side."""

    level: str = "district"
    kind: str = "features"  # what the file's units are called: "features" or "rows"
    matched: list[tuple[int, str, str, str]] = field(default_factory=list)  # (line, label in file, our name, method)
    unmatched: list[tuple[int, str, str]] = field(default_factory=list)  # (line, label in file, why)
    unmatched_ours: list[str] = field(default_factory=list)  # our districts/states the file did not cover
    no_geometry: list[tuple[int, str]] = field(default_factory=list)
    vertices_in: int = 0
    vertices_out: int = 0

    @property
    def loose(self) -> list[tuple[int, str, str, str]]:
        return [m for m in self.matched if m[3] == BY_LOOSE_NAME]

    def matching_summary(self) -> str:
        unit = "districts" if self.level == "district" else "states/UTs"
        ours = len(self.matched) + len(self.unmatched_ours)
        text = (
            f"{len(self.matched)} of {self.rows} {'features' if self.kind == 'features' else 'rows'} matched "
            f"our {unit} ({len(self.loose)} loosely: check them below); {len(self.unmatched)} did not match; "
            f"{len(self.unmatched_ours)} of our {ours} {unit} got nothing from this file."
        )
        if self.no_geometry:
            text += f" {len(self.no_geometry)} features have no geometry and were skipped."
        return text


def _label(name: str, state: str) -> str:
    return f"{name} ({state})" if state else name


def _resolve_duplicates(pending: dict, report: GeographyImportReport, describe, *, merge=False) -> None:
    """Two lines matching one target: the stronger match wins. Equal strength is an error on each
    (two districts' figures must not land on one), unless `merge` (states merged since the file was
    drawn, e.g. Dadra & Nagar Haveli with Daman & Diu: their outlines are joined)."""
    unit = "feature" if report.kind == "features" else "line"
    for _target_id, entries in pending.items():
        if len(entries) < 2:
            continue
        entries.sort(key=lambda entry: _STRENGTH[entry["method"]])
        best = entries[0]
        ties = [e for e in entries if _STRENGTH[e["method"]] == _STRENGTH[best["method"]]]
        if len(ties) > 1 and merge:
            best["geometry"] = _join_polygons([e["geometry"] for e in ties])
            best["label"] = " + ".join(e["label"] for e in ties)
            report.warnings.append(f"{best['label']} were joined into one outline for {describe(best['target'])}.")
            for entry in ties[1:]:
                entry["drop"] = True
        elif len(ties) > 1:
            for entry in ties:
                others = ", ".join(str(e["line"]) for e in ties if e is not entry)
                report.errors.append(
                    RowError(entry["line"], "", f"{entry['label']} matches {describe(entry['target'])}, and so does {unit} {others}.")
                )
                entry["drop"] = True
        for entry in entries[1:]:
            if not entry.get("drop"):
                entry["drop"] = True
                report.unmatched.append(
                    (entry["line"], entry["label"], f"would match {describe(entry['target'])}, already matched by {unit} {best['line']}")
                )


def _join_polygons(geometries) -> dict:
    parts = []
    for geometry in geometries:
        parts.extend([geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"])
    return {"type": "MultiPolygon", "coordinates": parts}


def _district_label(index: GeographyIndex):
    return lambda district: f"{district.name}, {d_state(index, district)}"


def _read_features(path_or_text, name_property: str, state_property: str, code_property: str):
    try:
        if isinstance(path_or_text, (bytes, str)) and str(path_or_text).lstrip().startswith(("{", "[")):
            data = json.loads(path_or_text)
        else:
            with open(path_or_text, encoding="utf-8-sig") as handle:
                data = json.load(handle)
    except OSError as exc:
        raise GeoImportError(f"Cannot read {path_or_text}: {exc.strerror or exc}.") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GeoImportError(f"The file is not valid GeoJSON (JSON error: {exc}).") from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        raise GeoImportError("The file is not a GeoJSON FeatureCollection (no \"features\" list).")
    features = data["features"]
    if not features:
        raise GeoImportError("The FeatureCollection has no features.")
    seen: set[str] = set()
    for feature in features:
        if isinstance(feature, dict) and isinstance(feature.get("properties"), dict):
            seen.update(feature["properties"])
    for option, prop in (("--name-property", name_property), ("--state-property", state_property), ("--code-property", code_property)):
        if prop and prop not in seen:
            available = ", ".join(sorted(seen)) or "none"
            raise GeoImportError(f"No feature has the property {prop!r} ({option}). Properties in this file: {available}.")
    return features


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def import_boundaries(
    source,
    *,
    level: str,
    name_property: str,
    state_property: str = "",
    code_property: str = "",
    source_label: str = "",
    tolerance: float = DEFAULT_TOLERANCE,
    digits: int = DEFAULT_DIGITS,
    replace: bool = False,
    dry_run: bool = False,
    skip_invalid: bool = False,
) -> GeographyImportReport:
    """Match every feature, simplify its geometry, then store all matched outlines in one transaction.

    `source` is a path or the GeoJSON text. Raises GeoImportError for a file that cannot be read at
    all; per-feature problems go into the report, and nothing is written while there are any (unless
    `skip_invalid`). `replace` first removes the outlines this file does not provide.
    """
    if level not in ("district", "state"):
        raise GeoImportError("--level must be 'district' or 'state'.")
    features = _read_features(source, name_property, state_property, code_property)
    report = GeographyImportReport(level=level, dry_run=dry_run, kind="features")
    report.rows = len(features)
    index = GeographyIndex.load()
    matcher = DistrictMatcher.load() if level == "district" else None
    pending: dict[int, list[dict]] = {}
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
            report.errors.append(RowError(number, "", "is not a GeoJSON Feature with properties"))
            continue
        props = feature["properties"]
        name = _text(props.get(name_property))
        state_text = _text(props.get(state_property)) if state_property else ""
        code = _text(props.get(code_property)) if code_property else ""
        label = _label(name, state_text)
        if not name:
            report.errors.append(RowError(number, name_property, f"has no {name_property!r} value"))
            continue
        geometry = feature.get("geometry")
        if geometry is None:
            report.no_geometry.append((number, label))
            continue
        try:
            validate_polygonal(geometry)
        except GeometryError as exc:
            report.errors.append(RowError(number, "geometry", f"{label}: {exc}"))
            continue
        if level == "district":
            found = matcher.match(name, state_text, code if code and code != "0" else "")
        else:
            state, message = index.match_state(name)
            found = NameMatch(state, BY_NAME) if state else NameMatch(None, problem=message)
        if found.target is None:
            report.unmatched.append((number, label, found.problem))
            continue
        pending.setdefault(found.target.pk, []).append(
            {"line": number, "label": label, "target": found.target, "method": found.method, "geometry": geometry, "code": code}
        )
    describe = _district_label(index) if level == "district" else (lambda state: state.name)
    _resolve_duplicates(pending, report, describe, merge=level == "state")
    chosen = [e for entries in pending.values() for e in entries if not e.get("drop")]
    chosen.sort(key=lambda e: e["line"])
    for entry in chosen:
        report.matched.append((entry["line"], entry["label"], describe(entry["target"]), entry["method"]))
        report.vertices_in += vertex_count(entry["geometry"])
        entry["geometry"] = simplify_geometry(entry["geometry"], tolerance, digits)
        report.vertices_out += vertex_count(entry["geometry"])
    matched_ids = {e["target"].pk for e in chosen}
    if level == "district":
        report.unmatched_ours = sorted(
            describe(d) for d in index.districts_by_id.values() if d.pk not in matched_ids
        )
    else:
        report.unmatched_ours = sorted(s.name for s in index.states_by_id.values() if s.pk not in matched_ids)
    report.errors.sort(key=lambda e: (e.line, e.column))
    report.created = len(chosen)
    report.skipped = len({e.line for e in report.errors})
    if dry_run or (report.errors and not skip_invalid):
        if not dry_run:
            report.created = 0
        return report
    _write_boundaries(chosen, level=level, source_label=source_label, replace=replace, with_codes=bool(code_property))
    report.written = True
    return report


@transaction.atomic
def _write_boundaries(chosen, *, level, source_label, replace, with_codes) -> None:
    ids = [e["target"].pk for e in chosen]
    if level == "state":
        (StateBoundary.objects.all() if replace else StateBoundary.objects.filter(state_id__in=ids)).delete()
        StateBoundary.objects.bulk_create(
            StateBoundary(state_id=e["target"].pk, geometry=e["geometry"], source=source_label[:200]) for e in chosen
        )
        return
    (DistrictBoundary.objects.all() if replace else DistrictBoundary.objects.filter(district_id__in=ids)).delete()
    DistrictBoundary.objects.bulk_create(
        DistrictBoundary(district_id=e["target"].pk, geometry=e["geometry"], source=source_label[:200]) for e in chosen
    )
    if with_codes:
        _store_codes({e["target"].pk: e["code"] for e in chosen if e["code"] and e["code"] != "0"})


def _store_codes(codes: dict[int, str]) -> None:
    """Census codes make the next import (e.g. populations) join on codes instead of names."""
    District.objects.filter(census_code__in=list(codes.values())).exclude(pk__in=list(codes)).update(census_code="")
    districts = list(District.objects.filter(pk__in=list(codes)).only("pk", "census_code"))
    for district in districts:
        district.census_code = codes[district.pk][:10]
    District.objects.bulk_update(districts, ["census_code"])


def _parse_population(text: str) -> int | None:
    cleaned = re.sub(r"[\s,_]", "", text or "")
    if not cleaned.isdigit():
        return None
    return int(cleaned)


def import_population(
    stream,
    *,
    name_column: str,
    state_column: str,
    population_column: str,
    code_column: str = "",
    dry_run: bool = False,
    skip_invalid: bool = False,
) -> GeographyImportReport:
    """District populations from a CSV: every row checked and matched, then written in one transaction.

    A bad population or a missing name is an error (nothing written unless `skip_invalid`); a name
    that matches none of our districts is reported and skipped.
    """
    columns = [c for c in (name_column, state_column, population_column, code_column) if c]
    reader, problems, warnings = read_csv(stream, required=columns, known=[])
    # Every other column is expected (census tables are wide); don't warn about them.
    report = GeographyImportReport(level="district", dry_run=dry_run, kind="rows", errors=list(problems))
    if problems:
        return report
    matcher = DistrictMatcher.load()
    describe = _district_label(matcher.index)
    pending: dict[int, list[dict]] = {}
    for row in reader:
        line = reader.line_num
        report.rows += 1
        get = lambda column: (row.get(column) or "").strip() if column else ""  # noqa: E731
        name, state_text, code = get(name_column), get(state_column), get(code_column)
        label = _label(name, state_text)
        row_errors = []
        if not name and not code:
            row_errors.append(RowError(line, name_column, "A district name is required."))
        population = _parse_population(get(population_column))
        if population is None:
            row_errors.append(
                RowError(line, population_column, f"{get(population_column)!r} is not a whole number of people.")
            )
        if row_errors:
            report.errors.extend(row_errors)
            continue
        found = matcher.match(name, state_text, code)
        if found.target is None:
            report.unmatched.append((line, label, found.problem))
            continue
        pending.setdefault(found.target.pk, []).append(
            {"line": line, "label": label, "target": found.target, "method": found.method, "population": population}
        )
    _resolve_duplicates(pending, report, describe)
    chosen = sorted((e for entries in pending.values() for e in entries if not e.get("drop")), key=lambda e: e["line"])
    report.matched = [(e["line"], e["label"], describe(e["target"]), e["method"]) for e in chosen]
    matched_ids = {e["target"].pk for e in chosen}
    report.unmatched_ours = sorted(describe(d) for d in matcher.index.districts_by_id.values() if d.pk not in matched_ids)
    report.errors.sort(key=lambda e: (e.line, e.column))
    report.updated = len(chosen)
    report.skipped = len({e.line for e in report.errors})
    if dry_run or (report.errors and not skip_invalid):
        if not dry_run:
            report.updated = 0
        return report
    with transaction.atomic():
        districts = list(District.objects.filter(pk__in=matched_ids).only("pk", "population"))
        by_id = {e["target"].pk: e["population"] for e in chosen}
        for district in districts:
            district.population = by_id[district.pk]
        District.objects.bulk_update(districts, ["population"], batch_size=500)
    report.written = True
    return report


