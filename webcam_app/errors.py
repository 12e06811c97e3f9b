"""The error hierarchy of webcam_app: every error the app reports derives from WebcamAppError."""
from __future__ import annotations

import signal
from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    'BufferClosed', 'ConfigError', 'ConfigIssue', 'ExitCode', 'NodeError',
    'WebcamAppError', 'WeightsUnavailable', 'split_fix'
]


class ExitCode(IntEnum):
    """Every exit code of the app, in one table: the command line returns these, errors carry
    them (``exit_code``), and the tests compare with them."""

    OK = 0
    NODE_FAILED = 1      # a node raised (the default of every WebcamAppError) or froze the app
    CONFIG = 2           # bad graph, option, input, weights or model file: nothing started
    SOURCE_LOST = 3      # a camera or stream stopped delivering for good
    SIGINT = 128 + signal.SIGINT     # 130: Ctrl-C
    SIGTERM = 128 + signal.SIGTERM   # 143


class WebcamAppError(Exception):
    """Base class of every error this app reports to a user."""

    exit_code: int = ExitCode.NODE_FAILED


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a graph config: where it is, what is wrong, how to fix it."""

    where: str          # 'graphs/hand.yaml:14', or '--set pose.x=1'
    message: str
    fix: str = ''

    def __str__(self) -> str:
        text = f'{self.where}: {self.message}'
        return f'{text}\n  fix: {self.fix}' if self.fix else text


def split_fix(exc: BaseException) -> tuple[str, str]:
    """An error text ``'what is wrong; fix: how'`` as ``(what, how)``; how is '' if not given."""
    message, _, fix = str(exc).partition('; fix: ')
    return message, fix


class ConfigError(WebcamAppError):
    """A graph config (YAML, overrides or plugins) is invalid. Holds every issue found."""

    exit_code = ExitCode.CONFIG

    def __init__(self, issues: list[ConfigIssue] | ConfigIssue) -> None:
        self.issues = [issues] if isinstance(issues, ConfigIssue) else list(issues)
        super().__init__('\n'.join(str(i) for i in self.issues))


class WeightsUnavailable(WebcamAppError):
    """A model's weights are neither on disk nor downloadable."""

    exit_code = ExitCode.CONFIG

    def __init__(self, node: str, url: str, local_path: str, reason: str = '') -> None:
        self.node, self.url, self.local_path = node, url, local_path
        self.missing: list[WeightsUnavailable] = [self]   # every node's, when a graph has several
        text = (f"node '{node}': weights are unavailable: {url}"
                + (f' ({reason})' if reason else '')
                + f'\n  fix: download that file and put it at {local_path}, '
                f'or run: python tools/download_models.py GRAPH')
        super().__init__(text)


class NodeError(WebcamAppError):
    """A node failed while running; the cause is chained."""

    def __init__(self, node: str, message: str = '') -> None:
        self.node = node
        super().__init__(f"node '{node}' failed" + (f': {message}' if message else ''))


class BufferClosed(WebcamAppError):
    """Raised by Buffer.get once a closed buffer is empty."""
