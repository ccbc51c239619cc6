"""``python -m crmsim``: the ``crmsim`` command."""

import sys

from crmsim.cli import main

sys.exit(main())
