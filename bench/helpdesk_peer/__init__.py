"""The django-helpdesk peer for ``bench/intake_bench.py``.

django-helpdesk is installed from PyPI into its **own** virtualenv (outside this repository,
``/work/bench-venvs/helpdesk`` by default, created on first use), a minimal Django project is
written into a temporary folder at run time, migrated, seeded (a queue, three staff users with
DRF tokens) and served by gunicorn. Nothing from the peer is imported into minxin's interpreter:
the bench talks to it over HTTP only.
"""

from helpdesk_peer.peer import PEER_REQUIREMENTS, HelpdeskPeer, ensure_venv

__all__ = ["PEER_REQUIREMENTS", "HelpdeskPeer", "ensure_venv"]
