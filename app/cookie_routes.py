"""HTTP routes next to Streamlit: the HttpOnly session cookie (page scripts cannot set headers)
and the health checks (liveness, readiness)."""

from __future__ import annotations

import asyncio
import json

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.config import get_settings
from core.db import session_scope
from core.services.auth import COOKIE_NAME, end_session, exchange_ticket
from core.services.health import Readiness, readiness

SESSION_PATH = "/gatehouse/session"
LOGOUT_PATH = "/gatehouse/logout"
HEALTH_PATH = "/gatehouse/health"
READINESS_TIMEOUT = 5.0
NO_ANSWER = f"The database did not answer within {READINESS_TIMEOUT:g} s."


def _same_origin(request: Request) -> bool:
    # A cross-site page must not be able to sign a browser in or out (login CSRF).
    origin = request.headers.get("origin")
    return origin is None or origin.split("://", 1)[-1] == request.headers.get("host")


async def open_session(request: Request) -> Response:
    """Swap the one-time ticket from the sign-in page for the signed, HttpOnly session cookie."""
    if not _same_origin(request):
        return JSONResponse({"error": "cross-origin request refused"}, status_code=403)
    try:
        ticket = json.loads(await request.body()).get("ticket", "")
    except (ValueError, AttributeError):
        ticket = ""
    if not isinstance(ticket, str) or not ticket:
        return JSONResponse({"error": "ticket missing"}, status_code=400)
    with session_scope() as session:
        cookie = exchange_ticket(session=session, ticket=ticket)
    if cookie is None:
        return JSONResponse({"error": "ticket unknown, used or expired"}, status_code=403)
    response = Response(status_code=204)
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        max_age=int(get_settings().session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


async def close_session(request: Request) -> Response:
    """Revoke the session behind the cookie and delete the cookie."""
    if not _same_origin(request):
        return JSONResponse({"error": "cross-origin request refused"}, status_code=403)
    with session_scope() as session:
        end_session(session=session, cookie=request.cookies.get(COOKIE_NAME, ""))
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return response


async def live(_request: Request) -> Response:
    """Liveness: the process answers (a supervisor restarts it when this fails)."""
    return JSONResponse({"status": "alive"})


async def ready(_request: Request) -> Response:
    """Readiness: the database is reachable and at this code's schema revision (else 503)."""
    try:
        state = await asyncio.wait_for(run_in_threadpool(readiness), READINESS_TIMEOUT)
    except TimeoutError:
        state = Readiness.unreachable(NO_ANSWER)
    except Exception as err:  # whatever the driver raised: not ready, and say why
        state = Readiness.unreachable(f"{type(err).__name__}: {err}")
    return JSONResponse(state.to_dict(), status_code=200 if state.ready else 503)


ROUTES = [
    Route(SESSION_PATH, open_session, methods=["POST"]),
    Route(LOGOUT_PATH, close_session, methods=["POST"]),
    Route(HEALTH_PATH, ready, methods=["GET"]),
    Route(f"{HEALTH_PATH}/ready", ready, methods=["GET"]),
    Route(f"{HEALTH_PATH}/live", live, methods=["GET"]),
]
