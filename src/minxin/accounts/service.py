"""Use cases for accounts: create users, authenticate, build principals, the token key."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from minxin.accounts import repository
from minxin.accounts.models import User
from minxin.accounts.passwords import MIN_PASSWORD_LENGTH, hash_password, needs_rehash, verify_password
from minxin.accounts.principal import Principal
from minxin.core.vocabulary import Role
from minxin.errors import Conflict, Invalid, NotFound, Unauthorized
from minxin.units import repository as units_repository

SECRET_KEY_SETTING = "auth.secret_key"


def principal_of(user: User) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        unit_id=user.unit_id,
        unit_code=user.unit.code,
        unit_path=user.unit.path,
    )


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        raise Invalid(
            f"未知角色：{value}",
            f"Unknown role '{value}'; use one of {', '.join(r.value for r in Role)}",
            code="user.unknown_role",
        ) from exc


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    unit_code: str,
    now: datetime,
    display_name: str | None = None,
) -> User:
    username = username.strip()
    if not username or len(username) > 64:
        raise Invalid("用户名不能为空且不超过64个字符", "Username must be 1-64 characters", code="user.bad_username")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            f"密码至少{MIN_PASSWORD_LENGTH}位",
            f"Password must be at least {MIN_PASSWORD_LENGTH} characters",
            code="user.weak_password",
        )
    parsed_role = parse_role(role)
    unit = units_repository.get_by_code(session, unit_code)
    if unit is None:
        raise NotFound(f"单位不存在：{unit_code}", f"Unknown unit '{unit_code}'", code="unit.not_found")
    if repository.get_by_username(session, username) is not None:
        raise Conflict(f"用户名已存在：{username}", f"Username '{username}' is taken", code="user.exists")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=parsed_role.value,
        unit_id=unit.id,
        unit=unit,
        active=True,
        token_version=0,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            f"密码至少{MIN_PASSWORD_LENGTH}位",
            f"Password must be at least {MIN_PASSWORD_LENGTH} characters",
            code="user.weak_password",
        )
    user.password_hash = hash_password(password)
    user.token_version += 1


def update_user(
    session: Session,
    username: str,
    *,
    role: str | None = None,
    unit_code: str | None = None,
    display_name: str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> tuple[User, list[str]]:
    """Change a user; returns the user and the names of the fields that changed.

    Invariant: a new role, unit, deactivation or password bumps ``token_version``, which ends
    the user's sessions and tokens everywhere (the caller also drops cached principals).
    """
    user = repository.get_by_username(session, username)
    if user is None:
        raise NotFound(f"用户不存在：{username}", f"No user '{username}'", code="user.not_found")
    changed: list[str] = []
    if role and role != user.role:
        user.role = parse_role(role).value
        user.token_version += 1
        changed.append("role")
    if unit_code and unit_code != user.unit.code:
        unit = units_repository.get_by_code(session, unit_code)
        if unit is None:
            raise NotFound(f"单位不存在：{unit_code}", f"Unknown unit '{unit_code}'", code="unit.not_found")
        user.unit_id, user.unit = unit.id, unit
        user.token_version += 1
        changed.append("unit")
    if display_name and display_name != user.display_name:
        user.display_name = display_name[:100]
        changed.append("display_name")
    if active is not None and active != user.active:
        user.active = active
        user.token_version += 1
        changed.append("active")
    if password:
        set_password(session, user, password)
        changed.append("password")
    return user, changed


def authenticate(session: Session, username: str, password: str) -> User:
    """Check a username and password. The error does not say which of the two was wrong."""
    user = repository.get_by_username(session, username)
    if user is None or not user.active or not verify_password(user.password_hash, password):
        raise Unauthorized("用户名或密码错误", "Wrong username or password", code="auth.bad_credentials")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def load_principal(session: Session, user_id: int, token_version: int) -> Principal:
    user = repository.get(session, user_id)
    if user is None or not user.active or user.token_version != token_version:
        raise Unauthorized("登录已失效，请重新登录", "Session no longer valid", code="auth.revoked")
    return principal_of(user)


def ensure_secret_key(session: Session) -> str:
    """The token signing key shared by every process: generated once, kept in the database."""
    key = repository.get_setting(session, SECRET_KEY_SETTING)
    if key is None:
        key = secrets.token_urlsafe(48)
        repository.put_setting(session, SECRET_KEY_SETTING, key)
    return key
