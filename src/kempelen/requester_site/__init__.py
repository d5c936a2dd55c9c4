"""Requester pages."""
