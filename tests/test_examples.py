"""The plugin author's path: the example plugin and the entry-point package."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).parents[1]


def python(*args: str, cwd: Path = ROOT, extra_path: str = '') -> subprocess.CompletedProcess:
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(p for p in (extra_path, str(ROOT)) if p)}
    env.pop('DISPLAY', None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=240)


def test_entry_point_plugin_is_found_without_being_named(tmp_path):
    target = tmp_path / 'site'
    install = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--no-deps', '--no-build-isolation', '--quiet',
         '--target', str(target), str(ROOT / 'examples' / 'entry_point_plugin')],
        capture_output=True, text=True, timeout=240)
    assert install.returncode == 0, install.stderr
    listed = python('run_webcam.py', '--list-nodes', extra_path=str(target))
    assert listed.returncode == 0, listed.stderr
    assert 'Sepia (webcam_sepia): Give the video an old-photo look.' in listed.stdout
    assert 'VideoSource (' in listed.stdout           # beside the built-ins
    graph = tmp_path / 'sepia.yaml'
    graph.write_text((ROOT / 'graphs' / 'preview.yaml').read_text()
                     .replace('type: Monitor', 'type: Sepia').replace('    enable_key: m\n', ''))
    image = tmp_path / 'in.png'
    import cv2
    import numpy as np
    cv2.imwrite(str(image), np.full((40, 60, 3), (255, 0, 0), np.uint8))
    out = tmp_path / 'out.png.avi'
    ran = python('run_webcam.py', '--config', str(graph), '--input', str(image), '--headless',
                 '--out', str(out), extra_path=str(target))
    assert ran.returncode == 0, ran.stderr
    ok, frame = cv2.VideoCapture(str(out)).read()
    assert ok and frame[20, 30, 2] > frame[20, 30, 0]    # blue turned brownish: red > blue


def test_list_nodes_shows_a_graphs_plugin_nodes_beside_built_ins():
    listed = python('run_webcam.py', '--list-nodes', '--config',
                    str(ROOT / 'examples' / 'plugins' / 'spotlight.yaml'))
    assert listed.returncode == 0, listed.stderr
    assert 'Spotlight (' in listed.stdout and 'Darken the picture except around' in listed.stdout
    assert '    dim: float in [0, 1] = 0.3\n    padding: int >= 0 = 20\n' in listed.stdout
    assert '\nMediaPipeHands (' in listed.stdout
