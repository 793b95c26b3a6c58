"""``python -m jupyter_pipes.cli``."""

from . import main

main()
