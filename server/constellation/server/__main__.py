import sys

from constellation.server.main import main

sys.exit(main())
