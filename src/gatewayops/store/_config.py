"""Timing and budget settings of the store, kept in state so a replay is exact.

Owns: the protocol constants of PROTOCOL.md 2.1 and the budgets of section 12, the
backoff formula, and the rule of the dial budget (`out_of_dials`, 12.13). Must not
know: clocks (delays are relative milliseconds; the runtime arms the timers and
applies jitter).
"""

from __future__ import annotations

import enum

import attrs

__all__ = [
    "MAX_AUTH_RETRIES",
    "MAX_DELAY_MS",
    "Protocol",
    "StoreConfig",
    "backoff_delay_ms",
    "out_of_dials",
]

MAX_DELAY_MS = 10**12
"""Longest delay a setting may name (about 31 years): any clock can schedule it."""


MAX_AUTH_RETRIES = 3
"""Consecutive v2 closes with code 4401 (no `ready` between them) retried at once with a
fresh user token; the next one is an authentication failure (PROTOCOL.md 7.6)."""


class Protocol(enum.StrEnum):
    """The wire protocol a store speaks to its gateway."""

    V1 = "v1"
    """One WebSocket per operation, authenticated in the socket (the default, as upstream)."""
    V2 = "v2"
    """One WebSocket per user, carrying every followed operation as a subscription."""


def _as_protocol(value: Protocol | str) -> Protocol:
    """A `Protocol` from itself or its value (a recording's header holds ``"v2"``)."""
    try:
        return Protocol(value)
    except ValueError:
        choices = ", ".join(repr(p.value) for p in Protocol)
        raise ValueError(
            f"StoreConfig.protocol: expected one of {choices}, got {value!r}"
        ) from None


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if type(value) is not int or value <= 0:
        raise ValueError(f"StoreConfig.{attribute.name}: expected a positive int, got {value!r}")


def _delay(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    _positive(instance, attribute, value)
    if value > MAX_DELAY_MS:
        raise ValueError(
            f"StoreConfig.{attribute.name}: {value} ms is longer than the {MAX_DELAY_MS} ms allowed"
        )


def _budget(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (type(value) is not int or value <= 0):
        raise ValueError(
            f"StoreConfig.{attribute.name}: expected None or a positive int, got {value!r}"
        )


def _flag(instance: object, attribute: attrs.Attribute[bool], value: bool) -> None:
    if type(value) is not bool:
        raise ValueError(f"StoreConfig.{attribute.name}: expected a bool, got {value!r}")


@attrs.frozen(kw_only=True)
class StoreConfig:
    """Protocol timings (milliseconds) and budgets.

    Attributes:
        heartbeat_interval_ms: a heartbeat is sent this often while connected.
        max_missed_heartbeats: unanswered heartbeats tolerated; the next tick reconnects.
        connect_timeout_ms: connect watchdog over dial + handshake + `auth_success`.
        initial_backoff_ms: first reconnect delay; doubles per failed attempt.
        max_backoff_ms: cap of the reconnect delay.
        resume_flush_ms: quiet time after the last buffered replay event before a flush.
        refresh_budget: consecutive token refreshes allowed without reaching
            `auth_success`; past it the operation ends as an auth failure.
        refresh_timeout_ms: a refresh that has not answered by then counts as failed
            (so a hung refresh endpoint cannot leave a run stuck on "Stop").
        quiet_after_ms: an authenticated socket on which nothing but heartbeat acks
            arrived for this long is reported quiet (`Connection.quiet`); the run
            goes on.
        auto_reconnect: False: a lost socket is not redialled; the operation stops
            being followed (detached, not finished) until the app reconnects it.
        dial_budget: None (the default): a gateway that cannot be reached is dialled
            for ever, with backoff. A number: until a socket of the link first opens,
            the dial that fails this many times in a row (refused, DNS, TLS, a
            retryable handshake refusal; `Link.attempt` counts them) ends the
            operation as `Result.UNREACHABLE` (PROTOCOL.md 12.13). Once a socket has
            opened, losses only reconnect, however many.
        retain_finished: finished operations the store keeps (outcome, transcript,
            link), the most recently finished; when one more finishes, the oldest is
            forgotten, so memory is bounded by the live operations plus this many.
            At least 1: the operation that just finished is always kept.
        protocol: `Protocol.V1` (one socket per operation) or `Protocol.V2` (one
            socket per user; PROTOCOL.md 7).
        v2_dial_budget: v2 only: consecutive dials of the user's socket that never
            reached `ready` (refused, closed, timed out, or the user token could not
            be had) after which protocol v2 counts as unavailable; a refusal that can
            never succeed (an HTTP 404 on the upgrade: no v2 there) counts as
            unavailable at once. Then, with
            `v2_fallback`, every live operation moves to a v1 socket of its own from
            its cursor; without it, every live operation ends as
            `Result.UNREACHABLE`. A `ready` starts the count again.
        v2_fallback: v2 only: whether an unavailable v2 falls back to v1 (above).
        v2_keep_alive: v2 only: keep the user's socket open (and redial it) with no
            subscription left; False (lazy, the default): it closes once the last
            subscription ends, unless a new one arrives first.
    """

    heartbeat_interval_ms: int = attrs.field(default=30_000, validator=_delay)
    max_missed_heartbeats: int = attrs.field(default=3, validator=_positive)
    connect_timeout_ms: int = attrs.field(default=15_000, validator=_delay)
    initial_backoff_ms: int = attrs.field(default=1_000, validator=_delay)
    max_backoff_ms: int = attrs.field(default=30_000, validator=_delay)
    resume_flush_ms: int = attrs.field(default=500, validator=_delay)
    refresh_budget: int = attrs.field(default=3, validator=_positive)
    refresh_timeout_ms: int = attrs.field(default=30_000, validator=_delay)
    quiet_after_ms: int = attrs.field(default=180_000, validator=_delay)
    auto_reconnect: bool = attrs.field(default=True, validator=_flag)
    dial_budget: int | None = attrs.field(default=None, validator=_budget)
    retain_finished: int = attrs.field(default=1_000, validator=_positive)
    protocol: Protocol = attrs.field(default=Protocol.V1, converter=_as_protocol)
    v2_dial_budget: int = attrs.field(default=3, validator=_positive)
    v2_fallback: bool = attrs.field(default=False, validator=_flag)
    v2_keep_alive: bool = attrs.field(default=False, validator=_flag)


def backoff_delay_ms(config: StoreConfig, attempt: int) -> int:
    """Reconnect delay before attempt `attempt` (1-based): doubling, capped."""
    if attempt <= 1:
        return min(config.initial_backoff_ms, config.max_backoff_ms)
    exponent = min(attempt - 1, 32)
    delay: int = config.initial_backoff_ms << exponent
    return min(delay, config.max_backoff_ms)


def out_of_dials(config: StoreConfig, *, ever_opened: bool, failed_dials: int) -> bool:
    """Whether a link whose `failed_dials`-th consecutive dial just failed gives up:
    only with a `dial_budget`, only before any of its sockets opened (PROTOCOL.md 12.13)."""
    budget = config.dial_budget
    return budget is not None and not ever_opened and failed_dials >= budget
