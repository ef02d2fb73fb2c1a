"""The outbound configuration (built-in plugin ``outbound``)."""
