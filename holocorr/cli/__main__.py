"""``python -m holocorr.cli``."""

import sys

from . import main

sys.exit(main())
