"""webcam_app: a multithreaded dataflow runtime for real-time video graphs."""
from .buffers import Buffer
from .builder import build_graph, load_graph, node_parameters
from .config import load_config
from .errors import (BufferClosed, ConfigError, ConfigIssue, NodeError,
                     WebcamAppError, WeightsUnavailable)
from .events import EventBus
from .executor import Runner, run_graph
from .graph import Graph
from .messages import EOS, EndOfStream, Frame, Object
from .node import Node, NodeContext, registry
from .testing import NodeHarness, make_frame

__all__ = [
    'EOS', 'Buffer', 'BufferClosed', 'ConfigError', 'ConfigIssue', 'EndOfStream', 'EventBus',
    'Frame', 'Graph', 'Node', 'NodeContext', 'NodeError', 'NodeHarness', 'Object',
    'Runner', 'WebcamAppError', 'WeightsUnavailable', 'build_graph', 'load_config', 'load_graph',
    'make_frame', 'node_parameters', 'registry', 'run_graph'
]
