"""``python -m dsnn run MODEL.py ...`` and ``python -m dsnn validate MODEL.py ...``: see :mod:`dsnn.launch.cli`."""

from .launch.cli import main

raise SystemExit(main())
