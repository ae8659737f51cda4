"""Aggregate reads for the impact table, the role dashboards, the returns tracker and the training totals.

Every figure here is computed by the database (GROUP BY / conditional COUNT and SUM) in a fixed number
of queries whatever the size of the tables; Python only arranges the grouped rows (at most months × states
of them) for display. Referral figures go through the two gates in `referrals.models`: `visible_to` for
roles with case access, `for_aggregates` for counts shown to the committee (which are then suppressed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, ExpressionWrapper, F, FloatField, OuterRef, Q, Sum, Window
from django.db.models.functions import Coalesce, ExtractYear
from django.utils import timezone

from coordination import rules
from coordination.indicators import FIELDS, REPORT_ORDER
from coordination.models import (
    FILED_STATUSES,
    PARTICIPANT_FIELDS,
    PARTICIPANT_GROUPS,
    ActionItem,
    AhtuReturn,
    ReturnStatus,
    TrainingEvent,
)
from coordination.periods import add_months, due_at, first_of_month, last_ended_month, month_key, months_between
from stakeholders.models import Agency, District, State
from stakeholders.selectors import user_scope
from stakeholders.vocab import RESIDENTIAL_KINDS, AgencyKind

NETWORK_WINDOW_DAYS = 90
ANSWERS_WINDOW_DAYS = 7  # the caseworker panel counts the answers to the agencies' referrals of the last week
# The committee's national referral figures scan every referral of the last 90 days (tens of thousands of
# rows at national scale) and are the same for every member: computed at most once a minute.
HEADLINE_SECONDS = 60
# Agencies that take part in referrals (national bodies, committees and donors are not expected to refer).
REFERRING_KINDS = tuple(
    kind for kind in AgencyKind.values
    if kind not in {AgencyKind.MINISTRY, AgencyKind.COMMITTEE, AgencyKind.DONOR, AgencyKind.INTERNATIONAL_ORG,
                    AgencyKind.TRAINING_INSTITUTE}
)


def _sums(prefix: str = "") -> dict:
    return {f"{prefix}{name}": Coalesce(Sum(name), 0) for name in FIELDS}


def first_with_total(queryset, limit: int):
    """The first `limit` rows and the number of all rows, in one query (a window count)."""
    rows = list(queryset.annotate(_total=Window(Count("pk")))[:limit])
    return rows, (rows[0]._total if rows else 0)


def _with_agencies(referrals, extra_ids=()):
    """Attach from/to agencies to a handful of referrals with one primary-key read (a join before the window
    count would join every matching row to the whole registry). Returns the agencies read, by id."""
    ids = {r.from_agency_id for r in referrals} | {r.to_agency_id for r in referrals} | set(extra_ids)
    agencies = Agency.objects.only("pk", "name", "code").in_bulk(ids) if ids else {}
    for r in referrals:
        r.from_agency, r.to_agency = agencies[r.from_agency_id], agencies[r.to_agency_id]
    return agencies


_REFERRAL_LIST_FIELDS = ("pk", "reference", "purpose", "status", "due_at", "from_agency_id", "to_agency_id", "sent_at")


# The impact table -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImpactFilter:
    since: date | None = None
    until: date | None = None
    state_ids: tuple[int, ...] = ()

    def returns(self):
        """Approved returns in the period and states: the only ones that count."""
        queryset = AhtuReturn.objects.filter(status=ReturnStatus.APPROVED)
        if self.since:
            queryset = queryset.filter(month__gte=self.since)
        if self.until:
            queryset = queryset.filter(month__lte=self.until)
        if self.state_ids:
            queryset = queryset.filter(ahtu_id__in=Agency.objects.filter(state_id__in=self.state_ids).values("pk"))
        return queryset


@dataclass
class ImpactTable:
    filter: ImpactFilter
    totals: dict[str, int]
    returns: int
    ahtus: int
    by_month: list[dict]  # {"month": date, field: n...}, every month of the period (zeros where nothing)
    by_state: list[dict]  # {"state_id", "state", field: n, "returns", "ahtus"}
    by_ahtu: list[dict]  # {"ahtu_id", "code", "name", "state", field: n, "months"}
    first_month: date | None = None
    last_month: date | None = None


def impact_table(impact_filter: ImpactFilter) -> ImpactTable:
    """The IND/S16 results table for a period and set of states, with monthly, per-state and per-AHTU
    breakdowns. Two GROUP BY queries over the returns, on integer keys only (month; AHTU), then one read of
    the reporting AHTUs' names. States add up their AHTUs' subtotals and the totals add up the months:
    Python only sums grouped rows (at most one per AHTU), never returns."""
    by_month_rows, by_ahtu_rows = _grouped_by_month_and_ahtu(impact_filter.returns())
    # Names of the reporting AHTUs: every AHTU in one parameterless read (a list of 800 ids costs more),
    # then any unit whose kind has changed since it reported.
    info = {pk: (code, name, state_id) for pk, code, name, state_id in
            Agency.objects.filter(kind=AgencyKind.AHTU).values_list("pk", "code", "name", "state_id")} if by_ahtu_rows else {}
    missing = [r["ahtu_id"] for r in by_ahtu_rows if r["ahtu_id"] not in info]
    if missing:
        info.update({pk: (code, name, state_id) for pk, code, name, state_id in
                     Agency.objects.filter(pk__in=missing).values_list("pk", "code", "name", "state_id")})
    state_names = dict(State.objects.filter(pk__in={a[2] for a in info.values()}).values_list("pk", "name")) if info else {}
    totals = {name: 0 for name in FIELDS}
    months: dict[date, dict] = {}
    for row in by_month_rows:
        months[row["month"]] = {"month": row["month"], "returns": row["months"], **{n: row[n] for n in FIELDS}}
        for name in FIELDS:
            totals[name] += row[name]
    states: dict[int | None, dict] = {}
    by_ahtu = []
    for row in by_ahtu_rows:
        code, name, state_id = info[row["ahtu_id"]]
        state_name = state_names.get(state_id) or "—"
        row.update(code=code, name=name, state=state_name)
        by_ahtu.append(row)
        state = states.setdefault(state_id, {
            "state_id": state_id, "state": state_name, "returns": 0, "ahtus": 0, **{n: 0 for n in FIELDS},
        })
        state["returns"] += row["months"]
        state["ahtus"] += 1
        for name in FIELDS:
            state[name] += row[name]
    by_ahtu.sort(key=lambda r: (r["state"], r["name"], r["ahtu_id"]))
    first = impact_filter.since or (min(months) if months else None)
    last = impact_filter.until or (max(months) if months else None)
    by_month = []
    if first and last:
        if (last.year - first.year) * 12 + last.month - first.month > 600:
            first = add_months(last, -600)  # a sane bound for an open-ended period
        for month in months_between(first, last):
            by_month.append(months.get(month) or {"month": month, "returns": 0, **{n: 0 for n in FIELDS}})
    return ImpactTable(
        filter=impact_filter,
        totals=totals,
        returns=sum(m["returns"] for m in months.values()),
        ahtus=len(by_ahtu),
        by_month=by_month,
        by_state=sorted(states.values(), key=lambda s: s["state"]),
        by_ahtu=by_ahtu,
        first_month=first,
        last_month=last,
    )


def _grouped_by_month_and_ahtu(returns) -> tuple[list[dict], list[dict]]:
    """Sums of the returns by month and by AHTU. PostgreSQL computes both groupings in one pass over the
    table (GROUPING SETS); other databases run the two GROUP BY queries."""
    if connection.vendor != "postgresql":
        by_month = list(returns.values("month").annotate(**_sums(), months=Count("*")).order_by("month"))
        by_ahtu = list(returns.values("ahtu_id").annotate(**_sums(), months=Count("*")).order_by())
        return by_month, by_ahtu
    sql, params = returns.values("ahtu_id", "month").annotate(**_sums(), months=Count("*")).order_by().query.sql_with_params()
    ahtu_column, month_column = connection.ops.quote_name("ahtu_id"), connection.ops.quote_name("month")
    head, _group_by, grouped = sql.rpartition(" GROUP BY ")
    if not head or "HAVING" in grouped:
        raise RuntimeError("unexpected SQL for the impact aggregation")
    table = connection.ops.quote_name(AhtuReturn._meta.db_table)
    sql = f"{head} GROUP BY GROUPING SETS (({table}.{month_column}), ({table}.{ahtu_column}))"
    names = ["ahtu_id", "month", *FIELDS, "months"]
    by_month, by_ahtu = [], []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for values in cursor.fetchall():
            row = dict(zip(names, values))
            (by_ahtu if row["month"] is None else by_month).append(row)
    by_month.sort(key=lambda row: row["month"])
    return by_month, by_ahtu


def impact_states():
    """States that have at least one AHTU: the choices of the impact table's state filter."""
    return State.objects.filter(pk__in=Agency.objects.filter(kind=AgencyKind.AHTU).values("state_id")).order_by("name")


def impact_rows(table: ImpactTable, *, suppressed: bool):
    """The table as flat rows (header first) for the CSV export and `impact_report --format csv`:
    `breakdown,month,state,ahtu_code,ahtu_name,<figures>`; counts suppressed when asked."""
    from coordination.csvio import safe_cell
    from coordination.suppression import suppress

    def figures(row):
        return [suppress(row[name]) if suppressed else row[name] for name in (i.field for i in REPORT_ORDER)]

    yield ["breakdown", "month", "state", "ahtu_code", "ahtu_name", *(i.field for i in REPORT_ORDER)]
    yield ["total", "", "", "", "", *figures(table.totals)]
    for row in table.by_month:
        yield ["month", month_key(row["month"]), "", "", "", *figures(row)]
    for row in table.by_state:
        yield ["state", "", safe_cell(row["state"]), "", "", *figures(row)]
    for row in table.by_ahtu:
        yield ["ahtu", "", safe_cell(row["state"]), safe_cell(row["code"]), safe_cell(row["name"]), *figures(row)]


# Returns: tracker and queues ---------------------------------------------------------------------


def tracker_ahtus(user):
    """AHTUs whose filing the user may follow: all (superusers, the committee), their states' (supervisors),
    or their own (AHTU members)."""
    scope = user_scope(user)
    ahtus = Agency.objects.filter(kind=AgencyKind.AHTU, active=True)
    if scope.superuser or scope.committee:
        return ahtus
    return ahtus.filter(Q(state_id__in=scope.supervised_state_ids) | Q(pk__in=scope.agency_ids))


@dataclass
class TrackerCell:
    month: date
    status: str  # a ReturnStatus value, "missing", "due" (not due yet), or "" (before the AHTU started)
    late: bool = False
    return_pk: int | None = None


def _month_start(month: date) -> datetime:
    return datetime.combine(month, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _start_month(ahtu: Agency) -> date:
    return first_of_month(timezone.localtime(ahtu.created_at).date())


def tracker_grid(ahtus: list[Agency], months: list[date], *, now=None) -> list[tuple[Agency, list[TrackerCell]]]:
    """One row of cells per AHTU for the given months, from one query."""
    now = now or timezone.now()
    due_day, tz = settings.AHTU_RETURN_DUE_DAY, settings.TIME_ZONE
    found = {
        (r["ahtu_id"], r["month"]): r
        for r in AhtuReturn.objects.filter(ahtu__in=[a.pk for a in ahtus], month__in=months).values(
            "pk", "ahtu_id", "month", "status", "first_submitted_at"
        )
    }
    grid = []
    for ahtu in ahtus:
        start, cells = _start_month(ahtu), []
        for month in months:
            record = found.get((ahtu.pk, month))
            deadline = due_at(month, due_day=due_day, tz=tz)
            if record and record["status"] != ReturnStatus.DRAFT:
                late = record["first_submitted_at"] is not None and record["first_submitted_at"] >= deadline
                cells.append(TrackerCell(month, record["status"], late, record["pk"]))
            elif month < start and not record:
                cells.append(TrackerCell(month, ""))
            else:
                cells.append(TrackerCell(month, "missing" if now >= deadline else "due", now >= deadline,
                                         record["pk"] if record else None))
        grid.append((ahtu, cells))
    return grid


def tracker_summary(ahtus_queryset, months: list[date], *, now=None) -> list[dict]:
    """Per month: AHTUs expected to file, filed, filed late, missing (overdue), over all AHTUs of the
    queryset — two aggregate queries whatever their number."""
    now = now or timezone.now()
    due_day, tz = settings.AHTU_RETURN_DUE_DAY, settings.TIME_ZONE
    # Expected: registered before the month ended, or filed for it anyway (registry dates can be late).
    expected = ahtus_queryset.aggregate(**{
        f"m{i}": Count("pk", filter=Q(created_at__lt=_month_start(add_months(m, 1)))
                       | Q(pk__in=AhtuReturn.objects.filter(month=m).values("ahtu_id")))
        for i, m in enumerate(months)
    })
    filed_q = AhtuReturn.objects.filter(ahtu__in=ahtus_queryset, month__in=months, status__in=FILED_STATUSES)
    aggregates = {}
    for i, month in enumerate(months):
        deadline = due_at(month, due_day=due_day, tz=tz)
        aggregates[f"f{i}"] = Count("pk", filter=Q(month=month))
        aggregates[f"l{i}"] = Count("pk", filter=Q(month=month, first_submitted_at__gte=deadline))
    filed = filed_q.aggregate(**aggregates) if months else {}
    summary = []
    for i, month in enumerate(months):
        deadline = due_at(month, due_day=due_day, tz=tz)
        exp, n = expected[f"m{i}"], filed[f"f{i}"]
        summary.append({
            "month": month, "expected": exp, "filed": n, "late": filed[f"l{i}"],
            "missing": max(exp - n, 0) if now >= deadline else 0, "outstanding": max(exp - n, 0),
            "due": deadline - timedelta(seconds=1), "past_due": now >= deadline,
        })
    return summary


def returns_to_file(user, *, today: date | None = None, months: int = 12) -> list[dict]:
    """For an AHTU member: the ended months of the last year whose return their AHTU has not filed
    (none yet, a draft, or returned for correction), oldest first, with their due dates."""
    ahtus = rules.member_ahtus(user)
    if not ahtus:
        return []
    today = today or timezone.localdate()
    last = last_ended_month(today)
    window = months_between(add_months(last, -(months - 1)), last)
    grid = tracker_grid(ahtus, window)
    due_day, tz = settings.AHTU_RETURN_DUE_DAY, settings.TIME_ZONE
    filers = rules.filing_ahtu_ids(user)  # a viewer of the AHTU sees what is due, without buttons that refuse them
    todo = []
    for ahtu, cells in grid:
        for cell in cells:
            if cell.status in ("missing", "due", ReturnStatus.RETURNED):
                todo.append({
                    "ahtu": ahtu, "month": cell.month, "status": cell.status, "return_pk": cell.return_pk,
                    "due": due_at(cell.month, due_day=due_day, tz=tz) - timedelta(seconds=1),
                    "overdue": cell.status == "missing", "can_file": ahtu.pk in filers,
                })
    return todo


# Dashboards ------------------------------------------------------------------------------------


@dataclass
class Dashboard:
    inbox: dict | None = None
    reviewer: dict | None = None
    returns_todo: list | None = None
    committee: dict | None = None
    actions: dict | None = None
    panels: list[str] = field(default_factory=list)


def _pending_q(now):
    from referrals.vocab import PENDING_STATUSES

    return Q(status__in=PENDING_STATUSES, due_at__lt=now)


def inbox_panel(user, agency_ids, *, now) -> dict:
    """A caseworker's referral counts and overdue referrals for their agencies (through `visible_to`)."""
    from referrals.models import Referral
    from referrals.vocab import OPEN_STATUSES, PENDING_STATUSES, Status

    mine = Q(to_agency_id__in=agency_ids) | Q(from_agency_id__in=agency_ids)
    received, sent = Q(to_agency_id__in=agency_ids), Q(from_agency_id__in=agency_ids)
    # The other side's answers (accepted or declined, possibly completed since) to what the agencies sent.
    answered = Q(status__in=[Status.ACCEPTED, Status.DECLINED, Status.COMPLETED],
                 responded_at__gte=now - timedelta(days=ANSWERS_WINDOW_DAYS))
    live = Referral.objects.visible_to(user).filter(mine).filter(
        Q(status__in=[*OPEN_STATUSES, Status.DRAFT]) | (sent & answered)
    )
    counts = live.aggregate(
        answered=Count("pk", filter=sent & answered),
        answered_declined=Count("pk", filter=sent & answered & Q(status=Status.DECLINED)),
        new=Count("pk", filter=received & Q(status=Status.SENT)),
        acknowledged=Count("pk", filter=received & Q(status=Status.ACKNOWLEDGED)),
        received_overdue=Count("pk", filter=received & _pending_q(now)),
        in_care=Count("pk", filter=received & Q(status=Status.ACCEPTED)),
        awaiting=Count("pk", filter=sent & Q(status__in=PENDING_STATUSES)),
        sent_overdue=Count("pk", filter=sent & _pending_q(now)),
        drafts=Count("pk", filter=sent & Q(status=Status.DRAFT)),
    )
    overdue, total = first_with_total(
        Referral.objects.visible_to(user).filter(mine).overdue(now).only(*_REFERRAL_LIST_FIELDS).order_by("due_at", "pk"), 8
    )
    _with_agencies(overdue)
    return {**counts, "overdue": overdue, "overdue_total": total, "agency_ids": agency_ids, "answers_days": ANSWERS_WINDOW_DAYS}


def reviewer_panel(user, *, now, today) -> dict:
    """A state reviewer's referrals (by status, by receiving agency, overdue) and the returns of their
    state's AHTUs waiting for review or missing. They read these referrals anyway: no suppression."""
    from referrals.models import Referral
    from referrals.vocab import OPEN_STATUSES, PENDING_STATUSES, Status

    scope = user_scope(user)
    states = scope.supervised_state_ids
    touching = Q(from_state_id__in=states) | Q(to_state_id__in=states)
    base = Referral.objects.visible_to(user).filter(touching)
    since = now - timedelta(days=NETWORK_WINDOW_DAYS)
    # Open referrals grouped by receiving agency: the panel's totals add up these groups (one read).
    groups = list(
        base.filter(status__in=OPEN_STATUSES).values("to_agency_id").annotate(
            pending=Count("pk", filter=Q(status__in=PENDING_STATUSES)),
            overdue=Count("pk", filter=_pending_q(now)),
            accepted=Count("pk", filter=Q(status=Status.ACCEPTED)),
        ).order_by()
    )
    live = {key: sum(g[key] for g in groups) for key in ("pending", "overdue", "accepted")}
    live["own_pending"] = sum(g["pending"] for g in groups if g["to_agency_id"] in scope.agency_ids)
    live["own_overdue"] = sum(g["overdue"] for g in groups if g["to_agency_id"] in scope.agency_ids)
    by_agency = sorted((g for g in groups if g["pending"]), key=lambda g: (-g["overdue"], -g["pending"], g["to_agency_id"]))[:8]
    # The last days' referrals of the state, through the (state, created_at) indexes.
    recent_rows = Referral.objects.visible_to(user).filter(
        Q(from_state_id__in=states, created_at__gte=since) | Q(to_state_id__in=states, created_at__gte=since)
    )
    recent = {row["status"]: row["n"] for row in recent_rows.values("status").annotate(n=Count("pk")).order_by()}
    labels = dict(Status.choices)
    by_status = [{"status": s, "label": labels[s], "count": recent.get(s, 0)} for s in Status.values if s != Status.DRAFT]
    overdue, overdue_total = first_with_total(base.overdue(now).only(*_REFERRAL_LIST_FIELDS).order_by("due_at", "pk"), 8)
    agencies = _with_agencies(overdue, extra_ids=[row["to_agency_id"] for row in by_agency])
    for row in by_agency:
        row["to_agency__name"] = agencies[row["to_agency_id"]].name

    review_states = rules.review_state_ids(user)
    to_review, to_review_total = [], 0
    if review_states:
        to_review, to_review_total = first_with_total(
            AhtuReturn.objects.filter(ahtu__state_id__in=review_states, status=ReturnStatus.SUBMITTED)
            .select_related("ahtu").order_by("month", "ahtu__name", "pk"), 8,
        )
    last = last_ended_month(today)
    ahtus = Agency.objects.filter(kind=AgencyKind.AHTU, active=True, state_id__in=states)
    filing = tracker_summary(ahtus, [last], now=now)[0]
    return {
        **live, "by_status": by_status, "by_agency": by_agency, "overdue_list": overdue, "overdue_total": overdue_total,
        "to_review": to_review, "to_review_total": to_review_total, "reviews": bool(review_states),
        "filing": filing, "state_ids": sorted(states), "window_days": NETWORK_WINDOW_DAYS,
        "state_names": sorted({m.agency.state.name for m in scope.memberships if m.agency.state_id in states}),
    }


def committee_panel(user, *, now, today) -> dict:
    """The committee's headline figures: coverage (registry), the referral network (counting gate) and
    impact (approved returns). Counts of people and referrals are suppressed by the template."""
    from referrals.models import Referral
    from referrals.vocab import PENDING_STATUSES

    ahtu_districts = Agency.objects.filter(kind=AgencyKind.AHTU, active=True, district__isnull=False).values("district_id")
    ahtu_states = Agency.objects.filter(kind=AgencyKind.AHTU, active=True).values("state_id")
    coverage = District.objects.aggregate(
        districts=Count("pk"), with_ahtu=Count("pk", filter=Q(pk__in=ahtu_districts)),
        # The registry may cover only some states yet: the same figure within the states it has AHTUs for.
        in_ahtu_states=Count("pk", filter=Q(state_id__in=ahtu_states)),
        ahtu_states=Count("state_id", filter=Q(state_id__in=ahtu_states), distinct=True),
    )
    coverage["share"] = round(100 * coverage["with_ahtu"] / coverage["districts"]) if coverage["districts"] else None
    shelters = Agency.objects.filter(kind__in=RESIDENTIAL_KINDS, active=True).aggregate(
        homes=Count("pk"), with_free=Count("pk", filter=Q(beds_available__gt=0)),
        free_beds=Coalesce(Sum("beds_available"), 0), beds=Coalesce(Sum("beds_total"), 0),
    )
    network = _network_headline(user, now=now)
    threshold = settings.SMALL_COUNT_THRESHOLD
    network["met_share"] = (
        round(100 * network["met"] / network["with_deadline"]) if network["with_deadline"] >= threshold else None
    )
    last = last_ended_month(today)
    year_start = add_months(last, -11)
    seed = [i for i in REPORT_ORDER if i.in_seed_layout]
    impact = AhtuReturn.objects.filter(status=ReturnStatus.APPROVED, month__gte=year_start, month__lte=last).aggregate(
        **{f"cur_{i.field}": Coalesce(Sum(i.field), 0) for i in seed}
    )
    filing = tracker_summary(Agency.objects.filter(kind=AgencyKind.AHTU, active=True), [last], now=now)[0]
    return {
        "coverage": coverage, "shelters": shelters, "network": network, "window_days": NETWORK_WINDOW_DAYS,
        "impact": [{"indicator": i, "value": impact[f"cur_{i.field}"]} for i in seed],
        "impact_since": year_start, "impact_until": last, "training": training_totals(TrainingEvent.objects.all()),
        "filing": filing,
    }


def network_headline_key(user, now) -> str:
    scope = user_scope(user)
    who = "all" if scope.superuser or scope.committee else f"user-{user.pk}"
    return f"dashboard-network:{who}:{now.astimezone(ZoneInfo('UTC')):%Y%m%d%H%M}"


def _network_headline(user, *, now) -> dict:
    """The referral figures of the last 90 days for everything the user may count, kept for the minute of
    `now` (the window and "overdue" move with the clock; a minute behind is fine for a headline)."""
    from referrals.models import Referral

    key = network_headline_key(user, now)
    figures = cache.get(key)
    if figures is None:
        counted = Referral.objects.for_aggregates(user)
        figures = network_window_figures(counted.filter(sent_at__gte=now - timedelta(days=NETWORK_WINDOW_DAYS)), now=now)
        figures["overdue"] = counted.overdue(now).count()
        cache.set(key, figures, HEADLINE_SECONDS)
    return figures


def network_window_figures(window, *, now) -> dict:
    """Referrals in the window, those with a legal deadline that is decided (answered, or pending past it),
    those answered in time, and the referring agencies that took part in none of them."""
    from referrals.vocab import PENDING_STATUSES

    decided = Q(due_at__isnull=False) & (Q(responded_at__isnull=False) | Q(status__in=PENDING_STATUSES, due_at__lt=now))
    figures = window.aggregate(
        referrals=Count("pk"),
        with_deadline=Count("pk", filter=decided),
        met=Count("pk", filter=Q(due_at__isnull=False, responded_at__isnull=False, responded_at__lte=F("due_at"))),
    )
    # NOT EXISTS (anti-joins) rather than NOT IN: a third of the time on half a million referrals.
    figures["silent_agencies"] = (
        Agency.objects.filter(active=True, kind__in=REFERRING_KINDS)
        .exclude(Exists(window.filter(from_agency_id=OuterRef("pk"))))
        .exclude(Exists(window.filter(to_agency_id=OuterRef("pk"))))
        .count()
    )
    return figures


def actions_panel(user, *, today) -> dict | None:
    """Open action items owned by the user's agencies (and, for committee members, all of their committee's),
    overdue first."""
    scope = user_scope(user)
    if not scope.agency_ids and not scope.superuser:
        return None
    items = ActionItem.objects.open().filter(Q(owner_id__in=scope.agency_ids) | Q(meeting__committee_id__in=scope.agency_ids))
    if scope.superuser:
        items = ActionItem.objects.open()
    rows, total = first_with_total(items.with_list_related().order_by("due_on", "pk"), 8)
    # The full list behind the panel: a committee's members follow every item of their meetings, not only
    # those their agencies own ("mine" would show them nothing).
    mine_only = not scope.superuser and not any(m.agency.kind == AgencyKind.COMMITTEE for m in scope.memberships)
    return {"items": rows, "total": total, "today": today, "mine_only": mine_only} if total else None


def dashboard(user, *, now=None) -> Dashboard:
    """Everything the home page shows this user, by role; each panel a few aggregate queries."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    scope = user_scope(user)
    board = Dashboard()
    committee_ids = {m.agency_id for m in scope.memberships if m.agency.kind == AgencyKind.COMMITTEE}
    state_ids = {m.agency_id for m in scope.memberships if m.agency.kind in (AgencyKind.STATE_DEPARTMENT, AgencyKind.STATE_AHT_BUREAU)}
    inbox_agencies = frozenset(scope.agency_ids - committee_ids - state_ids)
    if scope.is_supervisor:
        board.reviewer = reviewer_panel(user, now=now, today=today)
        board.panels.append("reviewer")
    if inbox_agencies:
        board.inbox = inbox_panel(user, inbox_agencies, now=now)
        board.panels.append("inbox")
    if rules.member_ahtus(user):
        board.returns_todo = returns_to_file(user, today=today)
        board.panels.append("returns")
    if scope.committee or scope.superuser:
        board.committee = committee_panel(user, now=now, today=today)
        board.panels.append("committee")
    board.actions = actions_panel(user, today=today)
    return board


# Trainings ------------------------------------------------------------------------------------


def _participant_sums() -> dict:
    # Aliases differ from the field names: the gain expressions below must read the columns, not these sums.
    return {f"sum_{field}": Coalesce(Sum(field), 0) for field in PARTICIPANT_FIELDS}


_TOTAL = sum((F(field) for field in PARTICIPANT_FIELDS[1:]), F(PARTICIPANT_FIELDS[0]))
_SCORED = Q(pre_test_mean__isnull=False, post_test_mean__isnull=False)


def _gain_aggregates() -> dict:
    # The mean gain is weighted by participants: a 300-person course counts more than a 10-person one.
    return {
        "gain_weighted": Sum(
            ExpressionWrapper((F("post_test_mean") - F("pre_test_mean")) * _TOTAL, output_field=FloatField()), filter=_SCORED
        ),
        "scored_participants": Coalesce(Sum(ExpressionWrapper(_TOTAL, output_field=FloatField()), filter=_SCORED), 0.0),
        "pre_weighted": Sum(ExpressionWrapper(F("pre_test_mean") * _TOTAL, output_field=FloatField()), filter=_SCORED),
        "post_weighted": Sum(ExpressionWrapper(F("post_test_mean") * _TOTAL, output_field=FloatField()), filter=_SCORED),
    }


def _finish(row: dict) -> dict:
    for field in PARTICIPANT_FIELDS:
        row[field] = row.pop(f"sum_{field}")
    row["participants"] = sum(row[field] for field in PARTICIPANT_FIELDS)
    row["police_and_prosecutors"] = row["participants_police"] + row["participants_prosecutors"]
    weight = row.pop("scored_participants", 0) or 0
    gain, pre, post = row.pop("gain_weighted", None), row.pop("pre_weighted", None), row.pop("post_weighted", None)
    row["mean_gain"] = round(gain / weight, 1) if weight and gain is not None else None
    row["mean_pre"] = round(pre / weight, 1) if weight and pre is not None else None
    row["mean_post"] = round(post / weight, 1) if weight and post is not None else None
    row["groups"] = [(label, row[f"participants_{group}"]) for group, label in PARTICIPANT_GROUPS]
    return row


def training_totals(queryset) -> dict:
    """Events, participants by group, master trainers, and the participant-weighted mean score gain."""
    row = queryset.aggregate(events=Count("pk"), master_trainers=Coalesce(Sum("master_trainers"), 0), **_participant_sums(), **_gain_aggregates())
    return _finish(row)


def training_summary(queryset) -> dict:
    """Totals, and the same by year and by state (three aggregate queries)."""
    by_year = [
        _finish(row) for row in queryset.annotate(year=ExtractYear("starts_on")).values("year")
        .annotate(events=Count("pk"), master_trainers=Coalesce(Sum("master_trainers"), 0), **_participant_sums(), **_gain_aggregates())
        .order_by("year")
    ]
    by_state = [
        _finish(row) for row in queryset.values("state_id", "state__name")
        .annotate(events=Count("pk"), master_trainers=Coalesce(Sum("master_trainers"), 0), **_participant_sums(), **_gain_aggregates())
        .order_by("state__name")
    ]
    return {"totals": training_totals(queryset), "by_year": by_year, "by_state": by_state, "groups": PARTICIPANT_GROUPS}


def impact_document(table: ImpactTable, *, suppressed: bool) -> dict:
    """The impact table as plain data (for `impact_report --format json`): keys named like the return's columns."""
    from coordination.suppression import suppress

    def figures(row):
        return {i.field: suppress(row[i.field]) if suppressed else row[i.field] for i in REPORT_ORDER}

    return {
        "since": month_key(table.filter.since) if table.filter.since else None,
        "until": month_key(table.filter.until) if table.filter.until else None,
        # The states asked for (even those with no approved return), else every state that reported.
        "states": (list(State.objects.filter(pk__in=table.filter.state_ids).order_by("name").values_list("name", flat=True))
                   if table.filter.state_ids else [row["state"] for row in table.by_state]),
        "approved_returns": table.returns,
        "ahtus": table.ahtus,
        "suppressed_below": settings.SMALL_COUNT_THRESHOLD if suppressed else None,
        "totals": figures(table.totals),
        "by_month": [{"month": month_key(row["month"]), **figures(row)} for row in table.by_month],
        "by_state": [{"state": row["state"], "ahtus": row["ahtus"], **figures(row)} for row in table.by_state],
        "by_ahtu": [
            {"ahtu_code": row["code"], "ahtu_name": row["name"], "state": row["state"], "months": row["months"], **figures(row)}
            for row in table.by_ahtu
        ],
    }
