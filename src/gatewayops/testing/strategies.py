"""Hypothesis strategies for every protocol v1 and v2 message and for the store's actions.

Owns: the public face of the strategies, gathered from the modules that build them:
plain values (`_value_strategies`: JSON, ids, tokens, statuses), the `data` of each
agent event type (`_event_data_strategies`), wire messages of both sides
(`_message_strategies` for v1, `_v2_message_strategies` for v2) and store actions
(`_action_strategies`). Every value drawn is JSON-safe (finite floats, integers within
JavaScript's safe range, string keys), so ``decode(encode(m)) == m`` holds for every
server message and ``decode_client(encode(m)) == m`` for every client message (for v2:
``decode_mux(encode_mux(m)) == m`` and ``decode_mux_client(encode_mux(m)) == m``), and
the `data` of the event types with a typed view parses with `parse_event_data`. Must not
know: the reducer, the transport, or what a client does with a message or an action.

Needs Hypothesis (the ``test`` extra). Import this module directly::

    from gatewayops.testing import strategies as gs

    @given(gs.agent_events(operation_id="op-1"))
    def test_own_events(event): ...
"""

from gatewayops.testing._action_strategies import (
    fetch_answers,
    interrupt_results,
    intervention_answers,
    operations_attached,
    operations_started,
    refresh_results,
    socket_events,
    submission_results,
    timers_fired,
    tokens_replaced,
    tool_finishes,
)
from gatewayops.testing._event_data_strategies import (
    RUNTIME_END_REASONS,
    event_data,
    ui_message_lists,
)
from gatewayops.testing._message_strategies import (
    agent_event_messages,
    agent_events,
    auth_expired_messages,
    auth_failed_messages,
    auth_messages,
    auth_success_messages,
    client_messages,
    heartbeat_ack_messages,
    heartbeat_messages,
    interrupt_messages,
    resume_complete_messages,
    resume_messages,
    server_messages,
    session_complete_messages,
    tool_errors,
    tool_result_messages,
    unknown_messages,
)
from gatewayops.testing._v2_message_strategies import (
    hub_error_messages,
    input_request_messages,
    mux_agent_event_messages,
    mux_client_messages,
    mux_resume_complete_messages,
    mux_server_messages,
    mux_session_complete_messages,
    mux_tool_result_messages,
    mux_unknown_messages,
    op_lifecycle_messages,
    ready_messages,
    status_change_messages,
    subscribe_failed_messages,
    subscribe_messages,
    tool_confirmation_messages,
    tool_confirmation_request_messages,
    unsubscribe_messages,
    user_input_messages,
)
from gatewayops.testing._value_strategies import (
    JsonValue,
    event_ids,
    foreign_operation_ids,
    json_objects,
    json_values,
    operation_ids,
    own_operation_ids,
    session_statuses,
    tokens,
    tool_call_ids,
)

__all__ = [
    "RUNTIME_END_REASONS",
    "JsonValue",
    "agent_event_messages",
    "agent_events",
    "auth_expired_messages",
    "auth_failed_messages",
    "auth_messages",
    "auth_success_messages",
    "client_messages",
    "event_data",
    "event_ids",
    "fetch_answers",
    "foreign_operation_ids",
    "heartbeat_ack_messages",
    "heartbeat_messages",
    "hub_error_messages",
    "input_request_messages",
    "interrupt_messages",
    "interrupt_results",
    "intervention_answers",
    "json_objects",
    "json_values",
    "mux_agent_event_messages",
    "mux_client_messages",
    "mux_resume_complete_messages",
    "mux_server_messages",
    "mux_session_complete_messages",
    "mux_tool_result_messages",
    "mux_unknown_messages",
    "op_lifecycle_messages",
    "operation_ids",
    "operations_attached",
    "operations_started",
    "own_operation_ids",
    "ready_messages",
    "refresh_results",
    "resume_complete_messages",
    "resume_messages",
    "server_messages",
    "session_complete_messages",
    "session_statuses",
    "socket_events",
    "status_change_messages",
    "submission_results",
    "subscribe_failed_messages",
    "subscribe_messages",
    "timers_fired",
    "tokens",
    "tokens_replaced",
    "tool_call_ids",
    "tool_confirmation_messages",
    "tool_confirmation_request_messages",
    "tool_errors",
    "tool_finishes",
    "tool_result_messages",
    "ui_message_lists",
    "unknown_messages",
    "unsubscribe_messages",
    "user_input_messages",
]
