"""Import every table module so that ``Base.metadata`` is complete (migrations, tests)."""

from engine import accounts  # noqa: F401
from engine.workflow import models as workflow_models  # noqa: F401
from engine.workflow import sla  # noqa: F401
