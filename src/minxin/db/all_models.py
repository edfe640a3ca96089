"""Import every model module so ``Base.metadata`` knows every table (Alembic, tests)."""

from minxin.accounts import models as accounts_models  # noqa: F401
from minxin.attachments import models as attachments_models  # noqa: F401
from minxin.audit import models as audit_models  # noqa: F401
from minxin.categories import models as categories_models  # noqa: F401
from minxin.db.base import Base
from minxin.intake import models as intake_models  # noqa: F401
from minxin.integrations import models as integrations_models  # noqa: F401
from minxin.outbox import models as outbox_models  # noqa: F401
from minxin.reports import models as reports_models  # noqa: F401
from minxin.risk import models as risk_models  # noqa: F401
from minxin.routing import models as routing_models  # noqa: F401
from minxin.sla import models as sla_models  # noqa: F401
from minxin.units import models as units_models  # noqa: F401
from minxin.workorders import models as workorders_models  # noqa: F401

metadata = Base.metadata
