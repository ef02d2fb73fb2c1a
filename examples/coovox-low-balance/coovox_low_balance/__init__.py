"""Low-balance webhooks for CooVox (a third-party example built only on ``coovox.api``)."""
