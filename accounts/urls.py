"""Dashboard URLs of the accounts app (sign-in and sign-up are allauth's, under /accounts/; the API
keys page is billing's)."""

from django.urls import path

from . import team_views, views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("settings/api-keys/<int:key_id>/revoke", views.api_key_revoke_view, name="api-key-revoke"),
    path("settings/tenant/", views.tenant_switch, name="tenant-switch"),
    path("settings/mode/", views.mode_switch, name="mode-switch"),
    path("settings/team/", team_views.team, name="team"),
    path("settings/team/invite", team_views.invite, name="team-invite"),
    path("settings/team/invitations/<int:invitation_id>/withdraw", team_views.invitation_withdraw,
         name="team-invitation-withdraw"),
    path("settings/team/members/<int:membership_id>/role", team_views.member_role, name="team-member-role"),
    path("settings/team/members/<int:membership_id>/remove", team_views.member_remove, name="team-member-remove"),
    path("settings/team/members/<int:membership_id>/transfer", team_views.transfer, name="team-transfer"),
    path("settings/team/rename", team_views.rename, name="team-rename"),
    path("settings/team/leave", team_views.leave, name="team-leave"),
    path("settings/team/delete", team_views.delete, name="team-delete"),
    path("settings/team/audit/", team_views.audit, name="team-audit"),
    path("invitations/<str:token>/", team_views.invitation, name="invitation"),
]
