"""``/statistics``: registered flexible capacity, as the registry keeps it (no scan)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from api.auth import current_principal
from registry.base.identity import Principal
from registry.publishing.disclosure import capacity_for

router = APIRouter(tags=["Statistics"])


@router.get("/statistics", summary="Registered flexible capacity by technology, area and status")
def statistics(
    request: Request, principal: Principal = Depends(current_principal)
) -> dict[str, Any]:
    """Assets, import and export capacity (kW) and energy (kWh) of the registered flexible
    assets by technology, GSP group and lifecycle status, and the records held by type. Kept
    current by every write, so this never reads the assets themselves. Cells of fewer than
    ``disclosure_threshold`` assets (default 5) are merged into ``(other)`` cells or suppressed,
    except for the scheme operator, and the asset count is then the published cells' sum. A
    member also gets ``visible``: the exact cells of the assets it may read (its own, those it
    operates, those shared with it under an agreement)."""
    registry = request.app.state.registry
    return capacity_for(registry, principal)
