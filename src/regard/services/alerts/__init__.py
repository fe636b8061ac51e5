"""Where camera alerts go: the web app, MQTT (Home Assistant), a webhook, the desktop.

Each sink implements `regard.domain.events.EventSink` over a bounded queue and a sender
thread of its own (`delivery.QueuedSink`); `Alerts` keeps the owner's configuration and opens
them for the watcher.
"""

from regard.errors import SinkError
from regard.services.alerts.broadcast import Broadcaster, Pushed
from regard.services.alerts.delivery import QueuedSink, Retry, redact
from regard.services.alerts.desktop import DesktopSink
from regard.services.alerts.mqtt import MqttSettings, MqttSink
from regard.services.alerts.service import Alerts
from regard.services.alerts.webhook import WebhookSettings, WebhookSink, check_destination

__all__ = [
    "Alerts",
    "Broadcaster",
    "DesktopSink",
    "MqttSettings",
    "MqttSink",
    "Pushed",
    "QueuedSink",
    "Retry",
    "SinkError",
    "WebhookSettings",
    "WebhookSink",
    "check_destination",
    "redact",
]
