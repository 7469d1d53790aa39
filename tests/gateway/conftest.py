"""Fixtures for the reference gateway tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from _gateway_helpers import EPOCH

from gatewayops.gateway import Gateway, open_gateway


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    """A gateway on a free loopback port whose clock starts at `EPOCH`."""
    async with open_gateway(epoch=EPOCH) as gw:
        yield gw
