from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from accounts.decorators import permission_required
from consignment import selectors
from consignment.models import ParLevel


@permission_required("view_facilities")
def facility_list(request):
    page = Paginator(selectors.facility_list(user=request.user), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "consignment/facility_list.html", {"page": page})


@permission_required("view_facilities")
def facility_detail(request, pk: int):
    facility = get_object_or_404(selectors.facility_detail_qs(user=request.user), pk=pk)
    par_levels = (
        ParLevel.objects.for_user(request.user)
        .filter(facility=facility)
        .select_related("product")
        .order_by("product__reference")
    )
    return render(
        request,
        "consignment/facility_detail.html",
        {"facility": facility, "par_levels": par_levels},
    )
