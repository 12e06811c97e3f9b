"""A real KServe v2 server on loopback, for tests and benches: ``tests/kserve_server.py``
(PyTriton's tritonserver) in a process group of its own, on free ports, that can be killed and
restarted.

Every wait has a deadline; nothing here asserts how long anything took.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / 'tests' / 'kserve_server.py'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def server_env() -> dict[str, str]:
    """PyTriton's Python-backend stub links libpython3.11.so: it must find the interpreter's
    own, not the system's (whose standard library differs from the venv's)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    lib = str(Path(sys.base_prefix) / 'lib')
    env['LD_LIBRARY_PATH'] = os.pathsep.join(p for p in (lib, env.get('LD_LIBRARY_PATH')) if p)
    return env


def pytriton_runs() -> str | None:
    """Why PyTriton's server cannot run here (not Linux), or None. A missing package is not a
    reason: tools/install.sh installs it, so its ImportError fails the tests (deselect them with
    ``-m "not server"`` where it is not installed)."""
    import pytriton  # noqa: F401
    import tritonclient.http  # noqa: F401
    if not sys.platform.startswith('linux'):
        return 'PyTriton runs on Linux only'
    return None


class ServerProcess:
    """``tests/kserve_server.py`` serving ``repository``; events (its ``KSERVE`` lines) collected
    from its stdout by a reader thread."""

    def __init__(self, repository: Path, log_path: Path, **options: Any) -> None:
        self.repository, self.log_path, self.options = repository, log_path, options
        self.http_port, self.grpc_port = free_port(), free_port()
        self.events: list[list[str]] = []
        self._cond = threading.Condition()
        self.proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    @property
    def http(self) -> str:
        return f'http://127.0.0.1:{self.http_port}'

    @property
    def grpc(self) -> str:
        return f'grpc://127.0.0.1:{self.grpc_port}'

    def start(self, timeout: float = 180.0, **options: Any) -> 'ServerProcess':
        """Start it (``options`` replace the constructor's), and wait until its models are
        ready."""
        options = {**self.options, **options}
        args = [sys.executable, str(SCRIPT), str(self.repository), '--http-port',
                str(self.http_port), '--grpc-port', str(self.grpc_port)]
        if options.get('hang_after') is not None:
            args += ['--hang-after', str(options['hang_after'])]
        if options.get('no_batching'):
            args.append('--no-batching')
        if options.get('threads'):
            args += ['--threads', str(options['threads'])]
        with self._cond:
            self.events.clear()
        log = open(self.log_path, 'a', encoding='utf-8')
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True,
                                     env=server_env(), cwd=ROOT, start_new_session=True)
        log.close()
        self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self._reader.start()
        self.wait_for(lambda events: any(e[0] == 'READY' for e in events), timeout,
                      'its models to be ready')
        return self

    def _read(self, proc: subprocess.Popen) -> None:
        with open(self.log_path, 'a', encoding='utf-8') as log:
            for line in proc.stdout:
                log.write(line)
                if line.startswith('KSERVE '):
                    with self._cond:
                        self.events.append(line.split()[1:])
                        self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[list[str]]], bool], timeout: float,
                 what: str) -> None:
        """Until ``predicate(events)``; AssertionError naming ``what`` (and the log) if the
        server exits or ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.events):
                left = deadline - time.monotonic()
                exited = self.proc is None or self.proc.poll() is not None
                if left <= 0 or exited:
                    tail = self.log_path.read_text(errors='replace')[-3000:]
                    raise AssertionError(f'the test server never showed {what} '
                                         f'({"it exited" if exited else "timeout"}):\n{tail}')
                self._cond.wait(min(left, 0.5))

    def requests(self, model: str | None = None) -> list[int]:
        """Items of each request served so far (of ``model``, or of all)."""
        with self._cond:
            return [int(e[2]) for e in self.events
                    if e[0] == 'REQUEST' and (model is None or e[1] == model)]

    def kill(self) -> None:
        """Kill the server at once (PyTriton, tritonserver, its backend stubs), as a crash
        would, but not the stubs' multiprocessing resource trackers: they then unlink the
        shared memory the dead processes held (/dev/shm), and end."""
        import psutil
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            group = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            group = []
        trackers = [p for p in group if _is_tracker(p)]
        for p in group:
            if p not in trackers:
                _signal(p, signal.SIGKILL)
        proc.wait(timeout=30)
        _, alive = psutil.wait_procs(trackers, timeout=10)
        for p in alive:
            _signal(p, signal.SIGKILL)
        try:
            os.killpg(proc.pid, signal.SIGKILL)     # anything else it started
        except (ProcessLookupError, PermissionError):
            pass
        if self._reader is not None:
            self._reader.join(timeout=10)
        for leftover in Path('/dev/shm').glob(f'pytrtion{proc.pid}-*'):   # PyTriton's tensors
            leftover.unlink(missing_ok=True)

    def restart(self, **options: Any) -> 'ServerProcess':
        self.kill()
        return self.start(**options)


def _is_tracker(process: Any) -> bool:
    try:
        return 'multiprocessing.resource_tracker' in ' '.join(process.cmdline())
    except Exception:       # gone already
        return False


def _signal(process: Any, signum: int) -> None:
    try:
        process.send_signal(signum)
    except Exception:       # gone already
        pass
