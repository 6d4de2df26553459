"""Telling members: Linked Data Notifications inboxes (post, read, acknowledge, reminders)
and webhooks that POST each notification, signed, with retries.
"""
