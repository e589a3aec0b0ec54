"""The lockout after too many failed sign-ins, as a person sees it: the sign-in page, saying how long to wait."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("path", "button", "shot"),
    [("/accounts/login/", "Log in", "46-login-locked"), ("/admin/login/", "Log in", "47-admin-login-locked")],
)
def test_too_many_failures_show_the_sign_in_page_with_the_wait(page, problems, shoot, path, button, shot):
    get_user_model().objects.create_user("ada", "ada@example.com", PASSWORD, is_staff=True)
    problems.allow("status of 429")  # the browser logs the lockout's status; the page itself is fine
    if path.startswith("/admin/"):
        problems.allow("status of 404")  # Django's admin links no favicon, so the browser asks for /favicon.ico
    page.goto(path)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.get_by_label("Username").fill("ada")
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name=button).click()
        page.wait_for_load_state()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=button).click()
    page.get_by_text("Too many attempts. Try again in 15 minutes.").wait_for()
    assert page.get_by_label("Password").is_visible()
    shoot(page, shot)
