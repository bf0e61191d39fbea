"""``python -m specimg``: the same as the ``specimg`` command."""

from .cli import main

main()
