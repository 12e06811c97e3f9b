"""Write annotated frames as image files: one per input image into a folder, or one image file."""
from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Annotated, ClassVar

import cv2

from webcam_app import Frame, Node, Role
from webcam_app.params import Range

from ..common import resolve_output
from .inputs import IMAGE_EXTENSIONS

__all__ = ['ImageWriter', 'check_output_dir', 'is_folder_path', 'still_name', 'write_atomic']

log = logging.getLogger(__name__)


def is_folder_path(path: str) -> bool:
    """Whether an output path means a folder: it ends in '/', exists as one, or has no suffix
    (as in MMPoseInferencer, which takes a path without an extension as a folder).
    """
    return (path.endswith(('/', os.sep)) or Path(path).expanduser().is_dir()
            or not Path(path).suffix)


def still_name(frame: Frame) -> str | None:
    """The file name of the image a frame was read from, or None for video and camera frames."""
    return frame.meta.get('input_name') if frame.meta.get('path') else None


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a hidden file beside ``path``, then rename it to ``path``: a reader, or
    a process killed mid-write, never leaves half a file under the real name."""
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    try:
        with os.fdopen(fd, 'wb') as file:
            file.write(data)
        os.chmod(tmp, 0o644)   # mkstemp makes it private; a result file is not
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def check_output_dir(folder: Path, what: str) -> None:
    """A folder that exists and is writable, or can be made: its nearest existing parent is."""
    parent = folder
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f'{what} folder {folder} cannot be made: {parent} is a file; '
                         'fix: choose another folder')
    if not os.access(parent, os.W_OK):
        raise ValueError(f'{what} folder {folder} is not writable ({parent}); '
                         'fix: choose another folder')


class ImageWriter(Node):
    """Save every frame as an image: into a folder (made if missing), or to one image file.

    In a folder, a frame read from an image file keeps that file's name (``photos/a.jpg`` ->
    ``out/a.jpg``), and a video or camera frame is named by its index (``000012.jpg``), as
    MMPoseInferencer's ``vis_out_dir`` does. A path with an image suffix (``result.png``) is one
    file, meant for a single-image input: a later frame overwrites it.
    """

    inputs = {'frame': 'trigger'}
    outputs = ()
    role = Role.VIDEO_SINK  # what --out attaches, for a folder or an image path
    forms: ClassVar[str] = 'a folder (out/) or an image file (.png, .jpg)'   # in --out's error

    def __init__(self, path: str,
                 jpeg_quality: Annotated[int, Range(0, 100)] = 95) -> None:
        if not self.accepts(path):
            raise ValueError(f'{path!r} is neither a folder nor an image file; fix: end a folder '
                             f'with / (out/), or use one of {", ".join(IMAGE_EXTENSIONS)}')
        self.path, self.jpeg_quality = path, jpeg_quality
        self.folder_mode = is_folder_path(path)
        self.written = 0
        self._out: Path | None = None

    @classmethod
    def accepts(cls, path: str) -> bool:
        """Whether ``path`` is a form this sink writes: any folder, or an image file."""
        return is_folder_path(path) or Path(path).suffix.lower() in IMAGE_EXTENSIONS

    def check(self) -> None:
        self._out = resolve_output(self.path, self.context.graph_dir)
        check_output_dir(self._out if self.folder_mode else self._out.parent, 'image output')

    def setup(self) -> None:
        (self._out if self.folder_mode else self._out.parent).mkdir(parents=True, exist_ok=True)
        self.written = 0

    def target(self, frame: Frame) -> Path:
        """Where a frame is written."""
        if not self.folder_mode:
            return self._out
        return self._out / (still_name(frame) or f'{frame.frame_id:06d}.jpg')

    def process(self, frame: Frame) -> None:
        if frame.image is None:
            return None
        out = self.target(frame)
        if self.written == 1 and not self.folder_mode:
            log.warning('%s: more than one frame arrived; each overwrites %s (give a folder, '
                        'out/, to keep them all)', self.name, out)
        params = [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality]
        try:
            ok, data = cv2.imencode(out.suffix or '.jpg', frame.image, params)
        except cv2.error as exc:
            raise OSError(f'cv2.imencode could not encode {out}: {exc}') from exc
        if not ok:
            raise OSError(f'cv2.imencode could not encode {out}')
        write_atomic(out, data.tobytes())   # whole, or not at all, even if killed
        self.written += 1
        return None

    def close(self) -> None:
        if self.written:
            log.info('%s: wrote %d image(s) to %s', self.name, self.written, self._out)
        else:
            log.warning('%s: no frames arrived; nothing was written to %s', self.name, self._out)
