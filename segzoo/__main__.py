"""`python -m segzoo`: the segzoo command."""

import sys

from segzoo.cli import main

sys.exit(main())
