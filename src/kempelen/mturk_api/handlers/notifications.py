"""Notifications: UpdateNotificationSettings, SendTestEventNotification."""

from __future__ import annotations

from kempelen.notifications import settings_actions

from ..context import Call


def update_notification_settings(call: Call, p: dict) -> dict:
    settings_actions.set_notification(
        actor=call.actor, requester=call.requester, environment=call.environment, hit_type_id=p["HITTypeId"],
        notification=p.get("Notification"), active=p.get("Active"),
    )
    return {}


def send_test_event_notification(call: Call, p: dict) -> dict:
    settings_actions.send_test_event(
        actor=call.actor, requester=call.requester, environment=call.environment,
        notification=p["Notification"], test_event_type=p["TestEventType"],
    )
    return {}
