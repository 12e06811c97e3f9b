"""The node contract that built-in nodes and plugins share, and the registry of node types."""
from __future__ import annotations

import inspect
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

from .constructor import checked_init
from .events import EventBus
from .roles import InputKind, Role

__all__ = ['INPUT_KINDS', 'Node', 'NodeContext', 'Role', 'registry']

log = logging.getLogger(__name__)

#: trigger: the node runs when a message arrives. latest: the newest message (live: waits only
#: for a result due within 3/4 of a frame; replay: the newest for a frame id <= the trigger's).
#: sync: the message with the trigger's frame id (None when its producer emitted none for it).
#: previous: the newest message from an earlier frame: a feedback edge, allowed to close a cycle.
INPUT_KINDS = ('trigger', 'latest', 'sync', 'previous')


@dataclass
class NodeContext:
    """What the runtime tells a node about the graph it runs in."""

    mode: str = 'replay'
    graph_name: str = ''
    graph_dir: str = '.'
    hotkeys: Mapping[str, str] = field(default_factory=dict)   # key -> node name
    metrics: Any = None     # a webcam_app.metrics.Metrics while running
    cores: Mapping[str, int] = field(default_factory=dict)   # node name -> threads per worker
    workers: Mapping[str, int] = field(default_factory=dict)  # node name -> its workers (>= 1)


class Node:
    """Base class of every node. Subclass it, declare ports, implement ``process``.

    * Parameters are the constructor's keyword arguments, typed by its hints: every way of
      making a node checks them (see webcam_app.constructor). A constructor that forwards
      ``**kwargs`` to its base takes the base's parameters too; ``takes_any_key = True`` lets a
      node take keys it does not declare.
    * ``requires`` and ``provides`` name what a node needs from upstream (e.g. ``{'mask'}``)
      and what it adds; the builder checks them along the wiring. ``needs()`` and ``gives()``
      return them, and may depend on the node's parameters.
    * ``inputs`` maps input port names to a kind (``trigger``, ``latest``, ``sync``). A node with
      no inputs is a source: ``process()`` is called in a loop and returns a Frame, None (no frame
      this time) or ``EOS`` to end the stream.
    * ``process`` receives one keyword argument per input port and returns None (emit nothing), a
      message (sent on every output port) or a ``{port: message}`` dict.

    Lifecycle guarantees: ``check`` runs on the main thread before any thread starts, and before
    every ``setup``; ``setup`` runs on the node's own thread before the first message; ``process``
    is never called concurrently, unless the node is ``reentrant`` and has several ``workers``
    (``context.workers``); ``close`` runs whenever ``setup`` succeeded, and then the node's
    event subscriptions are dropped. When the node's ``enable_key`` switches it off (``enabled``
    is False), ``bypass`` replaces ``process``. ``self.wait(seconds)`` sleeps and wakes on stop.
    """

    inputs: ClassVar[Mapping[str, str]] = {'frame': 'trigger'}
    outputs: ClassVar[tuple[str, ...]] = ('frame',)
    #: 'live' or 'replay' when this node (a source) knows which suits its input, else None.
    mode_hint: ClassVar[str | None] = None
    #: What an app does with this node (a Role, or its value: 'display', 'video_sink', ...).
    role: ClassVar[Role | None] = None
    #: What this node needs upstream and what it adds for the nodes after it (e.g. 'boxes',
    #: 'keypoints', 'mask'): free-form names, checked along the graph's wiring before start.
    requires: ClassVar[frozenset[str]] = frozenset()
    provides: ClassVar[frozenset[str]] = frozenset()
    #: True: the node takes keys it does not declare (its declared ones are still checked).
    takes_any_key: ClassVar[bool] = False
    #: True: ``process`` may run on several frames at once (it keeps no state between frames
    #: and its libraries are thread-safe), so the node may have ``workers: N`` (see
    #: webcam_app.parallel). A node may set it per instance, in its constructor.
    reentrant: ClassVar[bool] = False
    #: The node's ``workers`` when its graph entry sets none: a number, or 'auto' (replay: as
    #: many as the node's share of the cores, each with one thread; live: 1).
    default_workers: ClassVar[int | str] = 1

    # Each node's own, set here so that subclasses need no super().__init__(); the runtime gives
    # every node its name, its context and the graph's event bus before check().
    name: str
    events: EventBus
    context: NodeContext
    enabled: bool

    def __new__(cls, *args: Any, **kwargs: Any) -> 'Node':
        node = super().__new__(cls)
        node.name, node.enabled = '', getattr(cls, 'enabled', True)   # a class may start off
        node.events, node.context = EventBus(), NodeContext()
        node._node_stopped = threading.Event()
        node._node_subscriptions = []
        return node

    @checked_init
    def __init__(self) -> None:
        """A node without parameters; a subclass's constructor need not call this."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if '__init__' in vars(cls):
            cls.__init__ = checked_init(vars(cls)['__init__'])
        cls.requires, cls.provides = frozenset(cls.requires), frozenset(cls.provides)
        for port, kind in cls.inputs.items():
            if kind not in INPUT_KINDS:
                raise TypeError(f'{cls.__qualname__}.inputs[{port!r}] must be one of '
                                f'{", ".join(INPUT_KINDS)}, but got {kind!r}')
        if cls.inputs and list(cls.inputs.values()).count('trigger') != 1:
            raise TypeError(f'{cls.__qualname__} needs exactly one trigger input, but its inputs '
                            f'are {dict(cls.inputs)}')
        if cls.role is not None and not isinstance(cls.role, Role):
            try:
                cls.role = Role(cls.role)
            except ValueError:
                raise TypeError(f'{cls.__qualname__}.role must be one of '
                                f'{", ".join(r.value for r in Role)}, but got {cls.role!r}'
                                ) from None
        if not cls.__name__.startswith('_') and not inspect.isabstract(cls):
            registry.add(cls)

    @classmethod
    def is_source(cls) -> bool:
        return not cls.inputs

    @classmethod
    def input_kind(cls, value: str) -> InputKind | None:
        """A source (``role = Role.SOURCE``): how it reads ``value`` given as its ``input``
        (``--input``): 'camera', 'url', 'video', 'image' or 'folder'; None if it cannot tell
        (it reports the value itself, at its line). The default: None."""
        return None

    def needs(self) -> frozenset[str]:
        """What this node needs from the nodes upstream of it: ``requires``, unless a
        parameter changes it (e.g. ``keep: mask`` needs a mask)."""
        return self.requires

    def gives(self) -> frozenset[str]:
        """What this node adds for the nodes after it: ``provides`` by default."""
        return self.provides

    def export(self) -> Path | None:
        """Write this node's model in a form other runtimes load (``webcam-app export``) and
        return the main file written; None (the default): the node has nothing to export. Runs
        on a built graph whose nodes were not checked; raises ValueError or WebcamAppError."""
        return None

    def add_to_repository(self, exported: Path, repository: Path, **options: Any) -> str | None:
        """Lay out what ``export()`` wrote in an inference server's model repository
        (``webcam-app export --model-repository``; ``options`` as that command's) and return the
        model's name there; None (the default): the node serves nothing."""
        return None

    def check(self) -> None:
        """Check the outside world (files, camera) cheaply; raise ValueError if it is wrong."""

    def info(self) -> Mapping[str, str]:
        """A few words on how this node runs, e.g. a model's ``{'backend': 'openvino',
        'precision': 'bf16'}``, for ``--print-graph``, the metrics and the web view ({}: none)."""
        return {}

    def core_weight(self) -> float:
        """This node's claim on the cores for its own thread pool, relative to other nodes'
        (0: it has none). The runtime allots ``context.cores[name]`` threads from it."""
        return 0.0

    def extra_metrics(self) -> Mapping[str, Any]:
        """Numbers of this node's own, added to its entry in the run's metrics (e.g. a remote
        model's request times). Any thread may call it: keep it quick and thread-safe. A
        ``'warning'`` string in it is shown by the monitor overlay and the log while present."""
        return {}

    def setup(self) -> None:
        """Load what the node needs (models, devices). Runs on the node's thread."""

    def process(self, **inputs: Any) -> Any:
        raise NotImplementedError(f'{type(self).__name__} must implement process()')

    def bypass(self, **inputs: Any) -> Any:
        """What a disabled node emits: its first trigger input, unchanged."""
        for port, kind in self.inputs.items():
            if kind == 'trigger':
                return inputs.get(port)
        return None

    def flush(self) -> list[Any]:
        """At the end of the stream: what the node still holds, emitted in order before the
        end. A node that holds frames back (a lifter waiting for later frames) returns them
        here; ``process`` may likewise return a list of several messages."""
        return []

    def close(self) -> None:
        """Release what setup acquired."""

    def interrupt(self) -> None:
        """The run is stopping: wake whatever ``process`` blocks on other than ``self.wait``
        (a queue, a capture thread). Called once, from another thread, possibly during setup:
        keep it quick and thread-safe."""

    # -- what a node may call --------------------------------------------------------------------
    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking at once when the run stops. True if the time passed,
        False if the run is stopping (a source should then end its stream)."""
        return not self._node_stopped.wait(seconds)

    @property
    def stopping(self) -> bool:
        """Whether the run is shutting down."""
        return self._node_stopped.is_set()

    def subscribe(self, topic: str, callback: Callable[[Any], None]) -> None:
        """Receive the graph's events of ``topic`` (e.g. ``'key'``) until the node closes."""
        self.events.subscribe(topic, callback)
        self._node_subscriptions.append((topic, callback))

    # -- what the runtime calls --------------------------------------------------------------------
    def _begin_run(self) -> None:
        self._node_stopped.clear()

    def _stop_run(self) -> None:
        self._node_stopped.set()
        try:
            self.interrupt()
        except Exception:
            log.exception('node %r failed to interrupt', self.name)

    def _end_run(self) -> None:
        """After close: drop the node's event subscriptions."""
        for topic, callback in self._node_subscriptions:
            self.events.unsubscribe(topic, callback)
        self._node_subscriptions.clear()

    def __repr__(self) -> str:
        return f'{type(self).__name__}(name={self.name!r})'


class _Registry:
    """Node types by class name. Built-ins and plugins live here together."""

    def __init__(self) -> None:
        self._types: dict[str, type[Node]] = {}
        self._entry_points_loaded = False

    def add(self, cls: type[Node]) -> None:
        old = self._types.get(cls.__name__)
        if old is not None and (old.__module__, old.__qualname__) != (cls.__module__,
                                                                      cls.__qualname__):
            raise TypeError(f'node type {cls.__name__!r} from {cls.__module__} is already '
                            f'registered by {old.__module__}; rename one of the classes')
        self._types[cls.__name__] = cls

    def get(self, name: str) -> type[Node] | None:
        self.load_entry_points()
        return self._types.get(name)

    def names(self) -> list[str]:
        self.load_entry_points()
        return sorted(self._types)

    def snapshot(self) -> dict[str, type[Node]]:
        return dict(self._types)

    def restore(self, snapshot: dict[str, type[Node]]) -> None:
        self._types = dict(snapshot)

    def load_entry_points(self) -> None:
        """Import every module named in the ``webcam_app.nodes`` entry-point group, once."""
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        from importlib.metadata import entry_points
        for ep in entry_points(group='webcam_app.nodes'):
            try:
                ep.load()
            except Exception:  # a broken third-party plugin must not break the app
                log.exception('could not load node plugin %s (%s)', ep.name, ep.value)


registry = _Registry()
