"""The demo's key personas: fixed userids, roles and credentials derived from the seed.

Credentials are deterministic so the README can print them; they are demo secrets, never
to be reused on a real tenant.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

DEFAULT_SEED = 20261125


@dataclass(frozen=True)
class Persona:
    userid: str
    name: str
    title: str
    department: str  # name of the department the persona sits in (unique in the demo tree)
    leads: bool = False  # the persona leads that department
    role: str | None = None
    rank: str | None = None
    story: str = ""


PERSONAS: tuple[Persona, ...] = (
    Persona("zhangwei", "张伟", "总经理", "星河科技有限公司", leads=True, role="super_admin", rank="primary", story="primary super admin, created with the enterprise"),
    Persona("lina", "李娜", "副总经理", "职能中心", leads=True, role="super_admin", rank="backup", story="backup super admin (AB role)"),
    Persona("wangfang", "王芳", "人力资源总监", "人力资源部", leads=True, role="hr", story="HR: starts exits, signs off HR items"),
    Persona("liuyang", "刘洋", "IT经理", "信息技术部", leads=True, role="it", story="IT: handover, devices, signs off IT items"),
    Persona("chenjing", "陈静", "销售总监", "华东销售部", leads=True, story="sales director who owns customers, groups, documents, approvals and an app"),
    Persona("zhaolei", "赵磊", "销售经理", "华东销售部", story="sales manager reporting to chenjing, her natural successor"),
    Persona("sunli", "孙丽", "法务经理", "法务合规部", leads=True, story="the only member of her department"),
)

PERSONA_BY_USERID = {p.userid: p for p in PERSONAS}
PRIMARY_ADMIN = PERSONAS[0]


def password_for(userid: str, seed: int = DEFAULT_SEED) -> str:
    return f"Demo-{userid}-{seed}"


def totp_secret_for(userid: str, seed: int = DEFAULT_SEED) -> str:
    """32 base32 characters (160 bits, the RFC 4226 recommendation) from sha256(seed:userid)."""
    digest = hashlib.sha256(f"{seed}:{userid}".encode()).digest()
    return base64.b32encode(digest).decode("ascii")[:32]


def role_labels(rows: list[tuple[str, str | None]]) -> list[str]:
    """('super_admin', 'primary') -> 'super_admin:primary', as `offboard member list` shows roles."""
    return sorted(f"{role}:{rank}" if rank else role for role, rank in rows)
