"""The home page shows each role what needs them, counts through the gates, suppresses small counts for the
committee, and uses the same number of queries whatever the size of the data."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coordination.models import ActionItem, CommitteeMeeting
from coordination.periods import add_months, last_ended_month
from tests.factories import make_agency, make_case, make_referral, make_user
from tests.steering_fixtures import plant_return

HOME = reverse("home")


def referral(cast, frm, to, status="sent", *, due_in_hours=24, days_ago=1, **kwargs):
    now = timezone.now()
    sent = now - timedelta(days=days_ago)
    return make_referral(case=make_case(opened_by=frm), from_agency=frm, to_agency=to, status=status,
                         sent_at=sent if status != "draft" else None, created_at=sent,
                         due_at=now + timedelta(hours=due_in_hours), **kwargs)


def board(client):
    return client.get(HOME).context["board"]


class TestCaseworker:
    def test_inbox_counts_and_overdue_referrals(self, login, cast):
        referral(cast, cast.shelter, cast.ngo, "sent")
        referral(cast, cast.shelter, cast.ngo, "sent", due_in_hours=-5)
        referral(cast, cast.cwc, cast.ngo, "acknowledged", due_in_hours=-1)
        referral(cast, cast.cwc, cast.ngo, "accepted")
        referral(cast, cast.ngo, cast.shelter, "sent")
        referral(cast, cast.ngo, cast.shelter, "acknowledged", due_in_hours=-2)
        referral(cast, cast.ngo, cast.dlsa, "draft")
        referral(cast, cast.ngo, cast.dlsa, "completed", due_in_hours=-100)
        referral(cast, cast.outsider_agency, cast.dlsa, "sent", due_in_hours=-3)  # not the NGO's
        inbox = board(login(cast.asha)).inbox
        assert (inbox["new"], inbox["acknowledged"], inbox["received_overdue"], inbox["in_care"]) == (2, 1, 2, 1)
        assert (inbox["awaiting"], inbox["sent_overdue"], inbox["drafts"]) == (2, 1, 1)
        assert inbox["overdue_total"] == 3 and len(inbox["overdue"]) == 3
        assert all(r.from_agency in (cast.ngo,) or r.to_agency == cast.ngo for r in inbox["overdue"])

    def test_answers_to_the_agencys_referrals_of_the_last_week_are_counted(self, login, cast):
        now = timezone.now()
        referral(cast, cast.ngo, cast.shelter, "accepted", responded_at=now - timedelta(hours=3))
        referral(cast, cast.ngo, cast.dlsa, "declined", responded_at=now - timedelta(days=2), decline_reason="at_capacity")
        referral(cast, cast.ngo, cast.cwc, "completed", responded_at=now - timedelta(days=6), closed_at=now)
        referral(cast, cast.ngo, cast.shelter, "declined", responded_at=now - timedelta(days=9), days_ago=10)  # too old
        referral(cast, cast.shelter, cast.ngo, "declined", responded_at=now - timedelta(hours=1))  # our own answer
        response = login(cast.asha).get(HOME)
        inbox = response.context["board"].inbox
        assert (inbox["answered"], inbox["answered_declined"]) == (3, 1)
        assert (inbox["in_care"], inbox["awaiting"]) == (0, 0)
        assert "sent, answered in the last 7 days" in response.content.decode()

    def test_a_viewer_sees_the_counts_and_the_outsider_sees_only_their_own(self, login, cast):
        referral(cast, cast.shelter, cast.ngo, "sent", due_in_hours=-5)
        assert board(login(cast.bina)).inbox["received_overdue"] == 1
        outsider = board(login(cast.omar))
        assert outsider.inbox["received_overdue"] == 0 and outsider.reviewer is None and outsider.committee is None


class TestStateReviewer:
    def test_referrals_by_status_and_agency_overdue_and_returns_to_review(self, login, cast):
        referral(cast, cast.ngo, cast.shelter, "sent", due_in_hours=-5)
        referral(cast, cast.ngo, cast.shelter, "acknowledged")
        referral(cast, cast.ngo, cast.cwc, "accepted")
        referral(cast, cast.ngo, cast.dlsa, "declined")
        referral(cast, cast.outsider_agency, cast.outsider_agency.__class__.objects.create(
            code="PATNA-2", name="Patna 2", kind="ngo", state=cast.geo.bihar), "sent", due_in_hours=-9)
        month = last_ended_month(timezone.localdate())
        plant_return(cast.ahtu, month, status="submitted")
        panel = board(login(cast.devi)).reviewer
        assert (panel["pending"], panel["overdue"], panel["accepted"]) == (2, 1, 1)
        assert {row["status"]: row["count"] for row in panel["by_status"]}["declined"] == 1
        assert panel["by_agency"][0]["to_agency__name"] == "Shakti Sadan Pune"
        assert panel["by_agency"][0]["overdue"] == 1
        assert [r.to_agency for r in panel["overdue_list"]] == [cast.shelter]  # Bihar's overdue referral is not Maharashtra's
        assert panel["reviews"] is False  # Maharashtra has a bureau: its department reads, the bureau reviews
        rahul = board(login(cast.rahul)).reviewer
        assert rahul["reviews"] and rahul["to_review_total"] == 1
        assert rahul["filing"]["filed"] == 1 and rahul["filing"]["expected"] == 1

    def test_missing_returns_are_counted_once_the_due_day_has_passed(self, login, cast, settings):
        make_agency(code="THANE-AHTU", name="AHTU Thane", kind="ahtu", district=cast.geo.thane)
        cast.ahtu.__class__.objects.filter(kind="ahtu").update(created_at=timezone.now() - timedelta(days=400))
        settings.AHTU_RETURN_DUE_DAY = 1
        filing = board(login(cast.rahul)).reviewer["filing"]
        assert (filing["expected"], filing["filed"]) == (2, 0)
        assert filing["missing"] == (2 if filing["past_due"] else 0)


class TestAhtuMember:
    def test_returns_to_file_lists_missing_drafts_and_returned(self, login, cast):
        last = last_ended_month(timezone.localdate())
        cast.ahtu.created_at = timezone.now() - timedelta(days=400)
        cast.ahtu.save()
        plant_return(cast.ahtu, last, status="draft")
        plant_return(cast.ahtu, add_months(last, -1), status="returned")
        plant_return(cast.ahtu, add_months(last, -2), status="approved")
        plant_return(cast.ahtu, add_months(last, -3), status="submitted")
        todo = board(login(cast.arjun)).returns_todo
        months = {item["month"]: item for item in todo}
        assert months[add_months(last, -1)]["status"] == "returned"
        assert months[last]["return_pk"] is not None
        assert add_months(last, -2) not in months and add_months(last, -3) not in months
        assert add_months(last, -4) in months and months[add_months(last, -4)]["overdue"]
        assert len(todo) == 12 - 2

    def test_a_viewer_of_the_ahtu_sees_what_is_due_without_filing_buttons(self, login, cast):
        cast.ahtu.__class__.objects.filter(pk=cast.ahtu.pk).update(created_at=timezone.now() - timedelta(days=400))
        returned = plant_return(cast.ahtu, add_months(last_ended_month(timezone.localdate()), -1), status="returned")
        viewer = make_user("vikram", agency=cast.ahtu, role="viewer")
        html = login(viewer).get(HOME).content.decode()
        assert "Monthly returns to file" in html
        assert reverse("coordination:return_create") not in html and reverse("coordination:return_edit", args=[returned.pk]) not in html
        assert reverse("coordination:return_detail", args=[returned.pk]) in html
        html = login(cast.arjun).get(HOME).content.decode()
        assert reverse("coordination:return_create") in html and reverse("coordination:return_edit", args=[returned.pk]) in html

    def test_months_before_the_ahtu_existed_are_not_asked_for(self, login, cast):
        # Registered today: only last month may be asked for (it ended before registration, so not even that).
        assert board(login(cast.arjun)).returns_todo == []
        cast.ahtu.__class__.objects.filter(pk=cast.ahtu.pk).update(created_at=timezone.now() - timedelta(days=70))
        assert 1 <= len(board(login(cast.arjun)).returns_todo) <= 3


class TestCommittee:
    @pytest.fixture
    def three_referrals(self, cast):
        for _ in range(3):
            referral(cast, cast.ngo, cast.shelter, "sent", due_in_hours=-5)

    def test_headline_figures(self, login, cast, three_referrals):
        make_agency(code="KOL-AHTU", name="AHTU Kolkata", kind="ahtu", district=cast.geo.kolkata)
        referral(cast, cast.ngo, cast.shelter, "sent", due_in_hours=5)  # not due yet: not decided
        referral(cast, cast.ngo, cast.shelter, "completed", days_ago=120)  # before the window
        panel = board(login(cast.sunil)).committee
        assert panel["coverage"] == {"districts": 6, "with_ahtu": 2, "share": 33, "in_ahtu_states": 4, "ahtu_states": 2}
        assert panel["shelters"]["with_free"] == 1 and panel["shelters"]["free_beds"] == 5
        assert panel["network"]["referrals"] == 4 and panel["network"]["overdue"] == 3
        assert panel["network"]["with_deadline"] == 3 and panel["network"]["met"] == 0
        assert panel["network"]["met_share"] is None  # three decided deadlines are too few to show a share
        # Agencies that took part in no referral: every agency but the committee, the NGO and the shelter.
        assert panel["network"]["silent_agencies"] == 8

    def test_a_count_of_three_never_reaches_the_committee_dashboard(self, login, cast, three_referrals):
        plant_return(cast.ahtu, last_ended_month(timezone.localdate()), victims_rescued=40, arrested=12, convicted=3)
        html = login(cast.sunil).get(HOME).content.decode()
        assert html.count("&lt;5") >= 3  # referrals sent, overdue, convictions
        assert not re.search(r'class="stat">\s*3\s*<', html)
        # The superuser sees the figures themselves.
        assert re.search(r'class="stat">\s*3\s*<', login(cast.root).get(HOME).content.decode())

    def test_the_share_answered_in_time_needs_enough_referrals(self, login, cast):
        now = timezone.now()
        for i in range(6):
            r = referral(cast, cast.ngo, cast.shelter, "accepted", due_in_hours=-1)
            r.responded_at = r.due_at - timedelta(hours=1) if i < 3 else r.due_at + timedelta(hours=1)
            r.save()
        assert board(login(cast.sunil)).committee["network"]["met_share"] == 50
        assert now


class TestActionItems:
    def test_owners_see_their_open_items_with_overdue_flagged(self, login, cast):
        meeting = CommitteeMeeting.objects.create(committee=cast.committee, held_on=timezone.localdate() - timedelta(days=90), title="SC 1")
        ActionItem.objects.create(meeting=meeting, title="Notify AHTUs", owner=cast.mh_ahtb, due_on=timezone.localdate() - timedelta(days=3))
        ActionItem.objects.create(meeting=meeting, title="Done thing", owner=cast.mh_ahtb, due_on=timezone.localdate(), status="done",
                                  closed_on=timezone.localdate())
        response = login(cast.rahul).get(HOME)
        assert [i.title for i in response.context["board"].actions["items"]] == ["Notify AHTUs"]
        assert "overdue since" in response.content.decode()
        assert board(login(cast.asha)).actions is None
        assert [i.title for i in board(login(cast.sunil)).actions["items"]] == ["Notify AHTUs"]

    def test_the_link_to_all_items_lists_what_the_panel_summarises(self, login, cast):
        meeting = CommitteeMeeting.objects.create(committee=cast.committee, held_on=timezone.localdate() - timedelta(days=90), title="SC 1")
        ActionItem.objects.create(meeting=meeting, title="Notify AHTUs", owner=cast.mh_ahtb, due_on=timezone.localdate())
        action_list = reverse("coordination:action_list")
        for user in (cast.rahul, cast.sunil, cast.root):
            client = login(user)
            link = re.search(r'href="(%s[^"]*)">All action items' % action_list, client.get(HOME).content.decode()).group(1)
            listed = client.get(link.replace("&amp;", "&")).context["items"]
            assert [i.title for i in listed] == ["Notify AHTUs"], user.username


@pytest.mark.parametrize("user", ["asha", "devi", "rahul", "arjun", "sunil", "root", "omar"])
def test_each_dashboard_uses_a_constant_number_of_queries(login, cast, user):
    client = login(getattr(cast, user))
    def grow(n):
        for _ in range(n):
            referral(cast, cast.ngo, cast.shelter, "sent", due_in_hours=-5)
            referral(cast, cast.shelter, cast.cwc, "accepted")
            referral(cast, cast.outsider_agency, cast.ngo, "acknowledged")
        last = last_ended_month(timezone.localdate())
        for i in range(n):
            ahtu = make_agency(kind="ahtu", district=cast.geo.mumbai)
            plant_return(ahtu, add_months(last, -i), status="submitted")
    grow(1)
    client.get(HOME)
    with CaptureQueriesContext(connection) as small:
        client.get(HOME)
    grow(6)
    with CaptureQueriesContext(connection) as large:
        response = client.get(HOME)
    assert response.status_code == 200
    assert len(large) == len(small) <= 15, [q["sql"][:120] for q in large.captured_queries]


def test_a_user_of_no_agency_gets_a_plain_home(login, cast):
    response = login(make_user("nobody")).get(HOME)
    assert response.status_code == 200 and response.context["board"].panels == []
