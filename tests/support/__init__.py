"""Helpers shared by the tests (servers started on 127.0.0.1, sign-in, ...)."""
