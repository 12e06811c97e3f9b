"""MMPoseInferencer's graphs, built from its arguments (``webcam-app infer``), registered as the
graph recipe ``'inferencer'``.

Options are the inferencer's own argument names (``pose2d``, ``det_model``, ``vis_out_dir``,
``draw_heatmap``, ...), plus ``input``.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

from webcam_app import ConfigError, ConfigIssue
from webcam_app.recipes import Built, register_recipe

from .graph import graph_2d, input_kind, output_paths
from .graph3d import graph_3d
from .models import model_aliases

__all__ = ['InferencerRecipe']

log = logging.getLogger(__name__)

#: options that only a 3D model uses; given for a 2D one they are ignored, with a warning
ONLY_3D = ('disable_norm_pose_2d', 'disable_rebase_keypoint', 'use_oks_tracking')



class InferencerRecipe:
    """Builds the graph that ``MMPoseInferencer(**init_args)(input, **call_args)`` runs."""

    def aliases(self) -> dict[str, str]:
        return model_aliases()

    def build(self, options: Mapping[str, Any]) -> Built:
        if options.get('scope', 'mmpose') != 'mmpose':
            raise ConfigError(ConfigIssue(f'--scope {options["scope"]}', 'only the mmpose scope '
                                          'is supported', 'leave --scope out'))
        if options.get('pose3d'):
            graph, notes = graph_3d(options)
        elif options.get('pose2d'):
            graph, notes = graph_2d(options)
            ignored = [f'--{k.replace("_", "-")}' for k in ONLY_3D if options.get(k)]
            if ignored:
                notes.append(f'{", ".join(ignored)}: only for a 3D model (--pose3d); ignored')
        else:
            raise ConfigError(ConfigIssue('--pose2d/--pose3d', 'no pose model given: either a 2D '
                                          'or a 3D pose model must be given',
                                          'add --pose2d ALIAS (human, hand, face, wholebody, '
                                          'animal, ...) or --pose3d human3d; see --show-alias'))
        if options.get('pose_based_nms'):
            notes.append('--pose-based-nms: only for bottom-up models; ignored')
        out, pred_out = output_paths(options)
        # as the inferencer: a camera is always shown
        show = bool(options.get('show')) or input_kind(str(options.get('input') or 0)) == 'camera'
        return Built(graph=graph, out=out, pred_out=pred_out, show=show, notes=notes)


register_recipe('inferencer', InferencerRecipe())
