from django.contrib.auth import logout
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST


def profile_choice(request):
    context = {"page_title": "Je sélectionne mon profil"}
    return render(request, "accounts/profile_choice.html", context)


@require_POST
def logout_view(request):
    logout(request)
    return redirect("accounts:profile_choice")
