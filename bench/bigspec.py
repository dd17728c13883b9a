#!/usr/bin/env python3
"""Write a synthetic spec shaped like Microsoft Graph's (the largest public OpenAPI document):
entity schemas in allOf inheritance chains, thousands of paths with OData-style `$select` /
`$expand` parameters whose enums list every property, shared error responses.

    python3 bench/bigspec.py OUT.json [SCALE]     # SCALE 1 ≈ 47 MB, like MS Graph beta

Deterministic (no randomness): the same SCALE writes the same bytes. Used by bench/bigspec.sh.
"""
import json
import sys

out = sys.argv[1]
scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
n_schemas = int(3000 * scale)
n_paths = int(10500 * scale)

schemas = {
    "microsoft.graph.entity": {"type": "object", "properties": {"id": {"type": "string", "readOnly": True}}},
    "odata.error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"}, "target": {"type": "string", "nullable": True},
            "details": {"type": "array", "items": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}}},
    },
}
names = []
for i in range(n_schemas):
    name = f"microsoft.graph.type{i}"
    parent = "microsoft.graph.entity" if i % 5 == 0 else f"microsoft.graph.type{i - 1}"
    props = {}
    for j in range(18):
        kind = j % 6
        if kind == 0:
            props[f"prop{j}Name{i}"] = {"type": "string", "nullable": True, "description": f"The name {j} of type {i}."}
        elif kind == 1:
            props[f"count{j}"] = {"type": "integer", "format": "int32", "nullable": True}
        elif kind == 2:
            props[f"when{j}"] = {"type": "string", "format": "date-time", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T", "nullable": True}
        elif kind == 3:
            props[f"flag{j}"] = {"type": "boolean", "nullable": True}
        elif kind == 4 and i > 0:
            props[f"ref{j}"] = {"anyOf": [{"$ref": f"#/components/schemas/microsoft.graph.type{(i * 7) % i}"}, {"type": "object", "nullable": True}]}
        else:
            props[f"list{j}"] = {"type": "array", "items": {"type": "string", "enum": [f"value{k}" for k in range(8)]}}
    schemas[name] = {"allOf": [{"$ref": f"#/components/schemas/{parent}"}, {"title": name, "type": "object", "properties": props}]}
    names.append((name, list(props)))

responses = {"error": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/odata.error"}}}}}
paths = {}
for p in range(n_paths):
    name, props = names[p % len(names)]
    select = {"name": "$select", "in": "query", "style": "form", "explode": False,
              "schema": {"uniqueItems": True, "type": "array", "items": {"type": "string", "enum": ["id", *props, *[f"{x}desc" for x in props]]}}}
    expand = {"name": "$expand", "in": "query", "style": "form", "explode": False,
              "schema": {"uniqueItems": True, "type": "array", "items": {"type": "string", "enum": ["*", *props]}}}
    ok = {"description": "ok", "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
    item = f"/group{p // 50}/resource{p}/{{resource{p}-id}}"
    paths[item] = {
        "description": f"Provides operations to manage resource {p}.",
        "parameters": [{"name": f"resource{p}-id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "get": {"operationId": f"resource{p}.get", "summary": f"Get resource {p}", "description": "Read the properties and relationships of the object. " * 3,
                "parameters": [select, expand], "responses": {"200": ok, "4XX": {"$ref": "#/components/responses/error"}, "5XX": {"$ref": "#/components/responses/error"}}},
        "patch": {"operationId": f"resource{p}.update", "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}},
                  "responses": {"204": {"description": "Success"}, "4XX": {"$ref": "#/components/responses/error"}}},
        "delete": {"operationId": f"resource{p}.delete", "parameters": [{"name": "If-Match", "in": "header", "schema": {"type": "string"}}],
                   "responses": {"204": {"description": "Success"}, "4XX": {"$ref": "#/components/responses/error"}}},
    }
doc = {"openapi": "3.0.4", "info": {"title": "Synthetic Graph", "version": "beta"}, "servers": [{"url": "https://graph.example.test/beta"}],
       "paths": paths, "components": {"schemas": schemas, "responses": responses}}
with open(out, "w") as f:
    json.dump(doc, f, indent=1)
