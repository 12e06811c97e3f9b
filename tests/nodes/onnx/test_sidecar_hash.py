"""``sha256_of`` reads a settled file once per process (a start checks the same model and
checkpoint in several places), and never trusts its cache for a file changed in the last 2 s."""
from __future__ import annotations

import hashlib
import os
import time

from nodes.models.onnx import sidecar


def test_a_settled_file_is_read_once_and_a_changed_one_again(tmp_path, monkeypatch) -> None:
    path = tmp_path / 'model.onnx'
    path.write_bytes(b'a' * 1000)
    hour_ago = time.time_ns() - 3600 * 10 ** 9
    os.utime(path, ns=(hour_ago, hour_ago))
    reads = []
    real_open = open

    def counted_open(*args, **kwargs):
        reads.append(args[0])
        return real_open(*args, **kwargs)
    monkeypatch.setattr('builtins.open', counted_open)
    assert sidecar.sha256_of(path) == hashlib.sha256(b'a' * 1000).hexdigest()
    assert sidecar.sha256_of(str(path)) == hashlib.sha256(b'a' * 1000).hexdigest()
    assert len(reads) == 1
    path.write_bytes(b'b' * 1000)                 # same size, a new modification time
    assert sidecar.sha256_of(path) == hashlib.sha256(b'b' * 1000).hexdigest()
    assert len(reads) == 2


def test_a_file_changed_just_now_is_read_every_time(tmp_path) -> None:
    """Two writes within one tick of the filesystem's clock leave size and mtime alike, so a
    recent file's digest is not kept (git's "racy clean")."""
    path = tmp_path / 'model.onnx'
    path.write_bytes(b'a' * 1000)
    stat = path.stat()
    assert sidecar.sha256_of(path) == hashlib.sha256(b'a' * 1000).hexdigest()
    path.write_bytes(b'b' * 1000)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))     # as if in the same tick
    assert sidecar.sha256_of(path) == hashlib.sha256(b'b' * 1000).hexdigest()
