"""SendBonus, ListBonusPayments, GetAccountBalance."""

from __future__ import annotations

from django.conf import settings

from kempelen.core.errors import AssignmentDoesNotExist, HITDoesNotExist, InvalidParameter
from kempelen.core.money import format_cents, parse_amount
from kempelen.ledger.queries import requester_balances
from kempelen.marketplace import actions
from kempelen.marketplace.models import HIT, VISIBLE_STATUSES, Assignment, BonusPayment

from .. import serializers
from ..context import Call
from ..pagination import listing, page


def send_bonus(call: Call, p: dict) -> dict:
    actions.send_bonus(
        actor=call.actor, requester=call.requester, environment=call.environment, worker_id=p["WorkerId"],
        assignment_id=p["AssignmentId"], amount_cents=parse_amount(p["BonusAmount"], field="BonusAmount"),
        reason=p["Reason"], unique_request_token=p.get("UniqueRequestToken"),
    )
    return {}


def list_bonus_payments(call: Call, p: dict) -> dict:
    hit_id, assignment_id = p.get("HITId"), p.get("AssignmentId")
    if bool(hit_id) == bool(assignment_id):
        raise InvalidParameter("Provide either HITId or AssignmentId (exactly one).")
    qs = BonusPayment.objects.filter(requester=call.requester, environment=call.environment).select_related("worker")
    if hit_id:
        if not HIT.objects.filter(pk=hit_id, requester=call.requester, environment=call.environment).exists():
            raise HITDoesNotExist(hit_id)
        qs = qs.filter(assignment__hit_id=hit_id)
        scope = f"bonus:h:{hit_id}"
    else:
        # Work in progress does not exist for the requester yet (as in GetAssignment and SendBonus).
        if not Assignment.objects.filter(
            pk=assignment_id, requester=call.requester, environment=call.environment, status__in=VISIBLE_STATUSES
        ).exists():
            raise AssignmentDoesNotExist(str(assignment_id))
        qs = qs.filter(assignment_id=assignment_id)
        scope = f"bonus:a:{assignment_id}"
    items, token = page(qs, p, order=("id",), scope=scope)
    return listing(items, token, "BonusPayments", serializers.bonus)


def get_account_balance(call: Call, p: dict) -> dict:
    if call.environment == "sandbox":
        return {"AvailableBalance": format_cents(int(str(settings.KEMPELEN["SANDBOX_BALANCE_CENTS"]))),
                "OnHoldBalance": "0.00"}
    actions.settle_due_for_requester(call.requester, call.environment)
    available, escrow = requester_balances(call.requester, call.environment)
    return {"AvailableBalance": format_cents(available), "OnHoldBalance": format_cents(escrow)}
