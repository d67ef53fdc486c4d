"""`python -m segzoo.cli`: the same as the `segzoo` command."""

import sys

from segzoo.cli import main

sys.exit(main())
