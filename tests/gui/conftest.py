"""Fixtures for the GUI tests: one Xvfb screen for the session, and the app on it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gatewayops.gui import AppOptions, ChatApp, DisplayUnavailable, virtual_display

from .helpers import FAST, call_close_button, collect_tk_garbage, pump_until

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "gui"


@pytest.fixture(scope="session")
def x_display() -> Iterator[str]:
    """A virtual X screen (Xvfb, 1024x768x24) with DISPLAY pointing at it.

    Skipped when Xvfb is not installed, except under CI (CI=true), where .ci/run
    installs it and a missing Xvfb is a failure.
    """
    previous = os.environ.get("DISPLAY")
    try:
        with virtual_display(1024, 768, 24) as display:
            os.environ["DISPLAY"] = display
            yield display
    except DisplayUnavailable as error:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no virtual display: {error}")
    finally:
        if previous is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = previous


@pytest.fixture
def artifacts() -> Path:
    """The folder for screenshots (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


OpenApp = Callable[..., ChatApp]


@pytest.fixture
def open_app(x_display: str) -> Iterator[OpenApp]:
    """Open the chat app with fast scripted runs; close whatever a test left open."""
    apps: list[ChatApp] = []

    def make(**overrides: object) -> ChatApp:
        settings: dict[str, object] = {"chunks": 40, "chunk_delay": 0.05, "config": FAST}
        settings.update(overrides)
        app = ChatApp.open(AppOptions(**settings))  # type: ignore[arg-type]
        apps.append(app)
        pump_until(app.root, lambda: app.session is not None, what="the client to open")
        return app

    yield make
    for app in apps:
        _close(app)


def _close(app: ChatApp) -> None:
    """Press the window's close button and wait until the app's run has finished."""
    if not app.guest.finished:
        call_close_button(app.root)
        pump_until(app.root, lambda: app.guest.finished, what="the run to finish")


@pytest.fixture(autouse=True)
def _no_tk_garbage_left() -> Iterator[None]:
    """After every GUI test, dead Tk objects are freed on the main thread (see
    `collect_tk_garbage`), before any later test starts a thread."""
    yield
    collect_tk_garbage()
