"""Trainings, committee meetings and action items, the returns tracker, and permissions on every steering page."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coordination.models import ActionItem, ActionItemUpdate, CommitteeMeeting, TrainingEvent
from coordination.periods import add_months, last_ended_month, month_key
from coordination.selectors import training_summary
from tests.factories import make_agency, make_user
from tests.steering_fixtures import plant_return


def training(cast, **kwargs):
    values = dict(title="Investigating trafficking", starts_on=date(2024, 3, 4), ends_on=date(2024, 3, 6), state=cast.geo.mh,
                  district=cast.geo.pune, organiser=cast.mh_ahtb, topic="investigation", participants_police=30,
                  participants_prosecutors=5, master_trainers=2, pre_test_mean=Decimal("50"), post_test_mean=Decimal("70"))
    values.update(kwargs)
    return TrainingEvent.objects.create(**values)


@pytest.fixture
def meeting(cast):
    m = CommitteeMeeting.objects.create(committee=cast.committee, held_on=date(2026, 1, 15), title="Steering committee 1")
    m.agencies_present.set([cast.mh_ahtb, cast.mh_wcd])
    return m


@pytest.fixture
def item(cast, meeting):
    return ActionItem.objects.create(meeting=meeting, title="Notify the AHTUs as police stations", owner=cast.mh_ahtb,
                                     due_on=timezone.localdate() - timedelta(days=5))


PAGES = [
    ("coordination:impact", None), ("coordination:return_list", None), ("coordination:return_tracker", None),
    ("coordination:return_create", None), ("coordination:return_import", None), ("coordination:return_detail", "return"),
    ("coordination:return_edit", "return"), ("coordination:training_list", None), ("coordination:training_create", None),
    ("coordination:training_detail", "training"), ("coordination:training_edit", "training"),
    ("coordination:meeting_list", None), ("coordination:meeting_create", None), ("coordination:meeting_detail", "meeting"),
    ("coordination:action_list", None), ("coordination:action_item_detail", "item"), ("home", None),
]


class TestPermissions:
    @pytest.fixture
    def objects(self, cast, meeting, item):
        return {"return": plant_return(cast.ahtu, date(2024, 1, 1), status="draft"), "training": training(cast),
                "meeting": meeting, "item": item}

    def url(self, name, key, objects):
        return reverse(name, args=[objects[key].pk] if key else [])

    @pytest.mark.parametrize("name, key", PAGES)
    def test_anonymous_users_are_sent_to_login(self, client, objects, name, key):
        response = client.get(self.url(name, key, objects))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    def test_the_outsider_gets_404_for_private_records_and_403_for_closed_pages(self, login, cast, objects):
        client = login(cast.omar)
        expected = {
            "coordination:return_detail": 404, "coordination:return_edit": 404, "coordination:meeting_detail": 404,
            "coordination:action_item_detail": 404, "coordination:return_list": 403, "coordination:return_tracker": 403,
            "coordination:return_create": 403, "coordination:return_import": 403, "coordination:meeting_create": 403,
            "coordination:training_edit": 403,
        }
        for name, key in PAGES:
            assert client.get(self.url(name, key, objects)).status_code == expected.get(name, 200), name

    def test_a_user_of_no_agency_reads_nothing(self, login, cast, objects):
        client = login(make_user("nobody"))
        for name, key in PAGES:
            status = client.get(self.url(name, key, objects)).status_code
            assert status in (403, 404) or name == "home", (name, status)

    def test_posts_by_outsiders_change_nothing(self, login, cast, objects):
        client = login(cast.omar)
        assert client.post(reverse("coordination:action_item_detail", args=[objects["item"].pk]), {"note": "x", "status": "done"}).status_code == 404
        assert client.post(reverse("coordination:meeting_detail", args=[objects["meeting"].pk]), {"title": "x"}).status_code == 404
        assert client.post(reverse("coordination:training_edit", args=[objects["training"].pk]), {"title": "x"}).status_code == 403
        assert ActionItem.objects.get().status == "open" and TrainingEvent.objects.get().title == "Investigating trafficking"


class TestTrainings:
    def test_totals_by_group_year_and_state_with_the_weighted_gain(self, cast):
        training(cast)  # 35 people, +20
        training(cast, starts_on=date(2025, 2, 1), ends_on=date(2025, 2, 1), state=cast.geo.wb, district=None, participants_police=5,
                 participants_prosecutors=0, participants_judiciary=10, pre_test_mean=Decimal("40"), post_test_mean=Decimal("45"))
        training(cast, starts_on=date(2025, 3, 1), ends_on=date(2025, 3, 1), participants_police=10, participants_prosecutors=0,
                 pre_test_mean=None, post_test_mean=None)
        summary = training_summary(TrainingEvent.objects.all())
        totals = summary["totals"]
        assert (totals["events"], totals["participants"], totals["police_and_prosecutors"]) == (3, 60, 50)
        assert (totals["participants_police"], totals["participants_judiciary"], totals["master_trainers"]) == (45, 10, 6)
        assert totals["mean_gain"] == round((20 * 35 + 5 * 15) / 50, 1)  # unscored events do not count
        assert [(row["year"], row["participants"]) for row in summary["by_year"]] == [(2024, 35), (2025, 25)]
        assert {row["state__name"]: row["events"] for row in summary["by_state"]} == {"Maharashtra": 2, "West Bengal": 1}

    def test_recording_a_training(self, login, cast):
        data = {"title": "Victim care", "topic": "victim_care", "starts_on": "2025-01-10", "ends_on": "2025-01-11",
                "state": cast.geo.mh.pk, "district": cast.geo.pune.pk, "organiser": cast.mh_ahtb.pk, "participants_police": 12,
                "participants_prosecutors": 3, "participants_judiciary": 0, "participants_ngo": 8, "participants_other": 0,
                "master_trainers": 1, "pre_test_mean": "45.5", "post_test_mean": "71", "notes": ""}
        response = login(cast.rahul).post(reverse("coordination:training_create"), data)
        event = TrainingEvent.objects.get()
        assert response.status_code == 302 and event.participants_total == 23 and event.created_by == cast.rahul

    @pytest.mark.parametrize("change, field", [
        ({"ends_on": "2025-01-09"}, "ends_on"), ({"district": "KOLKATA"}, "district"), ({"post_test_mean": "101"}, "post_test_mean"),
        ({"participants_police": "-1"}, "participants_police"), ({"participants_police": 0, "participants_prosecutors": 0}, "__all__"),
        ({"organiser": "OUTSIDER"}, "organiser"), ({"starts_on": "2999-01-01", "ends_on": "2999-01-02"}, "starts_on"),
    ])
    def test_a_bad_training_is_refused_field_by_field(self, login, cast, change, field):
        data = {"title": "Victim care", "topic": "victim_care", "starts_on": "2025-01-10", "ends_on": "2025-01-11",
                "state": cast.geo.mh.pk, "district": cast.geo.pune.pk, "organiser": cast.mh_ahtb.pk, "participants_police": 12,
                "participants_prosecutors": 3, "participants_judiciary": 0, "participants_ngo": 0, "participants_other": 0,
                "master_trainers": 1, "pre_test_mean": "", "post_test_mean": "", "notes": ""}
        change = {k: (cast.geo.kolkata.pk if v == "KOLKATA" else cast.outsider_agency.pk if v == "OUTSIDER" else v) for k, v in change.items()}
        response = login(cast.rahul).post(reverse("coordination:training_create"), {**data, **change})
        assert response.status_code == 200 and field in response.context["form"].errors
        assert not TrainingEvent.objects.exists()

    @pytest.mark.parametrize("user, status", [("rahul", 200), ("root", 200), ("devi", 403), ("asha", 403), ("sunil", 403)])
    def test_who_edits_a_training(self, login, cast, user, status):
        event = training(cast)
        assert login(getattr(cast, user)).get(reverse("coordination:training_edit", args=[event.pk])).status_code == status

    def test_a_viewer_cannot_record_trainings(self, login, cast):
        assert login(cast.bina).get(reverse("coordination:training_create")).status_code == 403
        assert login(cast.sunil).get(reverse("coordination:training_create")).status_code == 403

    def test_the_list_and_its_export_use_constant_queries(self, login, cast):
        client = login(cast.sunil)
        training(cast)
        with CaptureQueriesContext(connection) as small:
            client.get(reverse("coordination:training_list"))
        for n in range(30):
            training(cast, title=f"T{n}", state=cast.geo.wb if n % 2 else cast.geo.mh, district=None)
        with CaptureQueriesContext(connection) as large:
            response = client.get(reverse("coordination:training_list"))
        assert response.context["summary"]["totals"]["events"] == 31
        assert len(large) == len(small)
        csv_text = b"".join(client.get(reverse("coordination:training_list"), {"format": "csv"}).streaming_content).decode()
        assert csv_text.count("\n") == 32 and "participants_police" in csv_text


class TestMeetingsAndActions:
    def test_the_committee_records_a_meeting_and_its_action_items(self, login, cast):
        secretary = make_user("sita", agency=cast.committee, role="caseworker")
        client = login(secretary)
        response = client.post(reverse("coordination:meeting_create"), {
            "committee": cast.committee.pk, "held_on": "2026-02-01", "title": "SC 2", "place": "Delhi",
            "agencies_present": [cast.mh_ahtb.pk, cast.wb_wcd.pk], "summary": "",
        })
        meeting = CommitteeMeeting.objects.get()
        assert response.status_code == 302 and set(meeting.agencies_present.all()) == {cast.mh_ahtb, cast.wb_wcd}
        response = client.post(reverse("coordination:meeting_detail", args=[meeting.pk]),
                               {"title": "Fill AHTU posts", "owner": "MH-AHTB", "due_on": "2026-06-30"})
        assert response.status_code == 302
        assert ActionItem.objects.get().owner == cast.mh_ahtb
        response = client.post(reverse("coordination:meeting_detail", args=[meeting.pk]),
                               {"title": "Nobody", "owner": "NO-SUCH", "due_on": "2026-06-30"})
        assert "owner" in response.context["form"].errors and ActionItem.objects.count() == 1

    def test_a_committee_viewer_reads_but_does_not_record(self, login, cast, meeting):
        client = login(cast.sunil)
        assert client.get(reverse("coordination:meeting_detail", args=[meeting.pk])).status_code == 200
        assert client.get(reverse("coordination:meeting_create")).status_code == 403
        assert client.post(reverse("coordination:meeting_detail", args=[meeting.pk]),
                           {"title": "x", "owner": "MH-AHTB", "due_on": "2026-06-30"}).status_code == 403

    def test_a_meeting_in_the_future_is_refused(self, login, cast):
        secretary = make_user("sita", agency=cast.committee, role="admin")
        response = login(secretary).post(reverse("coordination:meeting_create"), {
            "committee": cast.committee.pk, "held_on": (timezone.localdate() + timedelta(days=3)).isoformat(), "title": "SC"})
        assert "held_on" in response.context["form"].errors and not CommitteeMeeting.objects.exists()

    def test_the_owner_reports_progress_and_closes_the_item(self, login, cast, item):
        client = login(cast.rahul)
        url = reverse("coordination:action_item_detail", args=[item.pk])
        assert client.post(url, {"note": "", "status": "done"}).status_code == 200
        assert ActionItem.objects.get().status == "open"
        client.post(url, {"note": "Notification issued.", "status": "done"})
        item.refresh_from_db()
        assert (item.status, item.closed_on) == ("done", timezone.localdate())
        update = ActionItemUpdate.objects.get()
        assert (update.from_status, update.to_status, update.author_agency) == ("open", "done", cast.mh_ahtb)
        client.post(url, {"note": "Reopened: two districts left.", "status": "in_progress"})
        item.refresh_from_db()
        assert (item.status, item.closed_on) == ("in_progress", None)

    @pytest.mark.parametrize("user, get, post", [
        ("rahul", 200, 302), ("devi", 200, 403), ("sunil", 200, 403), ("asha", 404, 404), ("mitra", 404, 404), ("root", 200, 302),
    ])
    def test_who_reads_and_updates_an_action_item(self, login, cast, item, user, get, post):
        client = login(getattr(cast, user))
        url = reverse("coordination:action_item_detail", args=[item.pk])
        assert client.get(url).status_code == get
        assert client.post(url, {"note": "Progress", "status": "in_progress"}).status_code == post

    def test_the_list_flags_overdue_items_and_filters_mine(self, login, cast, meeting, item):
        ActionItem.objects.create(meeting=meeting, title="WCD report", owner=cast.mh_wcd, due_on=timezone.localdate() + timedelta(days=30))
        client = login(cast.rahul)
        response = client.get(reverse("coordination:action_list"))
        assert [i.title for i in response.context["items"]] == ["Notify the AHTUs as police stations", "WCD report"]
        assert 'class="overdue"' in response.content.decode()
        assert [i.title for i in client.get(reverse("coordination:action_list"), {"mine": "true"}).context["items"]] == [
            "Notify the AHTUs as police stations"]
        assert [i.title for i in client.get(reverse("coordination:action_list"), {"show": "overdue"}).context["items"]] == [
            "Notify the AHTUs as police stations"]

    def test_the_mine_filter_offers_yes_no_or_any(self, login, cast, meeting, item):
        ActionItem.objects.create(meeting=meeting, title="WCD report", owner=cast.mh_wcd, due_on=timezone.localdate() + timedelta(days=30))
        client = login(cast.rahul)
        html = client.get(reverse("coordination:action_list")).content.decode()
        assert ">Any</option>" in html and "Unknown" not in html
        assert len(client.get(reverse("coordination:action_list"), {"mine": "unknown"}).context["items"]) == 2
        assert [i.title for i in client.get(reverse("coordination:action_list"), {"mine": "false"}).context["items"]] == ["WCD report"]


class TestTracker:
    def test_cells_show_filed_missing_late_and_not_yet_due(self, login, cast, settings):
        settings.AHTU_RETURN_DUE_DAY = 10
        cast.ahtu.__class__.objects.filter(pk=cast.ahtu.pk).update(created_at=timezone.now() - timedelta(days=800))
        last = last_ended_month(timezone.localdate())
        two_ago, three_ago = add_months(last, -2), add_months(last, -3)
        plant_return(cast.ahtu, three_ago, status="approved", submitted_on=add_months(three_ago, 1).replace(day=25))
        plant_return(cast.ahtu, two_ago, status="submitted")
        response = login(cast.devi).get(reverse("coordination:return_tracker"))
        [(ahtu, cells)] = response.context["grid"]
        by_month = {c.month: c for c in cells}
        assert (by_month[three_ago].status, by_month[three_ago].late) == ("approved", True)
        assert (by_month[two_ago].status, by_month[two_ago].late) == ("submitted", False)
        assert by_month[add_months(last, -1)].status == "missing"
        summary = {s["month"]: s for s in response.context["summary"]}
        assert (summary[three_ago]["filed"], summary[three_ago]["late"], summary[add_months(last, -1)]["missing"]) == (1, 1, 1)

    def test_each_user_follows_only_their_ahtus(self, login, cast):
        make_agency(code="KOL-AHTU", name="AHTU Kolkata", kind="ahtu", district=cast.geo.kolkata)
        url = reverse("coordination:return_tracker")
        names = lambda user: [a.name for a, _cells in login(user).get(url).context["grid"]]  # noqa: E731
        assert names(cast.devi) == ["AHTU Pune"]
        assert names(cast.mitra) == ["AHTU Kolkata"]
        assert names(cast.arjun) == ["AHTU Pune"]
        assert names(cast.sunil) == ["AHTU Pune", "AHTU Kolkata"]

    def test_cells_link_only_to_returns_the_user_may_open(self, login, cast):
        r = plant_return(cast.ahtu, add_months(last_ended_month(timezone.localdate()), -1), status="approved")
        url, detail = reverse("coordination:return_tracker"), reverse("coordination:return_detail", args=[r.pk])
        for user, linked in ((cast.devi, True), (cast.arjun, True), (cast.root, True), (cast.sunil, False)):
            client = login(user)
            html = client.get(url).content.decode()
            assert (detail in html) is linked, user.username
            assert (reverse("coordination:return_list") + '"' in html) is linked, user.username
            if linked:
                assert client.get(detail).status_code == 200

    def test_it_uses_constant_queries(self, login, cast):
        client = login(cast.sunil)
        url = reverse("coordination:return_tracker")
        client.get(url)
        with CaptureQueriesContext(connection) as small:
            client.get(url)
        last = last_ended_month(timezone.localdate())
        for n in range(20):
            ahtu = make_agency(kind="ahtu", district=cast.geo.mumbai)
            for i in range(12):
                plant_return(ahtu, add_months(last, -i))
        with CaptureQueriesContext(connection) as large:
            client.get(url)
        assert len(large) == len(small)
        assert month_key(last)
