"""3D pose: skeletons and axes shared by every 3D node, MediaPipe's world landmarks (the offline
default), and the 2D-to-3D lifter."""
from . import internet, lifter, world  # noqa: F401
