"""SCIM 2.0 Groups at /scim/v2/Groups (RFC 7643 §4.2; issue 13): each department is a Group.
The protocol is scim2-server's, as for Users (offboard.api.scim); the storage here reads
departments through offboard.queries.scim_groups and changes them through
offboard.actions.scim_groups, so a member added to a Group is a member moved, audited.

Published: `displayName` and `members` (`value`, `$ref`, `type` "User", `display` read-only: the
member's name), with the common `externalId`. A member is a User: a sub-department is not a
member (the tree stays the directory's). Real clients are met where they stray from the RFC:
Entra removes members with `{"op": "Remove", "path": "members", "value": [{"value": "12"}]}`
(read as a remove of each, never of them all), Okta sends `display` with a member and `id`
inside a path-less replace; a PUT that names no `members` leaves them (RFC 7644 §3.5.1 lets
the service provider read an omitted attribute as not asserted), so a rename never moves the
department's people to the root.
"""

from __future__ import annotations

import json
from typing import Any

from scim2_models import InvalidFilterException, InvalidValueException, Mutability, Path, Resource, ResponseParameters, Schema, SearchRequest
from scim2_server.storage import SearchPage

from offboard.actions import scim_groups as group_actions
from offboard.actions.context import UnitOfWork
from offboard.api.scim_common import etag, scim_error, version_of
from offboard.domain.errors import OffboardError
from offboard.queries import scim_groups as groups_q
from offboard.queries.scim import MAX_COUNT

GROUP_SCHEMA = groups_q.GROUP_SCHEMA
_MEMBER_ONLY = {"value", "$ref", "type", "display"}


def narrow(schema: Schema) -> Schema:
    """The Group schema as offboard keeps it: a member is a User, shown with its name."""
    attributes = []
    for attribute in schema.attributes or ():
        if attribute.name == "members":
            subs = []
            for sub in attribute.sub_attributes or ():
                update: dict[str, Any] = {}
                if sub.name == "display":
                    update["mutability"] = Mutability.read_only  # the member's name, changed on the User
                elif sub.name == "type":
                    update["canonical_values"] = ["User"]
                elif sub.name == "$ref":
                    update["reference_types"] = ["User"]
                subs.append(sub.model_copy(update=update))
            attribute = attribute.model_copy(update={"sub_attributes": subs})
        attributes.append(attribute)
    return schema.model_copy(update={"attributes": attributes})


def to_resource(model: Any, g: groups_q.ScimGroup) -> Resource[Any]:
    """A department as a SCIM Group."""
    document: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA],
        "id": str(g.id),
        "externalId": g.external_id,
        "displayName": g.name,
        "meta": {"resourceType": "Group", "created": g.created.isoformat(), "lastModified": g.last_modified.isoformat(), "version": etag(g.version)},
    }
    if g.members is not None:
        document["members"] = [{"value": str(m.id), "$ref": f"Users/{m.id}", "type": "User", "display": m.name} for m in g.members]
    resource: Resource[Any] = model.model_validate(document)
    return resource


def _member_id(member: Any) -> int:
    raw = member.value or ""
    if (member.type or "").lower() == "group" or "/groups/" in str(member.ref or "").lower():
        raise InvalidValueException(detail="A group is not a member of a group here: sub-departments are kept in the directory.")
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18):
        raise InvalidValueException(detail=f"members value {raw!r} is not the id of a user of this enterprise.")
    return int(raw)


def wanted_of(resource: Any, *, members_asserted: bool = True) -> group_actions.WantedGroup:
    """The department a Group asks for; members None when the request did not name them."""
    if not resource.display_name:
        raise InvalidValueException(detail="A group has a displayName: the department's name.")
    listed = frozenset(_member_id(m) for m in resource.members or ()) if members_asserted else None
    return group_actions.WantedGroup(name=resource.display_name, external_id=resource.external_id or "", members=listed)


def wants_members(model: Any, attributes: list[Any] | None, excluded: list[Any] | None) -> bool:
    """Whether a response keeps the members (Entra reads groups with excludedAttributes=members):
    a Group read without them costs no member rows."""
    if not attributes and not excluded:
        return True
    try:
        asked = ResponseParameters[model].model_validate({"attributes": [str(a) for a in attributes or ()] or None, "excludedAttributes": [str(a) for a in excluded or ()] or None})
    except ValueError:  # an attribute of another resource type (a search at the root): read them
        return True
    kept = Path[model].iter_paths(attributes=asked.attributes, excluded_attributes=asked.excluded_attributes)
    return any(str(p) == "members" for p in kept)


class ScimGroups:
    """The departments of one enterprise as SCIM Groups, in the transaction of one request;
    `members_asserted` False for a PUT that names no members."""

    def __init__(self, uow: UnitOfWork, model: Any, *, members_asserted: bool = True) -> None:
        self.uow = uow
        self.model = model
        self.members_asserted = members_asserted

    def get(self, resource_id: str, *, response_parameters: ResponseParameters[Any] | None = None) -> Resource[Any]:
        with_members = response_parameters is None or wants_members(self.model, response_parameters.attributes, response_parameters.excluded_attributes)
        try:
            found = groups_q.group(self.uow.conn, self.uow.tenant_id, self.uow.actor, groups_q.scim_id(resource_id), with_members=with_members)
        except OffboardError as exc:
            raise scim_error(exc) from exc
        return to_resource(self.model, found)

    def page(self, search_request: SearchRequest[Any], start_index: int, count: int, *, strict: bool = True) -> SearchPage:
        tree = search_request.filter.ast if search_request.filter is not None else None
        with_members = wants_members(self.model, search_request.attributes, search_request.excluded_attributes)
        try:
            page = groups_q.groups(self.uow.conn, self.uow.tenant_id, self.uow.actor, tree=tree, start_index=start_index, count=count, with_members=with_members, strict=strict)
        except OffboardError as exc:
            if exc.code == "invalid_filter":
                raise InvalidFilterException(detail=exc.render("en")) from exc
            raise scim_error(exc) from exc
        return SearchPage(page.total, [to_resource(self.model, g) for g in page.groups])

    def search(self, search_request: SearchRequest[Any]) -> SearchPage:
        return self.page(search_request, search_request.start_index or 1, MAX_COUNT if search_request.count is None else search_request.count)

    def create(self, resource: Resource[Any]) -> Resource[Any]:
        try:
            department_id = group_actions.create_group(self.uow, wanted_of(resource))
            return to_resource(self.model, groups_q.group(self.uow.conn, self.uow.tenant_id, self.uow.actor, department_id))
        except OffboardError as exc:
            raise scim_error(exc) from exc

    def update(self, resource: Resource[Any], *, expected_version: str | None = None) -> Resource[Any]:
        try:
            department_id = groups_q.scim_id(str(resource.id))
            group_actions.update_group(self.uow, department_id, wanted_of(resource, members_asserted=self.members_asserted), if_match=version_of(expected_version))
            return to_resource(self.model, groups_q.group(self.uow.conn, self.uow.tenant_id, self.uow.actor, department_id))
        except OffboardError as exc:
            raise scim_error(exc) from exc

    def delete(self, resource_id: str, *, expected_version: str | None = None) -> None:
        try:
            group_actions.delete_group(self.uow, groups_q.scim_id(resource_id), if_match=version_of(expected_version))
        except OffboardError as exc:
            raise scim_error(exc) from exc


def lenient_body(method: str, body: bytes) -> tuple[bytes | None, bool]:
    """A Group request with the shapes of real clients made RFC-shaped, and whether it names the
    members (a PUT without them leaves them); the body None for a PATCH left with nothing to do.
    A body that is not a JSON object is left as it is, for the service to refuse."""
    try:
        document = json.loads(body)
    except ValueError:
        return body, True
    if not isinstance(document, dict):
        return body, True
    asserted = not (method == "PUT" and "members" not in document)
    _drop_read_only(document.get("members"))
    operations = document.get("Operations")
    if isinstance(operations, list):
        document["Operations"] = [shaped for op in operations for shaped in _lenient_operation(op)]
        if operations and not document["Operations"]:
            return None, asserted
    return json.dumps(document).encode(), asserted


def _drop_read_only(members: Any) -> None:
    """A member's display is the User's name: sent by Okta, read-only here, so dropped."""
    for member in members if isinstance(members, list) else [members]:
        if isinstance(member, dict):
            member.pop("display", None)


def _lenient_operation(op: Any) -> list[Any]:
    if not isinstance(op, dict):
        return [op]
    path, value = op.get("path"), op.get("value")
    if isinstance(path, str) and path.strip().lower() == "members":
        if str(op.get("op", "")).lower() == "remove" and isinstance(value, list):
            # Entra: a remove naming its members. Without the filter it would remove them all.
            return [{"op": "remove", "path": f'members[value eq "{_quoted(m)}"]'} for m in value if isinstance(m, dict) and m.get("value") is not None]
        _drop_read_only(value)
    elif path is None and isinstance(value, dict):
        for key in ("id", "schemas", "meta"):  # Okta's path-less replace repeats the group's id
            value.pop(key, None)
        _drop_read_only(value.get("members"))
        if not value:
            return []
    return [op]


def _quoted(member: dict[str, Any]) -> str:
    return str(member["value"]).replace("\\", "\\\\").replace('"', '\\"')
