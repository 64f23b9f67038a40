"""SCIM 2.0 at /scim/v2 (RFC 7643, RFC 7644; issue 13): the protocol is scim2-server's
(ScimService and ScimHandler: routing, request validation, PATCH and PUT applied to the stored
User, ETags and If-Match, attributes and excludedAttributes, discovery, errors with their
scimType), the storage is ours (ScimDirectory below: the members as Users, ScimUsers here, and the
departments as Groups, offboard.api.scim_groups): every change goes through offboard.actions.scim
or offboard.actions.scim_groups in one transaction with its audit events, so deprovisioning is an
exit by the enterprise's policy and a member added to a Group is a member moved.

Authentication: a tenant token holding the `scim` scope (`offboard scim token create`). Real
clients are met where they stray from the RFC: Entra's bare filter values (`externalId eq
1a2b`) are quoted, its manager given as a bare id is made a reference, and its capitalised
`Replace` with a string `"False"` is read as scim2-models reads it, as Okta's path-less
`{"active": false}` is.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ETag,
    Filter,
    ForbiddenException,
    InvalidFilterException,
    InvalidValueException,
    Mutability,
    Required,
    Returned,
    Patch,
    Resource,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
    ScimProvider,
    SearchRequest,
    ServiceProviderConfig,
    Sort,
    UnauthorizedException,
)
from scim2_server.handler import ScimHandler
from scim2_server.utils import load_default_resource_types, load_default_schemas
from scim2_server.requests import ScimRequest
from scim2_server.service import ScimService
from scim2_server.storage import ScimStorage, SearchPage

from offboard.actions import scim as scim_actions
from offboard.actions.auth import authenticate_bearer
from offboard.actions.context import UnitOfWork, tenant_transaction
from offboard.domain.authz import Action, allowed
from offboard.api import scim_groups
from offboard.api.scim_common import Locked, etag, scim_error, version_of
from offboard.domain.errors import OffboardError, TenantFrozen
from offboard.queries import scim as scim_q
from offboard.queries.scim import ENTERPRISE_SCHEMA, MAX_COUNT, USER_SCHEMA, ScimUser

router = APIRouter(include_in_schema=False)
CONFIG = ServiceProviderConfig(
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=MAX_COUNT),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=False),
    etag=ETag(supported=True),
    authentication_schemes=[
        AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken,
            name="Bearer token",
            description="A tenant token with the scim scope, from `offboard scim token create`.",
            primary=True,
        )
    ],
)
# What offboard keeps of a User, and publishes in /Schemas: the attributes the directory holds.
# The core User attributes it does not keep (nickName, addresses, …) are accepted and dropped
# unread (DROPPED), so no personal data is kept that sealing and erasure would not reach.
KEPT: dict[str, dict[str, set[str] | None]] = {
    USER_SCHEMA: {"userName": None, "displayName": None, "title": None, "active": None, "emails": {"value", "type"}, "phoneNumbers": {"value", "type"}},
    ENTERPRISE_SCHEMA: {"employeeNumber": None, "department": None, "manager": {"value", "$ref"}},
}
# The one work email and the one mobile number a member has.
TYPES = {"emails": ["work"], "phoneNumbers": ["mobile"]}
# A member always has a name and a state: they are never removed, only changed.
REQUIRED = {(USER_SCHEMA, "displayName"), (USER_SCHEMA, "active")}
# The primary department: moved in the directory, not by SCIM, and read when asked for.
READ_ONLY = {(ENTERPRISE_SCHEMA, "department")}


def _typed(parent: str, sub: Any) -> Any:
    return sub.model_copy(update={"canonical_values": TYPES[parent]}) if sub.name == "type" and parent in TYPES else sub


def _narrow(schema: Schema) -> Schema:
    kept = KEPT[str(schema.id)]
    attributes = []
    for attribute in schema.attributes or ():
        if attribute.name not in kept:
            continue
        update: dict[str, Any] = {}
        subs = kept[attribute.name]
        if subs is not None:
            update["sub_attributes"] = [_typed(attribute.name, a) for a in attribute.sub_attributes or () if a.name in subs]
        if (str(schema.id), attribute.name) in READ_ONLY:
            update["mutability"] = Mutability.read_only
            update["returned"] = Returned.request
        if (str(schema.id), attribute.name) in REQUIRED:
            update["required"] = Required.true
        attributes.append(attribute.model_copy(update=update))
    return schema.model_copy(update={"attributes": attributes})


_SCHEMAS = load_default_schemas()
DROPPED = {a.name for a in _SCHEMAS[USER_SCHEMA].attributes or () if a.name not in KEPT[USER_SCHEMA]} | {"costCenter", "organization", "division"}
_TYPES = load_default_resource_types()
PROVIDER = ScimProvider.from_discovery(
    [_narrow(_SCHEMAS[USER_SCHEMA]), _narrow(_SCHEMAS[ENTERPRISE_SCHEMA]), scim_groups.narrow(_SCHEMAS[scim_groups.GROUP_SCHEMA])],
    [_TYPES["User"], _TYPES["Group"]],
    config=CONFIG,
)
ScimUserModel: Any = PROVIDER.model_for("User")
ScimGroupModel: Any = PROVIDER.model_for("Group")
Enterprise: Any = PROVIDER.model_for(ENTERPRISE_SCHEMA)
SERVICE = ScimService(PROVIDER)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_MANAGER_PATH = re.compile(r"(^|:)manager$", re.IGNORECASE)


def to_resource(u: ScimUser) -> Resource[Any]:
    """A member as a SCIM User, with the enterprise extension."""
    document: dict[str, Any] = {
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "id": str(u.id),
        "externalId": u.external_id,
        "userName": u.user_name,
        "displayName": u.name,
        "title": u.title,
        "active": u.active,
        "meta": {"resourceType": "User", "created": u.created.isoformat(), "lastModified": u.last_modified.isoformat(), "version": etag(u.version)},
        ENTERPRISE_SCHEMA: {
            "employeeNumber": u.employee_number,
            "department": u.department,
            "manager": {"value": str(u.manager_id), "$ref": f"Users/{u.manager_id}"} if u.manager_id else None,
        },
    }
    if u.email and _EMAIL.fullmatch(u.email):  # an address SCIM would not accept is left out, not sent broken
        document["emails"] = [{"value": u.email, "type": "work"}]
    if u.mobile:
        document["phoneNumbers"] = [{"value": u.mobile, "type": "mobile"}]
    resource: Resource[Any] = ScimUserModel.model_validate(document)
    return resource


def _name(resource: Any, before: ScimUser | None) -> str | None:
    """The member's one name, displayName (name.formatted or the name parts make it when it is
    not sent, see _keep_only_kept); None keeps it."""
    name: str | None = resource.display_name
    return None if before is not None and name == before.name else name


def _manager_id(extension: Any) -> int | None:
    manager = extension.manager if extension is not None else None
    if manager is None:
        return 0
    raw = manager.value or ""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise InvalidValueException(detail=f"manager {raw!r} is not the id of a user of this enterprise.")
    return int(raw)


def wanted_of(resource: Any, before: ScimUser | None) -> scim_actions.Wanted:
    """The member a User asks for; `before` is the member as they were (None when created)."""
    primary = next(iter(resource.emails or ()), None)  # one of each is kept (see KEPT)
    phone = next(iter(resource.phone_numbers or ()), None)
    extension = resource[Enterprise]
    active = resource.active if resource.active is not None else (before.active if before is not None else True)
    return scim_actions.Wanted(
        user_name=resource.user_name,
        active=active,
        name=_name(resource, before),
        external_id=resource.external_id or "",
        email=str(primary.value) if primary is not None and primary.value else "",
        mobile=phone.value if phone is not None and phone.value else "",
        title=resource.title or "",
        employee_number=(extension.employee_number or "") if extension is not None else "",
        manager_id=_manager_id(extension),
    )


class ScimUsers(ScimStorage):
    """The members of one enterprise as SCIM Users, in the transaction of one request."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self._read: dict[int, ScimUser] = {}  # what this request read, until it changes it

    def _user(self, member_id: int) -> ScimUser:
        if member_id not in self._read:
            self._read[member_id] = scim_q.user(self.uow.conn, self.uow.tenant_id, self.uow.actor, member_id)
        return self._read[member_id]

    def get(self, resource_type: ResourceType, resource_id: str, *, response_parameters: ResponseParameters[Any] | None = None) -> Resource[Any]:
        try:
            return to_resource(self._user(scim_q.scim_id(resource_id)))
        except OffboardError as exc:
            raise scim_error(exc) from exc

    def search(self, resource_types: list[ResourceType], search_request: SearchRequest[Any], *, position: Any = None) -> SearchPage:
        return self.page(search_request, search_request.start_index or 1, MAX_COUNT if search_request.count is None else search_request.count)

    def page(self, search_request: SearchRequest[Any], start_index: int, count: int, *, strict: bool = True) -> SearchPage:
        tree = search_request.filter.ast if search_request.filter is not None else None
        try:
            page = scim_q.users(self.uow.conn, self.uow.tenant_id, self.uow.actor, tree=tree, start_index=start_index, count=count, strict=strict)
        except OffboardError as exc:
            if exc.code == "invalid_filter":
                raise InvalidFilterException(detail=exc.render("en")) from exc
            raise scim_error(exc) from exc
        return SearchPage(page.total, [to_resource(u) for u in page.users])

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        try:
            member_id = scim_actions.create_user(self.uow, wanted_of(resource, None))
            return to_resource(self._user(member_id))
        except OffboardError as exc:
            raise scim_error(exc) from exc

    def update(self, resource_type: ResourceType, resource: Resource[Any], *, expected_version: str | None = None) -> Resource[Any]:
        try:
            member_id = scim_q.scim_id(str(resource.id))
            before = self._user(member_id)
            scim_actions.update_user(self.uow, member_id, wanted_of(resource, before), if_match=version_of(expected_version))
            self._read.pop(member_id, None)
            return to_resource(self._user(member_id))
        except OffboardError as exc:
            raise scim_error(exc) from exc

    def delete(self, resource_type: ResourceType, resource_id: str, *, expected_version: str | None = None) -> None:
        try:
            scim_actions.delete_user(self.uow, scim_q.scim_id(resource_id), if_match=version_of(expected_version))
        except OffboardError as exc:
            raise scim_error(exc) from exc


class ScimDirectory(ScimStorage):
    """The members (Users) and departments (Groups) of one enterprise, in the transaction of one
    request; `members_asserted` False for a PUT of a Group that names no members."""

    def __init__(self, uow: UnitOfWork, *, members_asserted: bool = True) -> None:
        self.users = ScimUsers(uow)
        self.groups = scim_groups.ScimGroups(uow, ScimGroupModel, members_asserted=members_asserted)

    def get(self, resource_type: ResourceType, resource_id: str, *, response_parameters: ResponseParameters[Any] | None = None) -> Resource[Any]:
        if resource_type.id == "Group":
            return self.groups.get(resource_id, response_parameters=response_parameters)
        return self.users.get(resource_type, resource_id, response_parameters=response_parameters)

    def search(self, resource_types: list[ResourceType], search_request: SearchRequest[Any], *, position: Any = None) -> SearchPage:
        kinds = {rt.id for rt in resource_types}
        if kinds == {"Group"}:
            return self.groups.search(search_request)
        if kinds == {"User"}:
            return self.users.search(resource_types, search_request)
        # A search at the root (RFC 7644 §3.4.2.1): the Users, then the Groups, as one
        # collection; an attribute one type lacks matches none of its resources.
        start = max(1, search_request.start_index or 1)
        count = max(0, min(MAX_COUNT if search_request.count is None else search_request.count, MAX_COUNT))
        users = self.users.page(search_request, start, count, strict=False)
        total = users.total or 0
        groups = self.groups.page(search_request, max(1, start - total), count - len(users.resources), strict=False)
        return SearchPage(total + (groups.total or 0), users.resources + groups.resources)

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        if resource_type.id == "Group":
            return self.groups.create(resource)
        return self.users.create(resource_type, resource)

    def update(self, resource_type: ResourceType, resource: Resource[Any], *, expected_version: str | None = None) -> Resource[Any]:
        if resource_type.id == "Group":
            return self.groups.update(resource, expected_version=expected_version)
        return self.users.update(resource_type, resource, expected_version=expected_version)

    def delete(self, resource_type: ResourceType, resource_id: str, *, expected_version: str | None = None) -> None:
        if resource_type.id == "Group":
            return self.groups.delete(resource_id, expected_version=expected_version)
        return self.users.delete(resource_type, resource_id, expected_version=expected_version)


def _manager_reference(value: Any) -> Any:
    """Entra names a manager by its bare id; SCIM wants {"value", "$ref"}."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        return {"value": str(value), "$ref": f"Users/{value}"}
    if isinstance(value, dict) and "value" in value:
        return {"value": str(value["value"]), "$ref": value.get("$ref") or f"Users/{value['value']}"}  # displayName is not kept
    return value


def _lenient_body(method: str, body: bytes) -> bytes | None:
    """The body with the shapes of real clients made RFC-shaped (one that is not JSON is left
    as it is, for the service to refuse); None for a PATCH left with nothing to do."""
    try:
        document = json.loads(body)
    except ValueError:
        return body
    if not isinstance(document, dict):
        return body
    _keep_only_kept(document)
    if method == "POST" and "userName" in document and "active" not in document:
        document["active"] = True  # a new user is active unless the request says otherwise
    operations = document.get("Operations")
    if isinstance(operations, list):
        document["Operations"] = [op for op in (_lenient_operation(op) for op in operations) if op is not None]
        if operations and not document["Operations"]:
            return None  # every operation touched what is not kept: the PATCH changes nothing
    return json.dumps(document).encode()


def _composed(name: Any) -> str | None:
    """name.formatted, else the given and family names (family first in Chinese)."""
    if not isinstance(name, dict):
        return None
    if name.get("formatted"):
        return str(name["formatted"])
    given, family = name.get("givenName") or "", name.get("familyName") or ""
    if not (given or family):
        return None
    return f"{family}{given}" if any("\u4e00" <= ch <= "\u9fff" for ch in f"{given}{family}") else f"{given} {family}".strip()


def _keep_only_kept(document: dict[str, Any]) -> None:
    """A User document without the attributes offboard does not keep; the name, if no
    displayName is sent, makes it."""
    if "name" in document and not document.get("displayName") and (composed := _composed(document["name"])):
        document["displayName"] = composed
    for key in [k for k in document if k in DROPPED]:
        del document[key]
    for key in ("emails", "phoneNumbers"):
        for item in document.get(key) or ():
            if isinstance(item, dict):
                item.pop("primary", None)  # one of each is kept: it is the primary one
                item.pop("display", None)
    extension = document.get(ENTERPRISE_SCHEMA)
    if isinstance(extension, dict):
        for key in [k for k in extension if k in DROPPED]:
            del extension[key]
        if "manager" in extension:
            extension["manager"] = _manager_reference(extension["manager"])


def _lenient_operation(op: Any) -> Any:
    """A PATCH operation as RFC 7644 shapes it, or None when it only touches what is not kept."""
    if not isinstance(op, dict):
        return op
    path = op.get("path")
    if isinstance(path, str):
        attribute = path.split("[", 1)[0]
        for schema in (ENTERPRISE_SCHEMA, USER_SCHEMA):
            if attribute.startswith(schema + ":"):
                attribute = attribute[len(schema) + 1 :]
        top, _dot, sub = attribute.partition(".")
        if top == "name" and sub in ("", "formatted"):
            composed = _composed(op.get("value")) if sub == "" else op.get("value")
            return {**op, "path": "displayName", "value": composed} if composed else None
        if top in DROPPED or (top in ("emails", "phoneNumbers") and path.rsplit(".", 1)[-1] in ("primary", "display")):
            return None
        if top in ("emails", "phoneNumbers") and isinstance(op.get("value"), list):
            _keep_only_kept({top: op["value"]})
        if _MANAGER_PATH.search(path):
            op["value"] = _manager_reference(op.get("value"))
    elif isinstance(op.get("value"), dict):
        _keep_only_kept(op["value"])
        if not op["value"]:
            return None
    return op


def _authenticate(request: Request) -> Any:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise UnauthorizedException(detail="Send the SCIM token of this enterprise as a bearer token (offboard scim token create).")
    try:
        auth = authenticate_bearer(request.app.state.services, credential.strip())
    except TenantFrozen as exc:
        raise Locked(detail=exc.render("en")) from exc
    except OffboardError as exc:
        raise UnauthorizedException(detail=exc.render("en")) from exc
    if auth.tenant_slug is None or not allowed(auth.actor, Action.SCIM):
        raise ForbiddenException(detail="This token may not provision members: create a SCIM token with `offboard scim token create`.")
    return auth


def _serve(request: Request, path: str, body: bytes) -> Response:
    query = dict(request.query_params)
    if "filter" in query:
        query["filter"] = scim_q.normalize_filter(query["filter"])
    method = request.method.upper()
    members_asserted = True
    if not body:
        lenient: bytes | None = b""
    elif path.strip("/").split("/", 1)[0].lower() == "groups":
        lenient, members_asserted = scim_groups.lenient_body(method, body)
    else:
        lenient = _lenient_body(method, body)
    scim_request = ScimRequest(
        # A PATCH of attributes offboard does not keep is answered as a read of the resource.
        method=request.method if lenient is not None else "GET",
        base_url=str(request.base_url).rstrip("/") + "/scim/v2",
        path="/" + path,
        query=query,
        headers=list(request.headers.items()),
        body=lenient or b"",
    )
    try:
        auth = _authenticate(request)
        with tenant_transaction(request.app.state.services, auth.tenant_slug, actor=auth.actor) as uow:
            answer = ScimHandler(SERVICE, ScimDirectory(uow, members_asserted=members_asserted)).handle(scim_request)
    except SCIMException as exc:
        answer = SERVICE.error_response(exc)
    except OffboardError as exc:  # a refusal of the whole request: a frozen enterprise, a forbidden change
        answer = SERVICE.error_response(scim_error(exc))
    content = json.dumps(answer.body, ensure_ascii=False).encode() if answer.body is not None else b""
    return Response(content, status_code=int(answer.status), headers=answer.headers)


@router.api_route("/scim/v2/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def scim_endpoint(request: Request, path: str) -> Response:
    body = await request.body()
    return await run_in_threadpool(_serve, request, path, body)
