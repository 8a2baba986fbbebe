"""`python -m queries ...`: the Senim command line."""

import sys

from queries.cli import main

sys.exit(main())
