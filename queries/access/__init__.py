"""Access control: local accounts, roles and sign-in (accounts) and the audit log (audit)."""

from queries.access.accounts import AuthError, User, authenticate, get_user, list_users

__all__ = ["AuthError", "User", "authenticate", "get_user", "list_users"]
