"""Who is asking and what they may do: passwords, tokens, API keys, permissions.

Public: :class:`~conveyor.auth.service.AuthService` (log in, refresh, authenticate,
keys, users) and :class:`~conveyor.auth.permissions.Principal` (the result of
authentication, with ``can(permission)``).
"""

from conveyor.auth.permissions import Principal

__all__ = ["Principal"]
