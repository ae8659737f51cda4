"""AHTU monthly returns: every rule on every path (service, form, import, database), the review workflow
and who may do each step."""

from datetime import date
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from coordination import rules
from coordination.imports import IMPORT_COLUMNS, import_returns
from coordination.models import AhtuReturn, AhtuReturnEvent, ReturnStatus
from coordination.periods import add_months, last_ended_month, month_key
from coordination.services import (
    ahtu_return_approve,
    ahtu_return_create,
    ahtu_return_send_back,
    ahtu_return_submit,
    ahtu_return_update,
)
from tests.factories import make_agency, make_user
from tests.steering_fixtures import figures, plant_return

JAN, FEB, MAR = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)


@pytest.fixture
def wb_ahtu(cast):
    return make_agency(code="KOL-AHTU", name="AHTU Kolkata", kind="ahtu", district=cast.geo.kolkata)


def draft(cast, month=JAN, **values):
    return ahtu_return_create(ahtu=cast.ahtu, month=month, values=figures(**values), by=cast.arjun)


class TestValidationInTheService:
    def test_a_good_draft_is_saved_with_its_history(self, cast):
        r = draft(cast, victims_rescued=10, minors_rescued=4, female_rescued=9, arrested=3, customers_arrested=1)
        assert (r.status, r.victims_rescued, r.created_by) == (ReturnStatus.DRAFT, 10, cast.arjun)
        assert list(r.events.values_list("to_status", flat=True)) == ["draft"]

    @pytest.mark.parametrize("values, field", [
        ({"victims_rescued": 3, "minors_rescued": 4}, "minors_rescued"),
        ({"victims_rescued": 3, "female_rescued": 4}, "female_rescued"),
        ({"arrested": 2, "customers_arrested": 3}, "customers_arrested"),
        ({"rehabilitation_initiated": 1}, "rehabilitation_initiated"),
        ({"chargesheets": 1}, "chargesheets"),
        ({"convicted": 1}, "convicted"),
        ({"places_closed": -1}, "places_closed"),
        ({"cases_registered": None}, "cases_registered"),
    ])
    def test_each_rule_refuses_and_writes_nothing(self, cast, values, field):
        with pytest.raises(ValidationError) as caught:
            draft(cast, **values)
        assert field in caught.value.message_dict
        assert not AhtuReturn.objects.exists()

    def test_figures_to_date_count_the_ahtus_earlier_months(self, cast):
        plant_return(cast.ahtu, JAN, victims_rescued=5, cases_registered=2, arrested=1)
        ok = draft(cast, month=FEB, rehabilitation_initiated=5, chargesheets=2, convicted=1)
        assert ok.pk
        with pytest.raises(ValidationError) as caught:
            draft(cast, month=MAR, rehabilitation_initiated=1, chargesheets=1, convicted=1)
        assert set(caught.value.message_dict) == {"rehabilitation_initiated", "chargesheets", "convicted"}

    def test_lowering_an_earlier_month_may_not_break_a_later_one(self, cast):
        jan = draft(cast, month=JAN, victims_rescued=5)
        draft(cast, month=FEB, rehabilitation_initiated=5)
        with pytest.raises(ValidationError) as caught:
            ahtu_return_update(ahtu_return=jan, values=figures(victims_rescued=4), by=cast.arjun)
        assert "2024-02" in caught.value.message_dict["rehabilitation_initiated"][0]
        jan.refresh_from_db()
        assert jan.victims_rescued == 5

    def test_one_return_per_ahtu_and_month(self, cast):
        draft(cast, month=JAN)
        with pytest.raises(ValidationError) as caught:
            draft(cast, month=JAN)
        assert "month" in caught.value.message_dict
        assert AhtuReturn.objects.count() == 1

    def test_months_that_have_not_started_or_are_not_months_are_refused(self, cast):
        next_month = add_months(timezone.localdate().replace(day=1), 1)
        with pytest.raises(ValidationError):
            draft(cast, month=next_month)
        with pytest.raises(ValidationError):
            draft(cast, month=date(2024, 1, 15))
        with pytest.raises(ValidationError):
            draft(cast, month=date(1999, 12, 1))
        # The current month may be drafted while it runs.
        assert draft(cast, month=timezone.localdate().replace(day=1)).pk

    def test_only_an_ahtu_files_returns(self, cast):
        with pytest.raises(ValidationError):
            ahtu_return_create(ahtu=cast.ngo, month=JAN, values=figures(), by=cast.root)


class TestTheDatabaseHoldsTheRulesItCanExpress:
    @pytest.mark.parametrize("values", [
        {"victims_rescued": 1, "minors_rescued": 2}, {"victims_rescued": 1, "female_rescued": 2},
        {"arrested": 1, "customers_arrested": 2}, {"convicted": -1},
    ])
    def test_it_refuses_parts_above_wholes_and_negatives(self, cast, values):
        with pytest.raises(IntegrityError), transaction.atomic():
            AhtuReturn.objects.create(ahtu=cast.ahtu, month=JAN, **figures(**values))

    def test_it_refuses_a_second_return_for_the_month(self, cast):
        plant_return(cast.ahtu, JAN)
        with pytest.raises(IntegrityError), transaction.atomic():
            plant_return(cast.ahtu, JAN)

    def test_a_returned_return_carries_a_comment(self, cast):
        with pytest.raises(IntegrityError), transaction.atomic():
            AhtuReturn.objects.create(ahtu=cast.ahtu, month=JAN, status="returned", first_submitted_at=timezone.now())


class TestWhoMayDoEachStep:
    def test_only_the_ahtus_admins_and_caseworkers_file(self, cast):
        viewer = make_user("vikram", agency=cast.ahtu, role="viewer")
        caseworker = make_user("kiran", agency=cast.ahtu, role="caseworker")
        assert draft(cast, month=JAN).pk
        assert ahtu_return_create(ahtu=cast.ahtu, month=FEB, values=figures(), by=caseworker).pk
        for user in (viewer, cast.asha, cast.rahul, cast.devi, cast.sunil, cast.omar):
            with pytest.raises(PermissionDenied):
                ahtu_return_create(ahtu=cast.ahtu, month=MAR, values=figures(), by=user)
        assert AhtuReturn.objects.count() == 2

    def test_the_states_bureau_reviews_not_its_department_when_there_is_a_bureau(self, cast, wb_ahtu):
        mh = plant_return(cast.ahtu, JAN, status="submitted")
        assert rules.review_state_ids(cast.rahul) == {cast.geo.mh.pk}
        assert rules.review_state_ids(cast.devi) == frozenset()
        for user in (cast.devi, cast.mitra, cast.arjun, cast.sunil, cast.asha):
            with pytest.raises(PermissionDenied):
                ahtu_return_approve(ahtu_return=mh, by=user)
        ahtu_return_approve(ahtu_return=mh, by=cast.rahul)
        assert AhtuReturn.objects.get(pk=mh.pk).status == ReturnStatus.APPROVED

    def test_a_state_without_a_bureau_is_reviewed_by_its_department(self, cast, wb_ahtu):
        wb = plant_return(wb_ahtu, JAN, status="submitted")
        assert rules.review_state_ids(cast.mitra) == {cast.geo.wb.pk}
        with pytest.raises(PermissionDenied):
            ahtu_return_approve(ahtu_return=wb, by=cast.rahul)
        ahtu_return_send_back(ahtu_return=wb, by=cast.mitra, comment="Add the joint raid.")
        assert AhtuReturn.objects.get(pk=wb.pk).status == ReturnStatus.RETURNED
        # Once West Bengal sets up a bureau, the bureau reviews.
        make_agency(code="WB-AHTB", name="WB bureau", kind="state_aht_bureau", level="state", state=cast.geo.wb)
        del cast.mitra._coordination_review_states
        assert rules.review_state_ids(cast.mitra) == frozenset()

    def test_a_state_viewer_does_not_review(self, cast):
        viewer = make_user("vani", agency=cast.mh_ahtb, role="viewer")
        r = plant_return(cast.ahtu, JAN, status="submitted")
        with pytest.raises(PermissionDenied):
            ahtu_return_approve(ahtu_return=r, by=viewer)

    def test_nobody_approves_what_they_submitted(self, cast):
        both = make_user("bhavna", agency=cast.ahtu, role="caseworker")
        from stakeholders.services import membership_grant

        membership_grant(agency=cast.mh_ahtb, user=both, role="caseworker")
        r = ahtu_return_create(ahtu=cast.ahtu, month=JAN, values=figures(), by=both)
        ahtu_return_submit(ahtu_return=r, by=both)
        with pytest.raises(PermissionDenied, match="Someone else"):
            ahtu_return_approve(ahtu_return=r, by=both)
        ahtu_return_approve(ahtu_return=r, by=cast.rahul)


class TestTheWorkflow:
    def test_draft_submit_return_correct_resubmit_approve(self, cast):
        r = draft(cast, month=JAN, victims_rescued=4)
        ahtu_return_submit(ahtu_return=r, by=cast.arjun)
        first = r.first_submitted_at
        assert r.status == ReturnStatus.SUBMITTED and first is not None
        with pytest.raises(ValidationError):
            ahtu_return_update(ahtu_return=r, values=figures(victims_rescued=5), by=cast.arjun)
        with pytest.raises(ValidationError):
            ahtu_return_send_back(ahtu_return=r, by=cast.rahul, comment="  ")
        ahtu_return_send_back(ahtu_return=r, by=cast.rahul, comment="Minors missing.")
        assert (r.status, r.review_comment) == (ReturnStatus.RETURNED, "Minors missing.")
        ahtu_return_update(ahtu_return=r, values=figures(victims_rescued=4, minors_rescued=2), by=cast.arjun)
        ahtu_return_submit(ahtu_return=r, by=cast.arjun)
        ahtu_return_approve(ahtu_return=r, by=cast.rahul, comment="Thanks")
        r.refresh_from_db()
        assert (r.status, r.minors_rescued, r.first_submitted_at, r.reviewed_by) == ("approved", 2, first, cast.rahul)
        assert list(AhtuReturnEvent.objects.filter(ahtu_return=r).values_list("to_status", flat=True)) == [
            "draft", "submitted", "returned", "submitted", "approved"]
        assert AhtuReturnEvent.objects.filter(ahtu_return=r, to_status="approved").get().actor_agency == cast.mh_ahtb

    def test_an_approved_return_can_be_reopened_but_not_approved_twice(self, cast):
        r = plant_return(cast.ahtu, JAN, status="approved")
        with pytest.raises(ValidationError):
            ahtu_return_approve(ahtu_return=r, by=cast.rahul)
        ahtu_return_send_back(ahtu_return=r, by=cast.rahul, comment="Figures revised by the SP.")
        assert AhtuReturn.objects.get(pk=r.pk).status == ReturnStatus.RETURNED

    def test_a_draft_cannot_be_approved_nor_a_running_month_submitted(self, cast):
        r = draft(cast, month=JAN)
        with pytest.raises(ValidationError):
            ahtu_return_approve(ahtu_return=r, by=cast.rahul)
        running = draft(cast, month=timezone.localdate().replace(day=1))
        with pytest.raises(ValidationError, match="once the month is over"):
            ahtu_return_submit(ahtu_return=running, by=cast.arjun)
        assert AhtuReturn.objects.get(pk=running.pk).status == ReturnStatus.DRAFT

    def test_a_return_first_submitted_after_the_due_day_is_late(self, cast, settings):
        settings.AHTU_RETURN_DUE_DAY = 10
        on_time = plant_return(cast.ahtu, JAN, status="submitted", submitted_on=date(2024, 2, 10))
        late = plant_return(cast.ahtu, FEB, status="submitted", submitted_on=date(2024, 3, 11))
        assert (on_time.is_late, late.is_late) == (False, True)


class TestPages:
    def test_the_form_shows_each_broken_rule_next_to_its_field_and_saves_nothing(self, login, cast):
        data = {"ahtu": cast.ahtu.pk, "month": "2024-01", **figures(victims_rescued=2, minors_rescued=3, arrested=1,
                                                                    customers_arrested=2, rehabilitation_initiated=3), "remarks": ""}
        response = login(cast.arjun).post(reverse("coordination:return_create"), data)
        assert response.status_code == 200
        errors = response.context["form"].errors
        assert {"minors_rescued", "customers_arrested"} <= set(errors)
        assert not AhtuReturn.objects.exists()

    def test_filing_and_submitting_from_the_form(self, login, cast):
        month = last_ended_month(timezone.localdate())
        data = {"ahtu": cast.ahtu.pk, "month": month_key(month), **figures(victims_rescued=2), "remarks": "", "submit": "1"}
        response = login(cast.arjun).post(reverse("coordination:return_create"), data)
        r = AhtuReturn.objects.get()
        assert response.status_code == 302 and r.status == ReturnStatus.SUBMITTED and r.victims_rescued == 2

    def test_save_and_submit_of_a_running_month_leaves_nothing_behind(self, login, cast):
        running = timezone.localdate().replace(day=1)
        client = login(cast.arjun)
        data = {"ahtu": cast.ahtu.pk, "month": month_key(running), **figures(victims_rescued=2), "remarks": "", "submit": "1"}
        response = client.post(reverse("coordination:return_create"), data)
        assert response.status_code == 200 and "once the month is over" in str(response.context["form"].non_field_errors())
        assert not AhtuReturn.objects.exists()
        # Saving it as a draft then works (no "already has a return" from the failed attempt).
        del data["submit"]
        assert client.post(reverse("coordination:return_create"), data).status_code == 302
        r = AhtuReturn.objects.get()
        assert r.status == ReturnStatus.DRAFT
        # Editing and submitting it fails as a whole: the figures are not changed either.
        response = client.post(reverse("coordination:return_edit", args=[r.pk]), {**figures(victims_rescued=7), "remarks": "", "submit": "1"})
        assert response.status_code == 200 and response.context["form"].non_field_errors()
        r.refresh_from_db()
        assert (r.status, r.victims_rescued) == (ReturnStatus.DRAFT, 2)

    def test_the_review_page_approves_and_returns(self, login, cast):
        r = plant_return(cast.ahtu, JAN, status="submitted")
        client = login(cast.rahul)
        assert client.post(reverse("coordination:return_review", args=[r.pk]), {"action": "return", "comment": ""}).status_code == 302
        assert AhtuReturn.objects.get(pk=r.pk).status == "submitted"  # no comment, nothing changed
        client.post(reverse("coordination:return_review", args=[r.pk]), {"action": "approve", "comment": ""})
        assert AhtuReturn.objects.get(pk=r.pk).status == "approved"

    @pytest.mark.parametrize("user, detail, review", [
        ("rahul", 200, 302), ("devi", 200, 403), ("arjun", 200, 403), ("root", 200, 302),
        ("sunil", 404, 404), ("omar", 404, 404), ("asha", 404, 404), ("mitra", 404, 404),
    ])
    def test_who_sees_and_reviews_a_return(self, login, cast, user, detail, review):
        r = plant_return(cast.ahtu, JAN, status="submitted")
        client = login(getattr(cast, user))
        assert client.get(reverse("coordination:return_detail", args=[r.pk])).status_code == detail
        assert client.post(reverse("coordination:return_review", args=[r.pk]), {"action": "approve"}).status_code == review

    @pytest.mark.parametrize("user, status", [("arjun", 302), ("rahul", 403), ("devi", 403), ("omar", 404), ("sunil", 404)])
    def test_who_may_submit_a_draft(self, login, cast, user, status):
        r = plant_return(cast.ahtu, JAN, status="draft")
        assert login(getattr(cast, user)).post(reverse("coordination:return_submit", args=[r.pk])).status_code == status
        assert AhtuReturn.objects.get(pk=r.pk).status == ("submitted" if status == 302 else "draft")

    def test_a_returned_return_is_not_saved_as_a_draft(self, login, cast):
        client = login(cast.arjun)
        returned = plant_return(cast.ahtu, JAN, status="returned")
        html = client.get(reverse("coordination:return_edit", args=[returned.pk])).content.decode()
        assert "Save, submit later" in html and "Save as draft" not in html
        assert "Save as draft" in client.get(reverse("coordination:return_edit", args=[plant_return(cast.ahtu, FEB, status="draft").pk])).content.decode()

    def test_a_submitted_return_is_not_editable(self, login, cast):
        r = plant_return(cast.ahtu, JAN, status="submitted", victims_rescued=3)
        response = login(cast.arjun).post(reverse("coordination:return_edit", args=[r.pk]), {**figures(victims_rescued=9), "remarks": ""})
        assert response.status_code == 302
        assert AhtuReturn.objects.get(pk=r.pk).victims_rescued == 3

    def test_the_list_shows_each_user_only_the_returns_they_may_read(self, login, cast, wb_ahtu):
        plant_return(cast.ahtu, JAN)
        plant_return(wb_ahtu, JAN)
        url = reverse("coordination:return_list")
        assert {r.ahtu for r in login(cast.devi).get(url).context["returns"]} == {cast.ahtu}
        assert {r.ahtu for r in login(cast.mitra).get(url).context["returns"]} == {wb_ahtu}
        assert {r.ahtu for r in login(cast.arjun).get(url).context["returns"]} == {cast.ahtu}
        assert login(cast.sunil).get(url).status_code == 403
        assert login(cast.omar).get(url).status_code == 403


def csv_text(*rows, header=None):
    header = header or ",".join(IMPORT_COLUMNS)
    return [header + "\n", *(row + "\n" for row in rows)]


def row(code="PUNE-AHTU", month="2024-01", *values):
    numbers = list(values) + [0] * (len(IMPORT_COLUMNS) - 2 - len(values))
    return ",".join([code, month, *map(str, numbers)])


class TestImport:
    def test_good_rows_are_imported_approved(self, cast):
        report = import_returns(csv_text(row("PUNE-AHTU", "2024-01", 2, 1, 5, 1, 4), row("PUNE-AHTU", "2024-02", 1)))
        assert (report.created, report.written, report.errors) == (2, True, [])
        assert list(AhtuReturn.objects.order_by("month").values_list("status", "victims_rescued", "imported")) == [
            ("approved", 5, True), ("approved", 0, True)]

    def test_a_nul_character_or_an_unreadable_line_is_reported_not_a_crash(self, cast):
        report = import_returns(csv_text(row("PUNE-AHTU\x00", "2024-01")))
        assert [(e.line, e.column) for e in report.errors] == [(2, "ahtu_code")]
        report = import_returns(csv_text(row(), row("X" * 200_000)), skip_invalid=True)
        assert [e.line for e in report.errors] == [3] and "cannot be read as CSV" in report.errors[0].message
        assert not report.written and not AhtuReturn.objects.exists()

    def test_status_submitted_leaves_them_for_review(self, cast):
        import_returns(csv_text(row()), status="submitted")
        assert AhtuReturn.objects.get().status == "submitted"

    def test_one_bad_row_and_nothing_is_written_with_every_bad_line_reported(self, cast):
        report = import_returns(csv_text(
            row("PUNE-AHTU", "2024-01", 1),
            row("PUNE-AHTU", "2024-02", 0, 0, 2, 3),  # minors above rescued
            row("NOPE", "2024-03"),
            row("PUNE-NGO", "2024-03"),
            row("PUNE-AHTU", "2024/04"),
            row("PUNE-AHTU", "2024-05", -1),
            "PUNE-AHTU,2024-06,x,0,0,0,0,0,0,0,0,0,0",
            "PUNE-AHTU,2024-07,,0,0,0,0,0,0,0,0,0,0",
        ))
        assert not report.written and report.created == 0
        assert not AhtuReturn.objects.exists()
        found = {(e.line, e.column) for e in report.errors}
        assert {(3, "minors_rescued"), (4, "ahtu_code"), (5, "ahtu_code"), (6, "month"), (7, "cases_registered"),
                (8, "cases_registered"), (9, "cases_registered")} <= found
        assert report.bad_lines == [3, 4, 5, 6, 7, 8, 9]
        assert "Nothing was written" in report.summary()

    @pytest.mark.parametrize("cell", ["1_0", "+5", "٣", "5.0", " 1 2 "])
    def test_a_figure_is_plain_digits(self, cast, cell):
        report = import_returns(csv_text(row("PUNE-AHTU", "2024-01", cell)))
        assert [(e.line, e.column) for e in report.errors] == [(2, "cases_registered")]
        assert "not a whole number" in report.errors[0].message and not AhtuReturn.objects.exists()

    def test_skip_invalid_writes_the_good_rows(self, cast):
        report = import_returns(csv_text(row("PUNE-AHTU", "2024-01"), row("NOPE", "2024-02")), skip_invalid=True)
        assert (report.written, report.created, report.skipped) == (True, 1, 1)
        assert AhtuReturn.objects.count() == 1

    def test_a_dry_run_writes_nothing(self, cast):
        report = import_returns(csv_text(row()), dry_run=True)
        assert report.created == 1 and not report.written and not AhtuReturn.objects.exists()

    def test_duplicates_in_the_file_and_in_the_database_are_refused(self, cast):
        plant_return(cast.ahtu, FEB)
        report = import_returns(csv_text(row("PUNE-AHTU", "2024-01"), row("PUNE-AHTU", "2024-01"), row("PUNE-AHTU", "2024-02")))
        messages = {e.line: e.message for e in report.errors}
        assert "also on line 2" in messages[3] and "already has" in messages[4]
        assert AhtuReturn.objects.count() == 1

    def test_figures_to_date_span_the_file_and_the_database(self, cast):
        plant_return(cast.ahtu, JAN, victims_rescued=2)
        # Feb initiates rehabilitation for 3, but only 2 were rescued to date.
        report = import_returns(csv_text(row("PUNE-AHTU", "2024-02", *[0] * 10, 3)))
        assert [(e.line, e.column) for e in report.errors] == [(2, "rehabilitation_initiated")]
        report = import_returns(csv_text(row("PUNE-AHTU", "2024-02", 0, 0, 1), row("PUNE-AHTU", "2024-03", *[0] * 10, 3)))
        assert report.written and AhtuReturn.objects.count() == 3

    def test_a_month_not_over_is_refused(self, cast):
        running = month_key(timezone.localdate().replace(day=1))
        report = import_returns(csv_text(row("PUNE-AHTU", running)))
        assert report.errors[0].column == "month"

    def test_submitted_on_decides_lateness(self, cast, settings):
        settings.AHTU_RETURN_DUE_DAY = 10
        header = ",".join(IMPORT_COLUMNS) + ",submitted_on"
        import_returns(csv_text(row("PUNE-AHTU", "2024-01") + ",2024-02-09", row("PUNE-AHTU", "2024-02") + ",2024-03-20", header=header))
        assert [r.is_late for r in AhtuReturn.objects.order_by("month")] == [False, True]
        report = import_returns(csv_text(row("PUNE-AHTU", "2024-03") + ",2024-03-20", header=header))
        assert report.errors[0].column == "submitted_on"

    def test_a_missing_column_is_reported_on_the_header(self, cast):
        report = import_returns(["ahtu_code,month,cases_registered\n", "PUNE-AHTU,2024-01,1\n"])
        assert report.errors[0].line == 1 and "victims_rescued" in report.errors[0].message

    def test_a_state_reviewer_imports_their_states_ahtus_only(self, login, cast, wb_ahtu):
        report = import_returns(csv_text(row("PUNE-AHTU"), row("KOL-AHTU")), allowed_state_ids={cast.geo.mh.pk})
        assert [(e.line, e.column) for e in report.errors] == [(3, "ahtu_code")]

    def test_the_import_page_is_for_reviewers(self, login, cast):
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("r.csv", "".join(csv_text(row())).encode())
        response = login(cast.rahul).post(reverse("coordination:return_import"), {"file": upload, "status": "approved"})
        assert response.status_code == 200 and response.context["report"].written
        assert login(cast.arjun).get(reverse("coordination:return_import")).status_code == 403
        assert login(cast.devi).get(reverse("coordination:return_import")).status_code == 403

    def test_a_reviewer_reviews_the_returns_they_imported_as_submitted(self, login, cast):
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("r.csv", "".join(csv_text(row())).encode())
        client = login(cast.rahul)
        client.post(reverse("coordination:return_import"), {"file": upload, "status": "submitted"})
        r = AhtuReturn.objects.get()
        assert r.status == "submitted" and r.events.get().actor == cast.rahul
        assert client.post(reverse("coordination:return_review", args=[r.pk]), {"action": "approve"}).status_code == 302
        assert AhtuReturn.objects.get().status == "approved"

    def test_the_command_reports_errors_and_fails(self, cast, tmp_path):
        good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
        good.write_text("".join(csv_text(row())))
        bad.write_text("".join(csv_text(row("NOPE"))))
        err = StringIO()
        with pytest.raises(CommandError, match="Nothing was written"):
            call_command("import_returns", str(bad), stderr=err)
        assert "line 2, column ahtu_code" in err.getvalue()
        out = StringIO()
        call_command("import_returns", str(good), "--status", "submitted", stdout=out, stderr=StringIO())
        assert "Created 1" in out.getvalue() and AhtuReturn.objects.get().status == "submitted"

    def test_the_command_names_the_statuses_it_takes(self, cast, tmp_path, capsys):
        good = tmp_path / "good.csv"
        good.write_text("".join(csv_text(row())))
        with pytest.raises(CommandError, match=r"invalid choice: 'draft' \(choose from 'approved', 'submitted'\)"):
            call_command("import_returns", str(good), "--status", "draft", stdout=StringIO(), stderr=StringIO())
        assert not AhtuReturn.objects.exists()
