"""sessionsim: a discrete-event simulator and capacity planner for web session architectures."""
__version__ = "0.1.0"
