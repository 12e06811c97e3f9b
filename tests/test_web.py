"""--serve as a user sees it: the app in a subprocess, its page in a real headless Chromium."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.footage import photo_path
from tests.mjpeg import MjpegViewer, StalledViewer, get, metrics

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).parents[1]
PREVIEW = ROOT / 'graphs' / 'preview.yaml'
CHROMIUM, CHROMEDRIVER = Path('/usr/bin/chromium'), Path('/usr/bin/chromedriver')


class App:
    """The app in a subprocess; its log is read on a thread, so a full pipe never blocks it."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, 'PYTHONPATH': str(ROOT)}
        env.pop('DISPLAY', None)
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / 'run_webcam.py'), *args], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.url_found = threading.Event()
        self.url = ''
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)
            found = re.search(r'watch at (http://\S+/)', line)
            if found and not self.url:
                self.url = found.group(1)
                self.url_found.set()
        self.url_found.set()   # ended: whoever waits for the address must not wait forever

    def log(self) -> str:
        self._reader.join(10)
        return ''.join(self.lines)

    def end(self) -> None:
        self.proc.kill()
        self.proc.wait()


def serve(*args: str) -> App:
    """Run the preview graph on real footage, paced and looping, with --serve on a free port."""
    app = App('--config', str(PREVIEW), '--input', str(photo_path('vtest.avi')),
              '--mode', 'replay', '--headless', '--set', 'source.realtime=true',
              '--set', 'source.loop=true', '--serve', '127.0.0.1:0', *args)
    app.url_found.wait(60)
    if not app.url:
        app.end()
        raise AssertionError(f'the app did not serve:\n{app.log()}')
    return app


def chromium() -> webdriver.Chrome:
    """Debian's Chromium through Debian's chromedriver: nothing is downloaded."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                 '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
                 '--window-size=1200,900',
                 f'--user-data-dir={tempfile.mkdtemp(prefix="chromium-")}'):
        options.add_argument(flag)
    return webdriver.Chrome(service=webdriver.ChromeService(str(CHROMEDRIVER)), options=options)


def test_the_page_shows_moving_video_live_metrics_and_working_hot_keys():
    app, driver = serve(), None
    url = app.url
    try:
        driver = chromium()
        driver.get(url)
        wait = WebDriverWait(driver, 30)
        wait.until(lambda d: d.find_elements(By.ID, 'node-monitor'))
        video = driver.find_element(By.ID, 'video')
        wait.until(lambda d: d.execute_script('return arguments[0].naturalWidth', video) > 0)
        assert driver.execute_script('return arguments[0].naturalWidth', video) == 768
        first = video.screenshot_as_png
        wait.until(lambda d: video.screenshot_as_png != first)   # the picture moves

        encoded = driver.find_element(By.ID, 'web').text
        wait.until(lambda d: d.find_element(By.ID, 'web').text != encoded)   # metrics update
        row = driver.find_element(By.ID, 'node-source')
        assert float(row.find_elements(By.TAG_NAME, 'td')[1].text) > 0   # the source's fps

        assert metrics(url)['nodes']['monitor']['enabled'] is True
        driver.find_element(By.ID, 'key-m').click()            # "m: toggle monitor"
        wait.until(lambda d: d.find_element(By.ID, 'node-monitor')
                   .get_attribute('data-enabled') == 'false')
        assert metrics(url)['nodes']['monitor']['enabled'] is False
        assert 'off' in driver.find_element(By.ID, 'node-monitor').text

        driver.find_element(By.ID, 'key-q').click()            # quits, as q in the window
        assert app.proc.wait(timeout=20) == 0
    finally:
        if driver is not None:
            driver.quit()
        app.end()
    assert 'stopping: key q (web)' in app.log()


def test_sigint_with_three_viewers_exits_and_closes_them():
    app = serve()
    url = app.url
    try:
        readers = [MjpegViewer(url) for _ in range(2)]
        for reader in readers:
            reader.read_jpeg()
        stalled = StalledViewer(url)
        deadline = time.monotonic() + 20
        while metrics(url)['web']['viewers'] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert metrics(url)['web']['viewers'] >= 3
        app.proc.send_signal(signal.SIGINT)
        app.proc.wait(timeout=10)
    finally:
        app.end()
    assert app.proc.returncode == 130
    assert all(reader.at_end() for reader in readers)
    assert stalled.closed_by_server()
    assert 'Traceback' not in app.log()


def test_serve_token_guards_the_page():
    app = serve('--serve-token', 'let-me-in')
    try:
        assert get(app.url, '/metrics')[0] == 401
        assert get(app.url, '/metrics?token=let-me-in')[0] == 200
        assert metrics(app.url, token='let-me-in')['graph'] == 'preview'
    finally:
        app.end()
