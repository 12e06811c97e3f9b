"""``backend: remote``, before the run: find a model node's model on a KServe v2 server.

The server must be live and the model ready. Its sidecar comes from the models folders when an
export of the model is there, else from the model's config on the server (the parameter that
``webcam-app export --model-repository`` writes). Its input must be what the sidecar expects.
The model's name on the server is ``model_name``, else the local export's stem, else the model
on the server whose sidecar names the node's ``model``. Every failure is a ValueError that names
the server and says what it answered: the app exits with code 2 before any thread starts.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from .remote_client import RemoteModel, make_client, parse_server
from .repository import SIDECAR_PARAMETER, model_name_for
from .sidecar import FORMAT, read_sidecar

__all__ = ['find_remote']

log = logging.getLogger(__name__)


class _Server:
    """Check-time questions to one server; every answer a plain dict, for HTTP and gRPC alike."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url, self.timeout = url, timeout
        self.protocol, address = parse_server(url)
        try:
            self.client = make_client(self.protocol, address, timeout)
        except ImportError as exc:
            raise ValueError(f'backend remote needs tritonclient ({exc}): '
                             "pip install -e '.[remote]'") from None

    def ask(self, method: str, *args: Any) -> Any:
        kwargs: dict[str, Any] = {}
        if self.protocol == 'grpc':
            kwargs['client_timeout'] = self.timeout
            if method.startswith('get_'):
                kwargs['as_json'] = True
        answer = getattr(self.client, method)(*args, **kwargs)
        if self.protocol == 'grpc' and isinstance(answer, dict):
            answer = answer.get('config', answer) if method == 'get_model_config' else answer
            if method == 'get_model_repository_index':
                answer = answer.get('models', [])
        return answer

    def sidecar_of(self, name: str) -> dict[str, Any] | None:
        """The sidecar in a model's config on the server; None if it has none."""
        try:
            config = self.ask('get_model_config', name)
        except Exception as exc:      # OVMS has no model config
            log.debug('%s: no config for %s: %s', self.url, name, _said(exc))
            return None
        value = ((config.get('parameters') or {}).get(SIDECAR_PARAMETER) or {}).get('string_value')
        try:
            sidecar = json.loads(value) if value else None
        except ValueError:
            return None
        return sidecar if isinstance(sidecar, dict) and sidecar.get('format') == FORMAT else None

    def models(self) -> list[str]:
        """The server's models: its repository index, and those its statistics name (a server
        in explicit model control may index none of its loaded models)."""
        names: set[str] = set()
        for method, key in (('get_model_repository_index', None),
                            ('get_inference_statistics', 'model_stats')):
            try:
                answer = self.ask(method)
                names.update(str(m['name']) for m in (answer[key] if key else answer))
            except Exception as exc:    # not a Triton: neither is there
                log.debug('%s: %s: %s', self.url, method, _said(exc))
        return sorted(names)

    def close(self) -> None:
        try:
            self.client.close()
        except Exception as exc:
            log.debug('closing a tritonclient client: %s', exc)


def _said(exc: BaseException) -> str:
    message = getattr(exc, 'message', None)
    text = message() if callable(message) else str(exc)
    return ' '.join(str(text or type(exc).__name__).split())[:300]


def find_remote(kind: str, model: str, url: str, model_name: str | None, timeout: float,
                local: Path | None, random: bool) -> RemoteModel:
    """The node's model on the server at ``url``; ``local``: its export in the models folders,
    if any. Raises ValueError (see the module's docstring)."""
    server = _Server(url, timeout)
    try:
        try:
            live = server.ask('is_server_live')
        except Exception as exc:
            raise ValueError(f'server {url} is unreachable ({_said(exc)}); start it (see README '
                             '"Many cameras"), or fix server:') from None
        if not live:
            raise ValueError(f'server {url} answers, but says it is not live; wait for it or '
                             'check its log')
        name = model_name or (model_name_for(local) if local else None) or \
            _search(server, kind, model, random)
        return _describe(server, kind, name, local)
    finally:
        server.close()


def _search(server: _Server, kind: str, model: str, random: bool) -> str:
    names = server.models()
    for name in names:
        sidecar = server.sidecar_of(name)
        if (sidecar and sidecar.get('kind') == kind and model in (sidecar.get('names') or ())
                and bool(sidecar.get('random_weights')) == random):
            return name
    what = {'det': 'detector', 'pose': 'pose model'}[kind]
    raise ValueError(f'server {server.url} serves no {what} for {model!r} (its models: '
                     f'{", ".join(names) or "none listed"}); give model_name: (--set '
                     'NODE.model_name=NAME), or serve the export of `webcam-app export GRAPH '
                     '--model-repository DIR`')


def _describe(server: _Server, kind: str, name: str, local: Path | None) -> RemoteModel:
    url = server.url
    try:
        ready = server.ask('is_model_ready', name)
        metadata = server.ask('get_model_metadata', name) if ready else None
    except Exception as exc:
        ready, said = False, _said(exc)
    else:
        said = 'not ready'
    if not ready:
        listed = server.models()
        raise ValueError(f'server {url} has no ready model {name!r} ({said}; its models: '
                         f'{", ".join(listed) or "none listed"}); fix model_name:, or serve it')
    sidecar, source = (read_sidecar(local), str(local.with_suffix('.json'))) if local else \
        (server.sidecar_of(name), f'the config of {name!r} on {url}')
    if sidecar is None:
        raise ValueError(f'server {url}: model {name!r} carries no sidecar (parameter '
                         f'{SIDECAR_PARAMETER}) and no export of it is in the models folders; '
                         'serve the export of `webcam-app export GRAPH --model-repository DIR`, '
                         "or put the export's .onnx and .json in --models-dir")
    if sidecar.get('kind') != kind:
        raise ValueError(f'server {url}: model {name!r} is a {sidecar.get("kind")} model, not '
                         f'a {kind} model; fix model_name:')
    inputs, max_batch = _check_inputs(url, name, metadata, sidecar)
    outputs = [str(o['name']) for o in metadata.get('outputs') or ()]
    missing = [o for o in sidecar['outputs'] if o not in outputs]
    if missing:
        raise ValueError(f'server {url}: model {name!r} has outputs {outputs}, but its sidecar '
                         f'({source}) needs {sidecar["outputs"]}; serve the same export')
    config_batch = _config_batch(server, name)
    log.info('remote model %s on %s (sidecar from %s)', name, url, source)
    return RemoteModel(url, server.protocol, parse_server(url)[1], name, sidecar,
                       inputs, list(sidecar['outputs']),
                       config_batch if config_batch else max_batch, source)


def _check_inputs(url: str, name: str, metadata: dict, sidecar: dict) -> tuple[str, int]:
    """The input's name, and the most items a request takes (0: any number); ValueError."""
    inputs = metadata.get('inputs') or []
    width, height = sidecar['input']['size']
    want = [3, int(height), int(width)]
    if len(inputs) == 1:
        shape = [int(d) for d in inputs[0].get('shape', ())]
        if inputs[0].get('datatype') == 'FP32' and len(shape) == 4 and shape[1:] == want:
            return str(inputs[0]['name']), max(shape[0], 0)
    said = [f"{i.get('name')} {i.get('datatype')} {[int(d) for d in i.get('shape', ())]}"
            for i in inputs]
    raise ValueError(f'server {url}: model {name!r} takes {"; ".join(said) or "no input"}, but '
                     f'its sidecar expects one FP32 input [-1, {", ".join(map(str, want))}]; '
                     'serve the same export the sidecar belongs to')


def _config_batch(server: _Server, name: str) -> int:
    try:
        return int(server.ask('get_model_config', name).get('max_batch_size') or 0)
    except Exception:    # OVMS: no model config; the input's batch dim says it
        return 0
