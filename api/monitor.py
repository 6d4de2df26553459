"""Endpoint monitoring in the public directory (registry.operations.monitoring does the work): the
state
of every endpoint members registered, each one's history, and a round of checks on demand for
the scheme operator. See docs/monitoring.md."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from api.auth import current_principal
from registry.base import iris
from registry.base.identity import Principal
from registry.operations import monitoring

router = APIRouter(tags=["Endpoint monitoring"])


@router.get("/directory/endpoints", summary="The latest check of every registered endpoint")
def endpoints(
    request: Request, principal: Principal = Depends(current_principal)
) -> list[dict[str, Any]]:
    return monitoring.reports(request.app.state.registry, principal)


@router.get("/id/endpoint/{uid}/history", summary="Every check of one endpoint, newest first")
def history(
    request: Request, uid: str, principal: Principal = Depends(current_principal)
) -> list[dict[str, Any]]:
    iri = iris.endpoint(request.app.state.settings.base_iri, uid)
    return monitoring.history(request.app.state.registry, iri, principal)


@router.post("/directory/endpoints/check", summary="Check every endpoint now (scheme operator)")
async def check_now(
    request: Request, principal: Principal = Depends(current_principal)
) -> list[dict[str, Any]]:
    return await run_in_threadpool(monitoring.check_now, request.app.state.registry, principal)
