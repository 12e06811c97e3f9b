"""The one walk of a graph's wiring, shared by the builder's checks, the executor's flow control
and ``--print-graph``: who writes and who reads each buffer, which nodes feed a node, the nodes
in the order data flows, and a cycle if there is one.

Feedback inputs (kind ``previous``) carry an earlier frame's messages: they may close a cycle,
and they are not upstream of the node that reads them.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterator, Mapping

__all__ = ['Topology']


class Topology:
    """The wiring of ``specs`` (node name -> webcam_app.graph.NodeSpec), read once."""

    def __init__(self, specs: Mapping[str, Any]) -> None:
        self.specs = specs
        #: buffer -> the nodes that write it, and -> (node, port, kind) of the nodes that read it
        self.writers: dict[str, list[str]] = defaultdict(list)
        self.readers: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        for spec in specs.values():
            for buffers in spec.outputs.values():
                for buffer in buffers:
                    self.writers[buffer].append(spec.name)
            for port, (buffer, kind) in spec.inputs.items():
                self.readers[buffer].append((spec.name, port, kind))

    def buffers(self) -> list[str]:
        """Every buffer a node writes or reads, sorted."""
        return sorted(set(self.writers) | set(self.readers))

    def feeders(self, name: str) -> list[str]:
        """The nodes that write what node ``name`` reads, feedback inputs left out (sorted)."""
        return sorted({writer for buffer, kind in self.specs[name].inputs.values()
                       if kind != 'previous' for writer in self.writers.get(buffer, ())})

    def trigger_chain(self, buffer: str) -> Iterator[str]:
        """``buffer``, then the trigger input of its writer, and so on up to a source (each
        buffer once, so a cycle ends the walk)."""
        seen: set[str] = set()
        while buffer is not None and buffer not in seen:
            seen.add(buffer)
            yield buffer
            writers = self.writers.get(buffer)
            if not writers:
                return
            buffer = next((b for b, kind in self.specs[writers[0]].inputs.values()
                           if kind == 'trigger'), None)

    def order(self) -> list[str]:
        """Every node after the nodes that feed it (a cycle's nodes come last, in graph order)."""
        done: dict[str, None] = {}

        def visit(name: str, path: set[str]) -> None:
            if name in done or name in path:
                return
            for up in self.feeders(name):
                visit(up, path | {name})
            done[name] = None

        for name in self.specs:
            visit(name, set())
        return list(done)

    def cycle(self) -> list[str]:
        """A cycle of nodes not broken by a feedback input, as ``[a, b, a]``; [] if none."""
        state: dict[str, int] = {}   # 1: on the path, 2: done

        def visit(name: str, path: list[str]) -> list[str]:
            state[name] = 1
            for up in self.feeders(name):
                if state.get(up) == 1:
                    return path[path.index(up):] + [up] if up in path else [up, name, up]
                if up not in state:
                    found = visit(up, path + [up])
                    if found:
                        return found
            state[name] = 2
            return []

        for name in self.specs:
            if name not in state:
                found = visit(name, [name])
                if found:
                    return list(reversed(found))
        return []
