"""``dsnn.nest``: NEST 3 scripts on dsnn (see :mod:`dsnn.nest`). The kernel keeps what a script says
(:mod:`.kernel`), NodeCollection and SynapseCollection present it (:mod:`.nodes`), the PyNEST functions
act on it (:mod:`.api`), and :mod:`.plots` draws NEST's raster plots and voltage traces."""
