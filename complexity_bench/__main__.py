import sys

from complexity_bench.cli import main

sys.exit(main())
