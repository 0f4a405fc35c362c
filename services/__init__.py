"""Hand-written service implementations."""
