"""`python -m tf_albert ...` is the `tf-albert` command."""

import sys

from tf_albert.cli import main

if __name__ == "__main__":
    sys.exit(main())
