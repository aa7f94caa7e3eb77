"""The REST API under ``/api/v1``: the one NinjaAPI, its parser, authentication and error
handlers, and a router per domain (``*_api.py``: parse, call a domain action, render)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.parser import Parser
from ninja.types import DictStrAny

from rupor.api.auth import ApiKeyAuth, SessionWorkspaceAuth
from rupor.api.errors import ApiError, install


def _nul_in(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_nul_in(k) or _nul_in(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_nul_in(v) for v in value)
    return False


class TextParser(Parser):
    """JSON bodies without NUL characters: no database stores them (PostgreSQL refuses them
    outright), so they are refused here with a clear 400. Queries and form fields are
    :class:`rupor.core.middleware.RefuseNulMiddleware`'s."""

    def parse_body(self, request: HttpRequest) -> DictStrAny:
        data = super().parse_body(request)
        if _nul_in(data):
            raise ApiError(400, _("Text must not contain NUL characters (\\u0000)."))
        return data


api = NinjaAPI(
    parser=TextParser(),
    title="Rupor API",
    version="1",
    description=(
        "Plan, publish and measure social media from one place. Authenticate with a workspace API key "
        "(`Authorization: Bearer rpr_…`); every object belongs to the key's workspace. Every error, 4xx or 5xx, is "
        '`{"detail": "...", "errors": [{"field": "...", "message": "..."}]}` (`ErrorOut`).'
    ),
    auth=[ApiKeyAuth(), SessionWorkspaceAuth()],
    urls_namespace="api",
    docs_url="/docs",
)
install(api)

api.add_router("/", "rupor.api.workspace_api.router")  # me, members, rubrics
api.add_router("/", "rupor.api.channels_api.router")  # networks and connected channels
api.add_router("/", "rupor.api.posts_api.router")  # posts, variants and their targets
api.add_router(
    "/", "rupor.api.planning_api.router"
)  # plan: rubrics, mix, queue, approvals, import/export, iCal, media
api.add_router(
    "/", "rupor.api.inbox_api.router"
)  # inbox: comments and messages, replies, moderation, polling, webhook URL
api.add_router("/", "rupor.api.inbox_report_api.router")  # inbox: response times, business hours, alerts
api.add_router(
    "/", "rupor.api.monitoring_api.router"
)  # keyword monitoring: watched keywords, search channels, search now
api.add_router(
    "/", "rupor.api.analytics_api.router"
)  # analytics: post and channel figures, collecting, competitors
api.add_router(
    "/", "rupor.api.competitors_api.router"
)  # analytics: watched competitor pages, their comparison; keyword trends
api.add_router(
    "/", "rupor.api.publishing_api.router"
)  # publishing: target history, resolve, retry, publish anyway, health
api.add_router("/", "rupor.api.dashboard_api.router")  # analytics dashboards, what works, exports
api.add_router("/", "rupor.api.notifications_api.router")  # outgoing webhooks: register, test, delete
api.add_router("/", "rupor.api.besttime_api.router")  # analytics: best time to post, into the queue
api.add_router("/", "rupor.api.abtest_api.router")  # analytics: A/B tests
api.add_router("/", "rupor.api.giveaways_api.router")  # giveaways: rules, list, draw, verification
api.add_router("/", "rupor.api.reports_api.router")  # client reports: PDF/XLSX, commentary, email schedules
api.add_router("/", "rupor.api.links_api.router")  # tracked links: UTM conventions, short links, clicks, CSV
api.add_router("/", "rupor.api.traffic_api.router")  # tracked links' site traffic: Metrica and GA4 sources
api.add_router("/", "rupor.api.newsletters_api.router")  # newsletters: lists, imports, sends, figures
api.add_router("/", "rupor.api.audit_api.router")  # the audit trail: filtered pages and CSV
api.add_router(
    "/", "rupor.api.smo_api.router"
)  # SMO kit: share buttons, community widgets, link-preview check
api.add_router("/", "rupor.api.operations_api.router")  # operations: workers, queues, lag, errors, disk
