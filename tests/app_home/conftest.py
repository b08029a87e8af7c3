"""The Home tab shows the digest's counts live, so its tests build customers the way the digest's do."""

from tests.digest.conftest import customers, escalations

__all__ = ["customers", "escalations"]
