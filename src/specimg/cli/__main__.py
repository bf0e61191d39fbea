"""``python -m specimg.cli``: the same as the ``specimg`` command."""

from . import main

main()
