"""CooVox metrics for Prometheus (a third-party example built only on ``coovox.api``)."""
