"""Boundary geometry for coverage maps: validation and simplification of GeoJSON polygons.

Pure functions over plain GeoJSON dicts (lon/lat order), no database. Simplification is
Douglas–Peucker on each ring (the farthest point of a segment is found with numpy, so a
district with tens of thousands of vertices stays fast), followed by rounding: a page that draws
every district of India must stay light, and 0.01° (about 1 km) is finer than a district map needs.
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_TOLERANCE = 0.01  # degrees, ~1.1 km
DEFAULT_DIGITS = 3  # ~110 m


class GeometryError(ValueError):
    """A geometry that cannot be a district or state outline; the message says why."""


def validate_polygonal(geometry) -> None:
    """Raise GeometryError unless `geometry` is a Polygon or MultiPolygon with numeric lon/lat rings."""
    if not isinstance(geometry, dict):
        raise GeometryError("the geometry is not an object")
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        polygons = [coordinates]
    elif kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise GeometryError("a MultiPolygon needs at least one polygon")
        polygons = coordinates
    else:
        raise GeometryError(f"geometry type {kind!r} is not a Polygon or MultiPolygon")
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise GeometryError("a polygon needs at least one ring")
        for ring in polygon:
            if not isinstance(ring, list) or len(ring) < 4:
                raise GeometryError("a ring needs at least four positions")
            for position in ring:
                if (
                    not isinstance(position, (list, tuple))
                    or len(position) < 2
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position[:2])
                ):
                    raise GeometryError(f"{position!r} is not a [longitude, latitude] position")
                lon, lat = position[0], position[1]
                if not (-180 <= lon <= 180 and -90 <= lat <= 90) or math.isnan(lon) or math.isnan(lat):
                    raise GeometryError(f"{position!r} is outside longitude -180..180 / latitude -90..90")


def _keep_mask(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas–Peucker over one open polyline: which points to keep (an explicit stack, no recursion)."""
    count = len(points)
    keep = np.zeros(count, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, count - 1)]
    while stack:
        start, end = stack.pop()
        if end - start < 2:
            continue
        a, b = points[start], points[end]
        middle = points[start + 1 : end]
        dx, dy = b - a
        length = math.hypot(dx, dy)
        if length == 0:
            distances = np.hypot(middle[:, 0] - a[0], middle[:, 1] - a[1])
        else:
            distances = np.abs(dy * (middle[:, 0] - a[0]) - dx * (middle[:, 1] - a[1])) / length
        index = int(np.argmax(distances))
        if distances[index] > tolerance:
            split = start + 1 + index
            keep[split] = True
            stack.append((start, split))
            stack.append((split, end))
    return keep


def simplify_ring(ring, tolerance: float = DEFAULT_TOLERANCE, digits: int = DEFAULT_DIGITS):
    """A closed ring simplified and rounded, or None if it collapses (fewer than 3 distinct corners)."""
    points = np.asarray([p[:2] for p in ring], dtype=float)
    if len(points) and not np.array_equal(points[0], points[-1]):
        points = np.vstack([points, points[:1]])
    if len(points) < 4:
        return None
    # Split the closed ring at its farthest point from the start, so both halves are open polylines.
    far = int(np.argmax(np.hypot(points[:, 0] - points[0, 0], points[:, 1] - points[0, 1])))
    if far == 0:
        return None
    keep = np.zeros(len(points), dtype=bool)
    keep[: far + 1] |= _keep_mask(points[: far + 1], tolerance)
    keep[far:] |= _keep_mask(points[far:], tolerance)
    rounded = np.round(points[keep], digits)
    result = [rounded[0].tolist()]
    for point in rounded[1:]:
        if point[0] != result[-1][0] or point[1] != result[-1][1]:
            result.append(point.tolist())
    if result[0] != result[-1]:
        result.append(list(result[0]))
    if len(result) < 4:
        return None
    return result


def simplify_geometry(geometry, tolerance: float = DEFAULT_TOLERANCE, digits: int = DEFAULT_DIGITS) -> dict:
    """A Polygon/MultiPolygon simplified for display. Holes and islands that collapse are dropped;
    if every part collapses (a tiny district), the largest part is kept with only rounding applied."""
    validate_polygonal(geometry)
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    kept = []
    for polygon in polygons:
        outer = simplify_ring(polygon[0], tolerance, digits)
        if outer is None:
            continue
        holes = [h for h in (simplify_ring(ring, tolerance, digits) for ring in polygon[1:]) if h is not None]
        kept.append([outer, *holes])
    if not kept:
        largest = max(polygons, key=lambda polygon: abs(ring_area(polygon[0])))
        fallback = simplify_ring(largest[0], 0.0, max(digits, 5)) or [list(map(float, p[:2])) for p in largest[0]]
        kept = [[fallback]]
    if len(kept) == 1:
        return {"type": "Polygon", "coordinates": kept[0]}
    return {"type": "MultiPolygon", "coordinates": kept}


def ring_area(ring) -> float:
    """Signed planar area in square degrees (shoelace); only used to compare parts."""
    points = np.asarray([p[:2] for p in ring], dtype=float)
    x, y = points[:, 0], points[:, 1]
    return float(0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def vertex_count(geometry) -> int:
    if not geometry:
        return 0
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return sum(len(ring) for polygon in polygons for ring in polygon)


def bounds(geometries) -> tuple[float, float, float, float] | None:
    """(south, west, north, east) over Polygon/MultiPolygon geometries, or None when there are none."""
    south = west = math.inf
    north = east = -math.inf
    for geometry in geometries:
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        for polygon in polygons:
            ring = polygon[0]
            lons = [p[0] for p in ring]
            lats = [p[1] for p in ring]
            west, east = min(west, min(lons)), max(east, max(lons))
            south, north = min(south, min(lats)), max(north, max(lats))
    if south is math.inf:
        return None
    return south, west, north, east
