from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def my_services(request):
    return render(request, "services_portal/my_services.html", {"page_title": "Mes services"})
