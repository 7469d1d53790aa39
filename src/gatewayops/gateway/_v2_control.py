"""The in-process control API of the reference gateway's protocol v2 endpoint.

Owns: `MuxGateway`, reached as `Gateway.v2`: the ``/v2/ws`` URL of a user's token, the
user token service (`user_token`, what a v2 client's token provider calls; it honours
the `fail_user_tokens` fault; `renew_user_token` is the same service for whoever proves
a user by a token of theirs, expired or not, as the HTTP endpoint's ``/user-token``
does) and its fault-free twin `issue_user_token` for tests, the
v2 fault switches, and what the hub holds now. Which user owns a run is said when it is
started (`Gateway.start_run(..., user_id=...)`, `DEFAULT_USER` when not).

Must not know: the client, or how sockets are accepted.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from gatewayops._secrets import get_logger
from gatewayops.exceptions import UserTokenUnavailable
from gatewayops.gateway._hub import HubStatistics
from gatewayops.gateway._operations import OperationRegistry
from gatewayops.gateway._tokens import DEFAULT_TOKEN_TTL, InvalidToken
from gatewayops.gateway._user_tokens import DEFAULT_USER
from gatewayops.gateway._v2_socket import MuxEndpoint
from gatewayops.protocol import mux_url

__all__ = ["MuxGateway"]

_log = get_logger("gatewayops.gateway")


class MuxGateway:
    """The v2 endpoint of a running gateway; reach it as `Gateway.v2`.

    Attributes:
        faults: the v2 fault switches (see `MuxFaults`).
    """

    def __init__(
        self, *, base_url: str, endpoint: MuxEndpoint, registry: OperationRegistry
    ) -> None:
        self.faults = endpoint.faults
        self._base_url = base_url
        self._hub = endpoint.hub
        self._users = endpoint.users
        self._registry = registry

    def url(self, token: str, client_id: str = "client-1") -> str:
        """The ``/v2/ws`` URL for `token`'s user (it carries the token: never log it raw).

        Raises:
            InvalidGatewayUrl: the token or client id is empty.
        """
        return mux_url(self._base_url, token, client_id)

    def issue_user_token(
        self, user_id: str = DEFAULT_USER, ttl_seconds: float = DEFAULT_TOKEN_TTL
    ) -> str:
        """A user-level token for `user_id` (negative TTL: already expired); no faults.

        Raises:
            ValueError: `user_id` is empty, or `ttl_seconds` would give an unusable `exp`.
        """
        return self._users.issue(user_id, ttl_seconds)

    async def user_token(
        self, user_id: str = DEFAULT_USER, ttl_seconds: float = DEFAULT_TOKEN_TTL
    ) -> str:
        """The user token service: a fresh token for `user_id` (5 minutes by default).

        Raises:
            UserTokenUnavailable: the service fails (the `fail_user_tokens` fault).
            ValueError: as `issue_user_token`.
        """
        await trio.lowlevel.checkpoint()
        if self.faults.take_failed_token():
            _log.info("fault: the user token service failed for %s", user_id)
            raise UserTokenUnavailable(f"the user token service failed for {user_id!r}")
        return self._users.issue(user_id, ttl_seconds)

    async def renew_user_token(self, token: str, ttl_seconds: float = DEFAULT_TOKEN_TTL) -> str:
        """`user_token` for the user `token` speaks for (expired or not).

        Raises:
            ValueError: `token` is not a user token of this gateway (the reason says why).
            UserTokenUnavailable: the service fails (the `fail_user_tokens` fault).
        """
        check = self._users.check(token)
        if isinstance(check, InvalidToken):
            raise ValueError(check.reason)
        return await self.user_token(check.user_id, ttl_seconds)

    def subscriptions(self, user_id: str | None = None) -> dict[str, int]:
        """How many v2 sockets (of `user_id`, or of everyone) follow each operation now."""
        counts: dict[str, int] = {}
        for peer in self._hub.peers(user_id):
            for operation_id in self._hub.subscriptions_of(peer):
                counts[operation_id] = counts.get(operation_id, 0) + 1
        return counts

    def statistics(self) -> HubStatistics:
        """What the hub holds now (sockets, users, subscriptions, executors)."""
        return self._hub.statistics()

    async def wait_statistics(self, predicate: Callable[[HubStatistics], bool]) -> HubStatistics:
        """Wait, without polling, until `predicate(self.statistics())` holds; returns it."""
        while True:
            current = self._hub.statistics()
            if predicate(current):
                return current
            await self._registry.wait_changed()

    def __repr__(self) -> str:
        return f"MuxGateway(url={self._base_url!r})"
