from django.urls import path

from himaya.exchange import views

app_name = "exchange"
urlpatterns = [
    path("partners/", views.partners, name="partners"),
    path("partners/add/", views.partner_create, name="partner_add"),
    path("key/", views.key_export, name="key_export"),
    path("referrals/", views.referrals, name="referrals"),
    path("referrals/import/", views.import_package, name="import"),
    path("referrals/<int:pk>/ack/", views.acknowledge, name="ack"),
    path("referrals/<int:pk>/outcome/", views.outcome, name="outcome"),
    path("refer/", views.refer, name="refer"),
]
