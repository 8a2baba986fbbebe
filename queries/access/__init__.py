"""Access control: local accounts, roles and sign-in (accounts) and the audit log (audit)."""

from queries.access.accounts import get_user, list_users
from queries.access.common import AuthError, User
from queries.access.signin import authenticate

__all__ = ["AuthError", "User", "authenticate", "get_user", "list_users"]
