"""``webcam-app export GRAPH.yaml``: write each model node's ONNX file and sidecar JSON."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from ..builder import build_graph
from ..config import apply_overrides, load_config
from ..errors import ConfigError, ExitCode, WebcamAppError

__all__ = ['export_graph', 'export_main']

log = logging.getLogger('webcam_app')


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog='webcam-app export',
        description="Export every OpenMMLab model node of a graph to ONNX: <checkpoint-stem>.onnx "
        'and a sidecar <checkpoint-stem>.json, beside the checkpoint or in --models-dir. Then '
        'run the graph with --backend onnxruntime (no torch needed).')
    p.add_argument('graph', metavar='GRAPH.yaml', help='the graph whose models to export')
    p.add_argument('--models-dir', metavar='DIR', help='where checkpoints are looked for and '
                   'the exports are written (default: beside each checkpoint)')
    p.add_argument('--set', dest='overrides', action='append', default=[], metavar='NODE.KEY=VAL',
                   help='override a node parameter (repeatable), e.g. --set pose.weights=x.pth')
    p.add_argument('--log-level', default='INFO', choices=('DEBUG', 'INFO', 'WARNING', 'ERROR'))
    return p


def export_graph(graph_path: str | Path, models_dir: str | None = None,
                 overrides: Sequence[str] = ()) -> dict[str, Path | Exception]:
    """Export the graph's nodes that have a model to export (``Node.export``); {node name: the
    file written, or why it failed}."""
    config = load_config(graph_path)
    apply_overrides(config, list(overrides))
    set_all = {'models_dir': models_dir, 'backend': 'pytorch'} if models_dir else \
        {'backend': 'pytorch'}
    graph = build_graph(config, set_all=set_all, check=False)
    results: dict[str, Path | Exception] = {}
    for name, spec in graph.nodes.items():
        try:
            written = spec.node.export()
        except (ValueError, WebcamAppError) as exc:
            results[name] = exc
            continue
        if written is not None:
            results[name] = written
    return results


def export_main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    logging.basicConfig(level=args.log_level, format='%(levelname)s %(name)s: %(message)s')
    logging.captureWarnings(True)   # libraries' deprecation chatter is not for users
    logging.getLogger('py.warnings').setLevel(logging.ERROR)
    models_dir = str(Path(args.models_dir).expanduser().resolve()) if args.models_dir else None
    try:
        results = export_graph(args.graph, models_dir, args.overrides)
    except (ConfigError, WebcamAppError, ValueError) as exc:
        sys.stderr.write(f'error: {exc}\n')
        return getattr(exc, 'exit_code', ExitCode.CONFIG)
    except ImportError as exc:
        sys.stderr.write(f'error: exporting needs torch, mmdet, mmpose and onnx ({exc}); '
                         "install them with bash tools/install.sh\n")
        return ExitCode.CONFIG
    if not results:
        sys.stderr.write(f'error: {args.graph} has no model node to export\n')
        return ExitCode.CONFIG
    for name, result in results.items():
        if isinstance(result, Exception):
            sys.stderr.write(f'error: node {name}: {result}\n')
        else:
            print(f'{name}: {result}')
    failed = any(isinstance(r, Exception) for r in results.values())
    return ExitCode.CONFIG if failed else ExitCode.OK
