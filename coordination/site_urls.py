"""The steering committee's pages (impact, AHTU returns, trainings, action items) under the `coordination` namespace."""

from django.urls import path

from coordination import views

app_name = "coordination"

urlpatterns = [
    path("impact/", views.impact_view, name="impact"),
    path("returns/", views.ReturnListView.as_view(), name="return_list"),
    path("returns/tracker/", views.return_tracker_view, name="return_tracker"),
    path("returns/new/", views.return_create_view, name="return_create"),
    path("returns/import/", views.return_import_view, name="return_import"),
    path("returns/<int:pk>/", views.return_detail_view, name="return_detail"),
    path("returns/<int:pk>/edit/", views.return_edit_view, name="return_edit"),
    path("returns/<int:pk>/submit/", views.return_submit_view, name="return_submit"),
    path("returns/<int:pk>/review/", views.return_review_view, name="return_review"),
    path("trainings/", views.TrainingListView.as_view(), name="training_list"),
    path("trainings/new/", views.training_create_view, name="training_create"),
    path("trainings/<int:pk>/", views.training_detail_view, name="training_detail"),
    path("trainings/<int:pk>/edit/", views.training_edit_view, name="training_edit"),
    path("meetings/", views.meeting_list_view, name="meeting_list"),
    path("meetings/new/", views.meeting_create_view, name="meeting_create"),
    path("meetings/<int:pk>/", views.meeting_detail_view, name="meeting_detail"),
    path("actions/", views.ActionItemListView.as_view(), name="action_list"),
    path("actions/<int:pk>/", views.action_item_detail_view, name="action_item_detail"),
]
