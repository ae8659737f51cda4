"""Authentication: log in and out, change a password, reset a forgotten one by e-mail."""

import re

from django.core import mail
from django.urls import reverse

from tests.factories import make_user


def test_log_in_and_out(client, db):
    make_user("asha")
    response = client.post(reverse("login"), {"username": "asha", "password": "pw-for-tests-only"})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("stakeholders:agency_list"))["Location"].startswith(reverse("login"))


def test_a_wrong_password_is_refused(client, db):
    make_user("asha")
    response = client.post(reverse("login"), {"username": "asha", "password": "wrong"})
    assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated


def test_change_password(client, db):
    user = make_user("asha")
    client.force_login(user)
    response = client.post(reverse("password_change"), {
        "old_password": "pw-for-tests-only", "new_password1": "a-new-long-passphrase-7", "new_password2": "a-new-long-passphrase-7",
    })
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-new-long-passphrase-7")


def test_reset_a_forgotten_password_by_email(client, db):
    user = make_user("asha")
    assert client.post(reverse("password_reset"), {"email": "asha@example.org"}).status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    response = client.post(form_page.redirect_chain[-1][0], {"new_password1": "another-long-pass-9", "new_password2": "another-long-pass-9"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another-long-pass-9")
