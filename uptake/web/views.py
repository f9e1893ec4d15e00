from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

login_view = auth_views.LoginView.as_view(template_name="web/login.html")
logout_view = auth_views.LogoutView.as_view()


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Uptake")
