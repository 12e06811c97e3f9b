"""Run the ``.tflite`` models bundled in the mediapipe wheel directly, through LiteRT.

``ai-edge-litert`` is imported when a model is loaded (in a node's ``setup()``), never at import.
"""
from __future__ import annotations

import importlib.util

import numpy as np

__all__ = ['LITERT_HINT', 'LiteRTModel', 'check_litert']

LITERT_HINT = "pip install 'ai-edge-litert==2.3.0' (or: pip install -e '.[lite]')"


def check_litert(node: str) -> None:
    """Raise a ValueError that says how to install LiteRT when it is missing."""
    if importlib.util.find_spec('ai_edge_litert') is None:
        raise ValueError(f'{node} runs its models with LiteRT, which is not installed; '
                         f'fix: {LITERT_HINT}')


class LiteRTModel:
    """One LiteRT interpreter; ``model(tensor)`` gives its outputs keyed by their shapes less the
    batch axis, e.g. ``(2254, 12)``."""

    def __init__(self, path: str, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter
        self.interpreter = Interpreter(model_path=path, num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]['index']
        self.outputs = {tuple(int(n) for n in d['shape'][1:]): d['index']
                        for d in self.interpreter.get_output_details()}

    def __call__(self, tensor: np.ndarray) -> dict[tuple[int, ...], np.ndarray]:
        self.interpreter.set_tensor(self.input, tensor)
        self.interpreter.invoke()
        return {shape: self.interpreter.get_tensor(i) for shape, i in self.outputs.items()}
