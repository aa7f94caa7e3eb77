"""One error shape for every API failure: ``{"detail": str, "errors": [{"field", "message"}]}``.

:class:`ErrorOut` is that shape in the OpenAPI document (every operation lists :data:`ERRORS`);
:func:`install` renders every refusal in it, and :class:`ErrorShapeMiddleware` gives it to the
answers that no API view wrote (an unknown address, a method not allowed, a server error).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from rupor.core.errors import DomainError

API_PREFIX = "/api/"


class ErrorItem(Schema):
    field: str | None
    message: str


class ErrorOut(Schema):
    """Every 4xx and 5xx answer of the API: what went wrong, and per field where one is to blame."""

    detail: str
    errors: list[ErrorItem] = []


#: The error answers every operation documents, all in the one shape.
ERRORS: dict[int, Any] = dict.fromkeys((400, 401, 403, 404, 405, 409, 413, 422, 429, 500, 502), ErrorOut)


class ApiError(Exception):
    def __init__(self, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field


def body(detail: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"detail": detail, "errors": errors or []}


def _field_of(loc: Any) -> str:
    parts = [str(p) for p in (loc or []) if p not in ("body", "payload", "query", "path")]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def install(api: NinjaAPI) -> None:
    @api.exception_handler(ValidationError)
    def validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = []
        for err in exc.errors:
            message = str(err.get("msg", "Invalid value."))
            message = message.removeprefix("Value error, ")
            errors.append({"field": _field_of(err.get("loc")), "message": message})
        return api.create_response(request, body("The request is not valid.", errors), status=422)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, _exc: AuthenticationError) -> HttpResponse:
        return api.create_response(
            request,
            body("Authentication required: send 'Authorization: Bearer <API key>' or log in."),
            status=401,
        )

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, _exc: Http404) -> HttpResponse:
        return api.create_response(request, body("Not found."), status=404)

    @api.exception_handler(OverflowError)
    def out_of_range(request: HttpRequest, _exc: OverflowError) -> HttpResponse:
        # An id beyond what the database can hold names nothing that exists.
        return api.create_response(request, body("A number in the request is out of range."), status=400)

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, _exc: RequestDataTooBig) -> HttpResponse:
        return api.create_response(request, body("The request body is too large."), status=413)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if isinstance(exc.__cause__, ApiError):  # our parser's refusal, wrapped by django-ninja
            return api_error(request, exc.__cause__)
        return api.create_response(
            request, body(str(exc.message) if hasattr(exc, "message") else str(exc)), status=exc.status_code
        )

    @api.exception_handler(ApiError)
    def api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        errors = [{"field": exc.field, "message": exc.detail}] if exc.field else []
        return api.create_response(request, body(exc.detail, errors), status=exc.status)

    def domain(request: HttpRequest, exc: Any) -> HttpResponse:
        errors = [{"field": p.field, "message": p.message} for p in getattr(exc, "errors", [])]
        if not errors and exc.field:
            errors = [{"field": exc.field, "message": exc.message}]
        return api.create_response(request, body(exc.message, errors), status=exc.status)

    api.add_exception_handler(DomainError, domain)


#: What an answer that no API view wrote says (by status), in the one error shape.
_PLAIN_DETAIL = {
    404: "Not found.",
    405: "Method not allowed.",
    500: "Internal error: the request failed on the server (it is logged).",
}


class ErrorShapeMiddleware:
    """Answers under ``/api/`` that no API view shaped — an unknown address (404), a method the
    address does not take (405, with ``Allow``), Django's server error page (500) or any other
    non-JSON error — are given the one error shape, so a client never parses HTML or plain text."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith(API_PREFIX)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        detail = _PLAIN_DETAIL.get(response.status_code) or f"{response.reason_phrase}."
        if response.status_code == 405 and response.has_header("Allow"):
            detail = f"Method not allowed here; this address takes {response['Allow']}."
        shaped = JsonResponse(body(detail), status=response.status_code)
        for name, value in response.items():  # Allow, Retry-After, Vary, … (not the body's own)
            if name.lower() not in ("content-type", "content-length"):
                shaped[name] = value
        shaped.cookies = response.cookies
        return shaped
