"""The runtime core names no built-in node: only the app layer (webcam_app/app/) may."""
from __future__ import annotations

import re
from pathlib import Path

import nodes  # noqa: F401  (registers the built-in node types)
from webcam_app import registry

CORE = Path(__file__).parents[2] / 'webcam_app'


def builtin_type_names() -> list[str]:
    return [name for name in registry.names()
            if registry.get(name).__module__.split('.')[0] == 'nodes']


def core_files() -> list[Path]:
    return [p for p in sorted(CORE.rglob('*.py')) if 'app' not in p.relative_to(CORE).parts[:-1]]


def test_the_built_in_node_types_are_known():
    names = builtin_type_names()
    assert {'Display', 'Recorder', 'PredictionWriter', 'VideoSource'} <= set(names)


def test_no_built_in_node_type_is_named_in_the_runtime_core():
    pattern = re.compile(r'\b(' + '|'.join(map(re.escape, builtin_type_names())) + r')\b')
    found = [f'{path.relative_to(CORE.parent)}:{number}: {match.group(1)}'
             for path in core_files()
             for number, line in enumerate(path.read_text().splitlines(), 1)
             for match in [pattern.search(line)] if match]
    assert found == []


def test_the_scan_covers_the_core_and_skips_the_app_layer():
    files = {p.relative_to(CORE).as_posix() for p in core_files()}
    assert {'executor.py', 'builder.py', 'node.py', 'graph.py', 'events.py'} <= files
    assert not any(f.startswith('app/') for f in files)


def test_sinks_are_found_by_role_and_the_path_they_take():
    from webcam_app.app.sinks import sink_type
    assert sink_type('video_sink', 'o.mp4').__name__ == 'Recorder'
    assert sink_type('video_sink', 'out/').__name__ == 'ImageWriter'
    assert sink_type('predictions', 'p.json').__name__ == 'PredictionWriter'
    assert sink_type('predictions', 'preds/').__name__ == 'PredictionWriter'
