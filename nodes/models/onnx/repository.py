"""A Triton / OpenVINO Model Server model repository made from exported models.

Each model gets ``<name>/config.pbtxt`` and ``<name>/1/model.onnx``: the config names the
runtime, the inputs and outputs with their dims, the batching and the instances, and carries
the sidecar JSON as the parameter ``webcam_app_sidecar``, so a client needs no model file.
``config.json`` beside them lists every model for OpenVINO Model Server (``--config_path``).
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any, Mapping, Sequence

from .sidecar import read_sidecar

__all__ = ['SIDECAR_PARAMETER', 'TRITON_BACKENDS', 'add_to_ovms_config', 'config_text',
           'model_name_for', 'tensor_specs', 'write_model']

log = logging.getLogger(__name__)

#: the model config parameter that holds the sidecar JSON
SIDECAR_PARAMETER = 'webcam_app_sidecar'
#: Triton runtimes for an ONNX file: what config.pbtxt says for each
TRITON_BACKENDS = {'onnxruntime': 'platform: "onnxruntime_onnx"',
                   'openvino': 'backend: "openvino"\ndefault_model_filename: "model.onnx"'}
_TYPES = {1: 'TYPE_FP32', 10: 'TYPE_FP16', 11: 'TYPE_FP64', 6: 'TYPE_INT32', 7: 'TYPE_INT64',
          2: 'TYPE_UINT8', 3: 'TYPE_INT8', 9: 'TYPE_BOOL'}


def model_name_for(path: str | Path) -> str:
    """The server's name for an export: its file stem, other characters than letters, digits,
    ``-`` and ``_`` made ``_`` (``hand.random.onnx`` -> ``hand_random``)."""
    return re.sub(r'[^A-Za-z0-9_-]', '_', Path(path).stem)


def tensor_specs(path: str | Path) -> tuple[list[dict], list[dict]]:
    """The inputs and outputs of an ONNX file: ``{'name', 'type', 'dims'}``, -1 for a dim
    that is not fixed."""
    import onnx
    graph = onnx.load(str(path), load_external_data=False).graph
    initializers = {i.name for i in graph.initializer}

    def spec(value: Any) -> dict:
        tensor = value.type.tensor_type
        dims = [d.dim_value if d.HasField('dim_value') else -1 for d in tensor.shape.dim]
        kind = _TYPES.get(tensor.elem_type)
        if kind is None:
            raise ValueError(f'{path}: tensor {value.name!r} has an element type '
                             f'({tensor.elem_type}) that a model config cannot name')
        return {'name': value.name, 'type': kind, 'dims': dims}
    return ([spec(v) for v in graph.input if v.name not in initializers],
            [spec(v) for v in graph.output])


def _quote(text: str) -> str:
    """A protobuf text-format string literal."""
    return '"' + text.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n') + '"'


def _tensors(specs: Sequence[Mapping[str, Any]], batched: bool) -> str:
    items = []
    for s in specs:
        dims = s['dims'][1:] if batched else s['dims']
        items.append(f'  {{\n    name: {_quote(s["name"])}\n    data_type: {s["type"]}\n'
                     f'    dims: [ {", ".join(str(d) for d in dims)} ]\n  }}')
    return '[\n' + ',\n'.join(items) + '\n]'


def _instances(device: str, count: int) -> str:
    if device.startswith('cuda'):
        gpu = int(device.partition(':')[2] or 0)
        return (f'instance_group [\n  {{\n    kind: KIND_GPU\n    count: {count}\n'
                f'    gpus: [ {gpu} ]\n  }}\n]')
    return f'instance_group [\n  {{\n    kind: KIND_CPU\n    count: {count}\n  }}\n]'


def config_text(name: str, inputs: Sequence[Mapping[str, Any]],
                outputs: Sequence[Mapping[str, Any]], sidecar: Mapping[str, Any],
                max_batch_size: int = 8, queue_delay_us: int = 1000, device: str = 'cpu',
                instances: int = 1, backend: str = 'onnxruntime') -> str:
    """A Triton ``config.pbtxt``. A model whose batch dim is fixed gets ``max_batch_size: 0``
    and its full dims (no dynamic batching: the server cannot join its requests)."""
    batched = bool(max_batch_size) and all(s['dims'][:1] == [-1] for s in [*inputs, *outputs])
    lines = [f'name: {_quote(name)}', TRITON_BACKENDS[backend],
             f'max_batch_size: {max_batch_size if batched else 0}',
             f'input {_tensors(inputs, batched)}', f'output {_tensors(outputs, batched)}']
    if batched:
        lines.append(f'dynamic_batching {{\n  max_queue_delay_microseconds: {queue_delay_us}\n}}')
    lines.append(_instances(device, instances))
    payload = json.dumps(dict(sidecar), separators=(',', ':'), ensure_ascii=True)
    lines.append(f'parameters {{\n  key: {_quote(SIDECAR_PARAMETER)}\n  value {{\n'
                 f'    string_value: {_quote(payload)}\n  }}\n}}')
    return '\n'.join(lines) + '\n'


def write_model(exported: str | Path, repository: str | Path, name: str | None = None,
                **options: Any) -> Path:
    """Lay out one export in ``repository``: ``<name>/config.pbtxt`` and ``<name>/1/model.onnx``
    (a hard link where the file system allows, else a copy). ``options``: see config_text.
    Returns the model's folder."""
    exported = Path(exported)
    sidecar = read_sidecar(exported)
    name = name or model_name_for(exported)
    folder = Path(repository) / name
    (folder / '1').mkdir(parents=True, exist_ok=True)
    inputs, outputs = tensor_specs(exported)
    target = folder / '1' / 'model.onnx'
    tmp = target.with_suffix('.onnx.tmp')
    tmp.unlink(missing_ok=True)
    try:
        os.link(exported, tmp)
    except OSError:
        shutil.copyfile(exported, tmp)
    os.replace(tmp, target)
    (folder / 'config.pbtxt').write_text(config_text(name, inputs, outputs, sidecar, **options),
                                         encoding='utf-8')
    add_to_ovms_config(repository, name, options.get('device', 'cpu'))
    log.info('model repository: %s (%s, %d inputs, %d outputs)', folder, sidecar['kind'],
             len(inputs), len(outputs))
    return folder


def add_to_ovms_config(repository: str | Path, name: str, device: str = 'cpu') -> Path:
    """Add (or replace) a model in the repository's ``config.json`` for OpenVINO Model Server,
    its path relative to the file (``ovms --config_path DIR/config.json``)."""
    path = Path(repository) / 'config.json'
    try:
        models = json.loads(path.read_text(encoding='utf-8'))['model_config_list']
    except (OSError, ValueError, KeyError, TypeError):
        models = []
    target = 'GPU' if device.startswith('cuda') or device.upper().startswith('GPU') else 'CPU'
    models = [m for m in models if m.get('config', {}).get('name') != name]
    models.append({'config': {'name': name, 'base_path': name, 'target_device': target}})
    models.sort(key=lambda m: m['config']['name'])
    tmp = path.with_suffix('.json.tmp')
    tmp.write_text(json.dumps({'model_config_list': models}, indent=1), encoding='utf-8')
    os.replace(tmp, path)
    return path
