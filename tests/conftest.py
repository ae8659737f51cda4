"""The cast every test can use.

Pune, Maharashtra: Asha is a caseworker at the Saathi NGO, Bina is read-only there and Nina
is its admin. Chitra works at the Shakti Sadan (the shelter receiving referrals), Kavita at the
Child Welfare Committee, Arjun at the AHTU, Priya at the DLSA. Devi reviews referrals for the
Maharashtra WCD department; Rahul is the admin of the Maharashtra nodal cell (a state admin).
Mitra reviews West Bengal. Omar works at an NGO in Patna (the outsider). Sunil sits on the
steering committee. Root is a superuser.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.cache import cache

from tests.factories import make_agency, make_district, make_state, make_user


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def geo(db):
    mh = make_state("Maharashtra", latitude=19.0, longitude=75.5)
    goa = make_state("Goa", latitude=15.4, longitude=74.0)
    bihar = make_state("Bihar", latitude=25.6, longitude=85.5)
    wb = make_state("West Bengal", latitude=23.0, longitude=88.0)
    return SimpleNamespace(
        mh=mh, goa=goa, bihar=bihar, wb=wb,
        pune=make_district("Pune", mh, 18.5204, 73.8567),
        mumbai=make_district("Mumbai", mh, 18.9388, 72.8354),
        thane=make_district("Thane", mh, 19.2183, 72.9781),
        north_goa=make_district("North Goa", goa, 15.4989, 73.8278),
        patna=make_district("Patna", bihar, 25.5941, 85.1376),
        kolkata=make_district("Kolkata", wb, 22.5726, 88.3639),
    )


@pytest.fixture
def cast(geo):
    c = SimpleNamespace(geo=geo)
    c.committee = make_agency(code="SC", name="Steering Committee", kind="committee", level="national")
    c.mh_wcd = make_agency(code="MH-WCD", name="Maharashtra WCD", kind="state_department", level="state", state=geo.mh)
    c.mh_ahtb = make_agency(code="MH-AHTB", name="Maharashtra AHT Bureau", kind="state_aht_bureau", level="state", state=geo.mh)
    c.wb_wcd = make_agency(code="WB-WCD", name="West Bengal WCD", kind="state_department", level="state", state=geo.wb)
    c.ngo = make_agency(code="PUNE-NGO", name="Saathi Pune", kind="ngo", district=geo.pune, services=["rescue", "counselling"])
    c.shelter = make_agency(
        code="PUNE-SS", name="Shakti Sadan Pune", kind="shelter_home", district=geo.pune,
        services=["shelter_women", "counselling"], beds_total=30, beds_available=5, serves_male=False, min_age=18,
    )
    c.cwc = make_agency(code="PUNE-CWC", name="CWC Pune", kind="cwc", district=geo.pune, services=["child_protection"])
    c.ahtu = make_agency(code="PUNE-AHTU", name="AHTU Pune", kind="ahtu", district=geo.pune, services=["rescue", "investigation"])
    c.dlsa = make_agency(code="PUNE-DLSA", name="DLSA Pune", kind="legal_services", district=geo.pune, services=["compensation", "legal_aid"])
    c.outsider_agency = make_agency(code="PATNA-NGO", name="Patna NGO", kind="ngo", district=geo.patna, services=["rescue"])

    c.asha = make_user("asha", agency=c.ngo, role="caseworker")
    c.bina = make_user("bina", agency=c.ngo, role="viewer")
    c.nina = make_user("nina", agency=c.ngo, role="admin")
    c.chitra = make_user("chitra", agency=c.shelter, role="caseworker")
    c.kavita = make_user("kavita", agency=c.cwc, role="caseworker")
    c.arjun = make_user("arjun", agency=c.ahtu, role="admin")
    c.priya = make_user("priya", agency=c.dlsa, role="caseworker")
    c.devi = make_user("devi", agency=c.mh_wcd, role="caseworker")
    c.rahul = make_user("rahul", agency=c.mh_ahtb, role="admin")
    c.mitra = make_user("mitra", agency=c.wb_wcd, role="caseworker")
    c.omar = make_user("omar", agency=c.outsider_agency, role="caseworker")
    c.sunil = make_user("sunil", agency=c.committee, role="viewer")
    c.root = make_user("root", is_superuser=True, is_staff=True)
    return c


@pytest.fixture
def login(client):
    """`login(user)` logs the test client in as that user and returns the client."""

    def _login(user):
        client.force_login(user)
        return client

    return _login
