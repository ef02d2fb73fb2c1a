"""The call log, its exports and live calls (built-in plugin ``calllog``)."""
