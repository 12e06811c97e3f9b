"""Plugins: a file next to the YAML, a module name, and the single-node harness."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from webcam_app import Frame, NodeHarness, load_graph, make_frame, registry, run_graph
from tests.webcam_app import toy_nodes  # noqa: F401
from tests.webcam_app.toy_nodes import Collect

pytestmark = pytest.mark.timeout(30)

MIRROR = '''
from webcam_app import Node

class Mirror(Node):
    """Flip the picture left-right."""
    def process(self, frame):
        return frame.replace(image=frame.image[:, ::-1].copy())
'''

GRAPH = '''
name: plugin
plugins: [{plugin}]
nodes:
  - name: source
    type: CountSource
    n: 4
    width: 8
    outputs: {{frame: frames}}
  - name: mirror
    type: Mirror
    enable_key: m
    inputs: {{frame: frames}}
    outputs: {{frame: shown}}
  - name: sink
    type: Collect
    key: plugin
    inputs: {{frame: shown}}
'''


def gradient_frame(frame_id: int = 0) -> Frame:
    image = np.tile(np.arange(8, dtype=np.uint8)[None, :, None], (4, 1, 3))
    return Frame(frame_id=frame_id, image=image)


def test_plugin_file_next_to_the_yaml(tmp_path, registry_snapshot):
    (tmp_path / 'effects').mkdir()
    (tmp_path / 'effects' / 'mirror.py').write_text(MIRROR)
    (tmp_path / 'graph.yaml').write_text(GRAPH.format(plugin='effects/mirror.py'))
    assert registry.get('Mirror') is None                  # imported only when a graph names it
    graph = load_graph(tmp_path / 'graph.yaml')
    assert registry.get('Mirror') is not None
    run_graph(graph, timeout=10)
    frames = Collect.seen['plugin']
    assert len(frames) == 4
    source = make_frame(0, 8, 24, color=(1, 0, 0))
    assert np.array_equal(frames[0].image, source.image[:, ::-1])


def test_plugin_by_module_name(tmp_path, monkeypatch, registry_snapshot):
    (tmp_path / 'my_effects_pkg.py').write_text(MIRROR.replace('Mirror', 'ModMirror'))
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / 'graph.yaml').write_text(
        GRAPH.format(plugin='my_effects_pkg').replace('type: Mirror', 'type: ModMirror'))
    try:
        graph = load_graph(tmp_path / 'graph.yaml')
        assert type(graph.nodes['mirror'].node).__name__ == 'ModMirror'
    finally:
        sys.modules.pop('my_effects_pkg', None)


def test_duplicate_type_names_from_two_modules_are_refused(tmp_path, registry_snapshot):
    (tmp_path / 'a.py').write_text(MIRROR)
    (tmp_path / 'b.py').write_text(MIRROR)
    from webcam_app.plugins import load_plugin
    load_plugin('a.py', tmp_path)
    with pytest.raises(ImportError, match="'Mirror' from .* is already registered by"):
        load_plugin('b.py', tmp_path)


def test_harness_runs_a_plugin_without_threads(tmp_path, registry_snapshot):
    from webcam_app.plugins import load_plugin
    (tmp_path / 'mirror.py').write_text(MIRROR)
    module = load_plugin('mirror.py', tmp_path)
    frame = gradient_frame()
    with NodeHarness(module.Mirror, enable_key='m') as harness:
        out = harness.feed(frame=frame)['frame']
        assert np.array_equal(out.image, frame.image[:, ::-1])
        assert frame.image[0, 0, 0] == 0            # the input was not touched
        harness.press('m')                          # disabled: bypass passes the frame on
        assert harness.feed(frame=frame)['frame'] is frame
        assert harness.run([gradient_frame(i) for i in range(3)])[2].frame_id == 2


def test_frames_are_read_only_so_fan_out_is_safe():
    frame = gradient_frame()
    with pytest.raises(ValueError):
        frame.image[0, 0, 0] = 255
    with pytest.raises(AttributeError):
        frame.frame_id = 3
