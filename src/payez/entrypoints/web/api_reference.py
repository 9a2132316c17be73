"""The API reference, ``/docs``: a server-rendered page read from the app's own OpenAPI spec.

It needs no script and no file from elsewhere, so it works on a machine with no network, on a
phone, in French and English; the spec itself stays at ``/openapi.json`` for tools. ``/api/docs``,
where a browsable page used to be, sends readers here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from payez.entrypoints.web.site import Site

SCHEMA_REF = "#/components/schemas/"
# Constraints worth a reader's attention, under their OpenAPI names.
NOTED_KEYWORDS = ("default", "minimum", "maximum", "minLength", "maxLength", "pattern", "format")
METHODS = ("get", "post", "put", "patch", "delete")

# A type as words and links: ("Payment", "schema-Payment") links to that schema, ("string", "")
# is plain text.
TypeParts = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: TypeParts
    required: bool
    notes: str
    location: str = ""


@dataclass(frozen=True, slots=True)
class ResponseDoc:
    status: str
    description: str
    type: TypeParts


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    summary: str
    description: str
    parameters: tuple[Field, ...]
    responses: tuple[ResponseDoc, ...]

    @property
    def anchor(self) -> str:
        return "op-" + "".join(
            c if c.isalnum() else "-" for c in f"{self.method.lower()}{self.path}"
        )


@dataclass(frozen=True, slots=True)
class SchemaDoc:
    name: str
    description: str
    fields: tuple[Field, ...]

    @property
    def anchor(self) -> str:
        return f"schema-{self.name}"


@dataclass(frozen=True, slots=True)
class ApiReference:
    title: str
    version: str
    description: str
    operations: tuple[Operation, ...]
    schemas: tuple[SchemaDoc, ...]


def type_of(schema: dict[str, Any]) -> TypeParts:
    """``Payment``, ``LinkedAccount[]``, ``string | null``, ``"sent" | "received"``."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
        name = ref.removeprefix(SCHEMA_REF)
        return ((name, f"schema-{name}"),)
    if "enum" in schema:
        values = (f'"{v}"' if isinstance(v, str) else str(v) for v in schema["enum"])
        return ((" | ".join(values), ""),)
    if "const" in schema:
        return ((f'"{schema["const"]}"', ""),)
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in schema:
            parts: list[tuple[str, str]] = []
            for i, option in enumerate(schema[combined]):
                if i:
                    parts.append((" & " if combined == "allOf" else " | ", ""))
                parts.extend(type_of(option))
            return tuple(parts)
    kind = schema.get("type")
    if kind == "array":
        return (*type_of(schema.get("items", {})), ("[]", ""))
    if isinstance(kind, list):
        return ((" | ".join(str(k) for k in kind), ""),)
    return ((str(kind or "any"), ""),)


def notes_of(schema: dict[str, Any], description: str = "") -> str:
    notes = [description or str(schema.get("description", ""))]
    notes += [f"{k}: {schema[k]}" for k in NOTED_KEYWORDS if k in schema and schema[k] != ""]
    return " · ".join(n for n in notes if n)


def _response_type(response: dict[str, Any]) -> TypeParts:
    for media in response.get("content", {}).values():
        return type_of(media.get("schema", {}))
    return ()


def _operation(path: str, method: str, op: dict[str, Any]) -> Operation:
    parameters = tuple(
        Field(
            name=str(p["name"]),
            type=type_of(p.get("schema", {})),
            required=bool(p.get("required")),
            notes=notes_of(p.get("schema", {}), str(p.get("description", ""))),
            location=str(p.get("in", "")),
        )
        for p in op.get("parameters", ())
    )
    responses = tuple(
        ResponseDoc(str(status), str(r.get("description", "")), _response_type(r))
        for status, r in sorted(op.get("responses", {}).items())
    )
    return Operation(
        method=method.upper(),
        path=path,
        summary=str(op.get("summary", "")),
        description=str(op.get("description", "")),
        parameters=parameters,
        responses=responses,
    )


def _schema(name: str, schema: dict[str, Any]) -> SchemaDoc:
    required = set(schema.get("required", ()))
    fields = tuple(
        Field(
            name=field_name,
            type=type_of(field),
            required=field_name in required,
            notes=notes_of(field),
        )
        for field_name, field in schema.get("properties", {}).items()
    )
    return SchemaDoc(name, str(schema.get("description", "")), fields)


def reference_of(spec: dict[str, Any]) -> ApiReference:
    """What a reader needs of an OpenAPI 3 spec: operations, their parameters and responses,
    and the schemas they name."""
    info = spec.get("info", {})
    operations = tuple(
        _operation(path, method, item[method])
        for path, item in spec.get("paths", {}).items()
        for method in METHODS
        if method in item
    )
    schemas = tuple(
        _schema(name, schema)
        for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items())
    )
    return ApiReference(
        title=str(info.get("title", "")),
        version=str(info.get("version", "")),
        description=str(info.get("description", "")),
        operations=operations,
        schemas=schemas,
    )


def api_reference_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/docs", response_class=HTMLResponse)
    def docs(request: Request) -> HTMLResponse:
        reference = reference_of(request.app.openapi())
        return site.render(request, "api_reference.html", api=reference)

    @router.get("/api/docs")
    def former_docs() -> RedirectResponse:
        return RedirectResponse("/docs", status_code=308)

    return router
