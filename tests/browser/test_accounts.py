"""Signing up and signing in, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from kempelen.accounts.models import Worker
from tests.conftest import make_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple 9"


def test_sign_up_through_the_form_then_the_worker_id_is_shown(page):
    page.goto("/worker/signup")
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Email address").fill("grace@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD + "x")
    page.get_by_label("Country").select_option(label="Germany")
    page.get_by_role("button", name="Create my worker account").click()

    # A mistake is shown next to its field, and nothing is created.
    expect(page.get_by_role("alert")).to_contain_text("Password again: The two passwords differ")
    invalid = page.locator(".field.invalid")
    expect(invalid).to_have_count(1)
    expect(invalid).to_contain_text("Password again")
    expect(invalid).to_contain_text("The two passwords differ")
    assert not Worker.objects.filter(user__username="grace").exists()
    expect(page.get_by_label("Username")).to_have_value("grace")

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create my worker account").click()

    worker = Worker.objects.get(user__username="grace")
    assert worker.country == "DE"
    expect(page).to_have_url(re.compile(r"/worker/profile$"))
    expect(page.get_by_role("status")).to_contain_text(f"Your Worker ID is {worker.worker_id}")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text(worker.worker_id)


def test_sign_in_through_the_login_page_and_land_where_you_were_going(page):
    worker = make_worker(password=PASSWORD)
    page.goto("/worker/dashboard")
    expect(page).to_have_url(re.compile(r"/worker/login\?next="))

    page.get_by_label("Username").fill(worker.user.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("The username or password is not right")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/worker/dashboard$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text(worker.worker_id)
