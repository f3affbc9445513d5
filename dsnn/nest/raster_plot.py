"""``nest.raster_plot``: spikes of a spike_recorder drawn with matplotlib."""

from ..views.pynest.plots import raster_from_device as from_device

__all__ = ["from_device"]
