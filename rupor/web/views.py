from django.http import HttpRequest, HttpResponse


def dashboard(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Rupor")


def login(request: HttpRequest) -> HttpResponse:
    return HttpResponse("login")
