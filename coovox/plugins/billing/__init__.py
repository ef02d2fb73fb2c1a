"""Billing: prepaid/postpaid accounts, rates, live metering with cut-off, reports."""
