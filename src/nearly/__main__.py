"""Allow ``python -m nearly compare A B``."""

import sys

from nearly.cli import main

if __name__ == "__main__":
    sys.exit(main())
