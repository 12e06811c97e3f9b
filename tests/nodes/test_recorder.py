"""Recorder through PyAV: codecs per extension, real timestamps, keyframes, codec choice."""
from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from nodes.io.recorder import Recorder
from nodes.io.video_file import encoders, resolve_codec
from webcam_app import NodeHarness, make_frame

from .conftest import frame_image, index_of, read_all

pytestmark = pytest.mark.timeout(60)


def captured(times, width=64, height=48, **meta):
    """Frames whose capture times are ``times`` (seconds), each showing its index."""
    return [make_frame(i, width, height, **meta).replace(image=frame_image(i, width, height),
                                                         timestamp=500.0 + t)
            for i, t in enumerate(times)]


def probe(path):
    """(codec name, pixel format, [(seconds, keyframe)]) of the file's video packets, by PyAV."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [(float(p.pts * p.time_base), p.is_keyframe)
                   for p in container.demux(stream) if p.pts is not None and p.size]
        return stream.codec_context.name, stream.codec_context.format.name, packets


def record(path, frames, mode='live', **params):
    with NodeHarness(Recorder, run_mode=mode, path=str(path), **params) as h:
        h.run(frames)
    assert h.node.error is None
    return h.node


@pytest.mark.parametrize('name, codec, pix_fmt', [
    ('a.mp4', 'h264', 'yuv420p'), ('a.mov', 'h264', 'yuv420p'), ('a.m4v', 'h264', 'yuv420p'),
    ('a.mkv', 'h264', 'yuv420p'), ('a.avi', 'mjpeg', 'yuvj420p')])
def test_each_extension_gets_its_codec_and_every_frame_reads_back_in_order(tmp_path, name,
                                                                           codec, pix_fmt):
    path = tmp_path / name
    record(path, captured([i / 25 for i in range(20)]))
    got_codec, got_format, packets = probe(path)
    assert (got_codec, got_format, len(packets)) == (codec, pix_fmt, 20)
    assert [index_of(f) for f in read_all(path)] == list(range(20))   # OpenCV reads it too


@pytest.mark.parametrize('name', ['gaps.mp4', 'gaps.mkv'])
def test_a_live_recording_keeps_capture_times_so_dropped_frames_play_at_real_speed(tmp_path,
                                                                                  name):
    times = [0.0, 0.04, 0.08, 0.5, 0.54, 1.9, 1.94, 1.98]      # two stalls dropped frames
    path = tmp_path / name
    record(path, captured(times))
    _, _, packets = probe(path)
    assert [t for t, _ in packets] == pytest.approx(times, abs=1.5e-3)   # mkv counts in ms


def test_an_avi_recording_keeps_real_speed_on_its_frame_grid(tmp_path):
    times = [0.0, 0.1, 0.2, 0.7, 0.8]                           # 10 fps, 4 frames missing
    path = tmp_path / 'gaps.avi'
    record(path, captured(times, fps=10))
    _, _, packets = probe(path)
    assert [t for t, _ in packets] == pytest.approx(times, abs=1e-6)
    assert len(read_all(path)) == 5


def test_frames_sharing_a_capture_time_get_increasing_timestamps(tmp_path):
    path = tmp_path / 'same.mp4'
    record(path, captured([0.0, 0.0, 0.0, 0.04, 0.04]))
    _, _, packets = probe(path)
    times = [t for t, _ in packets]
    assert all(b > a for a, b in zip(times, times[1:])) and times[3] == pytest.approx(0.04)
    assert len(read_all(path)) == 5


def test_replay_uses_the_source_time_and_a_looping_source_goes_on_forward(tmp_path):
    source_ms = [0.0, 100.0, 200.0, 0.0, 100.0]                 # the source started over
    frames = [f.with_meta(source_timestamp_ms=ms)
              for f, ms in zip(captured([0.0] * 5, fps=10), source_ms)]
    path = tmp_path / 'replay.mkv'
    record(path, frames, mode='replay')
    _, _, packets = probe(path)
    assert [t for t, _ in packets] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize('interval, fps, expected', [(1.0, 30, [0.0, 1.0, 2.0, 3.0]),
                                                     (0.5, 30, [0.0, 0.5, 1.0, 1.5, 2.0, 2.5,
                                                                3.0]),
                                                     (1.0, 12, [0.0, 1.0, 2.0, 3.0])])
def test_a_keyframe_starts_every_keyframe_interval_seconds(tmp_path, interval, fps, expected):
    # fps (the nominal rate) is 30 in every case: a slower source still gets them by time.
    path = tmp_path / 'keys.mp4'
    record(path, captured([i / fps for i in range(int(3.4 * fps))], fps=30),
           keyframe_interval=interval, queue_size=256)   # fed at once: no drops
    _, _, packets = probe(path)
    assert [t for t, key in packets if key] == pytest.approx(expected, abs=1 / fps)


def test_odd_sizes_lose_a_pixel_for_h264_and_later_sizes_are_fitted(tmp_path):
    path = tmp_path / 'odd.mp4'
    frames = captured([0.0, 0.04], width=65, height=49) + captured([0.08], width=32, height=24)
    record(path, frames)
    assert [f.shape for f in read_all(path)] == [(48, 64, 3)] * 3


@pytest.mark.parametrize('name, setting, better, worse', [('x.mp4', 'crf', 10, 40),
                                                           ('x.avi', 'quality', 2, 12),
                                                           ('x.mp4', 'quality', 2, 12)])
def test_crf_and_quality_trade_size_for_quality(tmp_path, name, setting, better, worse):
    rng, sizes = np.random.default_rng(0), {}
    frames = [f.replace(image=cv2.GaussianBlur(rng.integers(0, 255, (120, 160, 3), np.uint8),
                                               (5, 5), 0))
              for f in captured([i / 25 for i in range(10)], 160, 120)]
    codec = 'mpeg4' if setting == 'quality' and name.endswith('.mp4') else None
    for value in (better, worse):
        path = tmp_path / f'{value}{name}'
        record(path, frames, codec=codec, **{setting: value})
        sizes[value] = path.stat().st_size
    assert sizes[worse] < sizes[better] / 2


@pytest.mark.parametrize('codec, name, expected', [('mp4v', 'x.mp4', 'mpeg4'),
                                                   ('MJPG', 'x.mkv', 'mjpeg'),
                                                   ('ffv1', 'x.mkv', 'ffv1'),
                                                   ('libx264', 'x.avi', 'h264')])
def test_codec_chooses_another_encoder_by_name_or_fourcc(tmp_path, codec, name, expected):
    record(tmp_path / name, captured([0.0, 0.04, 0.08]), codec=codec)
    assert probe(tmp_path / name)[0] == expected
    assert len(read_all(tmp_path / name)) == 3


def test_a_codec_ffmpeg_cannot_encode_or_the_file_cannot_hold_is_refused_before_start(tmp_path):
    assert {'libx264', 'mjpeg', 'mpeg4'} <= set(encoders())
    with pytest.raises(ValueError, match=r"'nosuch' is not a video encoder.*fix: use one of "
                                         r".*libx264.*mjpeg"):
        resolve_codec('nosuch')
    with pytest.raises(ValueError, match='mp4 container cannot hold rawvideo'):
        with NodeHarness(Recorder, path=str(tmp_path / 'raw.mp4'), codec='rawvideo'):
            pass
    assert not list(tmp_path.iterdir())
