"""webcam_app: a multithreaded dataflow runtime for real-time video graphs."""
from .buffers import Buffer
from .builder import build_graph, load_graph, node_parameters
from .config import load_config
from .errors import (BufferClosed, ConfigError, ConfigIssue, ExitCode, NodeError,
                     WebcamAppError, WeightsUnavailable)
from .events import EventBus
from .executor import Runner, run_graph
from .graph import Graph
from .messages import EOS, EndOfStream, Frame, Object
from .node import Node, NodeContext, Role, registry
from .testing import NodeHarness, make_frame

_PYTHON_API = ('Pipeline', 'Result', 'open')


def __getattr__(name: str) -> object:
    """``open``, ``Pipeline`` and ``Result`` live in the app layer, which imports the built-in
    nodes (and they import this package): load them on first use."""
    if name in _PYTHON_API:
        from .app import pipeline
        return getattr(pipeline, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


# ``open`` is left out, so that ``from webcam_app import *`` does not hide the built-in open.
__all__ = [
    'EOS', 'Buffer', 'BufferClosed', 'ConfigError', 'ConfigIssue', 'EndOfStream', 'EventBus',
    'ExitCode', 'Frame', 'Graph', 'Node', 'NodeContext', 'NodeError', 'NodeHarness', 'Object',
    'Pipeline', 'Result', 'Role', 'Runner', 'WebcamAppError', 'WeightsUnavailable',
    'build_graph', 'load_config', 'load_graph', 'make_frame', 'node_parameters', 'registry',
    'run_graph'
]
