"""CooVox ARI: an Asterisk Stasis application with live call billing."""

__version__ = "0.1.0"
