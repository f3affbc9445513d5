"""``python -m dsnn run MODEL.py ...``: see :mod:`dsnn.cli`."""

from .cli import main

raise SystemExit(main())
