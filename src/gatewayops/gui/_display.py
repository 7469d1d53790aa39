"""A virtual X display (Xvfb) and screenshots of windows on it, for headless runs.

Owns: `virtual_display` (start Xvfb on a display number it picks itself, wait until it
accepts connections, stop it), `screenshot` (one window to PNG with ImageMagick's
``import``) and `png_size` (read a PNG's dimensions from its header). The GUI tests,
the dispatch benchmark and whoever refreshes the docs' screenshot use them, so the
example app runs the same way on a machine with no screen.

Readiness is Xvfb's own signal, not a sleep: with ``-displayfd`` Xvfb writes the display
number it chose to a pipe once it is ready for clients, so no free number has to be
guessed and no connection polled.

Must not know: Tk, the app, or gatewayops' client.
"""

from __future__ import annotations

import os
import select
import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["DisplayUnavailable", "png_size", "screenshot", "virtual_display"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class DisplayUnavailable(RuntimeError):
    """Xvfb (or the screenshot tool) is not installed, or Xvfb did not come up."""


def _read_display_number(fd: int, process: subprocess.Popen[bytes], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise DisplayUnavailable(f"Xvfb did not report a display within {timeout} s")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 64)
        if not chunk:
            code = process.wait()
            raise DisplayUnavailable(f"Xvfb exited with code {code} before it was ready")
        data += chunk
    return int(data.strip())


@contextmanager
def virtual_display(
    width: int = 1024, height: int = 768, depth: int = 24, *, timeout: float = 15.0
) -> Iterator[str]:
    """Run an Xvfb screen for the duration of a ``with`` block.

    It does not change ``DISPLAY``: set it (or pass the name to Tk's ``screenName``)
    from the value this yields.

    Args:
        width: screen width in pixels.
        height: screen height in pixels.
        depth: colour depth in bits.
        timeout: seconds to wait for Xvfb to be ready.

    Yields:
        The display name, e.g. ``":3"``.

    Raises:
        DisplayUnavailable: Xvfb is not installed, exited, or was not ready in time.
    """
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise DisplayUnavailable("Xvfb is not installed (Debian: apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    try:
        process = subprocess.Popen(
            [
                xvfb,
                "-displayfd",
                str(write_fd),
                "-screen",
                "0",
                f"{width}x{height}x{depth}",
                "-nolisten",
                "tcp",
            ],
            pass_fds=(write_fd,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    finally:
        os.close(write_fd)
    try:
        try:
            number = _read_display_number(read_fd, process, timeout)
        finally:
            os.close(read_fd)
        yield f":{number}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def screenshot(window_id: int, path: Path, *, display: str | None = None) -> Path:
    """Save X window `window_id` (e.g. Tk's ``winfo_id`` of a toplevel's frame) as PNG.

    Args:
        window_id: the X window to capture.
        path: where to write the PNG (parent folders are created).
        display: the X display; ``DISPLAY`` from the environment if None.

    Returns:
        `path`.

    Raises:
        DisplayUnavailable: ImageMagick's ``import`` is not installed.
        subprocess.CalledProcessError: the capture failed.
    """
    tool = shutil.which("import")
    if tool is None:
        raise DisplayUnavailable(
            "ImageMagick is not installed (Debian: apt-get install imagemagick)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    command = [tool, "-window", hex(window_id)]
    if display is not None:
        command += ["-display", display]
    subprocess.run([*command, f"png:{path}"], check=True, capture_output=True, timeout=30)
    return path


def png_size(path: Path) -> tuple[int, int]:
    """The (width, height) in a PNG file's IHDR header.

    Raises:
        ValueError: the file is not a PNG.
    """
    with path.open("rb") as file:
        header = file.read(24)
    if len(header) < 24 or not header.startswith(_PNG_SIGNATURE) or header[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG file")
    width, height = struct.unpack(">II", header[16:24])
    return width, height
