"""Issue 17 point 7: resident memory of an idle process and per metered call."""
