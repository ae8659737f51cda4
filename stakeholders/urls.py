from django.urls import path

from stakeholders import views

app_name = "stakeholders"

urlpatterns = [
    path("", views.AgencyListView.as_view(), name="agency_list"),
    path("new/", views.agency_create_view, name="agency_create"),
    path("import/", views.agency_import_view, name="agency_import"),
    path("districts/", views.district_options_view, name="district_options"),
    path("pincode/", views.pincode_hint_view, name="pincode_hint"),
    path("<int:pk>/", views.agency_detail_view, name="agency_detail"),
    path("<int:pk>/edit/", views.agency_edit_view, name="agency_edit"),
    path("<int:pk>/beds/", views.agency_free_beds_view, name="agency_free_beds"),
    path("<int:pk>/members/", views.agency_members_view, name="agency_members"),
    path("<int:pk>/members/<int:membership_pk>/", views.membership_change_view, name="membership_change"),
    path("<int:pk>/partnerships/new/", views.partnership_add_view, name="partnership_add"),
]
