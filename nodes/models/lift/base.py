"""What the 3D model nodes share: they export their model themselves, when they set up."""
from __future__ import annotations

from ..openmmlab.model_node import _ModelNode

__all__ = ['engine_backend']


def engine_backend(backend: str, device: str) -> str:
    """The backend a 3D model node runs on: ``auto`` takes the fastest engine installed for the
    device (at f32), else PyTorch; anything else as asked, checked (ValueError if it cannot)."""
    from ..onnx.engines import AUTO, check_backend, pick_backend
    if backend == AUTO:
        backend = pick_backend(device, 'f32')
    check_backend(backend, device, 'f32')
    return backend


class _SelfExportingNode(_ModelNode):
    """A model node whose export is made at setup from its checkpoint (not a node type)."""

    reentrant = False       # one engine, not a pool per worker

    def check(self) -> None:
        """The config and checkpoint, as for PyTorch (the export is made from them), then the
        engine it will run on."""
        backend, self.backend = self.backend, 'pytorch'
        try:
            super().check()
        finally:
            self.backend = backend
        self._runs_on = engine_backend(backend, self.device)
