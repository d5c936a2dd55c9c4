"""Foundations shared by every app: ids, money, the clock, errors and the audit log."""
