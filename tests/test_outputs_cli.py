"""--out and --pred-out in every form MMPoseInferencer users know, run as a user runs them."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.test_end_to_end import PREVIEW, make_video, run_app
from webcam_app import ConfigError, load_graph

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / 'photos'
    folder.mkdir()
    for name, level in (('b.jpg', 60), ('a.png', 120)):
        cv2.imwrite(str(folder / name), np.full((240, 320, 3), level, np.uint8))
    return folder


@pytest.mark.parametrize('out_flag,pred_flag', [('--out', '--pred-out'),
                                                ('--vis-out-dir', '--pred-out-dir')])
def test_folder_input_gives_an_image_and_a_json_per_photo(tmp_path, photos, out_flag, pred_flag):
    code, _, err = run_app('--config', str(PREVIEW), '--input', str(photos), '--headless',
                           out_flag, 'out/', pred_flag, 'preds', cwd=tmp_path)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == ['a.png', 'b.jpg']
    assert sorted(p.name for p in (tmp_path / 'preds').iterdir()) == ['a.json', 'b.json']
    assert json.loads((tmp_path / 'preds' / 'a.json').read_text()) == []   # no model: no poses
    shown = cv2.imread(str(tmp_path / 'out' / 'a.png'))
    assert (shown == 120).all()        # a.png itself: no monitor or help panel on it


def test_video_input_gives_numbered_images_and_one_json(tmp_path):
    video = make_video(tmp_path / 'clip.avi', frames=5)
    code, _, err = run_app('--config', str(PREVIEW), '--input', str(video), '--headless',
                           '--out', str(tmp_path / 'frames') + '/', '--pred-out',
                           str(tmp_path / 'preds') + '/')
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / 'frames').iterdir()) == [
        f'{i:06d}.jpg' for i in range(5)]
    records = json.loads((tmp_path / 'preds' / 'clip.json').read_text())
    assert records == [{'frame_id': i, 'instances': []} for i in range(5)]


def test_one_image_to_one_image_file(tmp_path, photos):
    code, _, err = run_app('--config', str(PREVIEW), '--input', str(photos / 'a.png'),
                           '--headless', '--out', 'result.png', cwd=tmp_path)
    assert code == 0, err
    assert list(tmp_path.glob('*.png')) == [tmp_path / 'result.png']
    assert cv2.imread(str(tmp_path / 'result.png')).shape == (240, 320, 3)


@pytest.mark.parametrize('args,words', [
    (['--out', 'result.xyz'], ['--out result.xyz', 'a video file (.mp4', 'a folder (out/)',
                               'fix: end a folder with /']),
    (['--pred-out', 'p.txt'], ['--pred-out', 'a .json or a .jsonl file']),
    (['--out', 'result.png'], ['result.png is one image file, but --input',
                               'fix: give a folder (--out out/)']),
])
def test_a_wrong_output_is_one_error_with_a_concrete_fix(tmp_path, photos, args, words):
    code, _, err = run_app('--config', str(PREVIEW), '--input', str(photos), '--headless',
                           *args, cwd=tmp_path)
    assert code == 2
    assert err.count('error:') == 1, err
    for word in words:
        assert word in err, err
    assert 'Traceback' not in err and not list(tmp_path.glob('result*'))


def test_a_bad_sink_parameter_brings_no_knock_on_errors(tmp_path):
    graph = tmp_path / 'g.yaml'
    text = PREVIEW.read_text().replace('outputs: {frame: frames}',
                                       'outputs: {frame: [frames, rec_in]}', 1)
    line = len(text.splitlines()) + 1
    graph.write_text(text + '''  - name: recorder
    type: Recorder
    path: result.png
    inputs: {frame: rec_in}
''')
    with pytest.raises(ConfigError) as info:
        load_graph(graph)
    [issue] = info.value.issues      # no "buffer 'rec_in' ... no node reads" after it
    assert "cannot choose a codec for 'result.png'" in issue.message
    assert issue.fix.startswith('use one of .mp4') and 'fix the parameter value' not in str(issue)
    assert issue.where == f'{graph}:{line}'


def test_outputs_take_the_drawing_from_before_the_window_overlays(photos):
    from webcam_app.app.cli import build_parser, prepare_graph
    args = build_parser().parse_args(['--config', 'body_lite.yaml', '--print-graph',
                                      '--input', str(photos), '--out', 'out/',
                                      '--pred-out', 'preds.json'])
    graph = prepare_graph(PREVIEW.parent / 'body_lite.yaml', args)     # --print-graph: no checks
    nodes = graph.nodes
    assert type(nodes['imagewriter'].node).__name__ == 'ImageWriter'
    assert type(nodes['predictionwriter'].node).__name__ == 'PredictionWriter'
    assert nodes['banner'].outputs['frame'] == ['bannered', 'imagewriter_in',
                                                'predictionwriter_in']
    assert nodes['help'].outputs['frame'] == ['shown']        # the window keeps its overlays
    assert nodes['pose'].node.static_image_mode        # unrelated photos: no tracking


def test_a_graphs_own_recorder_becomes_an_image_writer_for_a_folder(tmp_path):
    from webcam_app.app.cli import build_parser, prepare_graph
    graph = tmp_path / 'g.yaml'
    graph.write_text(PREVIEW.read_text().replace(
        'outputs: {frame: frames}', 'outputs: {frame: [frames, rec_in]}', 1) + '''  - name: rec
    type: Recorder
    path: mine.mp4
    fps: 10
    inputs: {frame: rec_in}
''')
    args = build_parser().parse_args(['--config', str(graph), '--print-graph', '--out', 'o/'])
    nodes = prepare_graph(graph, args).nodes
    assert type(nodes['rec'].node).__name__ == 'ImageWriter' and nodes['rec'].node.folder_mode
    assert nodes['rec'].inputs['frame'][0] == 'rec_in' and 'imagewriter' not in nodes
    args = build_parser().parse_args(['--config', str(graph), '--print-graph', '--out', 'o.avi'])
    recorder = prepare_graph(graph, args).nodes['rec'].node
    assert recorder.path.endswith('o.avi') and recorder.fps == 10     # its own settings kept
