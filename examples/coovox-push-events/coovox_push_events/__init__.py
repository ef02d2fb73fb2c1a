"""CooVox push events: POST call events as JSON to a configured URL."""

__version__ = "0.1.0"
