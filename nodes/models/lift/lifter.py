"""PoseLifterNode: each tracked person's 2D keypoints lifted to 3D by an mmpose PoseLifter.

It keeps every track's 2D history (the tracker's ``track_id`` tells people apart), converts it
to Human3.6M-17 as mmpose does, normalises it (unless ``disable_norm_pose_2d``) and runs the
lifter; the 3D points go to ``extras['keypoints_3d']`` in the inferencer's axes (rebased unless
``disable_rebase_keypoint``). Which lifter runs, and how, is the mode's choice, said in the log:

- **replay**: the model as configured. MotionBERT runs once per window of ``window`` frames of a
  track and returns all of them (its windows see later frames); VideoPose3D's TCN sees its
  receptive field centred on each frame. Frames wait in the node until their window is run,
  and come out in order (the rest at the end of the stream), so the video must travel with the
  poses (the sync layout of graphs/body3d.yaml).
- **live**: causal, with no frame of latency: the output for frame t uses no frame after t. A
  TCN runs with ``causal=True``; a model that needs later frames (MotionBERT) gives way to
  ``live_model``, a causal VideoPose3D.
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Hashable

import numpy as np

from webcam_app import Frame, Object
from webcam_app.params import Positive

from ...common import track_key
from ..openmmlab.model_node import AUTO, Backend, ModelThreads
from ..openmmlab.model_zoo import resolve_model
from ..openmmlab.weights import resolve_weights
from .codecs import make_codec, norm_pose_2d, window
from .base import _SelfExportingNode
from .skeletons import (H36M_META, h36m_from_blazepose, h36m_from_coco, points_3d,
                        with_meta_3d)

__all__ = ['PoseLifterNode']

log = logging.getLogger(__name__)

MOTIONBERT = 'motionbert_dstformer-ft-243frm_8xb32-120e_h36m'
LIVE_MODEL = 'video-pose-lift_tcn-27frm-supv_8xb128-160e_h36m'
_TO_H36M = {'coco': h36m_from_coco, 'posetrack18': h36m_from_coco,
            'blazepose': h36m_from_blazepose, 'h36m': lambda p: p}


@dataclass
class _Track:
    points: list[np.ndarray] = field(default_factory=list)   # (17, 2) per frame it is in
    frames: list[int] = field(default_factory=list)          # the number of each such frame
    done: int = 0                                             # points lifted so far
    results: dict[int, np.ndarray] = field(default_factory=dict)   # frame number -> (17, 3)


class PoseLifterNode(_SelfExportingNode):
    """Lift tracked 2D poses to 3D with MotionBERT or VideoPose3D (see the module's docstring).

    ``window``: MotionBERT's window in frames (its config's 243 at most). ``live_model``: the
    causal lifter live mode uses when ``model`` needs later frames (``live_weights`` its
    checkpoint, ``none`` for seeded random weights as ``weights: none``). ``lookahead: false``
    makes replay causal too, as live mode is: the Python API (``webcam_app.open``), which waits
    for each frame's result before it sends many more, needs it.
    """

    reentrant = False       # it keeps every track's history: frames in order
    default_workers = 1

    model_kind = 'pose'
    core_cost = 3.0

    def __init__(self, model: str = MOTIONBERT, weights: str | None = None,
                 live_model: str = LIVE_MODEL, live_weights: str | None = None,
                 device: str = 'cpu', disable_norm_pose_2d: bool = False,
                 disable_rebase_keypoint: bool = False, window: Positive = 243,
                 lookahead: bool = True,
                 max_age: Positive = 30, models_dir: str | None = None,
                 threads: ModelThreads = AUTO, trust_checkpoint: bool = False,
                 backend: Backend = AUTO) -> None:
        self._set_model(model, weights, device, models_dir, threads, trust_checkpoint, backend)
        self.live_model, self.live_weights = live_model, live_weights
        self.disable_norm_pose_2d = disable_norm_pose_2d
        self.disable_rebase_keypoint = disable_rebase_keypoint
        self.window, self.max_age, self.lookahead = window, max_age, lookahead
        self._tracks: dict[Hashable, _Track] = {}
        self._pending: deque[tuple[Frame, int, list[Hashable | None]]] = deque()
        self._count = 0
        self.meta: Any = None
        self._meta_2d: Any = None

    def check(self) -> None:
        super().check()
        self.causal = self.context.mode == 'live' or not self.lookahead
        if self.causal and not self._is_causal_capable(self._spec.config_path):
            self._spec = resolve_model(self.live_model, 'pose', base_dir=self.context.graph_dir)
            self._checkpoint = resolve_weights(self.name, self._spec.weights_url,
                                               self.live_weights, self.models_dir,
                                               self.context.graph_dir)
            self._why = (f'{"live mode" if self.context.mode == "live" else "lookahead: false"}'
                         f' is causal and {self.model} needs later frames, so the causal '
                         f'{self._spec.name} (TCN, causal=True) runs instead')
        elif self.causal:
            self._why = ('live mode' if self.context.mode == 'live' else 'lookahead: false') + \
                ': causal=True, no frame after the one lifted'
        else:
            self._why = 'replay: whole windows, which may see later frames'

    def export(self) -> Any:
        """Write the configured lifter's ONNX file and sidecar for replay (``webcam-app
        export``); the live model is exported on its first live run. The .onnx path."""
        from mmengine.config import Config

        from .export import export_lifter, lifter_target
        spec = resolve_model(self.model, 'pose', base_dir=self.context.graph_dir)
        checkpoint = resolve_weights(self.name, spec.weights_url, self.weights,
                                     self.models_dir, self.context.graph_dir)
        cfg = Config.fromfile(spec.config_path)
        self.codec = make_codec(cfg)
        window = self._window(cfg)
        path = lifter_target(spec.config_path, checkpoint, self.models_dir, window, False)
        return export_lifter(spec.config_path, checkpoint, path, window, False, (self.model,),
                             self.trust_checkpoint)

    @staticmethod
    def _is_causal_capable(config_path: str) -> bool:
        text = open(config_path, encoding='utf-8').read()
        return "type='TCN'" in text or 'type="TCN"' in text

    def setup(self) -> None:
        self.locate()
        if self.runs_on == 'pytorch':
            self._setup_torch()
        else:
            self._setup_exported()
        self._tracks, self._pending, self._count, self._meta_2d = {}, deque(), 0, None
        log.info('node %s: lifter %s (%d frames a window) on %s: %s', self.name,
                 self._spec.name, self.seq_len, self.device, self._why)

    def _setup_torch(self) -> None:
        from .network import TorchLifter, build_lifter
        model, cfg = build_lifter(self._spec.config_path, self._checkpoint,
                                  causal=True if self.causal else None, device=self.device,
                                  trust=self.trust_checkpoint)
        self.codec = make_codec(cfg)
        self.seq_len = self._window(cfg)
        self.stats = dict(model.dataset_meta.get('stats_info') or H36M_META['stats_info'])
        self._net = TorchLifter(model)

    def _window(self, cfg: Any) -> int:
        if self.codec.seq2seq:
            return min(self.window, int(cfg.model.backbone.get('seq_len', 243)))
        return int(cfg.test_dataloader.dataset.get('seq_len', 1))

    def _setup_exported(self) -> None:
        from mmengine.config import Config

        from .export import OnnxLifter, export_lifter, lifter_target
        cfg = Config.fromfile(self._spec.config_path)
        self.codec = make_codec(cfg)
        self.seq_len = self._window(cfg)
        path = lifter_target(self._spec.config_path, self._checkpoint, self.models_dir,
                             self.seq_len, self.causal)
        export_lifter(self._spec.config_path, self._checkpoint, path, self.seq_len,
                      self.causal, (self.model,), self.trust_checkpoint)
        self._net = OnnxLifter(path, self.runs_on, self.device, self.thread_count())
        self.stats = dict(self._net.sidecar.get('stats_info') or H36M_META['stats_info'])

    # -- per frame -------------------------------------------------------------------------------
    def _h36m(self, frame: Frame, obj: Object) -> np.ndarray:
        name = str(frame.dataset_meta.get('dataset_name', ''))
        convert = _TO_H36M.get(name)
        if convert is None:
            raise ValueError(f'{self.name}: cannot lift {name or "unnamed"} keypoints; the 2D '
                             f'model must give one of {", ".join(_TO_H36M)}')
        points = convert(np.asarray(obj.keypoints, np.float32))
        if not self.disable_norm_pose_2d:
            points = norm_pose_2d(points, obj.bbox, self.stats)
        return points

    def process(self, frame: Frame) -> list[Frame]:
        if frame.dataset_meta is not self._meta_2d:      # one 3D meta per 2D meta, built once
            self._meta_2d = frame.dataset_meta
            self.meta = with_meta_3d(frame.dataset_meta, H36M_META)
        self.size = frame.image.shape[1], frame.image.shape[0]
        number, keys = self._count, []
        for order, obj in enumerate(frame.objects):
            key = None if obj.keypoints is None else track_key(obj, order)
            if key is not None:
                track = self._tracks.setdefault(key, _Track())
                track.points.append(self._h36m(frame, obj))
                track.frames.append(number)
            keys.append(key)
        self._count += 1
        self._pending.append((frame, number, keys))
        self._run(final=False)
        return self._ready()

    def flush(self) -> list[Frame]:
        self._run(final=True)
        return self._ready()

    # -- lifting ---------------------------------------------------------------------------------
    def _run(self, final: bool) -> None:
        width, height = self.size
        for key, track in list(self._tracks.items()):
            # a track missed for a few frames goes on (the tracker keeps its id): not ended
            ended = final or track.frames[-1] < self._count - self.max_age
            if self.codec.seq2seq and not self.causal:
                self._run_windows(track, ended, width, height)
            else:
                self._run_frames(track, ended, width, height)
            if not track.results and track.frames[-1] < self._count - self.max_age:
                del self._tracks[key]            # gone long enough: a new person next time

    def _keep(self, track: _Track, index: int, pose: np.ndarray) -> None:
        track.results[track.frames[index]] = pose

    def _run_windows(self, track: _Track, ended: bool, width: int, height: int) -> None:
        """MotionBERT in replay: each full window of a track (and, at its end, the rest, as
        it is: MotionBERT takes any number of frames up to its window) once."""
        points = np.stack(track.points)
        while len(points) - track.done >= self.seq_len or (ended and track.done < len(points)):
            chunk = points[track.done:track.done + self.seq_len]
            raw = self._net(self.codec.encode(chunk, width, height)[None])[0]
            for i, pose in enumerate(self.codec.decode(raw, width, height)[:len(chunk)]):
                self._keep(track, track.done + i, pose)
            track.done += len(chunk)
        self._forget(track, 0)          # windows do not overlap: what is lifted is not read again

    def _run_frames(self, track: _Track, ended: bool, width: int, height: int) -> None:
        """A window per frame: causal (live: the last seq_len frames), or centred (replay: once
        the frames after it are in, or the track has ended)."""
        points = np.stack(track.points)
        ahead = 0 if self.causal else (self.seq_len - 1) // 2
        stop = len(points) if ended else max(track.done, len(points) - ahead)
        ready = range(track.done, stop)
        if not len(ready):
            return
        batch = np.stack([self.codec.encode(window(points, i, self.seq_len, self.causal),
                                            width, height) for i in ready])
        raw = self._net(batch)
        target = -1 if self.causal else self.seq_len // 2
        for i, out in zip(ready, raw):
            pose = self.codec.decode(out, width, height)
            self._keep(track, i, pose[target] if self.codec.seq2seq else pose[0])
        track.done = stop
        if track.done > 2 * self.seq_len:   # the next windows reach seq_len frames back at most
            self._forget(track, self.seq_len)

    @staticmethod
    def _forget(track: _Track, keep: int) -> None:
        """Drop a track's points lifted more than ``keep`` frames ago (never its last one), so
        its history stays bounded however long the video."""
        drop = min(track.done - keep, len(track.points) - 1)
        if drop > 0:
            del track.points[:drop], track.frames[:drop]
            track.done -= drop

    def _ready(self) -> list[Frame]:
        """The waiting frames whose every pose is lifted, oldest first, with their 3D."""
        out = []
        while self._pending:
            frame, number, keys = self._pending[0]
            if not all(k is None or number in self._tracks[k].results for k in keys):
                break
            self._pending.popleft()
            out.append(self._attach(frame, number, keys))
        return out

    def _attach(self, frame: Frame, number: int, keys: list[Hashable | None]) -> Frame:
        objects = []
        for obj, key in zip(frame.objects, keys):
            if key is not None:
                camera = self._tracks[key].results.pop(number)
                obj = obj.replace(extras={**obj.extras, **points_3d(
                    camera, np.ones(len(camera)), not self.disable_rebase_keypoint)})
            objects.append(obj)
        return frame.replace(objects=tuple(objects), dataset_meta=self.meta)

    def close(self) -> None:
        self._net = None
        self._tracks, self._pending = {}, deque()
