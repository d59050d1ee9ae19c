"""Formula → substitution → result, the way the handbook shows its arithmetic.

A model function that computes a headline quantity also returns a :class:`Derivation`, so the prose, the
widgets' "show the arithmetic" view and the value tooltips all print the same steps from the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from .formatting import format_quantity


@dataclass(frozen=True)
class Derivation:
    quantity: str  # what is computed, in words ("KV cache per token")
    formula: str  # symbolic ("2 × layers × kv_heads × head_dim × bytes")
    substitution: str  # the same with numbers ("2 × 80 × 8 × 128 × 2 B")
    result: float  # in SI units of ``unit``
    unit: str  # a unit id from sizing.formatting

    def result_text(self) -> str:
        return format_quantity(self.result, self.unit)

    def as_text(self) -> str:
        return f"{self.quantity} = {self.formula} = {self.substitution} = {self.result_text()}"

    def to_dict(self) -> dict:
        return {
            "quantity": self.quantity,
            "formula": self.formula,
            "substitution": self.substitution,
            "result": self.result,
            "unit": self.unit,
            "result_text": self.result_text(),
        }


def num(value: float, unit: str = "dimensionless", **options) -> str:
    """A number inside a substitution string, formatted like every other number in the handbook."""
    return format_quantity(value, unit, **options)
