"""``webcam-app export GRAPH.yaml``: write each model node's ONNX file and sidecar JSON, and with
``--model-repository DIR`` lay them out for an inference server (Triton, OpenVINO Model Server)."""
from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path
from typing import Any, Sequence

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
    repo = p.add_argument_group('inference server (see README "Many cameras")')
    repo.add_argument('--model-repository', metavar='DIR', help='also write a Triton / OpenVINO '
                      'Model Server repository: DIR/<name>/config.pbtxt, DIR/<name>/1/model.onnx '
                      'and DIR/config.json (OVMS); <name> is the export\'s file stem')
    repo.add_argument('--max-batch-size', type=_positive, default=8, metavar='N',
                      help='most crops the server runs at once (default 8)')
    repo.add_argument('--queue-delay-us', type=_non_negative, default=1000, metavar='US',
                      help="dynamic batching: how long a request may wait for others to join "
                      "it (default 1000 us; 0: no waiting)")
    repo.add_argument('--instances', type=_positive, default=1, metavar='N',
                      help='model instances per device (default 1)')
    repo.add_argument('--server-device', metavar='DEV', help='where the server runs the models: '
                      "cpu or cuda:N (default: each node's device)")
    repo.add_argument('--server-backend', choices=('onnxruntime', 'openvino'),
                      default='onnxruntime', help="Triton's runtime for the models (default "
                      'onnxruntime: platform onnxruntime_onnx)')
    return p


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1, but got {text}')
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'must be a whole number, but got {text!r}') from None
    if value < 0:
        raise argparse.ArgumentTypeError(f'must be 0 or more, but got {text}')
    return value


def export_graph(graph_path: str | Path, models_dir: str | None = None,
                 overrides: Sequence[str] = (), repository: str | Path | None = None,
                 **repository_options: Any) -> dict[str, Path | Exception]:
    """Export the graph's nodes that have a model to export (``Node.export``); {node name: the
    file written, or why it failed}.

    With ``repository``, each export is also laid out there for an inference server
    (``Node.add_to_repository``, given ``repository_options``)."""
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
        if written is None:
            continue
        results[name] = written
        if repository is not None:
            spec.node.add_to_repository(Path(written), Path(repository), **repository_options)
    return results


def export_main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    logging.basicConfig(level=args.log_level, format='%(levelname)s %(name)s: %(message)s')
    logging.captureWarnings(True)   # libraries' deprecation chatter is not for users
    logging.getLogger('py.warnings').setLevel(logging.ERROR)
    models_dir = str(Path(args.models_dir).expanduser().resolve()) if args.models_dir else None
    if args.server_device and not re.fullmatch(r'cpu|cuda(:\d+)?', args.server_device):
        sys.stderr.write(f'error: --server-device must be cpu or cuda[:N], but got '
                         f'{args.server_device!r}\n')
        return ExitCode.CONFIG
    try:
        repository = (Path(args.model_repository).expanduser().resolve()
                      if args.model_repository else None)
        options = {'max_batch_size': args.max_batch_size, 'queue_delay_us': args.queue_delay_us,
                   'instances': args.instances, 'backend': args.server_backend}
        if args.server_device:
            options['device'] = args.server_device
        results = export_graph(args.graph, models_dir, args.overrides, repository, **options)
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
    if args.model_repository and not failed:
        print(f'model repository: {args.model_repository} (serve it: see README "Many cameras")')
    return ExitCode.CONFIG if failed else ExitCode.OK
