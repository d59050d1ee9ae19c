"""The one exception the model raises for bad input: a ValueError that names the offending field."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input. ``field`` is the parameter name as the CLI, the API and the widgets spell it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
