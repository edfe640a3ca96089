"""Attachments: on-site photos and callback recordings, checked by content and stored by hash."""
