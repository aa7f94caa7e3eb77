from django.urls import path

from rupor.web import calendar_views, plan_views, publishing_views, views

app_name = "web"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("invitations/<str:token>/", views.accept_invitation, name="invitation"),
    path("profile/", views.profile, name="profile"),
    path("workspaces/new/", views.workspace_new, name="workspace_new"),
    path("workspaces/switch/", views.workspace_switch, name="workspace_switch"),
    path("settings/", views.workspace_settings, name="workspace_settings"),
    path("members/", views.members, name="members"),
    path("members/invite/", views.member_invite, name="member_invite"),
    path("members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("channels/", views.channel_list, name="channels"),
    path("channels/connect/<str:network>/", views.channel_connect, name="channel_connect"),
    path("channels/<int:channel_id>/edit/", views.channel_edit, name="channel_edit"),
    path("channels/<int:channel_id>/remove/", views.channel_remove, name="channel_remove"),
    path("posts/", views.post_list, name="posts"),
    path("posts/new/", views.post_new, name="post_new"),
    path("posts/check/", views.post_check, name="post_check"),
    path("posts/<int:post_id>/edit/", views.post_edit, name="post_edit"),
    path("posts/<int:post_id>/delete/", views.post_delete, name="post_delete"),
    path("posts/media/", views.post_media_library, name="post_media_library"),
    path("posts/media/upload/", views.post_media_upload, name="post_media_upload"),
    path("posts/<int:post_id>/review/", views.post_review, name="post_review"),
    path("posts/<int:post_id>/client-link/", views.post_client_link, name="post_client_link"),
    *calendar_views.urlpatterns,
    *plan_views.urlpatterns,
    *publishing_views.urlpatterns,
]
