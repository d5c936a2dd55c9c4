"""The append-only double-entry ledger: balances, escrow, fees, payments."""
