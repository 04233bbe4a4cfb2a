"""/portal/: Arabic at the root, English under /portal/en/ (no language cookie)."""
from django.urls import path, re_path

from himaya.portal import views

app_name = "portal"


def _page(route: str, view, name: str):  # type: ignore[no-untyped-def]
    return re_path(rf"^(?:(?P<lang>en)/)?{route}$", view, name=name)


urlpatterns = [
    _page("", views.home, "home"),
    _page(r"advice/(?P<topic>[a-z-]+)/", views.advice, "advice"),
    _page("report/", views.report, "report"),
    _page("follow-up/", views.follow_up, "follow_up"),
    _page("follow-up/reply/", views.reply, "reply"),
    path("staff/<id:report_id>/", views.staff_thread, name="staff_thread"),
    path("staff/<id:report_id>/reply/", views.staff_reply, name="staff_reply"),
    path("staff/<id:report_id>/contact/", views.staff_contact, name="staff_contact"),
]
