"""The append-only double-entry ledger: accounts, transactions and their entries (integer cents)."""

from __future__ import annotations

from django.db import models

from kempelen.core.models import Environment


class AccountKind(models.TextChoices):
    REQUESTER_AVAILABLE = "requester_available", "Requester: available funds"
    REQUESTER_ESCROW = "requester_escrow", "Requester: escrow for live HITs"
    WORKER_EARNINGS = "worker_earnings", "Worker: earnings"
    PLATFORM_FEES = "platform_fees", "Platform: fees"
    EXTERNAL = "external", "Outside world (deposits, payouts, sandbox credit)"


#: Kinds whose ``balance_cents`` caches the sum of their entries. The others (only ever credited by the
#: marketplace) keep ``balance_cents`` at 0 and are read as sums, so that paying never locks their rows.
CACHED_KINDS = frozenset({AccountKind.REQUESTER_AVAILABLE, AccountKind.REQUESTER_ESCROW})


class LedgerAccount(models.Model):
    """An account. For requester accounts ``balance_cents`` is a cache of the sum of its entries, kept in the
    same transaction under the requester's lock; other kinds are summed (see ``CACHED_KINDS``)."""

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=24, choices=AccountKind.choices)
    environment = models.CharField(max_length=8, choices=Environment.choices)
    requester = models.ForeignKey("accounts.Requester", null=True, blank=True, on_delete=models.PROTECT)
    worker = models.ForeignKey("accounts.Worker", null=True, blank=True, on_delete=models.PROTECT)
    balance_cents = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return self.key


class LedgerTransaction(models.Model):
    """A balanced set of entries. ``idempotency_key`` is unique, so a movement can never be booked twice."""

    idempotency_key = models.CharField(max_length=160, unique=True)
    kind = models.CharField(max_length=32)
    environment = models.CharField(max_length=8, choices=Environment.choices)
    created_at = models.DateTimeField()
    memo = models.CharField(max_length=1024, blank=True)
    actor = models.CharField(max_length=100, blank=True)
    requester = models.ForeignKey("accounts.Requester", null=True, blank=True, on_delete=models.PROTECT)
    worker = models.ForeignKey("accounts.Worker", null=True, blank=True, on_delete=models.PROTECT)
    hit_id = models.CharField(max_length=64, blank=True)
    assignment_id = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["requester", "environment", "created_at"]),
            models.Index(fields=["worker", "environment", "created_at"]),
        ]

    def __str__(self) -> str:
        return self.idempotency_key


class LedgerEntry(models.Model):
    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    amount_cents = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["account", "transaction"])]
