from django.shortcuts import render

from accounts.decorators import permission_required


@permission_required("view_inventory")
def home(request):
    return render(request, "accounts/home.html")

