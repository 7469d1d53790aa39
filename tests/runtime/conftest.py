"""Fixtures for the runtime tests: a fresh in-memory transport per test."""

from __future__ import annotations

import pytest

from gatewayops.transport import MemoryTransport


@pytest.fixture
def transport() -> MemoryTransport:
    """An in-memory transport whose server side the test plays."""
    return MemoryTransport()
