"""`python -m regard` is the `regard` command."""

from regard.interfaces.cli.main import main

main()
