"""``python -m sizing``: see :mod:`sizing.cli`."""

import sys

from .cli import main

sys.exit(main())
