"""``webcam-app infer``: MMPoseInferencer's own command line (mmpose's demo/inferencer_demo.py),
run as a graph that the ``'inferencer'`` recipe builds from its aliases.

``run_webcam.py IMAGE --pose2d hand --vis-out-dir vis/`` works as the demo's line does (without
``infer`` too, when ``--config`` is absent). Every option of the main command still applies
(``--backend``, ``--offline``, ``--set``, ``--serve``, ...); ``--print-graph`` prints the built
graph as YAML that ``--config`` runs.
"""
from __future__ import annotations

import argparse
import logging
import os
import shlex
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import WebcamAppError
from ..recipes import get_recipe
from .paths import cli_input

__all__ = ['add_infer_arguments', 'alias_table', 'infer_args', 'wants_infer']

log = logging.getLogger('webcam_app')

#: options only the inferencer's command line has: given without --config, they mean `infer`
INFER_FLAGS = ('--pose2d', '--pose2d-weights', '--pose3d', '--pose3d-weights', '--det-model',
               '--det-weights', '--det-cat-ids', '--show-alias', '--show', '--draw-bbox',
               '--draw-heatmap', '--kpt-thr', '--bbox-thr', '--nms-thr', '--radius',
               '--thickness', '--skeleton-style', '--black-background', '--num-instances',
               '--disable-norm-pose-2d', '--disable-rebase-keypoint', '--scope',
               '--show-progress', '--pose-based-nms', '--tracking-thr', '--use-oks-tracking')
#: the inferencer's arguments handed to the recipe, by their own names
OPTIONS = ('pose2d', 'pose2d_weights', 'pose3d', 'pose3d_weights', 'det_model', 'det_weights',
           'det_cat_ids', 'scope', 'show', 'draw_bbox', 'draw_heatmap', 'bbox_thr', 'nms_thr',
           'pose_based_nms', 'kpt_thr', 'tracking_thr', 'use_oks_tracking',
           'disable_norm_pose_2d', 'disable_rebase_keypoint', 'num_instances', 'radius',
           'thickness', 'skeleton_style', 'black_background')

EXAMPLES = """examples (mmpose's docs; any option of the main command works too):
  %(prog)s photo.jpg --pose2d human --vis-out-dir vis_results/human --pred-out-dir preds
  %(prog)s photos/ --pose2d hand --vis-out-dir vis_results/hand --kpt-thr 0.05
  %(prog)s clip.mp4 --pose2d human --vis-out-dir vis_results/  # vis_results/clip.mp4
  %(prog)s webcam --pose2d human                               # a window on camera 0
  %(prog)s clip.mp4 --pose3d human3d --vis-out-dir vis_results/human3d
  %(prog)s photo.jpg --pose2d hand --print-graph > hand.yaml   # the graph, to edit and run
  %(prog)s --show-alias
"""


def _number(kind: type, low: float, high: float | None = None) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            span = f'from {low} to {high}' if high is not None else f'>= {low}'
            raise argparse.ArgumentTypeError(f'must be {kind.__name__} {span}, but got {text!r}')
        return value
    return parse


def add_infer_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The arguments of mmpose 1.3.2's demo/inferencer_demo.py, with its defaults, added to the
    main command's (``--device``, ``--vis-out-dir`` and ``--pred-out-dir`` it has already)."""
    p.prog, p.epilog = f'{p.prog} infer', EXAMPLES
    p.description = ("MMPoseInferencer's command line: build the graph from the model aliases "
                     'and run it (without a display unless --show or a camera).')
    p.add_argument('inputs', nargs='?', metavar='INPUT',
                   help='image, video, folder of images, or webcam / webcam:N (or --input)')
    add = p.add_argument
    add('--pose2d', help='2D pose model: alias (human, hand, face, ...), model name or config')
    add('--pose2d-weights', metavar='PATH', help="the 2D model's checkpoint (default: its URL)")
    add('--pose3d', help='3D pose model: human3d, hand3d, a model name or config')
    add('--pose3d-weights', metavar='PATH', help="the 3D model's checkpoint")
    add('--det-model', help="detector: alias, model name, config, or whole_image (default: the "
        "pose model's own)")
    add('--det-weights', metavar='PATH', help="the detector's checkpoint")
    add('--det-cat-ids', type=_number(int, 0), nargs='+', default=0, metavar='ID',
        help='class ids the detector keeps (with --det-model; default 0)')
    add('--scope', default='mmpose', help='registry scope: mmpose (the only one supported)')
    add('--show-progress', action='store_true', help='a progress bar (shown headless anyway)')
    add('--show', action='store_true', help='show the result in a window')
    add('--draw-bbox', action='store_true', help='draw the boxes')
    add('--draw-heatmap', action='store_true',
        help="blend the pose model's heatmaps (or SimCC marginals) under the drawing")
    add('--bbox-thr', type=_number(float, 0, 1), default=0.3, help='box score threshold')
    add('--nms-thr', type=_number(float, 0, 1), default=0.3, help='IoU threshold of box NMS')
    add('--pose-based-nms', type=lambda v: v.lower() in ('true', 'yes', 't', 'y', '1'),
        default=False, help='bottom-up models only (not run here)')
    add('--kpt-thr', type=_number(float, 0, 1), default=0.3, help='keypoint score threshold')
    add('--tracking-thr', type=_number(float, 0, 1), default=0.3, help='3D: tracking threshold')
    add('--use-oks-tracking', action='store_true', help='3D: track by keypoint similarity')
    add('--disable-norm-pose-2d', action='store_true',
        help="3D: don't move and scale 2D poses to the dataset's average box")
    add('--disable-rebase-keypoint', action='store_true',
        help="3D: don't set the lowest keypoint's height to 0")
    add('--num-instances', type=int, default=1,
        help='3D: poses drawn in the 3D view (< 0: all of the first frame)')
    add('--radius', type=_number(int, 0), default=3, help='keypoint radius')
    add('--thickness', type=_number(int, 1), default=1, help='link thickness')
    add('--skeleton-style', default='mmpose', choices=['mmpose', 'openpose'])
    add('--black-background', action='store_true', help='draw on a black image')
    add('--show-alias', action='store_true', help='print the model aliases and exit')
    for action in p._actions:      # argparse has no public way to change an added option
        if action.dest == 'print_graph':   # here the graph is new: YAML to save by default
            action.const = 'yaml'
    return p


def wants_infer(argv: Sequence[str]) -> bool:
    """Whether a command line is the inferencer's: ``infer ...``, or, without --config, one
    that starts with an input or names an inferencer option."""
    if argv[:1] == ['infer']:
        return True
    names = [a.split('=', 1)[0] for a in argv]
    if '--config' in names or '--list-nodes' in names:
        return False
    return bool(argv) and (not argv[0].startswith('-') or any(n in INFER_FLAGS for n in names))


def alias_table(aliases: dict[str, str]) -> str:
    """The table mmpose's demo prints for --show-alias, exactly."""
    width = max(map(len, aliases)) + 2
    lines = [f'{"ALIAS".ljust(width)}MODEL_NAME']
    lines += [f'{alias.ljust(width)}{aliases[alias]}' for alias in sorted(aliases)]
    return '\n'.join(lines)


def infer_args(argv: Sequence[str], parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the inferencer's command line with the main command's ``parser`` and build its
    graph: the arguments to run, ``config`` being the graph. --show-alias and errors exit, as
    argparse does (SystemExit)."""
    argv = list(argv[1:] if argv[:1] == ['infer'] else argv)
    args = add_infer_arguments(parser).parse_args(argv)
    logging.basicConfig(level=args.log_level, format='%(levelname)s %(name)s: %(message)s')
    try:
        recipe = get_recipe('inferencer', '--pose2d')
        if args.show_alias:
            aliases = recipe.aliases()
            if not aliases:
                parser.exit(2, 'error: --show-alias: mmpose is not installed, so it has no '
                            'aliases to show\n  fix: pip install mmpose (tools/install.sh)\n')
            print(alias_table(aliases), flush=True)
            parser.exit(0)
        if args.inputs and args.input:
            parser.error(f'give the input once: INPUT {args.inputs} or --input {args.input}')
        args.input = args.inputs or args.input
        if not args.input:
            parser.error('no input: give an image, a video, a folder or webcam (or --input)')
        options = {key: getattr(args, key) for key in OPTIONS}
        options.update(input=cli_input(args.input), vis_out_dir=args.out,
                       pred_out_dir=args.pred_out)
        built = recipe.build(options)
    except WebcamAppError as exc:
        parser.exit(getattr(exc, 'exit_code', 2), f'error: {exc}\n')
    for note in built.notes:
        log.info('infer: %s', note)
    graph = built.graph
    built.graph = {'name': graph.get('name', 'infer'),
                   'description': 'built by: webcam-app infer ' + shlex.join(argv), **graph}
    args.config, args.out, args.pred_out = built.graph, built.out, built.pred_out
    if built.out and not args.print_graph:     # as the inferencer, which makes vis_out_dir
        Path(built.out if built.out.endswith(('/', os.sep)) else os.path.dirname(built.out)
             or '.').mkdir(parents=True, exist_ok=True)
    args.headless = args.headless or not built.show
    return args
