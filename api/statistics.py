"""``/statistics``: registered flexible capacity, as the registry keeps it (no scan)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(tags=["Statistics"])


@router.get("/statistics", summary="Registered flexible capacity by technology, area and status")
def statistics(request: Request) -> dict[str, Any]:
    """Assets, import and export capacity (kW) and energy (kWh) of the registered flexible
    assets by technology, GSP group and lifecycle status, and the records held by type. Kept
    current by every write, so this never reads the assets themselves."""
    registry = request.app.state.registry
    return {"capacity": registry.capacity_statistics(), "records": registry.counts()}
