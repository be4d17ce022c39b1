"""myco-graph: the server of a data cooperative."""

__version__ = "0.1.0"
