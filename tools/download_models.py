"""Download every model checkpoint a graph needs, ahead of time.

    python tools/download_models.py graphs/hand.yaml [--models-dir models/]

Each node with a ``model`` parameter has its config and weights resolved as the node would
(explicit ``weights:``, the ``models/`` folder beside the YAML or ``--models-dir``, the torch hub
cache, then a download). Exit code 0 when every checkpoint is on disk, 2 when one is unavailable.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nodes.models.openmmlab.model_zoo import resolve_model  # noqa: E402
from nodes.models.openmmlab.weights import resolve_weights, weights_disabled  # noqa: E402
from webcam_app import WebcamAppError, load_config, registry  # noqa: E402

log = logging.getLogger('download_models')


def model_nodes(config: object) -> list[tuple[str, dict, str | None]]:
    """(node name, parameters, 'det' | 'pose' | None) for every node with a ``model`` parameter."""
    import nodes  # noqa: F401  (registers the built-in node types)
    import nodes.models.openmmlab.detector  # noqa: F401
    import nodes.models.openmmlab.pose  # noqa: F401
    found = []
    for entry in config.data.get('nodes') or []:
        if isinstance(entry, dict) and 'model' in entry:
            cls = registry.get(str(entry.get('type')))
            found.append((str(entry.get('name')), dict(entry), getattr(cls, 'model_kind', None)))
    return found


def download_graph(path: str, models_dir: str | None = None) -> list[tuple[str, str | None]]:
    """Resolve (and download) the weights of every model node; returns (node, local path)."""
    config = load_config(path)
    graph_dir = str(config.base_dir)
    done = []
    for name, params, kind in model_nodes(config):
        spec = resolve_model(str(params['model']), kind, base_dir=graph_dir)
        weights = params.get('weights')
        if weights_disabled(weights):
            log.info('%s: weights: none (random weights), nothing to download', name)
            done.append((name, None))
            continue
        local = resolve_weights(name, spec.weights_url, weights,
                                models_dir or params.get('models_dir'), graph_dir)
        log.info('%s: %s -> %s', name, spec.name, local)
        done.append((name, local))
    return done


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('graph', help='graph YAML, e.g. graphs/hand.yaml')
    parser.add_argument('--models-dir', metavar='DIR',
                        help='download into this folder (default: the torch hub cache)')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    try:
        done = download_graph(args.graph, args.models_dir)
    except WebcamAppError as exc:
        log.error('%s', exc)
        return getattr(exc, 'exit_code', 1)
    except ValueError as exc:
        log.error('error: %s', exc)
        return 2
    if not done:
        log.warning('%s has no node with a model parameter', args.graph)
    return 0


if __name__ == '__main__':
    sys.exit(main())
