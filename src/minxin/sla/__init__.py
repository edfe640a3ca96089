"""SLA engine wired into work orders: the official calendar in the database, SLA policies, every
order's stored deadlines (recomputed by work-order hooks), the warning/overdue scanner, the admin
API and the ``minxin calendar`` / ``minxin sla`` commands. The maths lives in ``minxin.core``
(``calendar``, ``deadline``, ``sla``); this package loads its inputs and stores its results.
See ``docs/sla.md``.
"""
