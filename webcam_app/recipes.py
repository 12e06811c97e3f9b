"""Graph recipes: builders that plugins register, turning a few options into a whole graph.

A recipe is how the app asks for a graph it has no YAML for, without knowing any node type: the
built-in nodes register ``'inferencer'``, which builds MMPoseInferencer's graphs (detector, pose
model, lifter, visualizer) from its aliases and arguments. Recipes are found the way node types
are: registering happens when the plugin's module is imported (the ``webcam_app.nodes`` entry
points are loaded on first lookup).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

from .errors import ConfigError, ConfigIssue
from .node import registry

__all__ = ['Built', 'Recipe', 'get_recipe', 'recipe_names', 'register_recipe']


@dataclass
class Built:
    """What a recipe made.

    Attributes:
        graph: the graph config, as its YAML would hold it (``nodes:``, ``fallback:``, ...).
        out: the annotated video or images' path (``--out``), or None for none.
        pred_out: the predictions' path (``--pred-out``), or None for none.
        show: whether to open a window.
        notes: what the recipe chose and why, for the log.
    """

    graph: dict[str, Any]
    out: str | None = None
    pred_out: str | None = None
    show: bool = False
    notes: list[str] = field(default_factory=list)


class Recipe(Protocol):
    """A graph builder. ``build`` raises ConfigError naming the option at fault."""

    def build(self, options: Mapping[str, Any]) -> Built:
        ...

    def aliases(self) -> dict[str, str]:
        """Model aliases and the model each names (may be empty)."""
        ...


_recipes: dict[str, Recipe] = {}


def register_recipe(name: str, recipe: Recipe) -> None:
    """Make ``recipe`` available under ``name``; a second, different one raises."""
    old = _recipes.get(name)
    if old is not None and old is not recipe and type(old) is not type(recipe):
        raise TypeError(f'graph recipe {name!r} from {type(recipe).__module__} is already '
                        f'registered by {type(old).__module__}; rename one of them')
    _recipes[name] = recipe


def recipe_names() -> list[str]:
    registry.load_entry_points()
    return sorted(_recipes)


def get_recipe(name: str, flag: str = '') -> Recipe:
    """The recipe registered as ``name``; a ConfigError (naming ``flag``) when none is."""
    registry.load_entry_points()
    recipe = _recipes.get(name)
    if recipe is None:
        raise ConfigError(ConfigIssue(flag or name, f'no graph recipe {name!r} is installed',
                                      'install the built-in nodes (pip install -e .)'))
    return recipe
