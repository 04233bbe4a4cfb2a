from django.urls import path

from himaya.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.case_list, name="index"),
    path("mine/", views.my_work, name="my_work"),
    path("open/", views.case_open, name="open"),
    path("<id:case_id>/", views.case_detail, name="detail"),
    path("<id:case_id>/status/", views.case_status, name="status"),
    path("<id:case_id>/assign/", views.case_assign, name="assign"),
    path("<id:case_id>/reports/", views.case_add_reports, name="add_reports"),
    path("<id:case_id>/merge/", views.case_merge, name="merge"),
    path("<id:case_id>/notes/", views.case_note, name="note"),
    path("<id:case_id>/tasks/", views.task_create, name="task_create"),
    path("tasks/<id:task_id>/status/", views.task_status, name="task_status"),
    path("<id:case_id>/victims/", views.victim_create, name="victim_create"),
    path("victims/<id:victim_id>/", views.victim_update, name="victim_update"),
    path("victims/<id:victim_id>/referrals/", views.referral_create, name="referral_create"),
    path("referrals/<id:referral_id>/state/", views.referral_move, name="referral_move"),
    path("<id:case_id>/suspects/", views.suspect_create, name="suspect_create"),
    path("<id:case_id>/suspects/from-party/", views.suspect_from_party, name="suspect_from_party"),
    path("suspects/<id:suspect_id>/status/", views.suspect_status, name="suspect_status"),
    path("<id:case_id>/legal/", views.legal_create, name="legal_create"),
    path("legal/<id:request_id>/answer/", views.legal_answer, name="legal_answer"),
    path("legal/<id:request_id>/document/", views.legal_document, name="legal_document"),
    path("<id:case_id>/deadline/", views.case_deadline, name="deadline"),
    path("<id:case_id>/attachments/", views.attachment_upload, name="attachment_upload"),
    path("attachments/<id:attachment_id>/", views.attachment_download, name="attachment_download"),
    path("<id:case_id>/timeline.csv", views.timeline_csv, name="timeline_csv"),
    path("<id:case_id>/timeline/", views.timeline_print, name="timeline_print"),
]
