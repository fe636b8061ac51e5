"""`python -m regard` is the `regard` command."""

from regard.interfaces.cli.app import main

main()
