"""Text overlays: a performance monitor and a board that lists the hot keys."""
from __future__ import annotations

import logging
import time

import cv2
import numpy as np

from webcam_app import Frame, Node, Role
from webcam_app.params import NonNegativeFloat, PositiveFloat, Unit

__all__ = ['HelpBoard', 'Monitor', 'TextPanel']

log = logging.getLogger(__name__)

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_MARGIN = 8


class TextPanel:
    """Lines of text on a darkened box. Sizes are measured once per text change, not per frame."""

    def __init__(self, font_scale: float = 0.5, alpha: float = 0.6, corner: str = 'left') -> None:
        self.font_scale, self.alpha, self.corner = font_scale, alpha, corner
        self.thickness = max(1, round(font_scale * 2))
        self.lines: tuple[str, ...] = ()
        self._size = (0, 0)
        self._line_h = 0

    def set_lines(self, lines: list[str]) -> None:
        lines = tuple(lines)
        if lines == self.lines:
            return
        self.lines = lines
        sizes = [cv2.getTextSize(t, _FONT, self.font_scale, self.thickness) for t in lines]
        self._line_h = max((h + base for (_, h), base in sizes), default=0) + 4
        width = max((w for (w, _), _ in sizes), default=0)
        self._size = (width + 2 * _MARGIN, self._line_h * len(lines) + _MARGIN)

    def draw(self, image: np.ndarray) -> None:
        """Draw in place on ``image`` (which must be the caller's own copy)."""
        if not self.lines:
            return
        height, width = image.shape[:2]
        box_w, box_h = min(self._size[0], width), min(self._size[1], height)
        x0 = 0 if self.corner == 'left' else width - box_w
        roi = image[0:box_h, x0:x0 + box_w]
        if self.alpha > 0:
            image[0:box_h, x0:x0 + box_w] = cv2.convertScaleAbs(roi, alpha=1.0 - self.alpha)
        y = self._line_h
        for text in self.lines:
            cv2.putText(image, text, (x0 + _MARGIN, y), _FONT, self.font_scale, (255, 255, 255),
                        self.thickness, cv2.LINE_AA)
            y += self._line_h


class _ProcessStats:
    """CPU% and resident memory of this process, sampled at most every ``interval`` seconds."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval, self._next, self.text = interval, 0.0, ''
        try:
            import psutil
            self._proc = psutil.Process()
            self._proc.cpu_percent(None)   # the first call only starts the measurement
        except Exception:   # psutil missing or not permitted: show no process stats
            self._proc = None

    def sample(self) -> str:
        now = time.monotonic()
        if self._proc is not None and now >= self._next:
            self._next = now + self.interval
            try:
                cpu = self._proc.cpu_percent(None)
                rss = self._proc.memory_info().rss / 2 ** 20
                self.text = f'cpu {cpu:.0f}%  rss {rss:.0f} MB'
            except Exception:
                self._proc, self.text = None, ''
        return self.text


class Monitor(Node):
    """Overlay per-node fps and service time, end-to-end latency, the age of the results shown,
    drops, CPU and memory."""

    role = Role.WINDOW_OVERLAY   # for the window only: --out and --pred-out take frames before

    def __init__(self, font_scale: PositiveFloat = 0.5, alpha: Unit = 0.6,
                 interval: NonNegativeFloat = 0.5, visible: bool = True) -> None:
        self.interval = interval
        self.enabled = visible   # its enable_key toggles it; bypass passes frames through
        self.panel = TextPanel(font_scale, alpha, 'left')
        self._next_refresh = 0.0
        self._process_stats: _ProcessStats | None = None

    def setup(self) -> None:
        self._process_stats = _ProcessStats(max(self.interval, 0.5))

    def process(self, frame: Frame) -> Frame:
        if frame.image is None:
            return frame
        now = time.monotonic()
        if now >= self._next_refresh:
            self._next_refresh = now + self.interval
            self.panel.set_lines(self.lines(frame, now))
        image = frame.image.copy()
        self.panel.draw(image)
        return frame.replace(image=image)

    def lines(self, frame: Frame, now: float | None = None) -> list[str]:
        """The text to show, from the run's metrics when there are any, else from the frame."""
        now = time.monotonic() if now is None else now
        metrics = getattr(self.context, 'metrics', None)
        snap = metrics.snapshot() if metrics is not None else None
        age_ms = (now - frame.timestamp) * 1e3
        if snap:
            nodes = snap.get('nodes', {})
            e2e = [s['latency_ms_p50'] for s in nodes.values() if 'latency_ms_p50' in s]
            ages = [s['result_age_ms_p50'] for s in nodes.values() if 'result_age_ms_p50' in s]
            drops = sum(b.get('dropped', 0) for b in snap.get('buffers', {}).values())
            drops += sum(s.get('skipped_at_source', 0) for s in nodes.values())
            latency = max(e2e) if e2e else age_ms
            results = f'  results {max(ages):.0f} ms old' if ages else ''
            lines = [f'{self.context.graph_name or "graph"} {self.context.mode}  '
                     f'e2e {latency:.0f} ms{results}  drops {drops}']
            lines += [f'{name}: {s["fps"]:.1f} fps  {s["service_ms_p50"]:.1f} ms'
                      for name, s in nodes.items()]
            lines = [f'! {warning}' for warning in metrics.warnings(snap)] + lines
        else:
            lines = [f'frame {frame.frame_id}  latency {age_ms:.0f} ms']
            lines += [f'{name}: {(end - start) * 1e3:.1f} ms' for name, start, end in frame.stamps]
        system = self._process_stats.sample() if self._process_stats else ''
        return lines + ([system] if system else [])


class HelpBoard(Node):
    """Overlay the hot keys of the running graph; its enable_key (e.g. h) shows or hides it."""

    role = Role.WINDOW_OVERLAY   # for the window only, like the Monitor

    def __init__(self, font_scale: PositiveFloat = 0.5, alpha: Unit = 0.6,
                 visible: bool = False) -> None:
        self.enabled = visible     # its enable_key toggles it; bypass passes frames through
        self.panel = TextPanel(font_scale, alpha, 'right')

    def check(self) -> None:
        if not self.enabled and self.name not in self.context.hotkeys.values():
            log.warning('%s: the help board is hidden and no key shows it; give it an '
                        'enable_key (e.g. enable_key: h)', self.name)

    def setup(self) -> None:
        self.panel.set_lines(self.lines())

    def lines(self) -> list[str]:
        keys = sorted(self.context.hotkeys.items())
        lines = ['hot keys'] + [f'{key}: toggle {node}' for key, node in keys if node != self.name]
        return lines + [f'{key}: help' for key, node in keys if node == self.name] + ['q/ESC: quit']

    def process(self, frame: Frame) -> Frame:
        if frame.image is None:
            return frame
        image = frame.image.copy()
        self.panel.draw(image)
        return frame.replace(image=image)
