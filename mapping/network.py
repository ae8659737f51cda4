"""Referral-network analysis over plain rows: metrics, findings, matrices, "what if" and window comparison.

Nothing here touches the database: `mapping.network_selectors` hands over agency rows and per-pair
aggregates (`NetworkInput`), and `analyse()` returns a `NetworkResult` of plain dataclasses that pages,
exports, the cache and `analyse_network` share. Every result is deterministic: nodes and edges are added
in a fixed order, betweenness sampling and Louvain use a fixed seed.

Structure is read on the undirected tie graph (who works with whom: components, articulation points,
bridges, k-cores, communities); flows and reachability on the directed graph (who refers to whom).
"""

from __future__ import annotations

import gc
import heapq
import math
from contextlib import contextmanager
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field, replace
from datetime import date, datetime

import networkx as nx
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.utils.translation import gettext_lazy as _lazy

from mapping.pathways import (
    CRITICAL_KINDS,
    EXPECTED_KIND_PAIRS,
    PATHWAYS,
    PATHWAYS_BY_SLUG,
    REFERRAL_KINDS,
    TWO_WAY_KINDS,
    Check,
    checked_pathways,
)

FINDING_TYPES = (
    "stuck_referral",
    "minor_cwc_delay",
    "missing_pathway",
    "articulation_point",
    "bridge",
    "outside_main_component",
    "isolated",
    "separated_communities",
    "slow_link",
    "high_decline",
    "silent_agency",
    "one_way",
    "broker",
)
SEVERITIES = ("high", "medium", "low")
_SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_TYPE_RANK = {t: i for i, t in enumerate(FINDING_TYPES)}
# Findings whose metric is a number of referrals or cases (suppressed like every other count).
COUNT_METRIC_TYPES = frozenset({"one_way", "stuck_referral", "silent_agency", "separated_communities"})
# Facts holding numbers of referrals or cases; rates beside them are hidden when they are suppressed.
COUNT_FACTS = frozenset({"referrals", "sent", "received", "overdue", "previous", "rescues", "cases", "late", "total", "answered",
                         "declined", "due"})
RATE_FACTS = frozenset({"share", "rate", "median_hours", "deadline_share"})
# Distances for weighted shortest paths are integers (networkx warns that float weights may be wrong):
# a busy tie is a short one.
_DISTANCE_SCALE = 1000
MAX_LISTED_AGENCIES = 100


@dataclass(frozen=True)
class Options:
    """Thresholds of the analysis; the defaults are the documented ones (README, "Network analysis")."""

    exact_betweenness_max: int = 1000  # active agencies up to which betweenness is exact
    betweenness_samples: int = 64  # pivots above that size (fixed seed)
    seed: int = 1
    min_rate_referrals: int = 5  # answered referrals before a tie's decline rate is judged
    min_response_referrals: int = 3  # answered referrals before a tie's speed is judged
    slow_hours: float = 72.0
    slow_deadline_share: float = 0.5
    high_decline_rate: float = 0.5
    one_way_min: int = 3
    broker_max: int = 10
    weakened_ratio: float = 0.5


@dataclass(frozen=True)
class Window:
    since: date | None = None
    until: date | None = None

    def as_dict(self) -> dict:
        return {"since": self.since.isoformat() if self.since else None, "until": self.until.isoformat() if self.until else None}


@dataclass(frozen=True)
class AgencyRow:
    """One agency of the registry; `focus` is False for agencies outside the filtered area that have a tie into it."""

    id: int
    code: str
    name: str
    kind: str
    state_id: int | None = None
    state: str = ""
    district_id: int | None = None
    district: str = ""
    latitude: float | None = None
    longitude: float | None = None
    active: bool = True
    focus: bool = True


@dataclass(slots=True)
class TieRow:
    """Aggregates of the referrals one agency sent another in the window."""

    source: int
    target: int
    referrals: int
    accepted: int = 0  # accepted, including those since completed
    declined: int = 0
    completed: int = 0
    pending: int = 0
    overdue: int = 0  # pending past their due time
    answered: int = 0  # accepted or declined
    deadline_due: int = 0  # with a legal deadline that has passed or been answered
    deadline_met: int = 0  # answered by the deadline
    median_response_hours: float | None = None
    oldest_overdue_due: datetime | None = None
    top_decline_reason: str = ""


@dataclass(frozen=True)
class DistrictDelayRow:
    """Minors referred to a CWC from one district (by rescue district) whose 24-hour deadline is decided."""

    district_id: int | None
    district: str
    state: str
    total: int
    late: int


@dataclass(frozen=True)
class CaseFlowRow:
    """Cases rescued in the window, by district of origin and district of rescue."""

    origin_district_id: int | None
    origin_state_id: int | None
    origin_state: str
    rescue_district_id: int | None
    rescue_district: str
    rescue_state_id: int | None
    rescue_state: str
    cases: int


@dataclass
class NetworkInput:
    agencies: list[AgencyRow]
    ties: list[TieRow]
    window: Window = Window()
    previous_window: Window | None = None
    previous_senders: dict[int, int] | None = None  # agency id -> referrals sent in the previous window
    minor_cwc: list[DistrictDelayRow] = field(default_factory=list)
    case_flows: list[CaseFlowRow] = field(default_factory=list)
    now: datetime | None = None


@dataclass(slots=True)
class Finding:
    type: str
    severity: str
    agencies: tuple[str, ...]
    metric: float | int | str | None
    facts: dict
    key: str

    def as_json(self, *, detail: str) -> dict:
        return {"type": self.type, "severity": self.severity, "agencies": list(self.agencies), "detail": detail, "metric": self.metric}


@dataclass(slots=True)
class AgencyMetrics:
    id: int
    code: str
    name: str
    kind: str
    state: str
    district: str
    state_id: int | None
    district_id: int | None
    latitude: float | None
    longitude: float | None
    focus: bool
    in_degree: int = 0
    out_degree: int = 0
    in_volume: int | str = 0
    out_volume: int | str = 0
    betweenness: float = 0.0
    community: int | None = None
    core: int = 0
    articulation: bool = False

    def as_json(self) -> dict:
        return {
            "code": self.code, "name": self.name, "kind": self.kind, "state": self.state, "district": self.district,
            "in_degree": self.in_degree, "out_degree": self.out_degree, "in_volume": self.in_volume,
            "out_volume": self.out_volume, "betweenness": self.betweenness, "community": self.community,
            "core": self.core, "articulation": self.articulation,
        }


@dataclass(slots=True)
class Tie:
    """A directed tie between two agencies (by code) with its referral aggregates and rates."""

    source: str
    target: str
    referrals: int | str
    accepted: int | str
    declined: int | str
    completed: int | str
    pending: int | str
    overdue: int | str
    acceptance_rate: float | None
    decline_rate: float | None
    deadline_share: float | None
    median_response_hours: float | None
    top_decline_reason: str = ""
    suppressed: bool = False


@dataclass
class Flow:
    source: str  # a kind or a state name
    target: str
    referrals: int | str
    accepted: int | str
    declined: int | str
    accepted_rate: float | None
    expected: bool = False

    def as_json(self) -> dict:
        return {"from_kind": self.source, "to_kind": self.target, "referrals": self.referrals, "accepted_rate": self.accepted_rate}


class NetworkResult:
    """The analysis of one network: summary, findings, per-agency metrics, ties, kind and state matrices.

    It is cached as a whole, and a national network has tens of thousands of ties: pickled, its long lists
    are plain tuples (an order of magnitude faster to load than objects), rebuilt into objects only when a
    page first reads them. `redact()` returns a view of the same lists with small counts suppressed, also
    applied on first read, so a page showing fifty agencies does not pay for seventy thousand ties.
    """

    _LISTS = ("findings", "agencies", "ties")

    def __init__(self, *, window: Window, summary: dict, findings: list, agencies: list, ties: list, flows: list,
                 state_flows: list, betweenness_mode: str, communities: int = 0, suppressed: bool = False):
        self.window = window
        self.summary = summary
        self.flows = flows
        self.state_flows = state_flows
        self.betweenness_mode = betweenness_mode  # "exact" or "sampled (k=…)"
        self.communities = communities
        self.suppressed = suppressed
        self.threshold: int | None = None  # set on redacted views
        self._base = {"findings": findings, "agencies": agencies, "ties": ties}
        self._rows: dict[str, list[tuple] | None] = {}
        self._view: dict[str, list] = {}
        self._by_code = None
        self._ties_detached = False
        self._tie_columns = None
        self.ties_loader = None  # when the ties are stored apart: a callable returning their columns

    def _items(self, name: str) -> list:
        if name not in self._view:
            items = self._base.get(name)
            if items is None:
                kind = _LIST_CLASSES[name]
                rows = self.tie_rows() if name == "ties" else self._rows[name]
                items = self._base[name] = [kind(*row) for row in rows]
            if self.threshold is not None:
                redactor, threshold = _REDACTORS[name], self.threshold
                items = [redactor(item, threshold) for item in items]
            self._view[name] = items
        return self._view[name]

    @property
    def findings(self) -> list[Finding]:
        return self._items("findings")

    @property
    def agencies(self) -> list[AgencyMetrics]:
        return self._items("agencies")

    @property
    def ties(self) -> list[Tie]:
        return self._items("ties")

    def rows(self, name: str) -> list[tuple]:
        """One of the long lists as plain tuples (how it is pickled)."""
        items = self._base.get(name)
        return self._rows[name] if items is None else [_as_row(item) for item in items]

    def tie_rows(self) -> list[tuple]:
        """Every tie as a plain tuple (source code first, target code second), counts unredacted."""
        if self._base.get("ties") is not None:
            return self.rows("ties")
        if self._rows.get("ties") is None:
            self._rows["ties"] = list(zip(*self.tie_columns()))
        return self._rows["ties"]

    def tie_columns(self) -> tuple[tuple, ...]:
        """The ties column by column (sources, targets, referrals…): how they are cached, the fastest form
        to load and to walk the graph with; rows are made only for the ties a page shows."""
        if self._tie_columns is None:
            if self._base.get("ties") is not None or self._rows.get("ties") is not None:
                self._tie_columns = _columns(self.tie_rows())
            else:
                self._tie_columns = self.ties_loader()
        return self._tie_columns

    def tie_rows_at(self, indices) -> list[tuple]:
        columns = self.tie_columns()
        return [tuple(column[i] for column in columns) for i in indices]

    def make_ties(self, rows) -> list[Tie]:
        """Tie objects for some rows, redacted like the rest of this view."""
        ties = [Tie(*row) for row in rows]
        if self.threshold is not None:
            ties = [redact_tie(t, self.threshold) for t in ties]
        return ties

    def detach_ties(self) -> tuple[tuple, ...]:
        """The ties as columns, and from now on pickled without them: a page that needs no tie (the report)
        does not load the biggest list from the cache; the others get it through `ties_loader`."""
        columns = self.tie_columns()
        self._ties_detached = True
        return columns

    def __getstate__(self):
        rows = {name: None if (name == "ties" and self._ties_detached) else self.rows(name) for name in self._LISTS}
        keep = ("window", "summary", "flows", "state_flows", "betweenness_mode", "communities", "suppressed", "threshold")
        return {**{k: self.__dict__[k] for k in keep}, "rows": rows}

    def __setstate__(self, state):
        rows = state.pop("rows")
        self.__dict__.update(state)
        self._base, self._rows, self._view, self._by_code = {}, rows, {}, None
        self._ties_detached, self.ties_loader, self._tie_columns = rows.get("ties") is None, None, None

    def redacted(self, threshold: int, *, summary: dict, flows: list, state_flows: list) -> NetworkResult:
        view = NetworkResult.__new__(NetworkResult)
        view.__dict__.update(self.__dict__)
        view.summary, view.flows, view.state_flows = summary, flows, state_flows
        view.suppressed, view.threshold = True, threshold
        view._view, view._by_code = {}, None
        return view

    def agency(self, code: str) -> AgencyMetrics | None:
        if self._by_code is None:
            self._by_code = {a.code: a for a in self.agencies}
        return self._by_code.get(code)

    def as_json(self) -> dict:
        """The shape of `analyse_network --format json` (and the page's JSON export)."""
        return {
            "window": self.window.as_dict(),
            "summary": dict(self.summary),
            "findings": [f.as_json(detail=detail_text(f)) for f in self.findings],
            "agencies": [a.as_json() for a in self.agencies],
            "flows": [f.as_json() for f in self.flows],
        }


def _as_row(item) -> tuple:
    return tuple(getattr(item, name) for name in item.__slots__)


def _columns(rows: list[tuple]) -> tuple[tuple, ...]:
    return tuple(zip(*rows)) if rows else tuple(() for _ in Tie.__slots__)


# ---------------------------------------------------------------------------------------------------------
# The analysis


@contextmanager
def paused_gc():
    """Pause Python's cyclic garbage collector around allocation-heavy work (building graphs of tens of
    thousands of edges, loading them from the cache): its passes over a large heap took a third of a national
    analysis (measured: 10.3 s with, 6.9 s without). Reference counting still frees everything acyclic;
    cycles are collected when the collector resumes."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def analyse(data: NetworkInput, options: Options = Options()) -> NetworkResult:
    """Every metric and finding of one network. Deterministic for the same input."""
    with paused_gc():
        return _analyse(data, options)


def _analyse(data: NetworkInput, options: Options) -> NetworkResult:
    agencies = sorted(data.agencies, key=lambda a: a.id)
    by_id = {a.id: a for a in agencies}
    ties = sorted((t for t in data.ties if t.source in by_id and t.target in by_id and t.source != t.target),
                  key=lambda t: (t.source, t.target))

    # The directed graph holds the active agencies only (isolated ones have no edge to walk); integer
    # distances make busy ties short for betweenness.
    active = sorted({t.source for t in ties} | {t.target for t in ties})
    graph = nx.DiGraph()
    graph.add_nodes_from(active)
    graph.add_weighted_edges_from(
        ((t.source, t.target, max(1, math.ceil(_DISTANCE_SCALE / max(t.referrals, 1)))) for t in ties), weight="distance"
    )

    undirected = _undirected(active, ties)
    structure = _cut_structure(undirected)
    components = sorted(
        (sorted(c) for c in nx.connected_components(undirected)), key=lambda c: (-len(c), c[0])
    )
    main_component = set(components[0]) if components else set()

    betweenness, mode = _betweenness(graph, options)
    community_of, community_count = _communities(undirected, options)
    cores = nx.core_number(undirected) if undirected.number_of_nodes() else {}

    in_volume, out_volume = Counter(), Counter()
    for tie in ties:
        out_volume[tie.source] += tie.referrals
        in_volume[tie.target] += tie.referrals

    metrics = []
    for a in agencies:
        metrics.append(AgencyMetrics(
            id=a.id, code=a.code, name=a.name, kind=a.kind, state=a.state, district=a.district,
            state_id=a.state_id, district_id=a.district_id, latitude=a.latitude, longitude=a.longitude, focus=a.focus,
            in_degree=graph.in_degree(a.id) if a.id in graph else 0,
            out_degree=graph.out_degree(a.id) if a.id in graph else 0,
            in_volume=in_volume[a.id], out_volume=out_volume[a.id],
            betweenness=round(betweenness.get(a.id, 0.0), 6), community=community_of.get(a.id),
            core=cores.get(a.id, 0), articulation=a.id in structure.articulation,
        ))

    codes = {a.id: a.code for a in agencies}
    tie_rows = [_tie_row(t, codes) for t in ties]
    referrals_total = sum(t.referrals for t in ties)
    n = len(agencies)
    reciprocated = sum(1 for t in ties if graph.has_edge(t.target, t.source))
    summary = {
        "agencies": n,
        "active_agencies": len(active),
        "ties": len(ties),
        "referrals": referrals_total,
        "density": round(len(ties) / (n * (n - 1)), 6) if n > 1 else 0.0,
        "reciprocity": round(reciprocated / len(ties), 4) if ties else 0.0,
        "components": len(components),
    }

    context = _Context(
        data=data, options=options, agencies=agencies, by_id=by_id, ties=ties, graph=graph,
        undirected=undirected, structure=structure, components=components, main_component=main_component,
        betweenness=betweenness, community_of=community_of, in_volume=in_volume, out_volume=out_volume,
    )
    findings = []
    for finder in _FINDERS:
        findings.extend(finder(context))
    findings.sort(key=_finding_order)

    result = NetworkResult(
        window=data.window, summary=summary, findings=findings, agencies=metrics, ties=None,
        flows=_flows(ties, by_id, key=lambda a: a.kind, expected=EXPECTED_KIND_PAIRS),
        state_flows=_flows(ties, by_id, key=lambda a: a.state or "—"),
        betweenness_mode=mode, communities=community_count,
    )
    result._rows["ties"] = tie_rows
    return result


@dataclass
class _Structure:
    articulation: dict[int, list[list[int]]]  # node -> pieces it cuts off (all but the largest piece)
    bridges: list[tuple[int, int, list[int]]]  # (u, v, the smaller side's nodes)


@dataclass
class _Context:
    data: NetworkInput
    options: Options
    agencies: list[AgencyRow]
    by_id: dict[int, AgencyRow]
    ties: list[TieRow]
    graph: nx.DiGraph
    undirected: nx.Graph
    structure: _Structure
    components: list[list[int]]
    main_component: set[int]
    betweenness: dict[int, float]
    community_of: dict[int, int]
    in_volume: Counter
    out_volume: Counter

    def codes(self, ids) -> tuple[str, ...]:
        return tuple(sorted(self.by_id[i].code for i in ids))

    def name_of(self, code: str) -> str:
        if not hasattr(self, "_names"):
            self._names = {a.code: a.name for a in self.agencies}
        return self._names[code]


def _undirected(active: list[int], ties: list[TieRow]) -> nx.Graph:
    """Who works with whom: one edge per pair of agencies, weighted by referrals both ways."""
    weights: Counter = Counter()
    for tie in ties:
        weights[(tie.source, tie.target) if tie.source < tie.target else (tie.target, tie.source)] += tie.referrals
    graph = nx.Graph()
    graph.add_nodes_from(active)
    graph.add_weighted_edges_from((u, v, w) for (u, v), w in sorted(weights.items()))
    return graph


def _betweenness(graph: nx.DiGraph, options: Options) -> tuple[dict[int, float], str]:
    n = graph.number_of_nodes()
    if n < 3:
        return {}, "exact"
    if n <= options.exact_betweenness_max:
        return nx.betweenness_centrality(graph, weight="distance", normalized=True), "exact"
    k = min(options.betweenness_samples, n)
    return nx.betweenness_centrality(graph, k=k, seed=options.seed, weight="distance", normalized=True), f"sampled (k={k})"


def _communities(graph: nx.Graph, options: Options) -> tuple[dict[int, int], int]:
    """Louvain (fixed seed) numbered by size, then by lowest agency id, so numbers are stable."""
    if graph.number_of_edges() == 0:
        return {}, 0
    # A level must gain at least 0.001 modularity to be kept: finer gains change no community worth
    # reporting and cost as much again at national scale (36 communities either way in bench_network).
    found = nx.community.louvain_communities(graph, weight="weight", seed=options.seed, threshold=1e-3)
    ordered = sorted((sorted(c) for c in found), key=lambda c: (-len(c), c[0]))
    return {node: number for number, members in enumerate(ordered, start=1) for node in members}, len(ordered)


def _cut_structure(graph: nx.Graph) -> _Structure:
    """Articulation points with the agencies each cuts off, and bridges with their smaller side, in one
    linear pass (Tarjan's low-link DFS, iterative). Subtrees are contiguous runs of the DFS preorder,
    so the pieces a removal leaves are slices of it."""
    adjacency = {node: sorted(graph.adj[node]) for node in graph}
    disc: dict[int, int] = {}
    low: dict[int, int] = {}
    size: dict[int, int] = {}
    parent: dict[int, int | None] = {}
    order: list[int] = []
    separated: dict[int, list[int]] = defaultdict(list)  # node -> DFS children whose subtree it separates
    bridges: list[tuple[int, int]] = []
    component_of_root: dict[int, tuple[int, int]] = {}
    root_of: dict[int, int] = {}

    for root in sorted(adjacency):
        if root in disc:
            continue
        start = len(order)
        disc[root] = low[root] = len(order)
        order.append(root)
        size[root] = 1
        parent[root] = None
        stack = [(root, iter(adjacency[root]))]
        while stack:
            node, neighbours = stack[-1]
            descended = False
            for other in neighbours:
                if other not in disc:
                    parent[other] = node
                    disc[other] = low[other] = len(order)
                    order.append(other)
                    size[other] = 1
                    stack.append((other, iter(adjacency[other])))
                    descended = True
                    break
                if other != parent[node]:
                    low[node] = min(low[node], disc[other])
            if descended:
                continue
            stack.pop()
            if not stack:
                continue
            up = stack[-1][0]
            low[up] = min(low[up], low[node])
            size[up] += size[node]
            if low[node] > disc[up]:
                bridges.append((up, node))
            if parent[up] is None or low[node] >= disc[up]:
                separated[up].append(node)
        component_of_root[root] = (start, len(order))
        for node in order[start:]:
            root_of[node] = root

    def subtree(node):
        return order[disc[node]: disc[node] + size[node]]

    def outside(start, end, holes):
        """The preorder run [start, end) minus some sub-runs: work proportional to what is returned."""
        kept, cursor = [], start
        for hole_start, hole_end in sorted(holes):
            kept.extend(order[cursor:hole_start])
            cursor = max(cursor, hole_end)
        kept.extend(order[cursor:end])
        return kept

    # Each removal leaves pieces; the largest stays "the network", the others are cut off. Pieces are only
    # listed when cut off, so a big network with many articulation points stays linear in practice.
    articulation: dict[int, list[list[int]]] = {}
    for node, children in separated.items():
        is_root = parent[node] is None
        if is_root and len(children) < 2:
            continue
        start, end = component_of_root[root_of[node]]
        sizes = [size[child] for child in children]
        if not is_root:
            sizes.insert(0, (end - start) - 1 - sum(sizes))  # the side towards the DFS root, which wins ties
        main = max(range(len(sizes)), key=lambda i: (sizes[i], -i))
        pieces = []
        for index, piece_size in enumerate(sizes):
            if index == main or piece_size == 0:
                continue
            if not is_root and index == 0:
                holes = [(disc[node], disc[node] + 1)] + [(disc[c], disc[c] + size[c]) for c in children]
                pieces.append(outside(start, end, holes))
            else:
                pieces.append(subtree(children[index - (0 if is_root else 1)]))
        articulation[node] = pieces

    bridge_rows = []
    for up, node in bridges:
        start, end = component_of_root[root_of[node]]
        if size[node] * 2 <= end - start:
            smaller = subtree(node)
        else:
            smaller = outside(start, end, [(disc[node], disc[node] + size[node])])
        bridge_rows.append((min(up, node), max(up, node), smaller))
    bridge_rows.sort(key=lambda row: (row[0], row[1]))
    return _Structure(articulation=articulation, bridges=bridge_rows)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _tie_row(tie: TieRow, codes: dict[int, str]) -> tuple:
    """A tie as a tuple in `Tie`'s field order: tens of thousands are built per analysis, and objects are
    only made for the ties a page reads."""
    answered = tie.accepted + tie.declined
    return (
        codes[tie.source], codes[tie.target], tie.referrals, tie.accepted, tie.declined, tie.completed, tie.pending,
        tie.overdue, round(tie.accepted / answered, 4) if answered else None,
        round(tie.declined / answered, 4) if answered else None,
        round(tie.deadline_met / tie.deadline_due, 4) if tie.deadline_due else None,
        None if tie.median_response_hours is None else round(tie.median_response_hours, 2),
        tie.top_decline_reason, False,
    )


def _flows(ties, by_id, *, key, expected=frozenset()) -> list[Flow]:
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for tie in ties:
        cell = totals[(key(by_id[tie.source]), key(by_id[tie.target]))]
        cell[0] += tie.referrals
        cell[1] += tie.accepted
        cell[2] += tie.declined
    flows = [
        Flow(source=s, target=t, referrals=r, accepted=a, declined=d, accepted_rate=_rate(a, a + d), expected=(s, t) in expected)
        for (s, t), (r, a, d) in totals.items()
    ]
    return sorted(flows, key=lambda f: (-f.referrals, f.source, f.target))


def _finding_order(finding: Finding):
    metric = finding.metric if isinstance(finding.metric, (int, float)) else 0
    return (_SEVERITY_RANK[finding.severity], _TYPE_RANK[finding.type], -metric, finding.key)


def _listed(codes) -> tuple[str, ...]:
    return tuple(codes)[:MAX_LISTED_AGENCIES]


# ---------------------------------------------------------------------------------------------------------
# Findings: one function per type, each returning a list of Finding.


def _isolated(ctx: _Context) -> list[Finding]:
    groups: dict[tuple, list[AgencyRow]] = defaultdict(list)
    for a in ctx.agencies:
        if a.focus and a.active and a.kind in REFERRAL_KINDS and a.id not in ctx.graph:
            groups[(a.state, a.district, a.kind)].append(a)
    findings = []
    for (state, district, kind), members in sorted(groups.items()):
        severity = "high" if kind in CRITICAL_KINDS else ("low" if not district else "medium")
        codes = tuple(sorted(a.code for a in members))
        findings.append(Finding(
            "isolated", severity, _listed(codes), len(members),
            {"kind": kind, "state": state, "district": district, "count": len(members), "names": [a.name for a in sorted(members, key=lambda a: a.code)][:5]},
            f"isolated:{state}:{district}:{kind}",
        ))
    return findings


def _one_way(ctx: _Context) -> list[Finding]:
    findings = []
    for a in ctx.agencies:
        if not a.focus or a.kind not in TWO_WAY_KINDS:
            continue
        sent, received = ctx.out_volume[a.id], ctx.in_volume[a.id]
        if sent and not received and sent >= ctx.options.one_way_min:
            direction, volume = "sends", sent
        elif received and not sent and received >= ctx.options.one_way_min:
            direction, volume = "receives", received
        else:
            continue
        severity = "medium" if a.kind in CRITICAL_KINDS else "low"
        findings.append(Finding("one_way", severity, (a.code,), volume,
                                {"name": a.name, "kind": a.kind, "direction": direction, "referrals": volume}, f"one_way:{a.code}"))
    return findings


def _brokers(ctx: _Context) -> list[Finding]:
    ranked = sorted(((b, i) for i, b in ctx.betweenness.items() if b > 0), key=lambda x: (-x[0], ctx.by_id[x[1]].code))
    active = ctx.undirected.number_of_nodes()
    if active < 4:
        return []
    limit = min(ctx.options.broker_max, max(1, active // 50))
    # Normalised directed betweenness is a share of the ordered pairs of other agencies: as a number of pairs
    # it reads plainly even when the share is a fraction of a percent in a large network.
    n = ctx.graph.number_of_nodes()
    findings = []
    for value, node in ranked[:limit]:
        a = ctx.by_id[node]
        severity = "high" if value >= 0.25 else ("medium" if value >= 0.1 else "low")
        partners = sorted(set(ctx.graph.predecessors(node)) | set(ctx.graph.successors(node)))
        findings.append(Finding(
            "broker", severity, (a.code,), round(value, 4),
            {"name": a.name, "kind": a.kind, "share": round(value, 4), "partners": len(partners),
             "pairs": max(1, round(value * (n - 1) * (n - 2)))}, f"broker:{a.code}",
        ))
    return findings


def _articulation(ctx: _Context) -> list[Finding]:
    findings = []
    for node, pieces in ctx.structure.articulation.items():
        a = ctx.by_id[node]
        count = sum(len(piece) for piece in pieces)
        first = heapq.nsmallest(MAX_LISTED_AGENCIES, (ctx.by_id[n].code for piece in pieces for n in piece))
        severity = "high" if count >= 5 else ("medium" if count >= 2 else "low")
        findings.append(Finding(
            "articulation_point", severity, (a.code,) + tuple(first), count,
            {"name": a.name, "kind": a.kind, "count": count, "pieces": len(pieces),
             "cut_names": [ctx.name_of(c) for c in first[:5]]},
            f"articulation_point:{a.code}",
        ))
    return findings


def _bridges(ctx: _Context) -> list[Finding]:
    findings = []
    for u, v, smaller in ctx.structure.bridges:
        if len(smaller) < 2:
            continue  # a tie to a single agency: reported as that partner's articulation point
        a, b = ctx.by_id[u], ctx.by_id[v]
        if a.code > b.code:
            a, b = b, a
        count = len(smaller)
        severity = "high" if count >= 5 else "medium"
        findings.append(Finding(
            "bridge", severity, (a.code, b.code) + _listed(c for c in ctx.codes(smaller) if c not in (a.code, b.code)), count,
            {"a": a.name, "b": b.name, "count": count}, f"bridge:{a.code}:{b.code}",
        ))
    return findings


def _outside_main(ctx: _Context) -> list[Finding]:
    findings = []
    for members in ctx.components[1:]:
        codes = ctx.codes(members)
        kinds = Counter(ctx.by_id[n].kind for n in members)
        severity = "high" if any(k in CRITICAL_KINDS for k in kinds) and len(members) >= 3 else "medium"
        districts = sorted({ctx.by_id[n].district for n in members if ctx.by_id[n].district})
        findings.append(Finding(
            "outside_main_component", severity, _listed(codes), len(members),
            {"count": len(members), "main": len(ctx.main_component), "districts": districts[:5],
             "names": [ctx.by_id[n].name for n in sorted(members, key=lambda n: ctx.by_id[n].code)][:5]},
            "outside_main_component:" + ",".join(codes[:5]),
        ))
    return findings


def _missing_pathways(ctx: _Context) -> list[Finding]:
    findings = []
    focus = [a for a in ctx.agencies if a.focus and a.active]
    edges = ctx.graph
    for pathway in checked_pathways(Check.DISTRICT) + checked_pathways(Check.STATE):
        by_place: dict[tuple, tuple[list, list]] = defaultdict(lambda: ([], []))
        for a in focus:
            place = (a.state, a.district) if pathway.check == Check.DISTRICT else (a.state, "")
            if pathway.check == Check.DISTRICT and not a.district_id:
                continue
            if pathway.check == Check.STATE and not a.state_id:
                continue
            if a.kind in pathway.from_kinds:
                by_place[place][0].append(a)
            if a.kind in pathway.to_kinds:
                by_place[place][1].append(a)
        for (state, district), (senders, receivers) in sorted(by_place.items()):
            if not senders or not receivers:
                continue
            receiver_ids = {r.id for r in receivers}
            if any(edges.has_edge(s.id, r) for s in senders for r in receiver_ids if s.id != r):
                continue
            codes = tuple(sorted({a.code for a in senders + receivers}))
            findings.append(Finding(
                "missing_pathway", pathway.severity, _listed(codes), 0,
                {"pathway": pathway.slug, "state": state, "district": district,
                 "senders": [a.name for a in sorted(senders, key=lambda a: a.code)][:3],
                 "receivers": [a.name for a in sorted(receivers, key=lambda a: a.code)][:3]},
                f"missing_pathway:{pathway.slug}:{state}:{district}",
            ))
    findings.extend(_missing_after_rescues(ctx, focus))
    findings.extend(_missing_from_agencies(ctx, focus))
    return findings


def _missing_after_rescues(ctx: _Context, focus: list[AgencyRow]) -> list[Finding]:
    rescues: Counter = Counter()
    names: dict[int, tuple[str, str]] = {}
    for row in ctx.data.case_flows:
        if row.rescue_district_id is not None:
            rescues[row.rescue_district_id] += row.cases
            names[row.rescue_district_id] = (row.rescue_state, row.rescue_district)
    findings = []
    for pathway in checked_pathways(Check.RESCUES):
        by_district: dict[int, list[AgencyRow]] = defaultdict(list)
        receivers_by_district: dict[int, list[AgencyRow]] = defaultdict(list)
        for a in focus:
            if a.district_id is None:
                continue
            by_district[a.district_id].append(a)
            if a.kind in pathway.to_kinds:
                receivers_by_district[a.district_id].append(a)
        for district_id in sorted(rescues, key=lambda d: names[d]):
            receivers = receivers_by_district.get(district_id)
            if not receivers:
                continue
            members = by_district[district_id]
            if any(
                ctx.by_id[t].kind in pathway.to_kinds
                for a in members if a.id in ctx.graph
                for t in ctx.graph.successors(a.id)
            ):
                continue
            state, district = names[district_id]
            findings.append(Finding(
                "missing_pathway", pathway.severity, _listed(sorted(a.code for a in receivers)), 0,
                {"pathway": pathway.slug, "state": state, "district": district, "rescues": rescues[district_id],
                 "receivers": [a.name for a in sorted(receivers, key=lambda a: a.code)][:3]},
                f"missing_pathway:{pathway.slug}:{state}:{district}",
            ))
    return findings


def _missing_from_agencies(ctx: _Context, focus: list[AgencyRow]) -> list[Finding]:
    findings = []
    for pathway in checked_pathways(Check.AGENCY):
        states_with_receiver = {a.state_id for a in ctx.agencies if a.active and a.kind in pathway.to_kinds}
        for a in focus:
            if a.kind not in pathway.from_kinds or not ctx.in_volume[a.id] or a.state_id not in states_with_receiver:
                continue
            if any(ctx.by_id[t].kind in pathway.to_kinds for t in ctx.graph.successors(a.id)):
                continue
            findings.append(Finding(
                "missing_pathway", pathway.severity, (a.code,), 0,
                {"pathway": pathway.slug, "name": a.name, "state": a.state, "district": a.district,
                 "received": ctx.in_volume[a.id]},
                f"missing_pathway:{pathway.slug}:{a.code}",
            ))
    return findings


def _minor_cwc_delay(ctx: _Context) -> list[Finding]:
    findings = []
    cwcs_by_district: dict[int, list[str]] = defaultdict(list)
    for a in ctx.agencies:
        if a.kind == "cwc" and a.district_id is not None:
            cwcs_by_district[a.district_id].append(a.code)
    for row in sorted(ctx.data.minor_cwc, key=lambda r: (r.state, r.district)):
        if not row.late:
            continue
        share = round(row.late / row.total, 4) if row.total else 1.0
        severity = "high" if share >= 0.2 else "medium"
        findings.append(Finding(
            "minor_cwc_delay", severity, tuple(sorted(cwcs_by_district.get(row.district_id, []))), share,
            {"state": row.state, "district": row.district, "late": row.late, "total": row.total, "share": share},
            f"minor_cwc_delay:{row.state}:{row.district}",
        ))
    return findings


def _slow_links(ctx: _Context) -> list[Finding]:
    findings = []
    o = ctx.options
    for t in ctx.ties:
        share = t.deadline_met / t.deadline_due if t.deadline_due else None
        late_by_law = t.deadline_due >= o.min_response_referrals and share is not None and share < o.slow_deadline_share
        slow = (t.answered >= o.min_response_referrals and t.median_response_hours is not None
                and t.median_response_hours > o.slow_hours)
        if not (late_by_law or slow):
            continue
        a, b = ctx.by_id[t.source], ctx.by_id[t.target]
        metric = round(t.median_response_hours, 1) if t.median_response_hours is not None else None
        findings.append(Finding(
            "slow_link", "high" if late_by_law else "medium", (a.code, b.code), metric,
            {"a": a.name, "b": b.name, "median_hours": metric, "deadline_share": None if share is None else round(share, 4),
             "answered": t.answered, "due": t.deadline_due, "slow_hours": o.slow_hours},
            f"slow_link:{a.code}:{b.code}",
        ))
    return findings


def _high_decline(ctx: _Context) -> list[Finding]:
    findings = []
    o = ctx.options
    for t in ctx.ties:
        answered = t.accepted + t.declined
        if answered < o.min_rate_referrals:
            continue
        rate = t.declined / answered
        if rate < o.high_decline_rate:
            continue
        a, b = ctx.by_id[t.source], ctx.by_id[t.target]
        findings.append(Finding(
            "high_decline", "high" if rate >= 0.75 else "medium", (a.code, b.code), round(rate, 4),
            {"a": a.name, "b": b.name, "rate": round(rate, 4), "declined": t.declined, "answered": answered,
             "reason": t.top_decline_reason},
            f"high_decline:{a.code}:{b.code}",
        ))
    return findings


def _stuck(ctx: _Context) -> list[Finding]:
    overdue: Counter = Counter()
    senders: dict[int, set[int]] = defaultdict(set)
    oldest: dict[int, datetime] = {}
    for t in ctx.ties:
        if not t.overdue:
            continue
        overdue[t.target] += t.overdue
        senders[t.target].add(t.source)
        if t.oldest_overdue_due and (t.target not in oldest or t.oldest_overdue_due < oldest[t.target]):
            oldest[t.target] = t.oldest_overdue_due
    findings = []
    now = ctx.data.now
    for node, count in overdue.items():
        a = ctx.by_id[node]
        days = None
        if now and node in oldest:
            days = max(0, (now - oldest[node]).days)
        findings.append(Finding(
            "stuck_referral", "high", (a.code,) + _listed(ctx.codes(senders[node]))[: MAX_LISTED_AGENCIES - 1], count,
            {"name": a.name, "kind": a.kind, "overdue": count, "days": days, "senders": len(senders[node])},
            f"stuck_referral:{a.code}",
        ))
    return findings


def _silent(ctx: _Context) -> list[Finding]:
    previous = ctx.data.previous_senders
    if not previous:
        return []
    findings = []
    for a in ctx.agencies:
        sent_before = previous.get(a.id, 0)
        if not (a.focus and a.active and sent_before) or ctx.out_volume[a.id]:
            continue
        severity = "high" if sent_before >= 10 or a.kind in CRITICAL_KINDS else "medium"
        findings.append(Finding(
            "silent_agency", severity, (a.code,), sent_before,
            {"name": a.name, "kind": a.kind, "previous": sent_before,
             "since": ctx.data.previous_window.since.isoformat() if ctx.data.previous_window and ctx.data.previous_window.since else None},
            f"silent_agency:{a.code}",
        ))
    return findings


def _separated(ctx: _Context) -> list[Finding]:
    """States, and communities, between which cases cross (origin ≠ rescue) but no referral runs."""
    findings = []
    state_names: dict[int, str] = {}
    crossing_states: Counter = Counter()
    crossing_districts: Counter = Counter()
    for row in ctx.data.case_flows:
        if row.origin_state_id and row.rescue_state_id and row.origin_state_id != row.rescue_state_id:
            pair = tuple(sorted((row.origin_state_id, row.rescue_state_id)))
            crossing_states[pair] += row.cases
            state_names[row.origin_state_id] = row.origin_state
            state_names[row.rescue_state_id] = row.rescue_state
        if row.origin_district_id and row.rescue_district_id and row.origin_district_id != row.rescue_district_id:
            crossing_districts[(row.origin_district_id, row.rescue_district_id)] += row.cases

    linked_states = set()
    for t in ctx.ties:
        a, b = ctx.by_id[t.source].state_id, ctx.by_id[t.target].state_id
        if a and b and a != b:
            linked_states.add(tuple(sorted((a, b))))
    nodal_by_state: dict[int, list[str]] = defaultdict(list)
    for a in ctx.agencies:
        if a.kind in {"state_department", "state_aht_bureau"} and a.state_id:
            nodal_by_state[a.state_id].append(a.code)
    for pair, cases in sorted(crossing_states.items(), key=lambda x: (state_names[x[0][0]], state_names[x[0][1]])):
        if pair in linked_states:
            continue
        first, second = sorted((state_names[pair[0]], state_names[pair[1]]))
        codes = tuple(sorted(nodal_by_state[pair[0]] + nodal_by_state[pair[1]]))
        findings.append(Finding(
            "separated_communities", "high" if cases >= 10 else "medium", codes, cases,
            {"level": "states", "a": first, "b": second, "cases": cases},
            f"separated_communities:states:{first}:{second}",
        ))

    # Communities: a district belongs to the community most of its active agencies are in.
    if ctx.community_of and crossing_districts:
        votes: dict[int, Counter] = defaultdict(Counter)
        for node, community in ctx.community_of.items():
            district = ctx.by_id[node].district_id
            if district is not None:
                votes[district][community] += 1
        community_of_district = {d: min(c.items(), key=lambda x: (-x[1], x[0]))[0] for d, c in votes.items()}
        crossing: Counter = Counter()
        for (origin, rescue), cases in crossing_districts.items():
            a, b = community_of_district.get(origin), community_of_district.get(rescue)
            if a is not None and b is not None and a != b:
                crossing[tuple(sorted((a, b)))] += cases
        linked = set()
        for t in ctx.ties:
            a, b = ctx.community_of.get(t.source), ctx.community_of.get(t.target)
            if a is not None and b is not None and a != b:
                linked.add(tuple(sorted((a, b))))
        hubs = _community_hubs(ctx)
        for (a, b), cases in sorted(crossing.items()):
            if (a, b) in linked:
                continue
            codes = tuple(sorted({hubs[a].code, hubs[b].code}))
            findings.append(Finding(
                "separated_communities", "high" if cases >= 10 else "medium", codes, cases,
                {"level": "communities", "a": f"{a}", "b": f"{b}", "hub_a": hubs[a].name, "hub_b": hubs[b].name, "cases": cases},
                f"separated_communities:communities:{codes[0]}:{codes[-1]}",
            ))
    return findings


def _community_hubs(ctx: _Context) -> dict[int, AgencyRow]:
    best: dict[int, tuple] = {}
    for node, community in ctx.community_of.items():
        volume = ctx.in_volume[node] + ctx.out_volume[node]
        candidate = (-volume, ctx.by_id[node].code, node)
        if community not in best or candidate < best[community]:
            best[community] = candidate
    return {community: ctx.by_id[value[2]] for community, value in best.items()}


_FINDERS = (
    _isolated, _one_way, _brokers, _articulation, _bridges, _outside_main, _missing_pathways,
    _minor_cwc_delay, _slow_links, _high_decline, _stuck, _silent, _separated,
)


# ---------------------------------------------------------------------------------------------------------
# Plain-language explanations (translated when shown, so the cached result stays language-neutral)


SHORT_KIND_LABELS = {
    "ahtu": _lazy("AHTU"), "cwc": _lazy("CWC"), "dcpu": _lazy("DCPU"), "cci": _lazy("Child care institution"),
    "shelter_home": _lazy("Shelter home"), "one_stop_centre": _lazy("One Stop Centre"), "ngo": _lazy("NGO"),
    "legal_services": _lazy("Legal services"), "police": _lazy("Police"), "railway_police": _lazy("Railway police"),
    "border_force": _lazy("Border force"), "hospital": _lazy("Hospital"), "magistrate": _lazy("Magistrate"),
    "helpline": _lazy("Helpline"), "state_department": _lazy("State department"),
    "state_aht_bureau": _lazy("State AHT bureau"), "ministry": _lazy("Ministry"), "committee": _lazy("Committee"),
    "labour_department": _lazy("Labour department"), "prosecution": _lazy("Prosecution"),
    "training_institute": _lazy("Training institute"), "international_org": _lazy("International organisation"),
    "donor": _lazy("Donor"),
}


def kind_label(kind: str) -> str:
    """A short label for a kind (tables, matrices, explanations); the registry has the long one."""
    return str(SHORT_KIND_LABELS.get(kind, kind))


def _kind_label(kind: str) -> str:
    return kind_label(kind)


def _who(name: str, kind: str) -> str:
    """'AHTU Pune' rather than 'AHTU Pune (AHTU)': the kind only when the name does not say it."""
    label = kind_label(kind)
    return name if label.lower() in name.lower() else f"{name} ({label})"


def share_text(value) -> str:
    """A share as a percentage with two significant digits: 12 %, 0.43 %, 0.0043 %."""
    if value is None:
        return "—"
    percent = value * 100
    if percent == 0:
        return "0%"
    digits = max(0, 1 - math.floor(math.log10(abs(percent))))
    return f"{percent:.{digits}f}%"


def _place(facts: dict) -> str:
    if facts.get("district"):
        return f"{facts['district']} ({facts['state']})" if facts.get("state") else facts["district"]
    return facts.get("state") or _("the whole country")


def _n(singular: str, plural: str, count) -> str:
    """ngettext that also takes a suppressed count ("<5": plural)."""
    return ngettext(singular, plural, count if isinstance(count, int) else 5)


def _pct(value) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def explain(finding: Finding) -> tuple[str, str]:
    """(What we found, what to do) in plain words, in the active language."""
    f = finding.facts
    t = finding.type
    if t == "isolated":
        kind = _kind_label(f["kind"])
        if f["count"] == 1:
            text = _("%(name)s (%(place)s) neither sent nor received a referral in this period.") % {
                "name": _who(f["names"][0], f["kind"]), "place": _place(f)}
        else:
            names = ", ".join(f["names"]) + ("…" if f["count"] > len(f["names"]) else "")
            text = _("%(count)s agencies of kind “%(kind)s” in %(place)s (%(names)s) neither sent nor received a referral in this period.") % {
                "count": f["count"], "kind": kind, "place": _place(f), "names": names}
        return text, _("Check that they are still working and reachable, and introduce them to the agencies they should work with (see the expected pathways).")
    if t == "one_way":
        values = {"name": _who(f["name"], f["kind"]), "n": f["referrals"]}
        if f["direction"] == "sends":
            return (_n("%(name)s sent %(n)s referral and received none, although its kind normally does both.",
                       "%(name)s sent %(n)s referrals and received none, although its kind normally does both.", values["n"]) % values,
                    _("Ask the agencies it refers to whether they send people back to it, and whether they know what it offers."))
        return (_n("%(name)s received %(n)s referral and referred nobody on, although its kind normally does both.",
                   "%(name)s received %(n)s referrals and referred nobody on, although its kind normally does both.", values["n"]) % values,
                _("Check that people in its care reach the next step (CWC, shelter, legal services, medical care) and that it knows whom to refer to."))
    if t == "broker":
        return (_n("%(name)s is one of the agencies most referral routes run through: it lies on the shortest route between about %(pairs)s pair of other agencies (%(share)s of all such routes) and works with %(partners)s partners.",
                   "%(name)s is one of the agencies most referral routes run through: it lies on the shortest route between about %(pairs)s pairs of other agencies (%(share)s of all such routes) and works with %(partners)s partners.", f["pairs"]) % {
                    "name": _who(f["name"], f["kind"]), "pairs": f"{f['pairs']:,}", "share": share_text(f["share"]), "partners": f["partners"]},
                _("Make sure it has the staff for this role and a named deputy, and introduce its partners to each other so referrals do not depend on one office."))
    if t == "articulation_point":
        names = ", ".join(f["cut_names"]) + ("…" if f["count"] > len(f["cut_names"]) else "")
        return (_n("If %(name)s stopped working, %(count)s agency would be cut off from the rest of the network: %(names)s.",
                   "If %(name)s stopped working, %(count)s agencies would be cut off from the rest of the network: %(names)s.", f["count"]) % {
                    "name": _who(f["name"], f["kind"]), "count": f["count"], "names": names},
                _("Create a second link for the agencies that depend on it: a direct contact with another agency of the same kind nearby, or an MoU."))
    if t == "bridge":
        return (_("The tie between %(a)s and %(b)s is the only link between two parts of the network; %(count)s agencies are on the smaller side.") % f,
                _("Build a second tie between the two parts, so losing one contact person does not split the network."))
    if t == "outside_main_component":
        return (_("%(count)s agencies (%(names)s) refer among themselves but have no tie to the main network of %(main)s agencies.") % {
                    "count": f["count"], "names": ", ".join(f["names"]) + ("…" if f["count"] > len(f["names"]) else ""), "main": f["main"]},
                _("Connect this group to the main network: for example the district AHTU to the state anti-trafficking bureau, or a shelter to the nearest CWC."))
    if t == "missing_pathway":
        pathway = PATHWAYS_BY_SLUG[f["pathway"]]
        label = str(pathway.label)
        if pathway.check == Check.RESCUES:
            text = _n("%(place)s had %(n)s rescue in this period but no referral to legal services for compensation (%(pathway)s; %(basis)s).",
                      "%(place)s had %(n)s rescues in this period but no referral to legal services for compensation (%(pathway)s; %(basis)s).", f["rescues"]) % {
                "place": _place(f), "n": f["rescues"], "pathway": label, "basis": pathway.basis}
        elif pathway.check == Check.AGENCY:
            text = _n("%(name)s received %(n)s referral but never referred anyone along the expected pathway “%(pathway)s” (%(basis)s).",
                      "%(name)s received %(n)s referrals but never referred anyone along the expected pathway “%(pathway)s” (%(basis)s).", f["received"]) % {
                "name": f["name"], "n": f["received"], "pathway": label, "basis": pathway.basis}
        else:
            text = _("In %(place)s both ends of the pathway “%(pathway)s” exist (%(senders)s; %(receivers)s) but no referral ran between them in this period. The law expects it: %(basis)s, %(deadline)s.") % {
                "place": _place(f), "pathway": label, "senders": ", ".join(f["senders"]),
                "receivers": ", ".join(f["receivers"]), "basis": pathway.basis, "deadline": pathway.deadline}
        return text, _("Hold a meeting between the two agencies, agree on a contact person and a referral procedure, and check the cases that should have used this pathway.")
    if t == "minor_cwc_delay":
        values = {"place": _place(f), "late": f["late"], "total": f["total"], "share": _pct(f["share"])}
        if f["share"] is None:  # hidden with the small counts
            text = _("In %(place)s, %(late)s of %(total)s rescued minors did not reach a Child Welfare Committee within 24 hours (JJ Act s.31).") % values
        else:
            text = _("In %(place)s, %(late)s of %(total)s rescued minors (%(share)s) did not reach a Child Welfare Committee within 24 hours (JJ Act s.31).") % values
        return (text,
                _("Review these cases with the AHTU, the police and the CWC; agree on a duty roster so a CWC member can receive children at any hour."))
    if t == "slow_link":
        values = {"a": f["a"], "b": f["b"], "hours": f["median_hours"], "share": _pct(f["deadline_share"]),
                  "answered": f["answered"]}
        action = _("Agree on a contact person and a response time with the receiving agency; escalate referrals with a legal deadline by phone.")
        if f["median_hours"] is None and f["deadline_share"] is None:
            return (_("Referrals from %(a)s to %(b)s are answered slowly or after their legal deadline (the figures are hidden: %(answered)s referrals answered).") % values,
                    action)
        if f["median_hours"] is not None and f["median_hours"] > f.get("slow_hours", 72.0):
            text = _("Referrals from %(a)s to %(b)s are answered slowly: the median answer came after %(hours)s hours.") % values
            if f["deadline_share"] is not None:
                text += " " + _("%(share)s were answered within their legal deadline.") % values
            return text, action
        # Slow by law, not by the median: deadlines that run from the rescue (24 hours to a CWC, a medical
        # examination) also count the time before the referral was sent.
        text = _("Referrals from %(a)s to %(b)s often miss their legal deadline: %(share)s were answered within it.") % values
        if f["median_hours"] is not None:
            text += " " + _("The median answer came after %(hours)s hours; a deadline that runs from the rescue also counts the time before the referral was sent.") % values
        return (text, _("Find out where the time goes (the referral sent late after the rescue, or answered late), agree on a contact person with the receiving agency, and escalate referrals with a legal deadline by phone."))
    if t == "high_decline":
        reason = ""
        if f.get("reason"):
            from referrals.vocab import DeclineReason

            try:
                reason = " " + _("Most common reason: %(reason)s.") % {"reason": DeclineReason(f["reason"]).label}
            except ValueError:
                reason = ""
        return (_("%(b)s declined %(rate)s of the referrals from %(a)s (%(declined)s of %(answered)s).") % {
                    "a": f["a"], "b": f["b"], "rate": _pct(f["rate"]), "declined": f["declined"], "answered": f["answered"]} + reason,
                _("Check whether the sender refers the right people (eligibility, capacity), and suggest another receiving agency nearby."))
    if t == "stuck_referral":
        if f.get("days") is None:
            days = ""
        elif f["days"] == 0:
            days = " " + _("The oldest became due less than a day ago.")
        else:
            days = " " + _n("The oldest is %(days)s day past due.", "The oldest is %(days)s days past due.", f["days"]) % {"days": f["days"]}
        return (_n("%(n)s referral to %(name)s is still waiting for an answer past its due time.",
                   "%(n)s referrals to %(name)s are still waiting for an answer past their due time.", f["overdue"]) % {
                    "n": f["overdue"], "name": _who(f["name"], f["kind"])} + days,
                _("Call the agency today; if it cannot answer, re-route the referrals to another agency of the same kind."))
    if t == "silent_agency":
        return (_n("%(name)s sent %(n)s referral in the previous period and none in this one.",
                   "%(name)s sent %(n)s referrals in the previous period and none in this one.", f["previous"]) % {
                    "name": _who(f["name"], f["kind"]), "n": f["previous"]},
                _("Ask whether staff changed, the unit stopped working, or referrals now go another way (phone, paper)."))
    if t == "separated_communities":
        if f["level"] == "states":
            return (_n("%(n)s case crossed between %(a)s and %(b)s, but no agency of one state referred to an agency of the other.",
                       "%(n)s cases crossed between %(a)s and %(b)s, but no agency of one state referred to an agency of the other.", f["cases"]) % {
                        "n": f["cases"], "a": f["a"], "b": f["b"]},
                    _("Connect the two states' nodal agencies (WCD departments, anti-trafficking bureaus) and agree on an inter-state referral procedure."))
        return (_n("%(n)s case crossed between the group around %(a)s and the group around %(b)s, but no referral links the two groups.",
                   "%(n)s cases crossed between the group around %(a)s and the group around %(b)s, but no referral links the two groups.", f["cases"]) % {
                    "n": f["cases"], "a": f["hub_a"], "b": f["hub_b"]},
                _("Introduce the two groups' central agencies to each other and agree on how cases move between them."))
    return "", ""


def detail_text(finding: Finding) -> str:
    explanation, action = explain(finding)
    return f"{explanation} {_('What to do:')} {action}"


# ---------------------------------------------------------------------------------------------------------
# Suppression of small counts (for viewers without case access)


def _suppress(value, threshold: int):
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < threshold:
        return f"<{threshold}"
    return value


def _small(value, threshold: int) -> bool:
    return isinstance(value, int) and 0 < value < threshold


def redact_tie(tie: Tie, threshold: int) -> Tie:
    answered = tie.accepted + tie.declined if isinstance(tie.accepted, int) and isinstance(tie.declined, int) else 0
    if not any(_small(v, threshold) for v in (tie.referrals, tie.accepted, tie.declined, tie.completed, tie.pending, tie.overdue)):
        return tie  # nothing to hide: the same object, no copy
    if not isinstance(tie.referrals, int) or tie.referrals >= threshold:
        tie = replace(
            tie, accepted=_suppress(tie.accepted, threshold), declined=_suppress(tie.declined, threshold),
            completed=_suppress(tie.completed, threshold), pending=_suppress(tie.pending, threshold),
            overdue=_suppress(tie.overdue, threshold),
        )
        if _small(answered, threshold):
            # Rates and the median over fewer answers than the threshold would give those answers away (one
            # answer's exact time, "100 %" of two): hidden like the kind matrix's rates.
            tie = replace(tie, acceptance_rate=None, decline_rate=None, deadline_share=None, median_response_hours=None)
        return tie
    return replace(
        tie, referrals=_suppress(tie.referrals, threshold), accepted=_suppress(tie.accepted, threshold),
        declined=_suppress(tie.declined, threshold), completed=_suppress(tie.completed, threshold),
        pending=_suppress(tie.pending, threshold), overdue=_suppress(tie.overdue, threshold),
        acceptance_rate=None, decline_rate=None, deadline_share=None, median_response_hours=None,
        top_decline_reason="", suppressed=True,
    )


def redact_agency(agency: AgencyMetrics, threshold: int) -> AgencyMetrics:
    if not (_small(agency.in_volume, threshold) or _small(agency.out_volume, threshold)):
        return agency
    return replace(agency, in_volume=_suppress(agency.in_volume, threshold), out_volume=_suppress(agency.out_volume, threshold))


def redact_flow(flow: Flow, threshold: int) -> Flow:
    hidden = isinstance(flow.referrals, int) and 0 < flow.referrals < threshold
    answered = (flow.accepted or 0) + (flow.declined or 0) if isinstance(flow.accepted, int) else 0
    return replace(
        flow, referrals=_suppress(flow.referrals, threshold), accepted=_suppress(flow.accepted, threshold),
        declined=_suppress(flow.declined, threshold),
        accepted_rate=None if hidden or 0 < answered < threshold else flow.accepted_rate,
    )


def redact_finding(finding: Finding, threshold: int) -> Finding:
    if not (any(_small(finding.facts[k], threshold) for k in COUNT_FACTS & finding.facts.keys())
            or (finding.type in COUNT_METRIC_TYPES and _small(finding.metric, threshold))):
        return finding
    facts = dict(finding.facts)
    hidden = False
    for key in COUNT_FACTS & facts.keys():
        value = facts[key]
        facts[key] = _suppress(value, threshold)
        hidden = hidden or facts[key] != value
    metric = finding.metric
    if finding.type in COUNT_METRIC_TYPES:
        metric = _suppress(metric, threshold)
    if hidden:
        for key in RATE_FACTS & facts.keys():
            facts[key] = None
        if finding.type not in COUNT_METRIC_TYPES and finding.type in {"minor_cwc_delay", "high_decline", "slow_link"}:
            metric = None
    return replace(finding, facts=facts, metric=metric)


def redact(result: NetworkResult, threshold: int) -> NetworkResult:
    """The result with every referral or case count below the threshold shown as "<N" (lists are redacted
    when first read)."""
    summary = dict(result.summary)
    summary["referrals"] = _suppress(summary["referrals"], threshold)
    return result.redacted(
        threshold, summary=summary,
        flows=[redact_flow(f, threshold) for f in result.flows],
        state_flows=[redact_flow(f, threshold) for f in result.state_flows],
    )


_LIST_CLASSES = {"findings": Finding, "agencies": AgencyMetrics, "ties": Tie}
_REDACTORS = {"findings": redact_finding, "agencies": redact_agency, "ties": redact_tie}


def sort_value(value):
    """Sort key for counts that may be suppressed: every "<N" sorts together, below N."""
    if isinstance(value, str) and value.startswith("<"):
        return int(value[1:]) - 0.5
    return value if value is not None else -1


# ---------------------------------------------------------------------------------------------------------
# Ego networks, "what if", comparison


@dataclass
class Ego:
    center: str
    direction: str
    steps: int
    agencies: list[AgencyMetrics]  # the centre first, then by distance and code
    ties: list[Tie]
    distance: dict[str, int]


def ego_network(result: NetworkResult, code: str, *, direction: str = "both", steps: int = 1) -> Ego | None:
    """The agencies within `steps` referrals of `code`, following ties out, in, or both ways."""
    if result.agency(code) is None:
        return None
    out_edges: dict[str, list[str]] = defaultdict(list)
    in_edges: dict[str, list[str]] = defaultdict(list)
    columns = result.tie_columns()
    sources, targets = (columns[0], columns[1]) if columns else ((), ())
    for source, target in zip(sources, targets):
        out_edges[source].append(target)
        in_edges[target].append(source)
    distance = {code: 0}
    frontier = [code]
    for step in range(1, steps + 1):
        following = []
        for node in frontier:
            neighbours = []
            if direction in ("out", "both"):
                neighbours += out_edges[node]
            if direction in ("in", "both"):
                neighbours += in_edges[node]
            for other in neighbours:
                if other not in distance:
                    distance[other] = step
                    following.append(other)
        frontier = following
    members = set(distance)
    ties = result.make_ties(result.tie_rows_at(
        i for i, (source, target) in enumerate(zip(sources, targets)) if source in members and target in members))
    agencies = sorted((result.agency(c) for c in members), key=lambda a: (distance[a.code], a.code))
    return Ego(center=code, direction=direction, steps=steps, agencies=agencies, ties=ties, distance=distance)


@dataclass
class LostRoute:
    agency: str
    name: str
    kind: str
    pathway: str


@dataclass
class WhatIf:
    agency: str
    name: str
    kind: str
    ties: int
    referrals_in: int | str
    referrals_out: int | str
    cut_off: list[str]  # agencies disconnected from the rest of their part of the network
    lost_routes: list[LostRoute]
    max_hops: int | None
    kept_routes: int  # routes along the same pathways that survive


def what_if_closed(result: NetworkResult, code: str, *, max_hops: int | None = 2) -> WhatIf | None:
    """Remove one agency and list the agencies that lose their only route (within `max_hops` referrals,
    or any length when None) to a kind of agency an expected pathway leads to: e.g. no remaining route
    from an AHTU to any shelter."""
    removed = result.agency(code)
    if removed is None:
        return None
    kinds = {a.code: a.kind for a in result.agencies}
    reverse: dict[str, list[str]] = defaultdict(list)
    touching = 0
    columns = result.tie_columns()
    for source, target in zip(columns[0], columns[1]):
        reverse[target].append(source)
        if code in (source, target):
            touching += 1

    def reachers(targets: set[str], skip: str | None) -> set[str]:
        """Agencies with a route of 1..max_hops referrals to any of `targets` (multi-source reverse BFS)."""
        depth = {t: 0 for t in targets if t != skip}
        queue = deque(depth)
        found = set()
        while queue:
            node = queue.popleft()
            if max_hops is not None and depth[node] >= max_hops:
                continue
            for sender in reverse[node]:
                if sender == skip:
                    continue
                found.add(sender)
                if sender not in depth:
                    depth[sender] = depth[node] + 1
                    queue.append(sender)
        return found

    lost, kept = [], 0
    for pathway in PATHWAYS:
        targets = {c for c, k in kinds.items() if k in pathway.to_kinds}
        if not targets:
            continue
        before = reachers(targets, None)
        if not before:
            continue
        after = reachers(targets, code)
        for agency_code in sorted(before):
            if agency_code == code or kinds[agency_code] not in pathway.from_kinds:
                continue
            if agency_code in after:
                kept += 1
            else:
                a = result.agency(agency_code)
                lost.append(LostRoute(agency=agency_code, name=a.name, kind=a.kind, pathway=pathway.slug))

    cut_off = []
    for finding in result.findings:
        if finding.type == "articulation_point" and finding.agencies[0] == code:
            cut_off = list(finding.agencies[1:])
    return WhatIf(
        agency=code, name=removed.name, kind=removed.kind, ties=touching, referrals_in=removed.in_volume,
        referrals_out=removed.out_volume, cut_off=cut_off, lost_routes=lost, max_hops=max_hops, kept_routes=kept,
    )


@dataclass
class TieChange:
    source: str
    target: str
    before: int | str
    after: int | str


@dataclass
class Comparison:
    before: NetworkResult
    after: NetworkResult
    new_ties: list[TieChange]
    lost_ties: list[TieChange]
    weakened_ties: list[TieChange]
    appeared: list[Finding]
    resolved: list[Finding]
    summary_changes: list[tuple[str, object, object]]


def compare(before: NetworkResult, after: NetworkResult, options: Options = Options()) -> Comparison:
    """What changed from one window to the next: ties that appeared, disappeared or weakened (volume fell
    to `weakened_ratio` or less), findings that appeared or were resolved (matched by their key)."""
    old = {(t.source, t.target): t for t in before.ties}
    new = {(t.source, t.target): t for t in after.ties}
    new_ties = [TieChange(s, t, 0, new[(s, t)].referrals) for (s, t) in sorted(new.keys() - old.keys())]
    lost_ties = [TieChange(s, t, old[(s, t)].referrals, 0) for (s, t) in sorted(old.keys() - new.keys())]
    weakened = []
    for pair in sorted(old.keys() & new.keys()):
        was, now = old[pair].referrals, new[pair].referrals
        if isinstance(was, int) and isinstance(now, int) and was >= 2 and now <= was * options.weakened_ratio:
            weakened.append(TieChange(pair[0], pair[1], was, now))
    old_keys = {f.key for f in before.findings}
    new_keys = {f.key for f in after.findings}
    appeared = [f for f in after.findings if f.key not in old_keys]
    resolved = [f for f in before.findings if f.key not in new_keys]
    summary_changes = [(name, before.summary.get(name), after.summary.get(name)) for name in before.summary]
    new_ties.sort(key=lambda c: (-sort_value(c.after), c.source, c.target))
    lost_ties.sort(key=lambda c: (-sort_value(c.before), c.source, c.target))
    return Comparison(before, after, new_ties, lost_ties, weakened, appeared, resolved, summary_changes)


def redact_comparison(comparison: Comparison, threshold: int) -> Comparison:
    def change(c: TieChange) -> TieChange:
        return replace(c, before=_suppress(c.before, threshold), after=_suppress(c.after, threshold))

    return replace(
        comparison,
        before=redact(comparison.before, threshold), after=redact(comparison.after, threshold),
        new_ties=[change(c) for c in comparison.new_ties], lost_ties=[change(c) for c in comparison.lost_ties],
        # A fall between two hidden counts ("<5 → <5") would only hint at them: listed above the threshold only.
        weakened_ties=[change(c) for c in comparison.weakened_ties if sort_value(c.before) >= threshold],
        appeared=[redact_finding(f, threshold) for f in comparison.appeared],
        resolved=[redact_finding(f, threshold) for f in comparison.resolved],
        summary_changes=[(n, _suppress(a, threshold) if n == "referrals" else a, _suppress(b, threshold) if n == "referrals" else b)
                         for n, a, b in comparison.summary_changes],
    )


# ---------------------------------------------------------------------------------------------------------
# Graph exports (GraphML and GEXF, for Gephi)


_NODE_FIELDS = (  # (name, GraphML type, GEXF type, value)
    ("label", "string", "string", lambda a: a.name),
    ("kind", "string", "string", lambda a: a.kind),
    ("state", "string", "string", lambda a: a.state),
    ("district", "string", "string", lambda a: a.district),
    ("in_degree", "int", "integer", lambda a: a.in_degree),
    ("out_degree", "int", "integer", lambda a: a.out_degree),
    ("in_volume", None, None, lambda a: a.in_volume),
    ("out_volume", None, None, lambda a: a.out_volume),
    ("betweenness", "double", "double", lambda a: a.betweenness),
    ("community", "int", "integer", lambda a: a.community or 0),
    ("core", "int", "integer", lambda a: a.core),
    ("articulation", "boolean", "boolean", lambda a: a.articulation),
    ("latitude", "double", "double", lambda a: a.latitude),
    ("longitude", "double", "double", lambda a: a.longitude),
)
_EDGE_FIELDS = (  # index in a tie row
    ("referrals", None, None, 2), ("accepted", None, None, 3), ("declined", None, None, 4), ("overdue", None, None, 7),
    ("acceptance_rate", "double", "double", 8), ("median_response_hours", "double", "double", 11),
)


def _xml(value) -> str:
    from xml.sax.saxutils import quoteattr

    if isinstance(value, bool):
        return quoteattr("true" if value else "false")
    return quoteattr(str(value))


def _edge_rows(result: NetworkResult):
    """Tie rows as the export shows them (redacted like the result)."""
    columns = result.tie_columns()
    count = len(columns[0]) if columns else 0
    for start in range(0, count, 5000):
        for tie in result.make_ties(result.tie_rows_at(range(start, min(start + 5000, count)))):
            yield tie


def graphml_lines(result: NetworkResult):
    """The network as GraphML, line by line (streamed: tens of thousands of ties need no tree in memory).
    Counts are integers, or text when the result was redacted ("<5" cannot be a number)."""
    count_type = "string" if result.suppressed else "int"
    yield '<?xml version="1.0" encoding="utf-8"?>\n'
    yield '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'
    for index, (name, kind, _gexf, _value) in enumerate(_NODE_FIELDS):
        yield f'<key id="n{index}" for="node" attr.name="{name}" attr.type="{kind or count_type}"/>\n'
    for index, (name, kind, _gexf, _field) in enumerate(_EDGE_FIELDS):
        yield f'<key id="e{index}" for="edge" attr.name="{name}" attr.type="{kind or count_type}"/>\n'
    yield '<key id="w" for="edge" attr.name="weight" attr.type="double"/>\n'
    yield '<graph edgedefault="directed">\n'
    for a in result.agencies:
        data = "".join(
            f'<data key="n{i}">{_xml(value(a))[1:-1]}</data>'
            for i, (_n, _k, _g, value) in enumerate(_NODE_FIELDS) if value(a) is not None
        )
        yield f"<node id={_xml(a.code)}>{data}</node>\n"
    for tie in _edge_rows(result):
        values = [tie.referrals, tie.accepted, tie.declined, tie.overdue, tie.acceptance_rate, tie.median_response_hours]
        data = "".join(f'<data key="e{i}">{_xml(v)[1:-1]}</data>' for i, v in enumerate(values) if v is not None)
        if isinstance(tie.referrals, int):
            data += f'<data key="w">{float(tie.referrals)}</data>'
        yield f"<edge source={_xml(tie.source)} target={_xml(tie.target)}>{data}</edge>\n"
    yield "</graph>\n</graphml>\n"


def gexf_lines(result: NetworkResult):
    """The network as GEXF 1.2 (Gephi's own format), line by line."""
    count_type = "string" if result.suppressed else "integer"
    yield '<?xml version="1.0" encoding="utf-8"?>\n'
    yield '<gexf xmlns="http://www.gexf.net/1.2draft" version="1.2">\n'
    yield '<graph defaultedgetype="directed" mode="static">\n<attributes class="node" mode="static">\n'
    for index, (name, _g, kind, _value) in enumerate(_NODE_FIELDS[1:]):
        yield f'<attribute id="{index}" title="{name}" type="{kind or count_type}"/>\n'
    yield '</attributes>\n<attributes class="edge" mode="static">\n'
    for index, (name, _g, kind, _field) in enumerate(_EDGE_FIELDS):
        yield f'<attribute id="{index}" title="{name}" type="{kind or count_type}"/>\n'
    yield "</attributes>\n<nodes>\n"
    for a in result.agencies:
        values = "".join(
            f'<attvalue for="{i}" value={_xml(value(a))}/>'
            for i, (_n, _g, _k, value) in enumerate(_NODE_FIELDS[1:]) if value(a) is not None
        )
        yield f"<node id={_xml(a.code)} label={_xml(a.name)}><attvalues>{values}</attvalues></node>\n"
    yield "</nodes>\n<edges>\n"
    for number, tie in enumerate(_edge_rows(result)):
        values = [tie.referrals, tie.accepted, tie.declined, tie.overdue, tie.acceptance_rate, tie.median_response_hours]
        attvalues = "".join(f'<attvalue for="{i}" value={_xml(v)}/>' for i, v in enumerate(values) if v is not None)
        weight = f' weight="{float(tie.referrals)}"' if isinstance(tie.referrals, int) else ""
        yield (f'<edge id="{number}" source={_xml(tie.source)} target={_xml(tie.target)}{weight}>'
               f"<attvalues>{attvalues}</attvalues></edge>\n")
    yield "</edges>\n</graph>\n</gexf>\n"


def graphml_bytes(result: NetworkResult) -> bytes:
    return "".join(graphml_lines(result)).encode("utf-8")


def gexf_bytes(result: NetworkResult) -> bytes:
    return "".join(gexf_lines(result)).encode("utf-8")
