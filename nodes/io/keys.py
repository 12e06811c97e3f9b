"""What a key press does, wherever it comes from (an OpenCV window or a browser)."""
from __future__ import annotations

from webcam_app import EventBus

__all__ = ['QUIT_KEYS', 'press_key']

#: Keys that end the run, and the reason logged for each.
QUIT_KEYS = {'q': 'key q', 'Q': 'key Q', '\x1b': 'key ESC'}


def press_key(events: EventBus, key: str, via: str = '') -> bool:
    """Publish a key press: a quit key ends the run, any other printable key is a ``'key'`` event.

    Returns False (and publishes nothing) for a key that means nothing here.
    """
    if key in QUIT_KEYS:
        events.publish('quit', QUIT_KEYS[key] + (f' ({via})' if via else ''))
        return True
    if len(key) == 1 and 32 <= ord(key) < 127:
        events.publish('key', key)
        return True
    return False
