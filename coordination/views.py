from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from stakeholders.models import Agency, District, State


@login_required
def home(request):
    return render(request, "coordination/home.html", {})


@require_GET
def about(request):
    context = {
        "states": State.objects.count(),
        "districts": District.objects.count(),
        "agencies": Agency.objects.filter(active=True).count(),
    }
    return render(request, "coordination/about.html", context)


@require_GET
def healthz(request):
    """For load balancers: the app answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
