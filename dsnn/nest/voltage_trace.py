"""``nest.voltage_trace``: V_m recorded by a voltmeter drawn with matplotlib."""

from ..views.pynest.plots import voltage_trace_from_device as from_device

__all__ = ["from_device"]
