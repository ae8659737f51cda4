from django.urls import path

from referrals import views

app_name = "referrals"

urlpatterns = [
    path("", views.InboxView.as_view(), name="inbox"),
    path("sent/", views.SentView.as_view(), name="sent"),
    path("review/", views.ReviewView.as_view(), name="review"),
    path("new/", views.referral_create_view, name="referral_create"),
    path("agencies/", views.agency_options_view, name="agency_options"),
    path("audit/", views.AuditLogView.as_view(), name="audit_log"),
    path("r/<str:reference>/", views.referral_detail_view, name="referral_detail"),
    path("r/<str:reference>/reroute/", views.referral_reroute_view, name="referral_reroute"),
    path("r/<str:reference>/shares/", views.referral_share_view, name="referral_share"),
    path("r/<str:reference>/shares/<int:agency_pk>/revoke/", views.referral_share_revoke_view, name="referral_share_revoke"),
    path("r/<str:reference>/<slug:action>/", views.referral_action_view, name="referral_action"),
    path("cases/<str:code>/", views.case_detail_view, name="case_detail"),
    path("cases/<str:code>/refer/", views.referral_create_view, name="case_refer"),
    path("cases/<str:code>/identity/", views.case_identity_view, name="case_identity"),
    path("cases/<str:code>/identity/edit/", views.case_identity_edit_view, name="case_identity_edit"),
    path("cases/<str:code>/age/", views.case_age_view, name="case_age"),
    path("cases/<str:code>/consents/new/", views.consent_add_view, name="consent_add"),
    path("cases/<str:code>/consents/<int:pk>/withdraw/", views.consent_withdraw_view, name="consent_withdraw"),
    path("cases/<str:code>/shares/", views.case_share_view, name="case_share"),
    path("cases/<str:code>/shares/<int:agency_pk>/revoke/", views.case_share_revoke_view, name="case_share_revoke"),
]
