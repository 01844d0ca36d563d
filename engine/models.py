"""Import every table module so that ``Base.metadata`` is complete (migrations, tests)."""

from engine import accounts  # noqa: F401
from engine.workflow import models as workflow_models  # noqa: F401
from engine.workflow import sla  # noqa: F401
from engine.workflow import sla_stats  # noqa: F401
from engine.casework import models as casework_models  # noqa: F401
from engine.casework import funds, payments, referrals  # noqa: F401
from engine.casework import signals  # noqa: F401
from engine.casework import monitoring  # noqa: F401
from engine.casework import regions  # noqa: F401
from engine.casework.documents import models as document_models  # noqa: F401
from engine.casework.benefits import models as benefits_models  # noqa: F401
from engine.casework.public import models as public_models  # noqa: F401
