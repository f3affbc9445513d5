"""The cluster runner: construction tasks (``graph``), one partition actor per worker (``actor``), and
the client side of every call (``runner``)."""

from .runner import ClusterRunner, build_on_cluster

__all__ = ["ClusterRunner", "build_on_cluster"]
