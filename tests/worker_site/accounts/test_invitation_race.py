"""One invitation code, many simultaneous sign-ups: exactly one account."""

from __future__ import annotations

import pytest

from kempelen.accounts import actions_profile
from kempelen.accounts.invitations import InvitationInvalid
from kempelen.accounts.models import Worker
from kempelen.core.actors import Actor
from tests.concurrency.kit import race

from .conftest import PASSWORD


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("invite_only")
def test_a_code_used_by_several_people_at_once_creates_one_account():
    code = actions_profile.create_invitation(actor=Actor.operator("ops"))

    def sign_up(i: int) -> Worker:
        return actions_profile.sign_up_worker(
            actor=Actor.system("test"), username=f"racer{i}", email=f"racer{i}@example.org", password=PASSWORD,
            country="US", invitation_code=code,
        )

    outcomes = race(6, sign_up)
    assert sum(o.ok for o in outcomes) == 1
    assert all(isinstance(o.error, InvitationInvalid) for o in outcomes if not o.ok)
    assert Worker.objects.count() == 1
