import sys

from tradecopier_cli.main import main

sys.exit(main())
