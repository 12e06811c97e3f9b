"""Real test footage from Debian's opencv-doc, and clips made from a photo by known transforms.

A clip frame is ``cv2.warpAffine(photo, M)``; every frame keeps its 2x3 matrix ``M`` (photo ->
frame), so a test can map what a model found in the frame back into the photo, where the truth
is known (see :func:`hand_region`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

__all__ = ['BASKETBALL_PEOPLE', 'Clip', 'MESSI_PERSON', 'affine_clip', 'hand_clip',
           'hand_region', 'inside', 'map_points', 'photo', 'photo_path', 'three_people',
           'write_clip']

DOC_DIRS = (Path('/usr/share/doc/opencv-doc/opencv4/html'),
            Path('/usr/share/doc/opencv-doc/examples/data'))
INSTALL_HINT = 'apt-get install opencv-doc (Debian), which ships the real photos tests use'

# Where people are in the photos, judged by eye on gridded renders of them, generously:
# (person box, head box), each (x1, y1, x2, y2) in pixels.
MESSI_PERSON = ((60, 55, 465, 340), (195, 55, 280, 135))                 # messi5.jpg, 548x342
BASKETBALL_PEOPLE = (((30, 75, 170, 480), (45, 70, 120, 150)),           # left man, facing us
                     ((425, 15, 640, 480), (495, 15, 625, 135)))         # right man, in profile


def photo_path(name: str) -> Path:
    """The path of an opencv-doc photo ('handSrc.jpg', 'messi5.jpg', 'basketball1.png', ...)."""
    for folder in DOC_DIRS:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f'{name} not found in {", ".join(map(str, DOC_DIRS))}; '
                            f'fix: {INSTALL_HINT}')


def photo(name: str) -> np.ndarray:
    """An opencv-doc photo as a BGR uint8 array."""
    image = cv2.imread(str(photo_path(name)), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f'cannot decode {photo_path(name)}')
    return image


def three_people() -> tuple[np.ndarray, list]:
    """basketball2.png with Messi (messi5.jpg cropped, scaled 0.6) pasted between the players,
    standing on the bottom edge; and the three (person box, head box) pairs."""
    scene, messi = photo('basketball2.png').copy(), photo('messi5.jpg')
    crop = cv2.resize(messi[40:342, 60:470], None, fx=0.6, fy=0.6)
    h, w = crop.shape[:2]
    x0, y0 = 300 - w // 2, 480 - h
    scene[y0:, x0:x0 + w] = crop

    def moved(box: tuple[float, ...]) -> tuple[float, ...]:
        return ((box[0] - 60) * 0.6 + x0, (box[1] - 40) * 0.6 + y0,
                (box[2] - 60) * 0.6 + x0, (box[3] - 40) * 0.6 + y0)
    return scene, list(BASKETBALL_PEOPLE) + [tuple(map(moved, MESSI_PERSON))]


def map_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to (N, 2) points."""
    points = np.asarray(points, np.float64).reshape(-1, 2)
    return points @ np.asarray(matrix, np.float64)[:, :2].T + np.asarray(matrix)[:, 2]


@dataclass(frozen=True)
class Clip:
    """Frames made from one photo, with each frame's 2x3 matrix from photo to frame."""

    source: np.ndarray
    frames: tuple[np.ndarray, ...]
    matrices: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return len(self.frames)

    def to_source(self, index: int, points: np.ndarray) -> np.ndarray:
        """Map (N, 2) points of frame ``index`` back into the source photo."""
        return map_points(cv2.invertAffineTransform(self.matrices[index]), points)


def affine_clip(image: np.ndarray, n: int = 40, max_shift: tuple[float, float] = (40, 30),
                scales: tuple[float, float] = (0.75, 1.0), max_angle: float = 15.0,
                center: tuple[float, float] | None = None,
                fill: tuple[int, int, int] | None = None,
                continued: tuple[str, ...] = ()) -> Clip:
    """``n`` frames of ``image`` moving smoothly: it rotates by up to +-``max_angle`` degrees about
    ``center`` (default: the image center), scales between ``scales``, and shifts by up to
    ``max_shift`` pixels, each on its own sine so that the motion is not periodic within the clip.

    Frames have the image's size. Where a frame shows what lies beyond the photo, it is painted
    ``fill`` (BGR), or, with no fill, the photo's edge pixels repeated; the sides named in
    ``continued`` ('left', 'right', 'top', 'bottom') always repeat their edge, for a subject that
    goes on past the photo's edge (an arm).
    """
    height, width = image.shape[:2]
    cx, cy = center or (width / 2, height / 2)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    frames, matrices = [], []
    for i in range(n):
        t = i / max(n - 1, 1)
        angle = max_angle * math.sin(2 * math.pi * t)
        scale = scales[0] + (scales[1] - scales[0]) * (0.5 + 0.5 * math.cos(3 * math.pi * t))
        dx = max_shift[0] * math.sin(math.pi * t * 1.5)
        dy = max_shift[1] * math.sin(math.pi * t * 2.5)
        matrix = cv2.getRotationMatrix2D((cx, cy), angle, scale)
        matrix[:, 2] += (dx, dy)
        frame = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
        if fill is not None:
            inv = cv2.invertAffineTransform(matrix)
            sx = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
            sy = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
            beyond = {'left': sx < 0, 'right': sx > width - 1, 'top': sy < 0,
                      'bottom': sy > height - 1}
            painted = np.zeros((height, width), bool)
            for side, mask in beyond.items():
                if side not in continued:
                    painted |= mask
            frame[painted] = fill
        frames.append(frame)
        matrices.append(matrix)
    return Clip(image, tuple(frames), tuple(matrices))


def hand_clip(n: int = 40) -> Clip:
    """A clip of handSrc.jpg's open hand, shifted, scaled (0.7-0.95) and rotated (+-15 deg).

    The photo's thumb tip touches its top edge, so the hand is scaled down about a point low on
    the palm, which keeps every fingertip inside every frame. Beyond the photo lies the table's
    grey, except on the left, where the forearm goes on.
    """
    image = photo('handSrc.jpg')
    table = np.median(image[:60, 560:].reshape(-1, 3), axis=0)   # the top-right corner: table
    return affine_clip(image, n=n, max_shift=(30, 20), scales=(0.7, 0.95), max_angle=15.0,
                       center=(300.0, 300.0), fill=tuple(int(v) for v in table),
                       continued=('left',))


def hand_region(image: np.ndarray | None = None, margin: int = 15) -> np.ndarray:
    """The hand of handSrc.jpg as a boolean mask (H, W), grown by ``margin`` pixels.

    Derived from the photo, not drawn by hand: the hand is the only skin in a photo of a grey
    table, and skin stands apart from grey in the Cr (red-difference) channel of YCrCb. The
    table sits at Cr 118-126 and the skin at 134-150, with a near-empty valley between them, so
    the mask is Cr >= 132, opened and closed to drop specks and fill creases, keeping the largest
    connected part. A render of its outline over the photo followed the hand's edge all around,
    fingers and thumb included. The margin tolerates landmarks placed on a fingertip's rim.
    """
    image = photo('handSrc.jpg') if image is None else image
    cr = cv2.cvtColor(image, cv2.COLOR_BGR2YCrCb)[..., 1]
    mask = (cr >= 132).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    if count < 2:
        raise ValueError('no skin-colored region found; is this handSrc.jpg?')
    mask = (labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
    if margin > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
        mask = cv2.dilate(mask, kernel)
    return mask.astype(bool)


def inside(mask: np.ndarray, points: np.ndarray) -> np.ndarray:
    """For each (x, y) point, whether it falls on a True pixel of the mask (False off the image)."""
    points = np.round(np.asarray(points, np.float64).reshape(-1, 2)).astype(int)
    height, width = mask.shape
    ok = (points[:, 0] >= 0) & (points[:, 0] < width) & (points[:, 1] >= 0) & (
        points[:, 1] < height)
    result = np.zeros(len(points), bool)
    result[ok] = mask[points[ok, 1], points[ok, 0]]
    return result


def write_clip(frames: Sequence[np.ndarray], path: str | Path, fps: float = 10.0) -> Path:
    """Write frames to a video (``.avi``: MJPG, ``.mp4``: mp4v) or, for a folder path with no
    suffix, to numbered PNGs (lossless). Returns the path."""
    path = Path(path)
    if not path.suffix:
        path.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(frames):
            cv2.imwrite(str(path / f'{i:04d}.png'), frame)
        return path
    fourcc = cv2.VideoWriter_fourcc(*('MJPG' if path.suffix.lower() == '.avi' else 'mp4v'))
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), fourcc, fps, (width, height))
    if not writer.isOpened():
        raise OSError(f'cannot write video {path}')
    try:
        for frame in frames:
            writer.write(frame)
    finally:
        writer.release()
    return path
