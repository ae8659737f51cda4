"""The one read of the referral network: agency-level aggregates through the counting gate, in a fixed
number of GROUP BY queries whatever the number of referrals, handed to `mapping.network` as plain rows.

`network_input()` never lists a referral or a case: it reads one row per directed agency pair (counts, the
median time to answer and the most frequent decline reason, all computed by the database in one pass),
counts per district, and the registry's agencies. On SQLite the scans are sequential (`Unindexed`): walking
an index and looking every row up is several times slower for aggregates over most of the table.
`network_result()` adds the cache.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.db import connection
from django.db.models import Aggregate, CharField, Count, Value, DateTimeField, F, FloatField, Func, Max, Min, Q
from django.db.models.functions import Coalesce, RowNumber
from django.db.models import Window as SqlWindow
from django.utils import timezone

from mapping.network import (
    AgencyRow,
    paused_gc,
    CaseFlowRow,
    DistrictDelayRow,
    NetworkInput,
    NetworkResult,
    Options,
    TieRow,
    Window,
    analyse,
)
from referrals.models import Case, Referral, user_shares
from referrals.vocab import PENDING_STATUSES, AgeStatus, Purpose, Status
from stakeholders.models import Agency, District
from stakeholders.selectors import user_scope

DEFAULT_WINDOW_DAYS = 90
CACHE_VERSION = "network-v3"  # bumped when the cached result changes shape (v3: broker pairs)
_ACCEPTED = (Status.ACCEPTED, Status.COMPLETED)


@dataclass(frozen=True)
class NetworkFilters:
    """What the report shows: an area (state, district), a window of sending dates, agency kinds.

    An area keeps every referral that touches it (an agency of the area at either end), so ties to other
    states stay visible; a kind filter keeps referrals between agencies of those kinds only."""

    state_id: int | None = None
    district_id: int | None = None
    since: date | None = None
    until: date | None = None
    kinds: tuple[str, ...] = ()

    @property
    def window(self) -> Window:
        return Window(self.since, self.until)

    @property
    def previous_window(self) -> Window | None:
        """The window of the same length just before this one (for `silent_agency`)."""
        if not (self.since and self.until):
            return None
        length = (self.until - self.since).days + 1
        return Window(self.since - timedelta(days=length), self.since - timedelta(days=1))

    def key(self) -> str:
        return "|".join([
            str(self.state_id or ""), str(self.district_id or ""), self.since.isoformat() if self.since else "",
            self.until.isoformat() if self.until else "", ",".join(sorted(self.kinds)),
        ])


def default_window(today: date | None = None, days: int = DEFAULT_WINDOW_DAYS) -> tuple[date, date]:
    today = today or timezone.localdate()
    return today - timedelta(days=days - 1), today


@dataclass(frozen=True)
class AggregateScope:
    """What the viewer may count, as the gates see it; `everything` for the committee, superusers and the CLI."""

    everything: bool
    state_ids: frozenset[int] = frozenset()
    agency_ids: frozenset[int] = frozenset()
    user: object = field(default=None, compare=False, hash=False)
    # An agency's own page: only referrals with an end at these agencies, and their cases (what every member
    # of the agency may count, whatever else one of them may count through other memberships or shares).
    touching: frozenset[int] = frozenset()

    def key(self) -> str:
        """The cache key part: two viewers with the same key must count exactly the same referrals."""
        if self.everything:
            return "all"
        key = "s" + ",".join(map(str, sorted(self.state_ids))) + "|a" + ",".join(map(str, sorted(self.agency_ids)))
        if self.touching:
            return key + "|t" + ",".join(map(str, sorted(self.touching)))
        if self.user is not None:
            shares = user_shares(self.user)
            if shares.referral_ids or shares.case_ids:
                key += f"|u{self.user.pk}"  # shared cases or referrals: what this user counts is theirs alone
        return key

    def referrals(self):
        referrals = Referral.objects.all() if self.user is None else Referral.objects.for_aggregates(self.user)
        if self.touching:
            referrals = referrals.filter(Q(from_agency_id__in=self.touching) | Q(to_agency_id__in=self.touching))
        return referrals

    def cases(self):
        cases = Case.objects.all() if self.user is None else Case.objects.for_aggregates(self.user)
        if self.touching:
            referred = Referral.objects.filter(Q(from_agency_id__in=self.touching) | Q(to_agency_id__in=self.touching))
            cases = cases.filter(Q(opened_by_id__in=self.touching) | Q(holder_id__in=self.touching)
                                 | Q(pk__in=referred.values("case_id")))
        return cases


def aggregate_scope(user=None) -> AggregateScope:
    """`user=None` is the command line: every referral, like a superuser (it reads no case row either)."""
    if user is None:
        return AggregateScope(everything=True)
    scope = user_scope(user)
    if scope.superuser or scope.committee:
        return AggregateScope(everything=True, user=user)
    return AggregateScope(everything=False, state_ids=scope.supervised_state_ids, agency_ids=scope.agency_ids, user=user)


class SecondsBetween(Func):
    """Seconds from one timestamp to another, computed by the database (no Python function per row)."""

    output_field = FloatField()

    def __init__(self, start, end):
        super().__init__(start, end)

    def as_sql(self, compiler, connection, **extra):
        (start, start_params), (end, end_params) = (compiler.compile(e) for e in self.source_expressions)
        # EXTRACT returns numeric on PostgreSQL 14+; the analysis wants floats.
        return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS double precision)", (*end_params, *start_params)

    def as_sqlite(self, compiler, connection, **extra):
        (start, start_params), (end, end_params) = (compiler.compile(e) for e in self.source_expressions)
        return f"((julianday({end}) - julianday({start})) * 86400.0)", (*end_params, *start_params)


class Unindexed(Func):
    """The column itself, but SQLite may not use an index for it (`+column`).

    SQLite walks an index row by row and looks each row up in the table (random access), which for
    aggregates over a large share of the referrals is several times slower than one sequential scan and a
    sort. PostgreSQL chooses its own plan; the expression is the bare column there."""

    template = "%(expressions)s"

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="(+%(expressions)s)", **extra)


class Median(Aggregate):
    """The exact median inside the GROUP BY: PostgreSQL's percentile_cont; on SQLite, which has none, an
    aggregate function registered on the connection (`_sqlite_functions`), so the durations never leave the
    query as rows (measured against fetching (from, to, seconds) tuples: bench/bench_network.py)."""

    function = "network_median"
    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        clone = self.copy()  # Aggregate.as_sql wraps `self.template` when a FILTER applies
        clone.function, clone.template = "percentile_cont", "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
        return super(Median, clone).as_sql(compiler, connection, **extra)


class _SqliteMedian:
    """SQLite aggregate `network_median(x)`: the median of the non-null values of a group."""

    def __init__(self):
        self.values = []

    def step(self, value):
        if value is not None:
            self.values.append(value)

    def finalize(self):
        return statistics.median(self.values) if self.values else None


class MostFrequent(Aggregate):
    """The most frequent value of a group, the alphabetically first among equals: PostgreSQL's mode(), an
    aggregate function on SQLite."""

    function = "network_most_frequent"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        clone = self.copy()
        clone.function, clone.template = "mode", "%(function)s() WITHIN GROUP (ORDER BY %(expressions)s)"
        return super(MostFrequent, clone).as_sql(compiler, connection, **extra)


class _SqliteMostFrequent:
    def __init__(self):
        self.counts = {}

    def step(self, value):
        if value:
            self.counts[value] = self.counts.get(value, 0) + 1

    def finalize(self):
        return min(self.counts.items(), key=lambda item: (-item[1], item[0]))[0] if self.counts else None


def _sqlite_functions():
    """Register `network_median` on this SQLite connection (idempotent; connections may predate this module)."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        connection.connection.create_aggregate("network_median", 1, _SqliteMedian)
        connection.connection.create_aggregate("network_most_frequent", 1, _SqliteMostFrequent)


def _bounds(window: Window) -> tuple[datetime | None, datetime | None]:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(window.since, time.min), tz) if window.since else None
    end = timezone.make_aware(datetime.combine(window.until + timedelta(days=1), time.min), tz) if window.until else None
    return start, end


def _in_window(queryset, window: Window, field_name: str, output_field=None):
    start, end = _bounds(window)
    alias = f"_window_{field_name}"
    queryset = queryset.alias(**{alias: Unindexed(field_name, output_field=output_field or DateTimeField())})
    if start:
        queryset = queryset.filter(**{f"{alias}__gte": start})
    if end:
        queryset = queryset.filter(**{f"{alias}__lt": end})
    return queryset


def _area(filters: NetworkFilters, scope: AggregateScope) -> Q:
    """Referrals touching the chosen area, or (without a choice) the viewer's own area."""
    if filters.district_id:
        return Q(from_agency__district_id=filters.district_id) | Q(to_agency__district_id=filters.district_id)
    if filters.state_id:
        return Q(from_state_id=filters.state_id) | Q(to_state_id=filters.state_id)
    return Q()


def _focus_agencies(filters: NetworkFilters, scope: AggregateScope) -> Q:
    """Registry agencies the report is about (each appears even without a referral)."""
    condition = Q(active=True)
    if filters.district_id:
        condition &= Q(district_id=filters.district_id)
    elif filters.state_id:
        condition &= Q(state_id=filters.state_id)
    elif not scope.everything:
        condition &= Q(state_id__in=scope.state_ids) | Q(pk__in=scope.agency_ids)
    if filters.kinds:
        condition &= Q(kind__in=filters.kinds)
    return condition


def scoped_referrals(scope: AggregateScope, filters: NetworkFilters, window: Window):
    queryset = _in_window(scope.referrals().exclude(status=Status.DRAFT), window, "sent_at").filter(_area(filters, scope))
    if filters.kinds:
        queryset = queryset.filter(from_agency__kind__in=filters.kinds, to_agency__kind__in=filters.kinds)
    return queryset


def network_input(*, scope: AggregateScope, filters: NetworkFilters, now: datetime | None = None) -> NetworkInput:
    """Everything `mapping.network.analyse` needs, in six aggregate queries whatever the number of referrals:
    agency pairs, agencies, the previous window's senders, minors late to a CWC, case flows between
    districts, district names."""
    with paused_gc():
        return _network_input(scope=scope, filters=filters, now=now)


def _network_input(*, scope: AggregateScope, filters: NetworkFilters, now: datetime | None = None) -> NetworkInput:
    now = now or timezone.now()
    window = filters.window
    referrals = scoped_referrals(scope, filters, window).order_by()
    pairs = pair_aggregates(referrals, now)
    ties = []
    for (source, target, n, accepted, declined, completed, pending_n, overdue_n, answered, due, met, median,
         oldest, reason) in rows_of(pairs):
        ties.append(TieRow(
            source, target, n, accepted, declined, completed, pending_n, overdue_n, answered, due, met,
            None if median is None else round(median / 3600, 2), _as_datetime(oldest), reason or "",
        ))

    focus = _focus_agencies(filters, scope)
    ends = sorted({t.source for t in ties} | {t.target for t in ties})
    # Agencies at the far end of a tie out of the area come along (one query either way; a subquery when the
    # list of ends would be too long to pass as parameters).
    ends_condition = Q(pk__in=ends) if len(ends) <= 20000 else Q(pk__in=referrals.values("from_agency_id")) | Q(pk__in=referrals.values("to_agency_id"))
    agency_rows = Agency.objects.filter(focus | ends_condition).annotate(is_focus=_as_flag(focus)).values(
        "id", "code", "name", "kind", "state_id", "state__name", "district_id", "district__name", "latitude",
        "longitude", "active", "is_focus",
    ).order_by()
    agencies = [
        AgencyRow(
            id=row["id"], code=row["code"], name=row["name"], kind=row["kind"], state_id=row["state_id"],
            state=row["state__name"] or "", district_id=row["district_id"], district=row["district__name"] or "",
            latitude=row["latitude"], longitude=row["longitude"], active=row["active"], focus=bool(row["is_focus"]),
        )
        for row in agency_rows
    ]

    previous_window = filters.previous_window
    previous = None
    if previous_window is not None:
        previous = dict(
            scoped_referrals(scope, filters, previous_window).order_by()
            .values(sender=Unindexed("from_agency_id")).annotate(n=Count("id")).values_list("sender", "n")
        )
    places = _district_names()
    return NetworkInput(
        agencies=agencies, ties=ties, window=window, previous_window=previous_window, previous_senders=previous,
        minor_cwc=_minor_cwc_delays(referrals, now, places), case_flows=_case_flows(scope, filters, window, places), now=now,
    )


def pair_aggregates(referrals, now, *, median: bool = True):
    """One row per directed agency pair, in TieRow's field order: counts by outcome, overdue, answered,
    deadlines, the median seconds to answer and the most frequent decline reason (inside the same GROUP BY,
    one pass over the referrals) and the oldest overdue due time."""
    _sqlite_functions()
    pending = Q(status__in=PENDING_STATUSES)
    overdue = pending & Q(due_at__lt=now)
    aggregates = dict(
        referrals=Count("id"),
        accepted=Count("id", filter=Q(status__in=_ACCEPTED)),
        declined=Count("id", filter=Q(status=Status.DECLINED)),
        completed=Count("id", filter=Q(status=Status.COMPLETED)),
        pending=Count("id", filter=pending),
        overdue=Count("id", filter=overdue),
        answered=Count("responded_at"),
        # Decided: answered, or still waiting past due (a referral withdrawn unanswered missed no deadline).
        deadline_due=Count("id", filter=Q(due_at__isnull=False) & (Q(responded_at__isnull=False) | overdue)),
        deadline_met=Count("id", filter=Q(due_at__isnull=False, responded_at__lte=F("due_at"))),
        median_seconds=Median(SecondsBetween("sent_at", "responded_at")) if median else Value(None, FloatField()),
        oldest_due=Min("due_at", filter=overdue),
        decline_reason=MostFrequent("decline_reason", filter=Q(status=Status.DECLINED) & ~Q(decline_reason="")),
    )
    return (
        # Grouped in the order of the covering index `referral_pair_cover_idx`: SQLite reads that index
        # alone instead of the table (the window's sent_at stays unindexed so it cannot pick another plan).
        referrals.values(source=F("from_agency_id"), target=F("to_agency_id"))
        .annotate(**aggregates).values_list("source", "target", *aggregates)
    )


def _district_names() -> dict[int, tuple[str, int, str]]:
    """district id -> (name, state id, state name): ~750 rows, read once instead of joined per referral."""
    return {
        row["id"]: (row["name"], row["state_id"], row["state__name"])
        for row in District.objects.order_by().values("id", "name", "state_id", "state__name")
    }


def _as_flag(condition: Q):
    from django.db.models import BooleanField, Case as When_, Value, When

    return When_(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())


def rows_of(queryset) -> list[tuple]:
    """The rows of an aggregate query as plain tuples, read from the cursor: the ORM's per-row work
    (dicts, converters) would cost more than the query on tens of thousands of pairs."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _as_datetime(value):
    """SQLite hands timestamps back as UTC text when read from the cursor."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt_timezone.utc)


def response_medians(referrals) -> dict[tuple[int, int], float]:
    """Median hours per directed pair from one query returning only (from, to, seconds) tuples of the
    answered referrals: the alternative the benchmark measures against the median inside the GROUP BY."""
    queryset = (
        referrals.filter(responded_at__isnull=False)
        .annotate(seconds=SecondsBetween("sent_at", "responded_at"))
        .values_list("from_agency_id", "to_agency_id", "seconds")
    )
    values: dict[tuple[int, int], list[float]] = defaultdict(list)
    for source, target, seconds in rows_of(queryset):
        values[(source, target)].append(seconds)
    return {pair: round(statistics.median(v) / 3600, 2) for pair, v in values.items()}


def response_medians_by_window(referrals) -> dict[tuple[int, int], float]:
    """The same medians with the database ranking each pair's answers (window functions, SQLite ≥ 3.25 and
    PostgreSQL) and returning only the middle one or two rows per pair: the other alternative measured."""
    partition = [F("from_agency_id"), F("to_agency_id")]
    middle = (
        referrals.filter(responded_at__isnull=False)
        .annotate(seconds=SecondsBetween("sent_at", "responded_at"))
        .annotate(
            position=SqlWindow(RowNumber(), partition_by=partition, order_by=[F("seconds").asc(), F("id").asc()]),
            size=SqlWindow(Count("id"), partition_by=partition),
        )
        .filter(position__gte=(F("size") + 1) / 2, position__lte=F("size") / 2 + 1)
        .values_list("from_agency_id", "to_agency_id", "seconds")
    )
    values: dict[tuple[int, int], list[float]] = defaultdict(list)
    for source, target, seconds in middle:
        values[(source, target)].append(seconds)
    return {pair: round(sum(v) / len(v) / 3600, 2) for pair, v in values.items()}


def _minor_cwc_delays(referrals, now, places) -> list[DistrictDelayRow]:
    """Minors (and children whose age is not yet determined) referred to a CWC for production, by district
    of rescue (else the sender's district): how many have a decided 24-hour deadline, and how many missed it.
    Only referrals to CWCs are read (through the receiving-agency index)."""
    decided = Q(due_at__isnull=False) & (Q(responded_at__isnull=False) | Q(status__in=PENDING_STATUSES, due_at__lt=now))
    in_time = Q(status__in=_ACCEPTED, responded_at__lte=F("due_at"))
    rows = (
        referrals.filter(decided, to_agency_id__in=Agency.objects.filter(kind="cwc").values("id"),
                         purpose=Purpose.PRODUCE_BEFORE_CWC,
                         case__age_status__in=[AgeStatus.MINOR, AgeStatus.UNDETERMINED])
        .values(district=Coalesce("case__rescue_district_id", "from_agency__district_id"))
        .annotate(total=Count("id"), in_time=Count("id", filter=in_time))
    )
    result = []
    for row in rows:
        name, _state_id, state = places.get(row["district"], ("", None, ""))
        result.append(DistrictDelayRow(row["district"], name, state, row["total"], row["total"] - row["in_time"]))
    return result


def _case_flows(scope: AggregateScope, filters: NetworkFilters, window: Window, places) -> list[CaseFlowRow]:
    """Cases rescued in the window, by district of origin and of rescue (counts only)."""
    cases = _in_window(scope.cases(), window, "rescued_at")
    if filters.district_id:
        cases = cases.filter(Q(rescue_district_id=filters.district_id) | Q(origin_district_id=filters.district_id))
    elif filters.state_id:
        cases = cases.filter(Q(rescue_district__state_id=filters.state_id) | Q(origin_state_id=filters.state_id))
    rows = (
        cases.order_by()
        .values(origin=Unindexed("origin_district_id"), origin_state_key=F("origin_state_id"), rescue=F("rescue_district_id"))
        .annotate(n=Count("id"))
    )
    states = {state_id: state for _name, state_id, state in places.values()}
    flows = []
    for row in rows:
        rescue_name, rescue_state_id, rescue_state = places.get(row["rescue"], ("", None, ""))
        origin_state_id = row["origin_state_key"] or places.get(row["origin"], ("", None, ""))[1]
        flows.append(CaseFlowRow(
            origin_district_id=row["origin"], origin_state_id=origin_state_id, origin_state=states.get(origin_state_id, ""),
            rescue_district_id=row["rescue"], rescue_district=rescue_name, rescue_state_id=rescue_state_id,
            rescue_state=rescue_state, cases=row["n"],
        ))
    return flows


# ---------------------------------------------------------------------------------------------------------
# Cache: results live until referrals, cases or agencies change (or NETWORK_CACHE_SECONDS pass, since
# "overdue" moves with the clock).


VERSION_KEY = f"{CACHE_VERSION}:data-version"
VERSION_SECONDS = 10


def data_version(*, fresh: bool = False) -> str:
    """Changes whenever a referral, case or agency is added, changed or deleted: their counts and latest
    change. The figure itself is kept for ten seconds (three aggregates over the referrals cost more than a
    page from the cache), and forgotten at once when the ORM saves or deletes one of them."""
    if not fresh:
        version = cache.get(VERSION_KEY)
        if version is not None:
            return version
    parts = []
    for model in (Referral, Case, Agency):
        stats = model.objects.order_by().aggregate(n=Count("id"), latest=Max("updated_at"))
        parts.append(f"{stats['n']}:{stats['latest'].isoformat() if stats['latest'] else ''}")
    version = "/".join(parts)
    cache.set(VERSION_KEY, version, VERSION_SECONDS)
    return version


@receiver([post_save, post_delete], sender=Referral, dispatch_uid="network-version-referral")
@receiver([post_save, post_delete], sender=Case, dispatch_uid="network-version-case")
@receiver([post_save, post_delete], sender=Agency, dispatch_uid="network-version-agency")
def _forget_data_version(**kwargs):
    cache.delete(VERSION_KEY)


def analysis_options() -> Options:
    return Options(
        exact_betweenness_max=getattr(settings, "NETWORK_EXACT_BETWEENNESS_MAX", 1000),
        betweenness_samples=getattr(settings, "NETWORK_BETWEENNESS_SAMPLES", 64),
    )


def cache_key(*parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
    return f"{CACHE_VERSION}:{digest}"


def network_result(*, scope: AggregateScope, filters: NetworkFilters, version: str | None = None) -> tuple[NetworkResult, str]:
    """The analysis for this scope and these filters, from the cache when nothing changed; with its cache key
    (pages cache what they derive from it, e.g. maps, under keys built on it). The ties are cached apart
    and read only by the pages that draw or list them."""
    version = version if version is not None else data_version()
    options = analysis_options()
    key = cache_key("result", version, scope.key(), filters.key(), repr(options))
    seconds = getattr(settings, "NETWORK_CACHE_SECONDS", 900)
    with paused_gc():
        result = cache.get(key)
    if result is None:
        result = analyse(network_input(scope=scope, filters=filters), options)
        ties = result.detach_ties()
        cache.set_many({key: result, f"{key}:ties": ties}, seconds)

    def load_ties():
        with paused_gc():
            columns = cache.get(f"{key}:ties")
        if columns is None:  # evicted before the rest: compute again
            columns = analyse(network_input(scope=scope, filters=filters), options).detach_ties()
            cache.set(f"{key}:ties", columns, seconds)
        return columns

    result.ties_loader = load_ties
    return result, key


def cached(key: str, compute):
    """A value derived from a cached result (a map, a what-if), cached under a key built on the result's key."""
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, getattr(settings, "NETWORK_CACHE_SECONDS", 900))
    return value
