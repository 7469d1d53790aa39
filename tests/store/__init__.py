"""Example tests of the pure reducer, one per rule (PROTOCOL.md sections 2-6, 11, 12)."""
