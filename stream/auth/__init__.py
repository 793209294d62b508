"""Staff accounts, login sessions, roles and CSRF protection.

For other parts of the platform (chat moderation, Q&A, the stage view) the whole API is in
:mod:`stream.auth.guard`::

    identity = await guard.current_identity(request)            # Identity | None
    identity = await guard.require_role(request, Role.ADMIN)    # 401 / 403 otherwise
    identity = await guard.require_session_permission(request, session_id, Permission.MODERATE)
    await guard.check_csrf(request, form.get(guard.CSRF_FIELD)) # for a form POST

and :class:`stream.common.grants.Identity` answers ``may(permission, session_id, arranger_id)``.
"""
