"""Weights resolution: explicit path, models/ folders, cache, download, and the offline error."""
from __future__ import annotations

import logging
import urllib.error
from pathlib import Path

import pytest

from nodes.models.openmmlab import weights as W
from webcam_app import WeightsUnavailable

URL = 'https://download.openmmlab.com/mmpose/v1/projects/rtmposev1/model-1234abcd.pth'
NAME = 'model-1234abcd.pth'


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty hub cache, and no models folder from the environment."""
    folder = tmp_path / 'hub' / 'checkpoints'
    monkeypatch.setattr(W, 'cache_dir', lambda: folder)
    monkeypatch.delenv(W.MODELS_DIR_ENV, raising=False)
    monkeypatch.delenv(W.OFFLINE_ENV, raising=False)
    return folder


@pytest.fixture
def no_download(monkeypatch: pytest.MonkeyPatch) -> list:
    """A downloader that records its calls and fails like a machine without network."""
    calls = []

    def offline(url: str, dst: Path, timeout: float) -> None:
        calls.append((url, dst))
        raise urllib.error.URLError('[Errno -3] Temporary failure in name resolution')
    monkeypatch.setattr(W, '_download', offline)
    return calls


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'checkpoint')
    return path


def test_none_means_random_weights_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger='nodes.models.openmmlab.weights'):
        assert W.resolve_weights('det', URL, 'none') is None
        assert W.resolve_weights('det', URL, 'None') is None
    assert 'random weights' in caplog.text and 'tests and benchmarks only' in caplog.text


def test_explicit_path_is_taken_relative_to_the_graph(tmp_path: Path, cache: Path) -> None:
    ckpt = touch(tmp_path / 'graphs' / 'mine.pth')
    touch(cache / NAME)
    found = W.resolve_weights('det', URL, 'mine.pth', graph_dir=str(tmp_path / 'graphs'))
    assert found == str(ckpt.resolve())


def test_a_missing_explicit_path_is_an_error(tmp_path: Path, cache: Path) -> None:
    with pytest.raises(ValueError, match=r'weights file not found: nope\.pth'):
        W.resolve_weights('det', URL, 'nope.pth', graph_dir=str(tmp_path))


def test_models_folder_beside_the_yaml_comes_before_the_cache(tmp_path: Path,
                                                              cache: Path) -> None:
    local = touch(tmp_path / 'models' / NAME)
    touch(cache / NAME)
    assert W.resolve_weights('det', URL, None, graph_dir=str(tmp_path)) == str(local)


def test_models_dir_and_environment_folder(tmp_path: Path, cache: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    in_dir = touch(tmp_path / 'dir' / NAME)
    assert W.resolve_weights('det', URL, None, models_dir=str(tmp_path / 'dir')) == str(in_dir)
    in_env = touch(tmp_path / 'env' / NAME)
    monkeypatch.setenv(W.MODELS_DIR_ENV, str(tmp_path / 'env'))
    assert W.resolve_weights('det', URL, None) == str(in_env)


def test_a_relative_path_is_looked_for_beside_the_graph_then_in_the_working_dir(
        tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    graph_dir, work_dir = tmp_path / 'graphs', tmp_path / 'work'
    in_work = touch(work_dir / 'ckpt' / 'mine.pth')
    monkeypatch.chdir(work_dir)
    found = W.resolve_weights('det', URL, 'ckpt/mine.pth', graph_dir=str(graph_dir))
    assert found == str(in_work.resolve())            # only in the working directory: taken
    beside = touch(graph_dir / 'ckpt' / 'mine.pth')
    found = W.resolve_weights('det', URL, 'ckpt/mine.pth', graph_dir=str(graph_dir))
    assert found == str(beside.resolve())             # in both: the graph's folder wins


def test_models_dir_comes_before_the_environment_folder(
        tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, no_download: list) -> None:
    in_env = touch(tmp_path / 'env' / NAME)
    monkeypatch.setenv(W.MODELS_DIR_ENV, str(tmp_path / 'env'))
    in_dir = touch(tmp_path / 'dir' / NAME)
    assert W.resolve_weights('det', URL, None, models_dir=str(tmp_path / 'dir')) == str(in_dir)
    in_dir.unlink()
    assert W.resolve_weights('det', URL, None, models_dir=str(tmp_path / 'dir')) == str(in_env)
    in_env.unlink()
    with pytest.raises(WeightsUnavailable):           # a download goes to --models-dir
        W.resolve_weights('det', URL, None, models_dir=str(tmp_path / 'dir'))
    assert no_download == [(URL, tmp_path / 'dir' / NAME)]


def test_cache_is_used_without_downloading(cache: Path, no_download: list) -> None:
    cached = touch(cache / NAME)
    assert W.resolve_weights('det', URL, None, graph_dir='.') == str(cached)
    assert no_download == []


def test_download_goes_to_models_dir(tmp_path: Path, cache: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(W, '_download', lambda url, dst, timeout: calls.append(url) or touch(dst))
    found = W.resolve_weights('det', URL, None, models_dir=str(tmp_path / 'm'))
    assert found == str(tmp_path / 'm' / NAME) and Path(found).is_file()
    assert calls == [URL]


def test_offline_names_node_url_and_local_path(tmp_path: Path, cache: Path,
                                               no_download: list) -> None:
    with pytest.raises(WeightsUnavailable) as info:
        W.resolve_weights('hand_det', URL, None, graph_dir=str(tmp_path))
    err = info.value
    assert (err.node, err.url) == ('hand_det', URL)
    assert err.local_path == str(tmp_path / 'models' / NAME)
    assert err.exit_code == 2
    assert "node 'hand_det'" in str(err) and str(tmp_path / 'models' / NAME) in str(err)
    assert 'name resolution' in str(err)
    assert [url for url, _ in no_download] == [URL]


def test_offline_hint_prefers_models_dir(tmp_path: Path, cache: Path, no_download: list) -> None:
    with pytest.raises(WeightsUnavailable) as info:
        W.resolve_weights('pose', URL, None, models_dir=str(tmp_path / 'dl'), graph_dir='.')
    assert info.value.local_path == str(tmp_path / 'dl' / NAME)


def test_offline_hint_is_absolute(tmp_path: Path, cache: Path, no_download: list,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WeightsUnavailable) as info:
        W.resolve_weights('pose', URL, None, graph_dir='graphs')
    assert info.value.local_path == str(tmp_path / 'graphs' / 'models' / NAME)


@pytest.mark.timeout(30)
def test_unreachable_server_fails_fast(tmp_path: Path, cache: Path) -> None:
    url = 'http://127.0.0.1:9/nothing-here-0000.pth'      # the discard port: refused at once
    with pytest.raises(WeightsUnavailable, match='download failed'):
        W.resolve_weights('det', url, None, graph_dir=str(tmp_path), timeout=2.0)


def test_download_disabled_and_no_source(tmp_path: Path, cache: Path) -> None:
    with pytest.raises(WeightsUnavailable, match='download disabled'):
        W.resolve_weights('det', URL, None, graph_dir=str(tmp_path), download=False)
    with pytest.raises(ValueError, match='no weights are known'):
        W.resolve_weights('det', None, None)


def test_candidate_paths_order(tmp_path: Path, cache: Path) -> None:
    paths = W.candidate_paths(NAME, models_dir=str(tmp_path / 'd'), graph_dir=str(tmp_path))
    assert paths == [tmp_path / 'models' / NAME, tmp_path / 'd' / NAME, cache / NAME]


def _tool():
    import importlib.util
    path = Path(__file__).resolve().parents[2] / 'tools' / 'download_models.py'
    spec = importlib.util.spec_from_file_location('download_models', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HAND_GRAPH = """
name: hand
nodes:
  - {name: source, type: VideoSource, input: clip.mp4, outputs: {frame: frames}}
  - {name: detector, type: DetectorNode, model: hand, classes: [hand],
     inputs: {frame: frames}, outputs: {frame: dets}}
  - {name: pose, type: TopdownPoseEstimatorNode, model: hand, weights: none,
     inputs: {frame: dets}, outputs: {frame: poses}}
"""


@pytest.mark.skipif(__import__('importlib').util.find_spec('mmpose') is None,
                    reason='needs mmpose installed (its metafiles)')
def test_download_models_tool(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch,
                              no_download: list) -> None:
    graph = tmp_path / 'hand.yaml'
    graph.write_text(HAND_GRAPH)
    tool = _tool()
    assert tool.main([str(graph), '--models-dir', str(tmp_path / 'm')]) == 2    # offline
    assert len(no_download) == 1 and no_download[0][0].endswith('_hand-267f9c8f.pth')
    monkeypatch.setattr(W, '_download', lambda url, dst, timeout: touch(dst))
    done = tool.download_graph(str(graph), str(tmp_path / 'm'))
    assert done == [('detector', str(tmp_path / 'm' / 'rtmdet_nano_8xb32-300e_hand-267f9c8f.pth')),
                    ('pose', None)]
    assert tool.main([str(graph), '--models-dir', str(tmp_path / 'm')]) == 0


def test_offline_switch_never_downloads(tmp_path: Path, cache: Path, no_download: list,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(W.OFFLINE_ENV, '1')
    with pytest.raises(WeightsUnavailable, match='download disabled'):
        W.resolve_weights('det', URL, None, graph_dir=str(tmp_path))
    assert no_download == []
    touch(cache / NAME)                                   # what is on disk still counts
    assert W.resolve_weights('det', URL, None) == str(cache / NAME)
