"""Find a checkpoint on disk, in the cache or by downloading it; offline, say where to put it.

The order is: the explicit ``weights:`` path, a file of the same name in a ``models/`` folder beside
the graph's YAML or in the models folder (``--models-dir`` / ``WEBCAM_APP_MODELS_DIR``), the
torch hub cache that mmengine also uses, then a download with a progress bar. Offline, the error
names the exact path where the file can be put.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from webcam_app import WeightsUnavailable

__all__ = ['DISABLED', 'MODELS_DIR_ENV', 'OFFLINE_ENV', 'RANDOM_SEED', 'building', 'cache_dir',
           'candidate_paths', 'resolve_weights', 'weights_disabled']

log = logging.getLogger(__name__)

#: ``weights: none`` builds the model with random weights: for tests and benchmarks only.
DISABLED = 'none'
MODELS_DIR_ENV = 'WEBCAM_APP_MODELS_DIR'
#: set (to 1) to never download: only files on disk count (the CLI's --offline sets it)
OFFLINE_ENV = 'WEBCAM_APP_OFFLINE'
#: seconds to wait for the server before calling the network unreachable
NETWORK_TIMEOUT = 10.0
#: the seed of random-weight builds, so ``weights: none`` gives the same model every run
RANDOM_SEED = 0
_BUILD_LOCK = threading.Lock()     # registry scope and seeding are process-global: see building()


def weights_disabled(weights: str | None) -> bool:
    """True for ``weights: none``, the test-only switch to random weights."""
    return isinstance(weights, str) and weights.strip().lower() == DISABLED


def _is_url(value: str) -> bool:
    return urllib.parse.urlparse(value).scheme in ('http', 'https', 'ftp')


def cache_dir() -> Path:
    """The checkpoint cache shared with mmengine and torch.hub (``$TORCH_HOME/hub/checkpoints``)."""
    try:
        import torch.hub
        hub = Path(torch.hub.get_dir())
    except ImportError:
        torch_home = os.environ.get('TORCH_HOME') or os.path.join(
            os.environ.get('XDG_CACHE_HOME', os.path.expanduser('~/.cache')), 'torch')
        hub = Path(torch_home) / 'hub'
    return hub / 'checkpoints'


def _models_dirs(models_dir: str | None, graph_dir: str | None) -> list[Path]:
    dirs = []
    if graph_dir:
        dirs.append(Path(graph_dir) / 'models')
    for d in (models_dir, os.environ.get(MODELS_DIR_ENV)):
        if d:
            dirs.append(Path(d).expanduser())
    return list(dict.fromkeys(dirs))


def candidate_paths(filename: str, models_dir: str | None = None,
                    graph_dir: str | None = None) -> list[Path]:
    """Every local place a checkpoint named ``filename`` is looked for, in order."""
    return [d / filename for d in _models_dirs(models_dir, graph_dir)] + [cache_dir() / filename]


def _download(url: str, dst: Path, timeout: float) -> None:
    """Download with a progress bar; a dead network fails within ``timeout`` seconds."""
    import torch.hub
    request = urllib.request.Request(url, method='HEAD', headers={'User-Agent': 'webcam-app'})
    urllib.request.urlopen(request, timeout=timeout).close()     # fail fast when offline
    dst.parent.mkdir(parents=True, exist_ok=True)
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)     # per socket operation, so slow but live downloads go on
    try:
        torch.hub.download_url_to_file(url, str(dst), progress=True)
    finally:
        socket.setdefaulttimeout(old)


def _explicit(weights: str, graph_dir: str | None) -> Path:
    path = Path(weights).expanduser()
    tried = [path] if path.is_absolute() else [Path(graph_dir or '.') / path, path]
    for p in tried:
        if p.is_file():
            return p.resolve()
    raise ValueError(f'weights file not found: {weights} (looked at '
                     f'{", ".join(str(p) for p in dict.fromkeys(tried))})')


def resolve_weights(node_name: str, url_or_path: str | None, explicit: str | None = None,
                    models_dir: str | None = None, graph_dir: str | None = None, *,
                    download: bool = True, timeout: float = NETWORK_TIMEOUT) -> str | None:
    """Return the local path of a model's checkpoint, downloading it if needed.

    Args:
        node_name: the node asking, for error messages.
        url_or_path: where the checkpoint comes from by default (the metafile's URL), or None.
        explicit: the node's ``weights:`` parameter: a path, a URL, ``'none'`` or None.
        models_dir: a folder of checkpoints (``--models-dir``); downloads go there when given.
        graph_dir: the folder of the graph's YAML; its ``models/`` subfolder is searched first.
        download: False to look only on disk.
        timeout: seconds before an unreachable server counts as offline.

    Returns:
        The checkpoint's path, or None for ``weights: none`` (random weights, for tests and
        benchmarks only; a WARNING says so).

    Raises:
        ValueError: an explicit path that does not exist, or no source known at all.
        WeightsUnavailable: the file is on no local path and cannot be downloaded.
    """
    if weights_disabled(explicit):
        log.warning("node %s: 'weights: none' builds random weights; its outputs are meaningless "
                    '(for tests and benchmarks only)', node_name)
        return None
    if explicit and not _is_url(str(explicit)):
        return str(_explicit(str(explicit), graph_dir))
    source = str(explicit or url_or_path or '')
    if not source:
        raise ValueError('no weights are known for this model; give weights: PATH (or URL)')
    if not _is_url(source):
        return str(_explicit(source, graph_dir))
    filename = Path(urllib.parse.urlparse(source).path).name
    candidates = candidate_paths(filename, models_dir, graph_dir)
    for path in candidates:
        if path.is_file():
            log.debug('node %s: weights %s', node_name, path)
            return str(path)
    target_dir = (_models_dirs(models_dir, None) or [cache_dir()])[0]
    hint = (Path(models_dir).expanduser() / filename if models_dir
            else candidates[0] if graph_dir else candidates[-1]).absolute()
    if not download or os.environ.get(OFFLINE_ENV, '') not in ('', '0'):
        raise WeightsUnavailable(node_name, source, str(hint), 'not on disk, download disabled')
    log.warning('node %s: downloading %s to %s', node_name, source, target_dir)
    try:
        _download(source, target_dir / filename, timeout)
    except (OSError, urllib.error.URLError, socket.timeout) as exc:   # URLError is an OSError
        reason = getattr(exc, 'reason', None) or exc
        raise WeightsUnavailable(node_name, source, str(hint), f'download failed: {reason}') \
            from exc
    return str(target_dir / filename)


@contextmanager
def building(random_weights: bool) -> Iterator[None]:
    """Hold while building an OpenMMLab model; for random weights, under a fixed seed.

    mmengine's default registry scope is process-global, and ``init_detector`` / ``init_model``
    set it, so two model nodes setting up at once would look up each other's registries
    (``RTMDetSepBNHead is not in the mmpose::model registry``): builds take turns here.
    ``weights: none`` models are seeded, so they are the same every run, and torch's RNG is
    left as it was.
    """
    with _BUILD_LOCK:
        if not random_weights:
            yield
            return
        import torch
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_SEED)
            yield
