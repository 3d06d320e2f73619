"""`python -m drumgate.cli`: the same as the `drumgate` console script."""

import sys

from drumgate.cli import main

if __name__ == "__main__":
    sys.exit(main())
