"""Messages that flow between nodes: frames with detected objects, and the end of stream."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

__all__ = ['EOS', 'EndOfStream', 'Frame', 'Object', 'readonly']


def readonly(array: np.ndarray | None) -> np.ndarray | None:
    """Return the array marked read-only (no copy), so fan-out cannot be mutated behind a reader."""
    if array is not None and array.flags.writeable:
        array.flags.writeable = False
    return array


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if isinstance(value, MappingProxyType):
        return value
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class Object:
    """One detected object: a box, its label and score, and optionally its keypoints.

    ``bbox`` is ``(x1, y1, x2, y2)`` in pixels; ``keypoints`` is a ``(K, 2)`` array in pixels and
    ``keypoint_scores`` a ``(K,)`` array, in the order of the frame's ``dataset_meta``.
    """

    bbox: tuple[float, float, float, float]
    label: str = ''
    score: float = 1.0
    label_id: int = 0
    keypoints: np.ndarray | None = None
    keypoint_scores: np.ndarray | None = None
    track_id: int | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.bbox) != 4:
            raise ValueError(f'bbox must have 4 numbers (x1, y1, x2, y2), but got {self.bbox!r}')
        object.__setattr__(self, 'bbox', tuple(float(v) for v in self.bbox))
        object.__setattr__(self, 'label', str(self.label))
        object.__setattr__(self, 'extras', _frozen_mapping(self.extras))
        readonly(self.keypoints)
        readonly(self.keypoint_scores)

    def replace(self, **changes: Any) -> 'Object':
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Frame:
    """A video frame and everything known about it, immutable; change it with ``replace``.

    Attributes:
        frame_id: index of the frame in its stream, from 0.
        timestamp: capture time on ``time.monotonic()``'s clock.
        image: the BGR picture, read-only. A node that draws copies it first.
        objects: the detected objects.
        dataset_meta: the meta of the model that made the keypoints (names, skeleton, colors).
        stamps: ``(node, enter, exit)`` for every node the frame went through.
        meta: free-form metadata, such as the source's own timestamp and fps.
        results_timestamp: capture time of the frame whose results (objects) this frame
            carries, when they came from another frame (a live join of the latest results);
            None when they are this frame's own. See ``results_time``.
    """

    frame_id: int
    image: np.ndarray | None = None
    timestamp: float = field(default_factory=time.monotonic)
    objects: tuple[Object, ...] = ()
    dataset_meta: Mapping[str, Any] = field(default_factory=dict)
    stamps: tuple[tuple[str, float, float], ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    results_timestamp: float | None = None

    def __post_init__(self) -> None:
        readonly(self.image)
        if not isinstance(self.objects, tuple):
            object.__setattr__(self, 'objects', tuple(self.objects))
        object.__setattr__(self, 'dataset_meta', _frozen_mapping(self.dataset_meta))
        object.__setattr__(self, 'meta', _frozen_mapping(self.meta))

    @property
    def results_time(self) -> float:
        """Capture time of the frame the carried results were computed on."""
        return self.timestamp if self.results_timestamp is None else self.results_timestamp

    def replace(self, **changes: Any) -> 'Frame':
        """Return a copy with the given fields changed (the image is shared, not copied)."""
        return dataclasses.replace(self, **changes)

    def stamped(self, node: str, enter: float, exit: float) -> 'Frame':
        """A copy with one more ``(node, enter, exit)`` stamp; the runtime's fast path."""
        new = object.__new__(Frame)
        fields = new.__dict__
        fields.update(self.__dict__)   # every other field is already validated and immutable
        fields['stamps'] = self.stamps + ((node, enter, exit),)
        return new

    def with_meta(self, **items: Any) -> 'Frame':
        """Return a copy whose ``meta`` has these items added."""
        return self.replace(meta={**self.meta, **items})


class EndOfStream:
    """The last message of a stream. Use the ``EOS`` singleton."""

    _instance: 'EndOfStream | None' = None

    def __new__(cls) -> 'EndOfStream':
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return 'EOS'


EOS = EndOfStream()
