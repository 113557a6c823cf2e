from django.shortcuts import render

from accounts.decorators import member_required


@member_required
def home(request):
    return render(request, "accounts/home.html")

