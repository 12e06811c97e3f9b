"""Exported OpenMMLab models without torch: ONNX export, engines, and numpy/OpenCV codecs.

``pose_codec`` and ``det_codec`` are the pre- and post-processing, usable on their own; the model
nodes (``DetectorNode``, ``TopdownPoseEstimatorNode``) use them with ``backend: onnxruntime``.
Nothing here imports torch, except ``export`` and ``describe``.
"""
