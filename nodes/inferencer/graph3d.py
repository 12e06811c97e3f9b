"""Build MMPoseInferencer's 3D graphs (``--pose3d human3d``, ``--pose3d hand3d``) from the
shipped 3D graphs, with the inferencer's arguments set on the nodes that take them."""
from __future__ import annotations

from typing import Any, Mapping

from webcam_app import ConfigError, ConfigIssue

from .graph import GRAPHS_DIR, flag

__all__ = ['TEMPLATES', 'graph_3d']

#: which shipped graph runs each kind of 3D model (the inferencer: 'hand3d' in the name is
#: InterNet on the whole image, anything else a 2D model and a lifter)
TEMPLATES = {'hand3d': 'hand3d.yaml', 'human3d': 'body3d.yaml'}


def graph_3d(options: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    name = str(options['pose3d'])
    kind = 'hand3d' if 'hand3d' in name.lower() else 'human3d'
    template = GRAPHS_DIR / TEMPLATES[kind]
    if not template.is_file():
        raise ConfigError(ConfigIssue(flag('pose3d', name), f'3D pose ({kind}) runs the shipped '
                                      f'graph {template}, which this install does not have',
                                      f'update the project to a version with graphs/'
                                      f'{TEMPLATES[kind]}, or use --pose2d'))
    raise ConfigError(ConfigIssue(flag('pose3d', name), f'{template.name} has no lifter node '
                                  'this command knows how to set up yet', 'use --pose2d'))
