"""Outbound calls: routing, call control through ARI, the call log."""
