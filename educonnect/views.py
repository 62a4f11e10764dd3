from django.shortcuts import render


def csrf_failure(request, reason=""):
    """A French page instead of Django's English one; the reason is not shown to the user."""
    return render(request, "errors/csrf.html", status=403)


def permission_denied(request, exception):
    """A French page instead of Django's « 403 Forbidden » (issue 16 §5)."""
    return render(request, "errors/403.html", status=403)


def page_not_found(request, exception):
    return render(request, "errors/404.html", status=404)


def server_error(request):
    return render(request, "errors/500.html", status=500)
