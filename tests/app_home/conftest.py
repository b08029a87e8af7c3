"""The Home tab shows the digest's counts live, so its tests build customers the way the digest's do."""

from tests.digest.conftest import clock, customers, escalations, slack

__all__ = ["clock", "customers", "escalations", "slack"]
