"""Construction: from the description to the state of one partition, where it will live.

``connectivity`` (the rules' draws onto owned targets), ``rows`` (numba
kernels filling synapse rows in place), ``synapses`` (projections packed
into synapse groups), ``inputs`` (generator input), ``build``
(:func:`~.build.build_partition`, one construction task), ``estimate`` (a
partition's memory, predicted from the description).
"""
