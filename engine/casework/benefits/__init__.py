"""Benefits in payment (社会化发放): entitlements from confirmed decisions, monthly payment cycles per
county, the bank's payment and result files, reconciliation, and the figures the dashboard shows.

``docs/benefits.md`` describes the model, the cycle states, the file layouts and the rules.
"""

from engine.casework.benefits.figures import figures

__all__ = ["figures"]
