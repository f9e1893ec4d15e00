from __future__ import annotations

from ninja import Router

router = Router()
me_router = Router()
