"""Data access: with each broker's own ``store.py``, the only code that talks to DynamoDB."""
