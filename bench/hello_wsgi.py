"""The product's WSGI app plus `/bench/bonjour/`, a hello-world view that loads the session
(it reads `request.user`, as « Mes services » does): the floor of a Django page that knows
who is signed in, on the same server (bench_my_services.py). Never deployed."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()

from django.http import HttpResponse  # noqa: E402
from django.urls import clear_url_caches, path  # noqa: E402

import educonnect.urls  # noqa: E402


def hello(request):
    name = request.user.first_name if request.user.is_authenticated else "inconnu"
    return HttpResponse(f"Bonjour {name}")


educonnect.urls.urlpatterns.insert(0, path("bench/bonjour/", hello))
clear_url_caches()
