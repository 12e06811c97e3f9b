"""Exported OpenMMLab models without torch: ONNX export, engines, and numpy/OpenCV codecs.

``pose_codec`` and ``det_codec`` are the pre- and post-processing, usable on their own; the model
nodes (``DetectorNode``, ``TopdownPoseEstimatorNode``) use them with ``backend: auto``,
``openvino`` or ``onnxruntime``, on an engine from ``engines.make_engine`` at the precision
``auto_precision`` checks. Nothing here imports torch, except ``export`` and ``describe``; only
``openvino_engine`` imports openvino (with its telemetry blocked).
"""
