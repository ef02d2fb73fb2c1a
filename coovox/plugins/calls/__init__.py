"""Call control: ARI events to call flows, the call record (built-in plugin ``calls``)."""
