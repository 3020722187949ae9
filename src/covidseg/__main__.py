import sys

from covidseg.cli import main

sys.exit(main())
