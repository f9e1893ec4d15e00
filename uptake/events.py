"""The whole reactive graph on one screen: domain event -> handlers (run on commit, in order).

Handlers are one service call each; slow or external work is enqueued as a task.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SUBSCRIPTIONS: dict[type, list[Callable[[Any], None]]] = {}
