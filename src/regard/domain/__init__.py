"""Pure dataclasses and rules: no I/O, no models, no database."""
