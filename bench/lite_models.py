"""Cost per frame of the offline (MediaPipe) model nodes on real photos, beside the simple ones.

Run: python bench/lite_models.py [--repeats 15] [--warmup 3]. Each node processes the same
photo ``warmup + repeats`` times in one process; the table gives the median and p90 of the
timed calls of ``node.process`` (the node's whole cost: colour conversion, models, mapping).

* face_lite: MediaPipeFace, 1 face (skimage's astronaut) and 2 faces (her head beside its
  mirror image), video mode (tracking from frame to frame) and static-image mode.
* wholebody_lite: MediaPipeWholeBody (Holistic) beside MediaPipePose, one person (messi5.jpg).
* body_lite: MediaPipeMultiPose on 1 (messi5.jpg), 2 (basketball2.png) and 3 people (the two
  players with Messi pasted between them), beside the single-person MediaPipePose. The cost per
  extra person is the slope between 1 and 3 people.
* background: PersonMask (both models) and Background blur with keep: mask beside keep: boxes.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))

from nodes.draw.effects import Background  # noqa: E402
from nodes.models.mediapipe.face import MediaPipeFace  # noqa: E402
from nodes.models.mediapipe.holistic import MediaPipeWholeBody  # noqa: E402
from nodes.models.mediapipe.multipose import MediaPipeMultiPose  # noqa: E402
from nodes.models.mediapipe.segmentation import PersonMask  # noqa: E402
from nodes.models.mediapipe.solutions import MediaPipePose  # noqa: E402
from tests import haar  # noqa: E402
from tests.footage import photo, three_people  # noqa: E402
from webcam_app import Frame, Node  # noqa: E402


def timed(node: Node, frames: list[Frame], warmup: int, repeats: int
          ) -> list[tuple[float, float, int]]:
    """Per frame: (median ms, p90 ms, objects found) of ``node.process(frame)``. The frames take
    turns (video-mode nodes get one frame each), so a busy spell hits them all alike."""
    node.setup()
    times: list[list[float]] = [[] for _ in frames]
    found = [0] * len(frames)
    try:
        for i in range(warmup + repeats):
            for j, frame in enumerate(frames):
                start = time.perf_counter()
                out = node.process(frame=frame)
                if i >= warmup:
                    times[j].append((time.perf_counter() - start) * 1000)
                found[j] = len(out.objects)
    finally:
        node.close()
    return [(float(np.median(t)), float(np.percentile(t, 90)), n) for t, n in zip(times, found)]


def scenes() -> dict[str, np.ndarray]:
    head = haar.astronaut()[:256, 96:352]
    return {'astronaut 512x512': haar.astronaut(),
            '2 heads 512x256': np.ascontiguousarray(np.concatenate([head, head[:, ::-1]], 1)),
            'messi5 548x342, 1 person': photo('messi5.jpg'),
            'basketball2 640x480, 2 people': photo('basketball2.png'),
            '3 people 640x480': three_people()[0]}


def cases() -> list[tuple[str, str, tuple[str, ...], Callable[[], Node]]]:
    one, two, three = ('messi5 548x342, 1 person', 'basketball2 640x480, 2 people',
                       '3 people 640x480')
    faces = ('astronaut 512x512', '2 heads 512x256')
    return [
        ('face_lite', 'MediaPipeFace, video', faces[:1], MediaPipeFace),
        ('face_lite', 'MediaPipeFace, video', faces[1:], MediaPipeFace),
        ('face_lite', 'MediaPipeFace, static', faces,
         lambda: MediaPipeFace(static_image_mode=True)),
        ('face_lite', 'MediaPipeFace, full range, video', faces[:1],
         lambda: MediaPipeFace(detector='full')),
        ('face_lite', 'MediaPipeFace, full range, video', faces[1:],
         lambda: MediaPipeFace(detector='full')),
        ('face_lite', 'MediaPipeFace, full range, static', faces,
         lambda: MediaPipeFace(detector='full', static_image_mode=True)),
        ('wholebody_lite', 'MediaPipeWholeBody, video', (one,), MediaPipeWholeBody),
        ('wholebody_lite', 'MediaPipeWholeBody, static', (one,),
         lambda: MediaPipeWholeBody(static_image_mode=True)),
        ('(single person)', 'MediaPipePose, video', (one,), MediaPipePose),
        ('(single person)', 'MediaPipePose, static', (one,),
         lambda: MediaPipePose(static_image_mode=True)),
        ('body_lite', 'MediaPipeMultiPose, static', (one, two, three),
         lambda: MediaPipeMultiPose(static_image_mode=True)),
        ('body_lite', 'MediaPipeMultiPose, video', (one,), MediaPipeMultiPose),
        ('body_lite', 'MediaPipeMultiPose, video', (two,), MediaPipeMultiPose),
        ('body_lite', 'MediaPipeMultiPose, video', (three,), MediaPipeMultiPose),
        ('body_lite', 'MediaPipeMultiPose, detect_every 5', (one,),
         lambda: MediaPipeMultiPose(detect_every=5)),
        ('body_lite', 'MediaPipeMultiPose, detect_every 5', (three,),
         lambda: MediaPipeMultiPose(detect_every=5)),
        ('background', 'PersonMask, general', (two,), PersonMask),
        ('background', 'PersonMask, landscape', (two,), lambda: PersonMask(model_selection=1)),
        ('background', 'Background blur, keep: mask', (two,), Background),
        ('background', 'Background blur, keep: boxes', (two,), lambda: Background(keep='boxes')),
    ]


def with_people_and_mask(frame: Frame, cache: dict[int, Frame]) -> Frame:
    """``frame`` with the people and the person mask that Background needs, from the models."""
    if id(frame.image) not in cache:
        people, mask = MediaPipeMultiPose(), PersonMask()
        for node in (people, mask):
            node.setup()
        cache[id(frame.image)] = mask.process(frame=people.process(frame=frame))
        for node in (people, mask):
            node.close()
    return cache[id(frame.image)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=15)
    parser.add_argument('--warmup', type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    images = scenes()
    masked: dict[int, Frame] = {}
    rows, multi = [], {}
    for graph, label, names, make in cases():
        frames = [Frame(frame_id=0, image=images[name]) for name in names]
        if label.startswith('Background'):
            frames = [with_people_and_mask(frame, masked) for frame in frames]
        results = timed(make(), frames, args.warmup, args.repeats)
        for name, (median, p90, found) in zip(names, results):
            rows.append((graph, label, name, median, p90, found))
            if label.startswith('MediaPipeMultiPose'):
                multi.setdefault(label, {})[found] = median
    print(f'median and p90 of {args.repeats} calls (after {args.warmup}), ms')
    print(f'{"graph":16} {"node":34} {"scene":30} {"median":>7} {"p90":>7} found')
    for graph, label, scene, median, p90, found in rows:
        print(f'{graph:16} {label:34} {scene:30} {median:7.1f} {p90:7.1f} {found}')
    for label, by_people in multi.items():
        if 1 in by_people and 3 in by_people:
            print(f'{label}, cost per extra person (1 -> 3 people): '
                  f'{(by_people[3] - by_people[1]) / 2:.1f} ms')
    parts(images['3 people 640x480'], args.warmup, args.repeats)
    work({name: images[name] for name in images if 'person' in name or 'people' in name})


def parts(image: np.ndarray, warmup: int, repeats: int) -> None:
    """MediaPipeMultiPose's two steps alone: one detector round, one person's landmarks."""
    from nodes.models.mediapipe.blazepose import roi_from_detection
    from nodes.models.mediapipe.solutions import _to_rgb
    node = MediaPipeMultiPose(static_image_mode=True)
    node.setup()
    rgb = _to_rgb(image)
    roi = roi_from_detection(node.detect(rgb)[0])
    for label, step in (('detector round', lambda: node.detect(rgb)),
                        ('landmarks, one person', lambda: node.landmarks(rgb, roi))):
        times = []
        for i in range(warmup + repeats):
            start = time.perf_counter()
            step()
            if i >= warmup:
                times.append((time.perf_counter() - start) * 1000)
        print(f'MediaPipeMultiPose step: {label:24} median {np.median(times):6.1f} ms')
    node.close()


def work(scenes: dict[str, np.ndarray], frames: int = 10) -> None:
    """MediaPipeMultiPose's work per frame, which no load changes: detector rounds and
    landmark runs, over ``frames`` frames of each still scene."""
    from nodes.models.mediapipe.solutions import _to_rgb
    for mode in ('static', 'video', 'detect_every 5'):
        for name, image in scenes.items():
            node = MediaPipeMultiPose(static_image_mode=mode == 'static',
                                      detect_every=5 if mode.startswith('detect') else 1)
            node.setup()
            counts = {'detect': 0, 'landmarks': 0}
            for step in counts:
                def counted(*args, _step=step, _call=getattr(node, step)):
                    counts[_step] += 1
                    return _call(*args)
                setattr(node, step, counted)
            rgb = _to_rgb(image)
            for _ in range(frames):
                node.find_people(rgb)
            node.close()
            print(f'MediaPipeMultiPose work, {mode:14} {name:30} detector rounds '
                  f'{counts["detect"] / frames:.1f}, landmark runs '
                  f'{counts["landmarks"] / frames:.1f} a frame')


if __name__ == '__main__':
    main()
