"""A hard kill (SIGKILL: an OOM killer, a container stop, a watchdog) mid-recording: the video
plays up to its last second and the JSON Lines parse up to the last complete line."""
from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).parents[1]
PREVIEW = ROOT / 'graphs' / 'preview.yaml'
FPS = 30
ENCODED = re.compile(r'nodes\.io\.recorder: recorder: encoded frame (\d+)')


def make_clip(path: Path, seconds: float = 12.0, size=(320, 240)) -> Path:
    """A moving picture with some texture, so that the encoder has real work."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), FPS, size)
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (size[1], size[0] * 2, 3), np.uint8),
                               (7, 7), 0)
    for i in range(int(seconds * FPS)):
        image = np.ascontiguousarray(texture[:, i * 2 % size[0]:][:, :size[0]])
        cv2.circle(image, (20 + i * 3 % (size[0] - 40), size[1] // 2), 15, (0, 200, 255), -1)
        writer.write(image)
    writer.release()
    return path


class Recording:
    """The app recording a realtime source; its log is read on a thread, counting the frames
    the recorder has encoded (its DEBUG line after each frame goes into the file)."""

    def __init__(self, clip: Path, out: Path, preds: Path) -> None:
        env = {**os.environ, 'PYTHONPATH': str(ROOT)}
        env.pop('DISPLAY', None)
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / 'run_webcam.py'), '--config', str(PREVIEW),
             '--input', str(clip), '--set', 'source.realtime=true', '--headless',
             '--out', str(out), '--pred-out', str(preds), '--log-level', 'DEBUG'],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.encoded, self.lines = 0, []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            found = ENCODED.search(line)
            with self._changed:
                if found:
                    self.encoded = max(self.encoded, int(found.group(1)))
                elif 'DEBUG' not in line:
                    self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_encoded(self, count: int, timeout: float) -> None:
        with self._changed:
            if not self._changed.wait_for(
                    lambda: self.encoded >= count or self.proc.poll() is not None, timeout):
                raise AssertionError(f'{self.encoded} frames encoded after {timeout} s')
        assert self.encoded >= count, ''.join(self.lines)

    def kill(self) -> int:
        """SIGKILL; the frames encoded, read from the log to its end (what the pipe holds)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._reader.join(10)
        return self.encoded


def count_opencv(path: Path) -> int:
    capture, n = cv2.VideoCapture(str(path)), 0
    while capture.read()[0]:
        n += 1
    capture.release()
    return n


def count_pyav(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


@pytest.fixture(scope='module')
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp('clip') / 'clip.avi')


@pytest.mark.parametrize('name', ['rec.mp4', 'rec.mkv', 'rec.avi'])
def test_a_killed_recording_keeps_all_but_its_last_second(clip, tmp_path, name):
    out, preds = tmp_path / name, tmp_path / 'preds.jsonl'
    recording = Recording(clip, out, preds)
    try:
        recording.wait_encoded(3 * FPS, timeout=60)       # 3 s of video went to the encoder
        time.sleep(random.uniform(0.0, 1.0))              # then a random moment
        sent = recording.kill()
    finally:
        recording.proc.kill()
    assert recording.proc.returncode == -signal.SIGKILL
    assert sent >= 3 * FPS
    readable = count_opencv(out), count_pyav(out)
    assert min(readable) >= sent - FPS, (readable, sent)    # at most 1 s of frames lost
    assert max(readable) <= sent + 1                       # + the one not logged yet

    text = preds.read_text(encoding='utf-8')
    complete = text[:text.rfind('\n') + 1].splitlines()   # a last line may be cut short
    records = [json.loads(line) for line in complete]     # every complete line parses
    ids = [r['frame_id'] for r in records]
    assert ids == sorted(set(ids)) and len(ids) >= sent - FPS


def test_a_kill_leaves_per_image_outputs_whole(tmp_path):
    photos = tmp_path / 'photos'
    photos.mkdir()
    rng = np.random.default_rng(1)
    for i in range(300):   # noise: big JPEGs, so a write takes a while
        cv2.imwrite(str(photos / f'img{i:03d}.png'),
                    rng.integers(0, 255, (240, 320, 3), np.uint8))
    out, preds = tmp_path / 'out', tmp_path / 'preds'
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    env.pop('DISPLAY', None)
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / 'run_webcam.py'), '--config', str(PREVIEW), '--input',
         str(photos), '--set', 'source.realtime=true', '--headless', '--out', f'{out}/',
         '--pred-out', f'{preds}/'], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (out.is_dir() and len(list(out.glob('*.png'))) >= FPS):   # 1 s of images
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.05)
        time.sleep(random.uniform(0.0, 0.5))
    finally:
        proc.kill()
        proc.communicate(timeout=10)
    images = sorted(out.glob('*.png'))
    assert len(images) >= FPS
    for path in images:   # each file under its own name is whole
        assert cv2.imread(str(path)).shape == (240, 320, 3), path
    for path in preds.glob('*.json'):
        assert isinstance(json.loads(path.read_text(encoding='utf-8')), list), path
    assert len(list(preds.glob('*.json'))) >= len(images) - FPS
    assert len(list(out.glob('.*.tmp'))) <= 1 and len(list(preds.glob('.*.tmp'))) <= 1
