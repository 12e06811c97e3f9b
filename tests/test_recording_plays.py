"""Recordings made by the app play in a browser (Debian's Chromium), even one cut short by a
kill; a codec the installed FFmpeg cannot encode stops the app before it starts."""
from __future__ import annotations

import random
import subprocess
import sys
import time

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from tests.test_recording_crash import FPS, PREVIEW, ROOT, Recording, make_clip
from tests.test_web import chromium

pytestmark = pytest.mark.timeout(120)

PAGE = '''<!doctype html><html><body>
<video id="graceful" src="graceful.mp4" muted preload="auto"></video>
<video id="killed" src="killed.mp4" muted preload="auto"></video>
</body></html>'''
STATE = '''const v = document.getElementById(arguments[0]);
return {ready: v.readyState, width: v.videoWidth, height: v.videoHeight,
        error: v.error && v.error.code, duration: v.duration};'''


def run_app(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / 'run_webcam.py'), '--config',
                           str(PREVIEW), '--headless', *args], capture_output=True, text=True,
                          timeout=timeout, env={'PYTHONPATH': str(ROOT), 'PATH': '/usr/bin'})


def test_recordings_of_the_app_play_in_chromium(tmp_path):
    clip = make_clip(tmp_path / 'clip.avi', seconds=6.0, size=(320, 240))
    done = run_app('--input', str(clip), '--out', str(tmp_path / 'graceful.mp4'),
                   '--max-frames', '60')
    assert done.returncode == 0, done.stderr
    recording = Recording(clip, tmp_path / 'killed.mp4', tmp_path / 'p.jsonl')
    try:
        recording.wait_encoded(2 * FPS, timeout=60)
        time.sleep(random.uniform(0.0, 0.5))
        recording.kill()
    finally:
        recording.proc.kill()
    (tmp_path / 'page.html').write_text(PAGE)

    driver = chromium()
    try:
        driver.get((tmp_path / 'page.html').as_uri())
        for video in ('graceful', 'killed'):
            WebDriverWait(driver, 30).until(
                lambda d: d.execute_script(STATE, video)['ready'] >= 2
                or d.execute_script(STATE, video)['error'])
            state = driver.execute_script(STATE, video)
            assert state['error'] is None, (video, state)   # 4: MEDIA_ERR_SRC_NOT_SUPPORTED
            assert state['ready'] >= 2 and (state['width'], state['height']) == (320, 240)
            assert state['duration'] >= 1.0, (video, state)
    finally:
        driver.quit()


@pytest.mark.parametrize('codec, message', [
    ('nosuch', "codec 'nosuch' is not a video encoder of the installed FFmpeg"),
    ('rawvideo', 'the mp4 container cannot hold rawvideo')])
def test_a_codec_that_cannot_be_written_exits_2_before_anything_starts(tmp_path, codec,
                                                                       message):
    clip = make_clip(tmp_path / 'clip.avi', seconds=0.5)
    done = run_app('--input', str(clip), '--out', str(tmp_path / 'x.mp4'),
                   '--set', f'recorder.codec={codec}')
    assert done.returncode == 2
    assert f'{PREVIEW}:' in done.stderr and message in done.stderr
    assert 'libx264' in done.stderr.split('fix:')[-1] and 'Traceback' not in done.stderr
    assert 'recording' not in done.stderr and not (tmp_path / 'x.mp4').exists()
