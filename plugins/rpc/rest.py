"""The suite's REST routes under ``/api/v1/suite/``, behind Freqtrade's own authentication.

Routes (all require HTTP basic auth or a JWT from ``/api/v1/token/login``, as every
Freqtrade route does; 401 without):

- ``GET regime``, ``breakers``, ``stage``, ``brief``, ``drift``: the answers' ``data``;
- ``GET journal?since=ISO&pair=&reason=&kind=&limit=``: decision-journal rows, oldest first;
- ``GET review``: an LLM review of the last 7 days (503 ``not available: <reason>`` without
  ``plugins.llm``, an API key or cassette, or a strategy compiled from a strategy tree);
- ``POST killswitch_reset`` with ``{"confirm": "CONFIRM"}``: lift the kill switch (run by
  the bot thread at its next loop; 504 when no loop runs within 30 s, e.g. a stopped bot);
- ``POST approve`` with ``{"id": "..."}``: approve a reviewed change (409 when refused: unknown
  id, nothing to approve, already approved; 422 for an id not of the shape reviews get;
  503 without ``plugins.llm``).

Freqtrade builds its FastAPI app before the strategy starts, and its UI catch-all route
``/{rest_of_path:path}`` answers every later-added path with 404; :func:`register_routes`
therefore inserts our routes into ``app.router.routes`` just before that route.

Between the API server's start and the strategy's ``bot_start`` (Freqtrade's initial pairlist
refresh, FreqAI's start: seconds), every ``/api/v1/suite/...`` path answers 503 ``starting``
with ``Retry-After`` (:func:`build_starting_router`, registered the moment Freqtrade hands the
strategy its DataProvider), not 404; the real routes replace it at ``bot_start``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from plugins.risk.journal import KINDS
from plugins.rpc.botthread import BotLoopTimeout
from plugins.rpc.llm_hooks import LlmBadInput, LlmRefused, LlmUnavailable
from plugins.rpc.selfcheck import catch_all_index, holds_route
from plugins.rpc.service import SuiteService
from plugins.rpc.status import Answer, JournalFilters

PREFIX = "/api/v1/suite"
MAX_JOURNAL_ROWS = 1000
#: Seconds a client is asked to wait (``Retry-After``) while the routes are not registered yet.
STARTING_RETRY_AFTER_S = 5


class ResetRequest(BaseModel):
    """Body of ``POST killswitch_reset``: the literal ``CONFIRM`` (a reset is a human act)."""

    model_config = ConfigDict(extra="forbid")
    confirm: Literal["CONFIRM"]


class ApproveRequest(BaseModel):
    """Body of ``POST approve``: the id of the review to approve."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)


def _data(call: Callable[[], Answer]) -> dict[str, Any]:
    try:
        return call().data
    except LlmUnavailable as err:
        raise HTTPException(status_code=503, detail=f"not available: {err}") from err
    except LlmBadInput as err:
        raise HTTPException(status_code=422, detail=str(err)) from err
    except LlmRefused as err:
        raise HTTPException(status_code=409, detail=str(err)) from err
    except BotLoopTimeout as err:
        raise HTTPException(status_code=504, detail=str(err)) from err


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None or ts.tzinfo is not None:
        return ts
    return ts.replace(tzinfo=UTC)


def build_router(service: SuiteService, auth: Callable[..., Any]) -> APIRouter:
    """The suite's routes for ``service``, each behind ``Depends(auth)`` (Freqtrade's
    ``http_basic_or_jwt_token``, which returns the user name)."""
    router = APIRouter(prefix=PREFIX, tags=["ai-suite"], dependencies=[Depends(auth)])

    @router.get("/regime")
    def regime() -> dict[str, Any]:
        return _data(service.regime)

    @router.get("/breakers")
    def breakers() -> dict[str, Any]:
        return _data(service.breakers)

    @router.get("/stage")
    def stage() -> dict[str, Any]:
        return _data(service.stage)

    @router.get("/brief")
    def brief() -> dict[str, Any]:
        return _data(service.brief)

    @router.get("/drift")
    def drift() -> dict[str, Any]:
        return _data(service.drift)

    @router.get("/review")
    def review() -> dict[str, Any]:
        return _data(service.review)

    @router.get("/journal")
    def journal(since: datetime | None = None, pair: str | None = None,
                reason: str | None = None, kind: str | None = None,
                limit: int = Query(default=100, ge=1, le=MAX_JOURNAL_ROWS)) -> dict[str, Any]:
        if kind is not None and kind not in KINDS:
            raise HTTPException(status_code=422, detail=f"kind must be one of {sorted(KINDS)}")
        filters = JournalFilters(since=_utc(since), pair=pair, reason=reason, kind=kind,
                                 limit=limit)
        return _data(lambda: service.journal(filters))

    @router.post("/killswitch_reset")
    def killswitch_reset(body: ResetRequest, user: str = Depends(auth)) -> dict[str, Any]:
        return _data(lambda: service.killswitch_reset(by=f"rest:{user}"))

    @router.post("/approve")
    def approve(body: ApproveRequest, user: str = Depends(auth)) -> dict[str, Any]:
        return _data(lambda: service.approve(body.id, by=f"rest:{user}"))

    return router


def build_starting_router(auth: Callable[..., Any]) -> APIRouter:
    """One route under ``PREFIX`` matching every path and method, behind ``Depends(auth)``,
    answering 503 ``{"detail": "starting: ..."}`` with ``Retry-After`` (seconds): what the
    API says until :func:`register_routes` puts the real routes in (it replaces this one)."""
    router = APIRouter(prefix=PREFIX, tags=["ai-suite"], dependencies=[Depends(auth)])

    def starting(rest_of_path: str) -> dict[str, Any]:
        raise HTTPException(
            status_code=503, headers={"Retry-After": str(STARTING_RETRY_AFTER_S)},
            detail="starting: the suite's routes are registered when the strategy starts "
                   "(bot_start); retry shortly")

    router.add_api_route("/{rest_of_path:path}", starting,
                         methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    return router


def _is_suite_route(route: Any) -> bool:
    return str(getattr(route, "path", "")).startswith(PREFIX)


def register_routes(app: Any, router: APIRouter) -> int:
    """Add ``router``'s routes to Freqtrade's running ``app`` before the UI catch-all route;
    routes of an earlier registration under ``PREFIX`` are replaced. Returns how many routes.

    Raises:
        RpcIntegrationError: the catch-all route is missing (``selfcheck.catch_all_index``).
    """
    routes = app.router.routes
    routes[:] = [r for r in routes if not holds_route(r, _is_suite_route)]
    count = len(routes)
    app.include_router(router)
    added = routes[count:]
    del routes[count:]
    index = catch_all_index(app)
    routes[index:index] = added
    return len(router.routes)
