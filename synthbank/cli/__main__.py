"""``python -m synthbank.cli``."""

import sys

from synthbank.cli import main

sys.exit(main())
