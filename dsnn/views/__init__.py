"""Views of runs for people: ``results`` (rates, saved runs), ``plot`` (matplotlib), ``dashboard`` (a
live Bokeh view in notebooks) and ``validation`` (a model against NEST). They use only the public
interface of :class:`dsnn.Simulation` and the description."""
