from django.urls import path

from himaya.cases.api import views

urlpatterns = [
    path("cases/", views.CaseListView.as_view(), name="api-cases"),
    path("cases/<id:case_id>/", views.CaseDetailView.as_view(), name="api-case"),
    path("cases/<id:case_id>/status/", views.CaseStatusView.as_view(), name="api-case-status"),
    path("cases/<id:case_id>/assign/", views.CaseAssignView.as_view(), name="api-case-assign"),
    path("cases/<id:case_id>/merge/", views.CaseMergeView.as_view(), name="api-case-merge"),
    path("cases/<id:case_id>/reports/", views.CaseReportsView.as_view(), name="api-case-reports"),
    path("cases/<id:case_id>/notes/", views.CaseNotesView.as_view(), name="api-case-notes"),
    path("cases/<id:case_id>/tasks/", views.CaseTasksView.as_view(), name="api-case-tasks"),
    path("cases/<id:case_id>/legal-requests/", views.CaseLegalRequestsView.as_view(), name="api-case-legal-requests"),
    path("cases/<id:case_id>/deadline/", views.CaseDeadlineView.as_view(), name="api-case-deadline"),
    path("cases/<id:case_id>/attachments/", views.CaseAttachmentsView.as_view(), name="api-case-attachments"),
    path("attachments/<id:attachment_id>/", views.AttachmentDetailView.as_view(), name="api-attachment"),
    path("attachments/<id:attachment_id>/content/", views.AttachmentContentView.as_view(), name="api-attachment-content"),
    path("tasks/<id:task_id>/", views.TaskDetailView.as_view(), name="api-task"),
    path("legal-requests/<id:request_id>/", views.LegalRequestDetailView.as_view(), name="api-legal-request"),
    path("legal-requests/<id:request_id>/answer/", views.LegalRequestAnswerView.as_view(), name="api-legal-request-answer"),
    path("victims/", views.VictimCreateView.as_view(), name="api-victims"),
    path("victims/<id:victim_id>/", views.VictimDetailView.as_view(), name="api-victim"),
    path("victims/<id:victim_id>/referrals/", views.VictimReferralsView.as_view(), name="api-victim-referrals"),
    path("referrals/<id:referral_id>/state/", views.ReferralStateView.as_view(), name="api-referral-state"),
    path("suspects/", views.SuspectCreateView.as_view(), name="api-suspects"),
    path("suspects/<id:suspect_id>/", views.SuspectDetailView.as_view(), name="api-suspect"),
]
