"""Business rules. Services flush but never commit and never raise HTTP errors."""
