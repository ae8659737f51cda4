from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from coordination import views

urlpatterns = [
    path("", views.home, name="home"),
    path("about/", views.about, name="about"),
    path("healthz/", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("agencies/", include("stakeholders.urls")),
    path("referrals/", include("referrals.urls")),
    path("analysis/", include("mapping.urls")),
    path("steering/", include("coordination.site_urls")),
    path("admin/", admin.site.urls),
]
