"""Import node plugins named in a graph: Python files (relative to the YAML) or module names."""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType

__all__ = ['load_plugin', 'not_a_node']

_loaded_files: dict[Path, ModuleType] = {}
_loaded_modules: dict[str, ModuleType] = {}   # plugins named as modules


def load_plugin(entry: str, base_dir: Path) -> ModuleType:
    """Import one plugin; its Node subclasses register themselves.

    Raises:
        FileNotFoundError: a plugin file does not exist.
        ImportError: the file or module failed to import (the message holds the cause).
    """
    if entry.endswith('.py') or '/' in entry or '\\' in entry:
        return _load_file((base_dir / entry).resolve())
    try:
        module = importlib.import_module(entry)
    except Exception as exc:
        raise ImportError(_describe(exc)) from exc
    _loaded_modules[entry] = module
    return module


def _load_file(path: Path) -> ModuleType:
    if path in _loaded_files:
        return _loaded_files[path]
    if not path.is_file():
        raise FileNotFoundError(str(path))
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    module_name = f'webcam_app_plugins.{path.stem}_{digest}'
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise ImportError(_describe(exc)) from exc
    _loaded_files[path] = module
    return module


def _describe(exc: BaseException) -> str:
    """The exception and the innermost line of the plugin's own code that raised it (never a
    line of this loader's or of importlib's)."""
    if isinstance(exc, SyntaxError):   # raised by the compiler: no frame of the plugin's own
        return f'{type(exc).__name__}: {exc.msg} ({exc.filename}:{exc.lineno})'
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if 'importlib' not in f.filename and f.filename != __file__]
    where = f' ({own[-1].filename}:{own[-1].lineno})' if own else ''
    return f'{type(exc).__name__}: {exc}{where}'


def not_a_node(type_name: str, base: type) -> str | None:
    """Where a loaded plugin defines a class ``type_name`` that does not subclass ``base``."""
    for module in [*_loaded_files.values(), *_loaded_modules.values()]:
        found = getattr(module, type_name, None)
        if (isinstance(found, type) and not issubclass(found, base)
                and getattr(found, '__module__', None) == module.__name__):
            return getattr(module, '__file__', None) or module.__name__
    return None
