"""The command line: load a graph, apply overrides, run it, and exit with a meaningful code."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, Sequence

import webcam_stop

from ..builder import build_graph
from ..config import GraphConfig, apply_overrides, load_config
from ..errors import ConfigError, ConfigIssue, ExitCode, WebcamAppError, WeightsUnavailable
from ..executor import Runner
from ..graph import Graph
from ..roles import Role
from .fallback import fallback_args
from .frozen import frozen_watch
from .infer import infer_args, wants_infer
from .node_list import print_node_list
from .options import check_options
from .paths import cli_input, cli_path, input_kind
from .sinks import attach_sink, serve_address, sink_type

__all__ = ['main', 'prepare_graph']

log = logging.getLogger('webcam_app')

EXAMPLES = """examples:
  %(prog)s --config graphs/hand.yaml                         # webcam 0, window
  %(prog)s --config graphs/hand.yaml --input clip.mp4        # a video file (replay)
  %(prog)s --config graphs/body.yaml --input frames/         # a folder of images
  %(prog)s --config graphs/body.yaml --input photos/ --headless --out out/ --pred-out preds/
  %(prog)s --config graphs/hand.yaml --input clip.mp4 --headless --out out.mp4 --pred-out p.json
  %(prog)s --config graphs/hand.yaml --set detector.score_thr=0.3 --device cuda:0
  %(prog)s --config graphs/hand.yaml --headless --serve 8080   # watch at http://127.0.0.1:8080/
  %(prog)s --config graphs/hand.yaml --backend pytorch       # mmpose's own forward pass
  %(prog)s --config graphs/hand.yaml --precision f32         # no bf16, even where it holds
  %(prog)s export graphs/hand.yaml [--models-dir DIR]      # write those exports
  %(prog)s [infer] photo.jpg --pose2d hand --vis-out-dir vis/  # mmpose's inferencer_demo.py
  %(prog)s --list-nodes

exit codes: 0 done, 1 a node failed, 2 bad config/input/weights, 3 camera/stream lost,
130 Ctrl-C, 143 SIGTERM
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog='run_webcam.py', formatter_class=argparse.RawDescriptionHelpFormatter,
        description='Run a pose-estimation graph on a webcam, a video, images or a stream.',
        epilog=EXAMPLES)
    p.add_argument('--config', metavar='PATH', help='graph YAML, e.g. graphs/hand.yaml')
    p.add_argument('--input', metavar='SRC', help='override the source: webcam id (0, webcam:1), '
                   'video file, image, folder of images, or rtsp/http URL')
    p.add_argument('--headless', action='store_true', help='no window (batch runs, servers)')
    p.add_argument('--out', '--vis-out-dir', dest='out', metavar='PATH',
                   help='save the shown video: a video file (.mp4/.avi), a folder (out/: one '
                   'image per input image or frame), or an image file for a single image')
    p.add_argument('--pred-out', '--pred-out-dir', dest='pred_out', metavar='PATH',
                   help='save predictions: a folder (preds/: one JSON per input, as '
                   "MMPoseInferencer's pred_out_dir), or one .json/.jsonl file")
    p.add_argument('--serve', metavar='[HOST:]PORT', type=serve_address,
                   help='serve the video, metrics and hot keys to a browser at http://HOST:PORT/ '
                   '(HOST defaults to 127.0.0.1: this machine only)')
    p.add_argument('--serve-token', metavar='TOKEN',
                   help='require this token on every --serve route (?token=TOKEN); default: '
                   '$WEBCAM_APP_SERVE_TOKEN')
    p.add_argument('--mode', choices=('live', 'replay'),
                   help='live: drop stale frames; replay: every frame, in order '
                   '(default: replay for files, live for cameras)')
    p.add_argument('--max-frames', type=int, metavar='N', help='stop after N source frames')
    p.add_argument('--device', metavar='DEV', help='device of every model node: cpu, cuda:0, GPU')
    p.add_argument('--models-dir', metavar='DIR', help='folder with downloaded model weights')
    p.add_argument('--backend', choices=('auto', 'pytorch', 'onnxruntime', 'openvino', 'mnn',
                                         'remote'), help='backend of every model node; auto '
                   '(default): the fastest installed (openvino, then onnxruntime; exports made '
                   'once), else pytorch; mnn if named; remote: an inference server (--server)')
    p.add_argument('--server', help='backend remote: http://HOST:8000 or grpc://HOST:8001')
    p.add_argument('--precision', choices=('auto', 'f32', 'bf16', 'f16'), help='precision of every '
                   'model node; auto (default): the fastest native one that keeps the keypoints')
    p.add_argument('--set', dest='overrides', action='append', default=[], metavar='NODE.KEY=VAL',
                   help='override a node parameter (repeatable); values are YAML')
    p.add_argument('--offline', action='store_true',
                   help='never download weights (sets WEBCAM_APP_OFFLINE=1): use files on disk, '
                   'else the offline fallback')
    p.add_argument('--trust-checkpoints', action='store_true',
                   help='load model checkpoints in full, even those holding more than weights '
                   '(a checkpoint is a pickle: only for files whose source you trust)')
    p.add_argument('--no-fallback', action='store_true',
                   help="don't switch to the graph's offline fallback when weights are missing")
    p.add_argument('--metrics-out', metavar='PATH', help='write run metrics as JSON at exit')
    p.add_argument('--print-graph', nargs='?', const='text', choices=('text', 'dot', 'yaml'),
                   help='print the wired graph (text, Graphviz dot, or YAML to run) and exit')
    p.add_argument('--list-nodes', action='store_true',
                   help="list every node type and exit (with --config: and that graph's plugins)")
    p.add_argument('--log-level', default='INFO',
                   choices=('DEBUG', 'INFO', 'WARNING', 'ERROR'), help='default: INFO')
    return p


def _still_images(value: str | None) -> bool:
    """Whether --input names an image or a folder (of unrelated images, not a video)."""
    return bool(value) and input_kind(value) in ('image', 'folder')


def _set_all(args: argparse.Namespace) -> dict[str, Any]:
    values = {'input': cli_input(args.input) if args.input else None,
              'headless': True if args.headless else None, 'device': args.device,
              'backend': args.backend, 'precision': args.precision, 'server': args.server,
              'max_frames': args.max_frames,
              'trust_checkpoint': True if args.trust_checkpoints else None,
              'models_dir': cli_path(args.models_dir) if args.models_dir else None,
              # unrelated images: models that track from frame to frame must not (MediaPipe)
              'static_image_mode': True if _still_images(args.input) else None}
    return {k: v for k, v in values.items() if v is not None}


def _check_one_image_out(args: argparse.Namespace) -> None:
    """``--out result.png`` is for one input image: refuse it for many frames as --input."""
    if not args.out or input_kind(args.out) != 'image':
        return
    if not args.input or (Path(args.input).is_file() and input_kind(args.input) == 'image'):
        return      # the graph's own input: the writer warns if a second frame overwrites it
    raise ConfigError(ConfigIssue(f'--out {args.out}', f'--out {args.out} is one image file, but '
                                  f'--input {args.input} gives many frames',
                                  'give a folder (--out out/) for one image per frame, or a '
                                  'video file (--out out.mp4)'))


def _attach_outputs(config: GraphConfig, args: argparse.Namespace) -> None:
    """--out and --pred-out: the sink of the role that takes that form of path."""
    _check_one_image_out(args)
    for role, given, flag in ((Role.VIDEO_SINK, args.out, '--out'),
                              (Role.PREDICTIONS, args.pred_out, '--pred-out')):
        if given:
            attach_sink(config, role, {'path': cli_path(given)},
                        sink=sink_type(role, given, flag), flag=flag)


def _attach_web_view(config: GraphConfig, args: argparse.Namespace) -> None:
    """--serve adds a WebView (or moves the graph's own); a token goes to every WebView."""
    token = args.serve_token or os.environ.get('WEBCAM_APP_SERVE_TOKEN')
    params: dict[str, Any] = {'token': token} if token else {}
    if args.serve:
        host, port = args.serve
        attach_sink(config, Role.WEB_VIEW, {'host': host, 'port': port, **params})
    elif (params and not attach_sink(config, Role.WEB_VIEW, params, add=False)
          and args.serve_token):
        raise ConfigError(ConfigIssue(config.where(), '--serve-token is given, but nothing is '
                                      'served', 'add --serve [HOST:]PORT'))


def prepare_graph(config_path: str | Path, args: argparse.Namespace) -> Graph:
    """Load a graph and apply every command-line override to it; its nodes are not checked yet.
    Raises ConfigError."""
    config = load_config(config_path)
    nodes = config.data.get('nodes')
    if isinstance(nodes, list) and nodes:   # else the builder reports that, at its line
        _attach_outputs(config, args)
        _attach_web_view(config, args)
    apply_overrides(config, args.overrides)
    return build_graph(config, mode=args.mode, set_all=_set_all(args), check=False)


def _load_with_fallback(args: argparse.Namespace) -> Graph:
    graph = prepare_graph(args.config, args)
    if args.print_graph:     # touches no device
        return graph
    try:
        graph.check_nodes()
    except WeightsUnavailable as exc:
        if args.no_fallback or graph.fallback is None:
            raise
        log.warning('model weights are unavailable, so the offline fallback graph %s runs '
                    'instead (use --no-fallback to fail instead):\n%s', graph.fallback,
                    '\n'.join(str(e) for e in exc.missing))
        graph = prepare_graph(graph.fallback, fallback_args(graph, graph.fallback, args))
        graph.check_nodes()
    return graph


def _stop_on_signals(runner: Runner) -> None:
    """The 1st Ctrl-C/SIGTERM stops the run, the 2nd skips the drain (webcam_stop: the 3rd, or
    1 s after the 2nd, forces the exit). Signals recorded before the graph existed count too."""
    def on_signal(signum: int, count: int) -> None:
        reason = 'Ctrl-C' if signum == signal.SIGINT else 'SIGTERM'
        if count == 1:
            runner.stop(reason, webcam_stop.exit_code())
        else:
            runner.hurry(f'{reason} again', webcam_stop.exit_code())
    webcam_stop.listen(on_signal)


def _progress(runner: Runner) -> Any:
    """A tqdm bar over the source's frames when replaying headless, else None."""
    sources = [s for s in runner.graph.nodes.values() if s.node.is_source()]
    if runner.graph.mode != 'replay' or len(sources) != 1:
        return None
    from tqdm import tqdm
    stats = runner.metrics.nodes[sources[0].name]
    bar = tqdm(total=getattr(sources[0].node, 'total_frames', None), unit='frame',
               desc=runner.graph.name, disable=None, leave=False)

    def tick() -> None:
        bar.update(stats.frames_out - bar.n)
    tick.close = bar.close  # type: ignore[attr-defined]
    return tick


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app; SIGINT and SIGTERM stop it cleanly (see webcam_stop)."""
    with webcam_stop.installed():
        code = _main(argv)
        # a stop asked for during a run that starts no graph (export, --print-graph, --list-nodes)
        return webcam_stop.exit_code() if webcam_stop.count() and code == ExitCode.OK else code


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ['export']:
        from .export import export_main
        return export_main(argv[1:])
    parser = build_parser()   # mmpose's demo/inferencer_demo.py line, or ours
    args = infer_args(argv, parser) if wants_infer(argv) else parser.parse_args(argv)
    # native libraries' own chatter (OpenCV, TFLite) is not for users
    if args.log_level != 'DEBUG':
        for name, value in (('OPENCV_LOG_LEVEL', 'OFF'), ('GLOG_minloglevel', '2'),
                            ('TF_CPP_MIN_LOG_LEVEL', '2')):
            os.environ.setdefault(name, value)
    logging.basicConfig(level=args.log_level, format='%(levelname)s %(name)s: %(message)s')
    logging.captureWarnings(True)   # libraries' warnings become log records, shown at DEBUG
    if args.log_level != 'DEBUG':
        logging.getLogger('py.warnings').setLevel(logging.ERROR)
    if args.offline:   # read by nodes that fetch files (model weights)
        os.environ['WEBCAM_APP_OFFLINE'] = '1'
    if args.list_nodes:
        return print_node_list(args.config)
    if not args.config:
        build_parser().error('--config is required (or use --list-nodes)')
    issues = check_options(args, input_kind(args.input) if args.input is not None else None)
    if issues:
        sys.stderr.write(f'error: {ConfigError(issues)}\n')
        return ExitCode.CONFIG
    try:
        graph = _load_with_fallback(args)
    except WeightsUnavailable as exc:
        sys.stderr.write(''.join(f'error: {e}\n' for e in exc.missing))
        return exc.exit_code
    except WebcamAppError as exc:
        sys.stderr.write(f'error: {exc}\n')
        return exc.exit_code
    except KeyboardInterrupt:   # a handler other than webcam_stop's was in place
        return ExitCode.SIGINT
    if args.print_graph:
        print(graph.describe(args.print_graph))
        return ExitCode.OK
    headless = args.headless or not any(s.node.role == Role.DISPLAY
                                        for s in graph.nodes.values())
    runner = Runner(graph)
    _stop_on_signals(runner)   # a signal that came while loading stops it before it starts
    progress = _progress(runner) if headless else None
    with frozen_watch() as beat:
        def tick() -> None:
            beat()
            if progress is not None:
                progress()
        runner.start()
        code = runner.wait(tick=tick)
    if progress is not None:
        progress.close()
    if args.metrics_out:
        runner.write_metrics(args.metrics_out)
    for error in runner.errors:
        sys.stderr.write(f'error: {error}\n')
    if runner.stuck_threads:   # a node stuck in native code cannot be joined: don't hang on it
        logging.shutdown()
        os._exit(code)
    return code
