"""Who may open which referral page: every case/referral URL and export × the cast, with no leaks.

The scene: Saathi (NGO) opened a case and sent it to the Shakti Sadan for a shelter placement.
Asha (NGO caseworker) sent it, Bina (NGO viewer) reads along, Chitra (shelter caseworker) receives it,
Devi supervises Maharashtra, Mitra West Bengal, Omar works in Patna, Sunil sits on the steering
committee, Root is a superuser. Not visible: 404. Visible but not theirs to do: 403.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from referrals.models import AuditEvent, Consent, Referral
from tests.referrals_fixtures import IDENTITY_TEXTS, case_with_consent, refer

CAST = ["asha", "bina", "chitra", "devi", "mitra", "omar", "sunil", "root", "anonymous"]


@pytest.fixture
def scene(cast):
    case = case_with_consent(cast)
    referral = refer(cast, case=case, purpose="shelter_placement", note="Needs a quiet room")
    consent = Consent.objects.get(case=case)
    return type("Scene", (), {"case": case, "referral": referral, "consent": consent, "cast": cast})


def client_for(cast, name):
    client = Client()
    if name != "anonymous":
        client.force_login(getattr(cast, name))
    return client


def expect(**statuses):
    """Expected status per cast member; unnamed members get `other`."""
    other = statuses.pop("other", 404)
    table = {name: statuses.get(name, other) for name in CAST}
    table["anonymous"] = statuses.get("anonymous", 302)
    return table


R = lambda s: s.referral.reference  # noqa: E731
C = lambda s: s.case.code  # noqa: E731

# (label, method, url builder, expected statuses)
MATRIX = [
    ("referral detail", "get", lambda s: reverse("referrals:referral_detail", args=[R(s)]),
     expect(asha=200, bina=200, chitra=200, devi=200, root=200)),
    ("case detail", "get", lambda s: reverse("referrals:case_detail", args=[C(s)]),
     expect(asha=200, bina=200, chitra=200, devi=200, root=200)),
    ("refer this case", "get", lambda s: reverse("referrals:case_refer", args=[C(s)]),
     expect(asha=200, chitra=200, bina=403, devi=403, root=403)),
    ("show identity", "post", lambda s: reverse("referrals:case_identity", args=[C(s)]),
     expect(asha=200, chitra=200, bina=403, devi=403, root=403)),
    ("edit identity", "get", lambda s: reverse("referrals:case_identity_edit", args=[C(s)]),
     expect(asha=200, chitra=200, bina=403, devi=403, root=403)),
    ("record consent", "get", lambda s: reverse("referrals:consent_add", args=[C(s)]),
     expect(asha=200, chitra=200, bina=403, devi=403, root=403)),
    ("withdraw consent", "post", lambda s: reverse("referrals:consent_withdraw", args=[C(s), s.consent.pk]),
     expect(asha=302, chitra=302, bina=403, devi=403, root=403)),
    ("share case", "post", lambda s: reverse("referrals:case_share", args=[C(s)]),
     expect(asha=302, bina=403, chitra=403, devi=403, root=403)),
    ("revoke share", "post", lambda s: reverse("referrals:case_share_revoke", args=[C(s), s.cast.dlsa.pk]),
     expect(asha=302, bina=403, chitra=403, devi=403, root=403)),
    ("acknowledge", "post", lambda s: reverse("referrals:referral_action", args=[R(s), "acknowledge"]),
     expect(chitra=302, asha=403, bina=403, devi=403, root=403)),
    ("accept", "post", lambda s: reverse("referrals:referral_action", args=[R(s), "accept"]),
     expect(chitra=302, asha=403, bina=403, devi=403, root=403)),
    ("decline", "post", lambda s: reverse("referrals:referral_action", args=[R(s), "decline"]),
     expect(chitra=302, asha=403, bina=403, devi=403, root=403)),
    ("complete", "post", lambda s: reverse("referrals:referral_action", args=[R(s), "complete"]),
     expect(chitra=302, asha=403, bina=403, devi=403, root=403)),
    ("withdraw", "post", lambda s: reverse("referrals:referral_action", args=[R(s), "withdraw"]),
     expect(asha=302, chitra=403, bina=403, devi=403, root=403)),
    ("comment", "post", lambda s: reverse("referrals:referral_action", args=[R(s), "comment"]),
     expect(asha=302, chitra=302, bina=403, devi=403, root=403)),
    ("share referral", "post", lambda s: reverse("referrals:referral_share", args=[R(s)]),
     expect(asha=302, chitra=302, bina=403, devi=403, root=403)),
    ("revoke referral share", "post", lambda s: reverse("referrals:referral_share_revoke", args=[R(s), s.cast.dlsa.pk]),
     expect(asha=302, chitra=302, bina=403, devi=403, root=403)),
    ("re-route", "get", lambda s: reverse("referrals:referral_reroute", args=[R(s)]),
     expect(asha=302, chitra=403, bina=403, devi=403, root=403)),
    ("picker for the case", "get", lambda s: reverse("referrals:agency_options") + f"?case={C(s)}&purpose=legal_aid",
     expect(asha=200, chitra=200, devi=200, mitra=404, omar=404, bina=403, sunil=403, root=403)),
    ("inbox", "get", lambda s: reverse("referrals:inbox"), expect(other=200)),
    ("sent", "get", lambda s: reverse("referrals:sent"), expect(other=200)),
    ("state review", "get", lambda s: reverse("referrals:review"), expect(devi=200, mitra=200, root=200)),
    ("inbox export", "get", lambda s: reverse("referrals:inbox") + "?format=csv", expect(other=200)),
    ("sent export", "get", lambda s: reverse("referrals:sent") + "?format=csv", expect(other=200)),
    ("review export", "get", lambda s: reverse("referrals:review") + "?format=csv", expect(devi=200, mitra=200, root=200)),
    ("new referral", "get", lambda s: reverse("referrals:referral_create"),
     expect(asha=200, chitra=200, devi=200, mitra=200, omar=200, bina=403, sunil=403, root=403)),
    ("audit log", "get", lambda s: reverse("referrals:audit_log"), expect(root=200)),
]
# Where the case may legitimately be named in the response.
SHOWS_CASE = {
    "referral detail": {"asha", "bina", "chitra", "devi", "root"},
    "case detail": {"asha", "bina", "chitra", "devi", "root"},
    "inbox": {"chitra"}, "sent": {"asha", "bina"}, "state review": {"devi", "root"},
    "inbox export": {"chitra"}, "sent export": {"asha", "bina"}, "review export": {"devi", "root"},
}
POST_DATA = {
    "decline": {"reason": "at_capacity"}, "complete": {"outcome": "placed"}, "comment": {"note": "Called the shelter."},
    "share case": {"agency": "PUNE-DLSA"}, "share referral": {"agency": "PUNE-DLSA"},
}


def _content(response) -> str:
    if hasattr(response, "streaming_content"):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


@pytest.mark.parametrize("label, method, url, expected", MATRIX, ids=[m[0] for m in MATRIX])
@pytest.mark.parametrize("who", CAST)
def test_it_answers_each_cast_member_as_the_matrix_says(scene, who, label, method, url, expected):
    if label == "complete":
        Referral.objects.filter(pk=scene.referral.pk).update(status="accepted")
    client = client_for(scene.cast, who)
    target = url(scene)
    response = client.post(target, POST_DATA.get(label, {})) if method == "post" else client.get(target)
    assert response.status_code == expected[who], (who, label, response.status_code)
    body = _content(response)
    if who not in SHOWS_CASE.get(label, {"asha", "bina", "chitra", "devi", "root"}) or response.status_code >= 400:
        assert scene.case.code not in body, (who, label)
        assert scene.referral.reference not in body, (who, label)
    if not (label in {"show identity", "edit identity"} and response.status_code == 200):
        for text in IDENTITY_TEXTS:
            assert text not in body, (who, label, text)


def test_anonymous_users_are_sent_to_the_login_page(scene, client):
    response = client.get(reverse("referrals:referral_detail", args=[scene.referral.reference]))
    assert response["Location"].startswith(reverse("login"))


def test_refused_actions_change_nothing(scene):
    for who in ("bina", "devi", "omar", "sunil", "root", "asha"):
        client_for(scene.cast, who).post(reverse("referrals:referral_action", args=[scene.referral.reference, "accept"]))
    scene.referral.refresh_from_db()
    assert scene.referral.status == "sent"
    assert scene.referral.events.count() == 1


def test_an_agency_that_declined_keeps_reading_the_referral_but_not_the_identity(scene, cast, login):
    from referrals.services import referral_decline

    referral_decline(referral=scene.referral, by=cast.chitra, reason="at_capacity")
    client = login(cast.chitra)
    assert client.get(scene.referral.get_absolute_url()).status_code == 200
    assert client.get(scene.case.get_absolute_url()).status_code == 200
    assert client.post(reverse("referrals:case_identity", args=[scene.case.code])).status_code == 403


def test_a_draft_is_the_senders_alone(cast, login):
    referral = refer(cast, send=False)
    assert login(cast.asha).get(referral.get_absolute_url()).status_code == 200
    for user in (cast.chitra, cast.devi):
        assert login(user).get(referral.get_absolute_url()).status_code == 404
        assert referral.reference not in login(user).get(reverse("referrals:inbox")).content.decode()


def test_sharing_a_case_opens_its_pathway_to_the_third_agency_until_revoked(scene, cast, login):
    from referrals.services import case_share, case_share_revoke

    assert login(cast.priya).get(scene.case.get_absolute_url()).status_code == 404
    case_share(case=scene.case, agency=cast.dlsa, by=cast.asha)
    client = login(cast.priya)
    assert client.get(scene.case.get_absolute_url()).status_code == 200
    assert client.get(scene.referral.get_absolute_url()).status_code == 200
    assert client.post(reverse("referrals:case_identity", args=[scene.case.code])).status_code == 403
    case_share_revoke(case=scene.case, agency=cast.dlsa, by=cast.asha)
    assert login(cast.priya).get(scene.case.get_absolute_url()).status_code == 404
    assert AuditEvent.objects.filter(action="share", object_ref=scene.case.code).exists()
    assert AuditEvent.objects.filter(action="revoke", object_ref=scene.case.code).exists()


def test_an_identity_share_lets_the_third_agency_read_who_it_is(scene, cast, login):
    from referrals.services import case_share

    case_share(case=scene.case, agency=cast.dlsa, by=cast.asha, identity=True)
    response = login(cast.priya).post(reverse("referrals:case_identity", args=[scene.case.code]))
    assert response.status_code == 200
    assert IDENTITY_TEXTS[0] in response.content.decode()


def test_every_post_needs_a_csrf_token(scene, cast):
    posts = [
        (cast.chitra, reverse("referrals:referral_action", args=[scene.referral.reference, "accept"]), {}),
        (cast.asha, reverse("referrals:referral_action", args=[scene.referral.reference, "withdraw"]), {}),
        (cast.asha, reverse("referrals:referral_action", args=[scene.referral.reference, "comment"]), {"note": "x"}),
        (cast.asha, reverse("referrals:case_identity", args=[scene.case.code]), {}),
        (cast.asha, reverse("referrals:case_identity_edit", args=[scene.case.code]), {"name": "Changed"}),
        (cast.asha, reverse("referrals:consent_add", args=[scene.case.code]), {"given_by": "person", "legal_basis": "consent", "scope": "x"}),
        (cast.asha, reverse("referrals:consent_withdraw", args=[scene.case.code, scene.consent.pk]), {}),
        (cast.asha, reverse("referrals:case_share", args=[scene.case.code]), {"agency": "PUNE-DLSA"}),
        (cast.asha, reverse("referrals:case_share_revoke", args=[scene.case.code, cast.dlsa.pk]), {}),
        (cast.chitra, reverse("referrals:referral_share", args=[scene.referral.reference]), {"agency": "PUNE-DLSA", "act": "on"}),
        (cast.chitra, reverse("referrals:referral_share_revoke", args=[scene.referral.reference, cast.dlsa.pk]), {}),
        (cast.asha, reverse("referrals:referral_reroute", args=[scene.referral.reference]), {"to_agency": cast.dlsa.pk}),
        (cast.asha, reverse("referrals:referral_create"), {"purpose": "legal_aid", "to_agency": cast.dlsa.pk}),
        (cast.asha, reverse("referrals:case_refer", args=[scene.case.code]), {"purpose": "legal_aid", "to_agency": cast.dlsa.pk}),
    ]
    before = (Referral.objects.count(), AuditEvent.objects.count(), Consent.objects.count())
    for user, url, data in posts:
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        assert client.post(url, data).status_code == 403, url
    assert (Referral.objects.count(), AuditEvent.objects.count(), Consent.objects.count()) == before
    scene.referral.refresh_from_db()
    assert scene.referral.status == "sent"


def test_the_steering_committee_never_receives_case_level_data(scene, cast, login):
    """No referral goes to a committee, no case is shared with one, and committee members open no cases."""
    import io

    from django.core.exceptions import ValidationError

    from referrals import services
    from referrals.imports import COLUMNS, import_referrals
    from referrals.selectors import agency_candidates
    from tests.factories import make_user

    before = Referral.objects.count()
    with pytest.raises(ValidationError, match="committee"):
        refer(cast, case=scene.case, to=cast.committee, purpose="other")
    with pytest.raises(ValidationError, match="committee"):
        services.case_share(case=scene.case, agency=cast.committee, by=cast.asha)
    assert Referral.objects.count() == before
    assert login(cast.sunil).get(scene.case.get_absolute_url()).status_code == 404
    assert not any(c.pk == cast.committee.pk for c in agency_candidates(purpose="other", q="Steering"))

    chair = make_user("chair", agency=cast.committee, role="admin")
    assert login(chair).get(reverse("referrals:referral_create")).status_code == 403
    with pytest.raises(ValidationError, match="committee"):
        services.case_create(agency=cast.committee, by=chair, fields={"exploitation": "forced_labour"})

    row = "IMP-SC-1,C-IMP-0009,PUNE-NGO,SC,other,sent,2025-02-01 10:00,,,no,female,forced_labour,,"
    report = import_referrals(io.StringIO(",".join(COLUMNS) + "\n" + row + "\n"))
    assert [(e.line, e.column) for e in report.errors] == [(2, "to_code")] and not report.written


def test_sharing_one_referral_lets_a_third_agency_read_it_until_revoked(scene, cast, login):
    from django.core.exceptions import PermissionDenied, ValidationError

    from referrals.services import referral_share, referral_share_revoke

    other = refer(cast, case=scene.case, to=cast.dlsa, purpose="legal_aid")
    assert login(cast.kavita).get(scene.referral.get_absolute_url()).status_code == 404
    response = login(cast.asha).post(reverse("referrals:referral_share", args=[scene.referral.reference]), {"agency": "PUNE-CWC"})
    assert response.status_code == 302
    client = login(cast.kavita)
    assert client.get(scene.referral.get_absolute_url()).status_code == 200
    case_page = client.get(scene.case.get_absolute_url())
    assert case_page.status_code == 200 and other.reference not in case_page.content.decode()  # only what was shared
    assert client.get(other.get_absolute_url()).status_code == 404
    assert client.post(reverse("referrals:case_identity", args=[scene.case.code])).status_code == 403
    assert client.post(reverse("referrals:referral_action", args=[scene.referral.reference, "accept"])).status_code == 403
    assert scene.referral.reference not in client.get(reverse("referrals:inbox")).content.decode()
    # Third agencies and viewers never pass it on; the sender may not delegate the receiver's work.
    for user in (cast.kavita, cast.bina):
        assert login(user).post(reverse("referrals:referral_share", args=[scene.referral.reference]),
                                {"agency": "PUNE-AHTU"}).status_code == 403
    with pytest.raises(PermissionDenied):
        referral_share(referral=scene.referral, agency=cast.ahtu, by=cast.asha, act=True)
    with pytest.raises(ValidationError, match="party"):
        referral_share(referral=scene.referral, agency=cast.shelter, by=cast.asha)
    assert AuditEvent.objects.filter(action="share", object_type="referral", object_ref=scene.referral.reference).count() == 1

    referral_share_revoke(referral=scene.referral, agency=cast.cwc, by=cast.chitra)
    assert login(cast.kavita).get(scene.referral.get_absolute_url()).status_code == 404
    assert login(cast.kavita).get(scene.case.get_absolute_url()).status_code == 404
    assert AuditEvent.objects.filter(action="revoke", object_type="referral", object_ref=scene.referral.reference).exists()


def test_a_receiver_delegates_acting_on_a_referral(scene, cast, login):
    from referrals.services import referral_share_revoke

    page = login(cast.chitra).get(scene.referral.get_absolute_url()).content.decode()
    assert 'name="act"' in page  # the receiver may delegate
    assert 'name="act"' not in login(cast.asha).get(scene.referral.get_absolute_url()).content.decode()
    response = login(cast.chitra).post(reverse("referrals:referral_share", args=[scene.referral.reference]),
                                       {"agency": "PUNE-AHTU", "act": "on"})
    assert response.status_code == 302
    client = login(cast.arjun)
    assert scene.referral.reference in client.get(reverse("referrals:inbox")).content.decode()
    assert "delegated this referral to your agency" in client.get(scene.referral.get_absolute_url()).content.decode()
    assert client.post(reverse("referrals:case_identity", args=[scene.case.code])).status_code == 403
    assert client.post(reverse("referrals:referral_action", args=[scene.referral.reference, "withdraw"])).status_code == 403
    assert client.post(reverse("referrals:referral_action", args=[scene.referral.reference, "acknowledge"])).status_code == 302
    scene.referral.refresh_from_db()
    assert scene.referral.status == "acknowledged"
    event = scene.referral.events.get(to_status="acknowledged")
    assert (event.actor, event.actor_agency) == (cast.arjun, cast.ahtu)
    assert AuditEvent.objects.filter(action="transition", agency=cast.ahtu, object_ref=scene.referral.reference).exists()

    referral_share_revoke(referral=scene.referral, agency=cast.ahtu, by=cast.chitra)
    assert login(cast.arjun).post(reverse("referrals:referral_action", args=[scene.referral.reference, "accept"])).status_code == 404
    scene.referral.refresh_from_db()
    assert scene.referral.status == "acknowledged"
