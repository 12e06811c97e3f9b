"""The application layer: the command line and the sinks it wires in. It may import ``nodes``."""
