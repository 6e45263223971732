"""`python -m tf_albert.export MODEL ...`: the same as `tf-albert export MODEL ...`."""

import sys

from tf_albert.export.cli import main

sys.exit(main())
