from consignment.models import Facility


def facility_list(*, user):
    return Facility.objects.for_user(user).order_by("name")


def facility_detail_qs(*, user):
    return Facility.objects.for_user(user).prefetch_related("contacts", "reps")
