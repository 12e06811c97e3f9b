"""Show frames in an OpenCV window and turn key presses into events."""
from __future__ import annotations

import logging
import os
import socket
import sys

import cv2

from webcam_app import Frame, Node, Role
from webcam_app.params import Positive

from .keys import press_key

__all__ = ['Display', 'gui_available']

log = logging.getLogger(__name__)


def gui_available() -> tuple[bool, str]:
    """Whether an OpenCV window can open here, and why not.

    On Linux that needs an X display (XWayland included). A ``DISPLAY`` that names no running
    server is refused here, because OpenCV's Qt backend aborts the process rather than raise.
    """
    if not sys.platform.startswith('linux'):
        return True, ''
    display = os.environ.get('DISPLAY', '')
    if not display:
        return False, 'no DISPLAY is set'
    host, _, rest = display.rpartition(':')
    number = rest.split('.')[0]
    if not number.isdigit():
        return True, ''    # a form we do not know: let OpenCV try
    if host in ('', 'unix'):
        path = f'/tmp/.X11-unix/X{number}'
        if _unix_connects(path) or _unix_connects('\0' + path):   # file, or abstract socket
            return True, ''
        return False, f'no X server listens at {path} (DISPLAY={display})'
    try:
        socket.create_connection((host, 6000 + int(number)), timeout=0.5).close()
        return True, ''
    except OSError:
        return False, f'cannot reach the X server at DISPLAY={display}'


def _unix_connects(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.connect(path)
            return True
        except OSError:
            return False


class Display(Node):
    """Show the video in a window; keys become events (q or ESC quits)."""

    inputs = {'frame': 'trigger'}
    outputs = ()
    role = Role.DISPLAY     # --out and --pred-out copy what this node shows

    def __init__(self, window: str = 'webcam_app', headless: bool = False,
                 wait_ms: Positive = 1) -> None:
        self.window, self.headless, self.wait_ms = window or 'webcam_app', headless, wait_ms
        self.gui = False
        self._shown = False
        self._closed = False

    def setup(self) -> None:
        self._shown = self._closed = False     # a graph may run again after its window closed
        if self.headless:
            self._go_headless('headless is set')
            return
        ok, why = gui_available()
        if not ok:
            self._go_headless(why)
            return
        try:
            cv2.namedWindow(self.window, cv2.WINDOW_AUTOSIZE)
            self.gui = True
        except cv2.error as exc:
            self._go_headless(f'OpenCV has no GUI here ({_last_line(exc)})')

    def _go_headless(self, why: str) -> None:
        self.gui = False
        log.info('%s: not showing a window: %s; the graph runs on without display', self.name, why)

    def process(self, frame: Frame) -> None:
        if not self.gui or self._closed or frame.image is None:
            return None
        try:
            if self._shown and cv2.getWindowProperty(self.window, cv2.WND_PROP_VISIBLE) < 1:
                self._closed = True
                self.events.publish('quit', 'window closed')
                return None
            cv2.imshow(self.window, frame.image)
            self._shown = True
            key = cv2.waitKey(self.wait_ms)
        except cv2.error as exc:
            self._go_headless(f'OpenCV GUI failed ({_last_line(exc)})')
            return None
        self._on_key(key)
        return None

    def _on_key(self, key: int) -> None:
        if key is None or key < 0:
            return
        press_key(self.events, chr(key & 0xFF))

    def close(self) -> None:
        if not self.gui:
            return
        self.gui = False
        try:
            cv2.destroyWindow(self.window)
            cv2.waitKey(1)   # lets the GUI backend process the close
        except cv2.error:
            pass


def _last_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1] if text else type(exc).__name__
