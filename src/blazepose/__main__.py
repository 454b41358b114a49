import sys

from blazepose.cli import main

sys.exit(main())
