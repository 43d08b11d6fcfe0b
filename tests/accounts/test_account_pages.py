"""The accounts pages a new user goes through, all by django-allauth: sign up (which makes the
team), email confirmation, sign out, sign in, password reset."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import Membership, Role, User


def _link(body: str) -> str:
    return re.search(r"https?://[^/\s]+(/\S+)", body).group(1)


@pytest.mark.django_db
def test_sign_up_makes_a_user_a_team_and_its_owner_and_confirms_the_email(client):
    response = client.post("/accounts/signup/", {
        "email": "Ada@Example.com", "password1": "a-Long-pass-1234", "password2": "a-Long-pass-1234",
        "team_name": "Analytical Engines",
    })
    assert response.status_code == 302
    user = User.objects.get(email="ada@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER and membership.tenant.name == "Analytical Engines"
    assert client.get("/jobs/").status_code == 200  # signed in, working in the new team

    (message,) = mail.outbox
    assert "ada@example.com" in message.to
    confirm = client.post(_link(message.body))
    assert confirm.status_code == 302
    assert user.emailaddress_set.get().verified


@pytest.mark.django_db
def test_sign_up_refuses_a_taken_email_and_a_weak_password(client):
    User.objects.create_user(email="taken@example.com", password="x")
    response = client.post("/accounts/signup/", {"email": "taken@example.com", "password1": "a-Long-pass-1234",
                                                 "password2": "a-Long-pass-1234"})
    assert response.status_code == 200 and b"already registered" in response.content
    response = client.post("/accounts/signup/", {"email": "new@example.com", "password1": "123", "password2": "123"})
    assert response.status_code == 200 and b"too short" in response.content
    assert not User.objects.filter(email="new@example.com").exists()


@pytest.mark.django_db
def test_sign_out_sign_in_and_password_reset(client):
    client.post("/accounts/signup/", {"email": "bo@example.com", "password1": "a-Long-pass-1234",
                                      "password2": "a-Long-pass-1234"})
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/jobs/").status_code == 302  # signed out: back to the sign-in page

    bad = client.post("/accounts/login/", {"login": "bo@example.com", "password": "wrong"})
    assert bad.status_code == 200 and b"not correct" in bad.content

    mail.outbox.clear()
    assert client.post("/accounts/password/reset/", {"email": "bo@example.com"}).status_code == 302
    (message,) = mail.outbox
    form_url = client.get(_link(message.body), follow=True).redirect_chain[-1][0]
    done = client.post(form_url, {"password1": "another-Long-pass-99", "password2": "another-Long-pass-99"})
    assert done.status_code == 302
    assert client.post("/accounts/login/", {"login": "bo@example.com", "password": "another-Long-pass-99"}
                       ).status_code == 302
    assert client.get("/jobs/").status_code == 200
