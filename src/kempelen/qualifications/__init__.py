"""Qualification types, grants, requests, tests and system qualifications."""
