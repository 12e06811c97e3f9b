"""Video files written through PyAV (FFmpeg), flushed often enough that a killed process keeps
everything up to the last second: H.264 in fragmented MP4 or Matroska, MJPG in AVI."""
from __future__ import annotations

import io
import logging
import os
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

__all__ = ['ALIASES', 'CODECS', 'CONTAINERS', 'VideoFile', 'check_codec', 'encoders',
           'resolve_codec']

log = logging.getLogger(__name__)

#: The FFmpeg muxer of each file extension.
CONTAINERS = {'.mp4': 'mp4', '.m4v': 'mp4', '.mov': 'mov', '.mkv': 'matroska', '.avi': 'avi'}
#: The default encoder of each file extension.
CODECS = {'.mp4': 'libx264', '.m4v': 'libx264', '.mov': 'libx264', '.mkv': 'libx264',
          '.avi': 'mjpeg'}
#: Familiar names (FourCCs included, case-insensitive) of FFmpeg encoders.
ALIASES = {'h264': 'libx264', 'avc1': 'libx264', 'x264': 'libx264', 'hevc': 'libx265',
           'h265': 'libx265', 'hvc1': 'libx265', 'mp4v': 'mpeg4', 'xvid': 'mpeg4',
           'divx': 'mpeg4', 'fmp4': 'mpeg4', 'mjpg': 'mjpeg', 'vp80': 'libvpx', 'vp8': 'libvpx',
           'vp90': 'libvpx-vp9', 'vp9': 'libvpx-vp9', 'av1': 'libsvtav1'}
_MOV_FLAGS = 'frag_keyframe+empty_moov+default_base_moof'   # a fragment per keyframe
_CRF_CODECS = {'libx264', 'libx265', 'libvpx', 'libvpx-vp9', 'libsvtav1'}
_PRESET_CODECS = {'libx264', 'libx265'}
_QSCALE_CODECS = {'mjpeg', 'mpeg4', 'mpeg1video', 'mpeg2video', 'msmpeg4', 'msmpeg4v2'}
_TICKS = Fraction(1, 90000)   # the encoder's time base, where codec and container allow it
_TICKS_65535 = Fraction(1, 60000)   # exact for ms and for 24, 25, 30, 50, 60 and 29.97 fps
_FRAME_CLOCK_CODECS = {'mpeg1video', 'mpeg2video'}
_SHORT_CLOCK_CODECS = {'mpeg4', 'msmpeg4', 'msmpeg4v2', 'h263', 'h263p', 'flv'}
_encoders: list[str] | None = None


def encoders() -> list[str]:
    """The names of the video encoders in the installed FFmpeg (PyAV's), sorted."""
    global _encoders
    if _encoders is None:
        found = []
        for name in av.codecs_available:
            try:
                if av.Codec(name, 'w').type == 'video':
                    found.append(name)
            except Exception:   # a decoder only: no encoder of that name
                continue
        _encoders = sorted(found)
    return _encoders


def resolve_codec(name: str) -> str:
    """The FFmpeg encoder that ``name`` (an encoder name or a familiar alias: h264, mp4v, MJPG)
    means; ValueError listing the encoders installed when there is none."""
    codec = ALIASES.get(name.lower(), name)
    if codec not in encoders():
        raise ValueError(f'codec {name!r} is not a video encoder of the installed FFmpeg '
                         f'(PyAV {av.__version__}); fix: use one of {", ".join(encoders())} '
                         f'(or an alias: {", ".join(sorted(ALIASES))})')
    return codec


def check_codec(codec: str, container: str, crf: int | None = None,
                quality: int | None = None, preset: str | None = None) -> None:
    """Encode one small frame with ``codec`` and these settings into ``container`` in memory;
    ValueError saying why not (the container cannot hold it, or the encoder does not open)."""
    with av.open(io.BytesIO(), 'w', format=container) as probe:
        if codec not in probe.supported_codecs:
            held = [name for name in encoders() if name in probe.supported_codecs]
            raise ValueError(f'the {container} container cannot hold {codec}; fix: use one '
                             f'of {", ".join(held)}, or another file extension (.mkv takes '
                             'most)')
        try:
            stream = _add_stream(probe, codec, 30.0, (64, 48), crf, quality, preset, 1.0)
            probe.start_encoding()
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format='bgr24')
            frame.pts, frame.time_base = 0, stream.codec_context.time_base
            for packet in stream.encode(frame) + stream.encode(None):
                probe.mux(packet)
        except (av.error.FFmpegError, ValueError) as exc:   # needs hardware, or other options
            raise ValueError(f'codec {codec!r} does not encode here ({exc}); fix: use '
                             'libx264, mjpeg or mpeg4') from exc


def _add_stream(container: Any, codec: str, fps: float, size: tuple[int, int],
                crf: int | None, quality: int | None, preset: str | None,
                keyframe_interval: float) -> Any:
    rate = Fraction(fps).limit_denominator(1001)
    stream = container.add_stream(codec, rate=rate)
    context = stream.codec_context
    stream.width, stream.height = size
    formats = [f.name for f in (context.codec.video_formats or ())]
    # MJPG is full-range 4:2:0 (yuvj420p); FFmpeg refuses limited-range yuv420p for it.
    for pix_fmt in ('yuvj420p',) if codec == 'mjpeg' else ('yuv420p', 'yuvj420p'):
        if not formats or pix_fmt in formats:
            stream.pix_fmt = pix_fmt
            break
    else:
        stream.pix_fmt = formats[0]
    context.time_base = _time_base(codec, container.format.name, rate)
    context.gop_size = max(1, round(fps * keyframe_interval))
    options: dict[str, str] = {}
    if codec in _PRESET_CODECS:
        options.update(preset=preset or 'veryfast', tune='zerolatency')
    if codec in _CRF_CODECS:
        options['crf'] = str(23 if crf is None else crf)
    if codec in _QSCALE_CODECS:   # a fixed quantizer, not FFmpeg's 200 kb/s default
        context.qmin = context.qmax = 3 if quality is None else quality
    context.options = options
    return stream


def _time_base(codec: str, container: str, rate: Fraction) -> Fraction:
    """The encoder's clock: fine enough to keep capture times (90 kHz, MPEG's clock), except
    where the format counts frames (AVI fills a gap with empty frames; MPEG-1/2 take standard
    rates only: one tick a frame) or caps the clock (MPEG-4 Part 2: 65535 ticks a second)."""
    if container == 'avi' or codec in _FRAME_CLOCK_CODECS:
        return 1 / rate
    return _TICKS_65535 if codec in _SHORT_CLOCK_CODECS else _TICKS


def _muxer_options(container: str, keyframe_interval: float) -> dict[str, str]:
    options = {'flush_packets': '1'}   # every packet goes to the file as it is written
    if container in ('mp4', 'mov'):
        options['movflags'] = _MOV_FLAGS
    elif container == 'matroska':
        options['cluster_time_limit'] = str(max(1, round(keyframe_interval * 1000)))
    return options


class VideoFile:
    """One video file open for writing: ``write(image, seconds)`` frame by frame, ``close()``.

    ``seconds`` is a frame's time from any origin; the file starts at its first frame. Times
    are kept exact in the container's time base, and each frame is later than the one before
    even when two share a time. A keyframe starts every ``keyframe_interval`` seconds (and every
    ``fps * keyframe_interval`` frames), and with it a fragment (MP4) or cluster (Matroska)
    that goes to the file at once: a kill loses at most the frames since the last keyframe.
    """

    def __init__(self, path: Path, codec: str, fps: float, size: tuple[int, int],
                 crf: int | None = None, quality: int | None = None,
                 preset: str | None = None, keyframe_interval: float = 1.0) -> None:
        fmt = CONTAINERS.get(path.suffix.lower())
        self.path, self.codec, self.size = path, codec, size
        self.keyframe_interval = keyframe_interval
        self._container = av.open(str(path), 'w', format=fmt,
                                  options=_muxer_options(fmt or '', keyframe_interval))
        try:
            self._stream = _add_stream(self._container, codec, fps, size, crf, quality, preset,
                                       keyframe_interval)
            self._container.start_encoding()   # the header: stream time bases are final now
        except BaseException:
            self._container.close()
            raise
        self._base = self._stream.time_base
        self._origin: float | None = None
        self._last_pts = -1
        self._last_key: float | None = None
        self._synced = time.monotonic()

    def pts(self, seconds: float) -> int:
        """The time of the next frame in the stream's time base: exact, strictly increasing."""
        if self._origin is None:
            self._origin = seconds
        pts = round((seconds - self._origin) / self._base)
        self._last_pts = max(pts, self._last_pts + 1)
        return self._last_pts

    def write(self, image: np.ndarray, seconds: float) -> None:
        """Encode one BGR image shown at ``seconds``, and write out what the encoder gives."""
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format='bgr24')
        frame.pts, frame.time_base = self.pts(seconds), self._base
        if self._last_key is None or seconds - self._last_key >= self.keyframe_interval:
            frame.pict_type = av.video.frame.PictureType.I
            self._last_key = seconds
        for packet in self._stream.encode(frame):
            key = packet.is_keyframe
            if key and packet.pts is not None:   # the encoder's own keyframes count too
                self._last_key = self._origin + float(packet.pts * packet.time_base)
            self._container.mux(packet)   # a keyframe writes out the fragment before it
            if key:
                self._sync()

    def _sync(self, now: bool = False) -> None:
        """Have the kernel put what is written on disk, at most once a second (``now``: at
        once): the recording then survives a power cut too, not only a killed process."""
        when = time.monotonic()
        if not now and when - self._synced < 1.0:
            return
        self._synced = when
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)   # any descriptor of the file syncs the file
        except OSError:
            pass   # a pipe or a file system without fsync
        finally:
            os.close(fd)

    def close(self) -> None:
        """Flush the encoder and finish the file (its index); the file plays without this too,
        up to its last flushed keyframe."""
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        finally:
            self._container.close()
            self._sync(now=True)        # the finished index too
