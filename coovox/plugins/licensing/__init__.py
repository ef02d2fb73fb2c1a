"""Licensing: trials and device-bound licences of named features."""
