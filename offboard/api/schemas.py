"""Request bodies. Unknown fields are refused; ids are bounded so no input reaches the
database out of range."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

DbId = Annotated[int, Field(ge=1, le=2**63 - 1)]
Text128 = Annotated[str, Field(min_length=1, max_length=128)]
Short = Annotated[str, Field(max_length=255)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenantCreate(Strict):
    slug: Annotated[str, Field(min_length=2, max_length=40)]
    name: Text128
    admin_userid: Annotated[str, Field(min_length=1, max_length=64)]
    admin_name: Text128
    region: Annotated[str, Field(max_length=8)] = "cn"
    profile: Annotated[str, Field(max_length=16)] = "wecom"
    timezone: Annotated[str, Field(max_length=64)] = "Asia/Shanghai"


class MemberCreate(Strict):
    userid: Annotated[str, Field(min_length=1, max_length=64)]
    name: Text128
    department_ids: Annotated[list[DbId], Field(max_length=20)] | None = None
    email: Short | None = None
    mobile: Annotated[str, Field(max_length=32)] | None = None
    title: Annotated[str, Field(max_length=128)] | None = None
    region: Annotated[str, Field(max_length=8)] | None = None
    manager: Annotated[str, Field(max_length=64)] | None = Field(default=None, description="Userid of the direct manager.")
    external_id: Short | None = None


class MemberUpdate(Strict):
    name: Text128 | None = None
    email: Short | None = None
    mobile: Annotated[str, Field(max_length=32)] | None = None
    title: Annotated[str, Field(max_length=128)] | None = None
    region: Annotated[str, Field(max_length=8)] | None = None
    external_id: Short | None = None
    department_ids: Annotated[list[DbId], Field(min_length=1, max_length=20)] | None = None
    manager: Annotated[str, Field(max_length=64)] | None = Field(default=None, description="Userid of the new direct manager.")
    clear_manager: bool = False


class RoleGrant(Strict):
    role: Annotated[str, Field(max_length=16)]
    rank: Annotated[str, Field(max_length=16)] | None = None
    scope: Annotated[list[DbId], Field(max_length=100)] | None = None
    permissions: Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=10)] | None = None


class DepartmentCreate(Strict):
    name: Text128
    parent_id: DbId | None = None


class DepartmentUpdate(Strict):
    parent_id: DbId | None = Field(default=None, description="Move under this department.")
    leader: Annotated[str, Field(max_length=64)] | None = Field(default=None, description="Userid of the new leader.")
    clear_leader: bool = False


class TokenCreate(Strict):
    name: Text128 = "api"
    service: bool = False
    scopes: Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=20, description="What the token may do (at least one action name of SPEC §3.2).")] = []
    expires_days: Annotated[int, Field(ge=1, le=3650)] | None = None
