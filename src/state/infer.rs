//! Infer the resources of a spec: a collection path (`GET`/`POST /crm/leads`) and its item path
//! (`GET`/`PATCH`/`PUT`/`DELETE /crm/leads/{id}`), nested ones too (`/projects/{id}/tasks`).
//!
//! Built once at load from the operation IR. For each resource it records which operation
//! plays which role (`POST` on an item path is an update where no collection sits under it),
//! where the items sit in the list body (`deals`, `data`), whether single items are wrapped
//! (`{"data": item}`), the item schema (for ids and server-set fields) and the id field the item
//! path's parameter looks items up by (`{issue_number}` → `number`). A path whose parent path is
//! declared is an item, never a collection; an item with no collection declared is a resource
//! of its own. `x-standin.resources` overrides what is inferred.

use std::collections::{HashMap, HashSet};

use axum::http::Method;
use serde_json::Value;

use crate::spec::load::deref;
use crate::spec::model::is_json_mime;
use crate::spec::{Operation, Spec};

/// The role an operation plays for a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    List,
    Create,
    Get,
    Patch,
    Put,
    Delete,
}

/// One inferred resource.
#[derive(Debug, Clone)]
pub struct Resource {
    /// The last literal segment of the collection path (`leads`).
    pub name: String,
    /// The collection path template (`/projects/{id}/tasks`).
    pub collection: String,
    /// The path parameter naming an item (`taskId`).
    pub id_param: String,
    /// Path parameters of the collection (parents of a nested resource), in order.
    pub parent_params: Vec<String>,
    /// `(role, operation index)`.
    pub ops: Vec<(Role, usize)>,
    /// The property of the list body that holds the items (`None`: the body is the array).
    pub list_key: Option<String>,
    /// The property of a single-item body that holds the item (`None`: the body is the item).
    pub item_key: Option<String>,
    /// The item's id property: the field the item path's parameter looks it up by.
    pub id_field: String,
    /// Whether the client names the id on create (a label's `name`: the create body has the
    /// id field), instead of the server assigning one.
    pub client_id: bool,
    /// Pointer (response view) of the item schema, when known.
    pub item_schema: Option<String>,
    /// The property of the create/update body that wraps the item (`{"tag": {...}}`), if any.
    pub body_key: Option<String>,
    /// `x-standin.resources.<path>.idStyle`: `integer`, `uuid`, or an id prefix.
    pub id_style: Option<String>,
    /// `x-standin.resources.<path>.parentField`: the field naming the (innermost) parent.
    pub parent_field: Option<String>,
    /// The item's declared fields when its schema admits no others (`additionalProperties:
    /// false`): sent fields outside them are not stored.
    pub closed: Option<Vec<String>>,
    /// Pointer of the list items' schema when it is not the item schema (GitHub lists a
    /// `pull-request-simple` of each `pull-request`): stored items are fitted to it in a list.
    pub list_item_schema: Option<String>,
    /// The item's map fields (`metadata`): an object sent replaces them rather than merging.
    pub maps: Vec<String>,
    /// The string values each enum field of the item may take (list filters outside them are
    /// ignored).
    pub enums: Vec<(String, Vec<String>)>,
    /// Fields a client sends but never gets back (`writeOnly` in the item or the create body's
    /// schema, such as a password): never stored, so never in an answer.
    pub write_only: Vec<String>,
}

impl Resource {
    /// The operation playing `role`, if any.
    pub fn op(&self, role: Role) -> Option<usize> {
        self.ops.iter().find(|(r, _)| *r == role).map(|(_, i)| *i)
    }
}

/// Infer every resource of `spec`.
pub fn infer(spec: &Spec) -> Vec<Resource> {
    let doc = &spec.schemas.response;
    let paths = Paths::new(spec);
    let mut out = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for coll in &spec.operations {
        if coll.method != Method::GET && coll.method != Method::POST {
            continue;
        }
        if seen.contains(coll.path.as_str()) || paths.is_item_path(&coll.path) {
            continue;
        }
        let items = paths.items_of(spec, &coll.path);
        // Without an item path, a collection with both GET and POST is still a resource (an
        // append-only log such as a deal's activities); a lone GET or POST is not.
        let has_both = paths.on(spec, &coll.path).filter(|(_, o)| o.method == Method::GET || o.method == Method::POST).count() == 2;
        let id_param = match items.first() {
            Some((_, first_item)) => first_item.path[coll.path.len() + 2..first_item.path.len() - 1].to_string(),
            None if has_both => "id".to_string(),
            None => continue,
        };
        let Some(name) = coll.path.rsplit('/').find(|s| !s.is_empty() && !s.starts_with('{')).map(str::to_string) else { continue };
        let ops = roles(spec, &paths, &coll.path, &items);
        let op = |role| ops.iter().find(|(r, _)| *r == role).map(|(_, i)| &spec.operations[*i]);
        let (list_key, list_is_array) = list_shape(doc, op(Role::List));
        if list_key.is_none() && !list_is_array && op(Role::List).is_some() {
            continue; // a GET on the collection that is not a list
        }
        // The item schema and its wrapping, from the single-item GET (else create's answer).
        let single = op(Role::Get).or_else(|| op(Role::Create)).or_else(|| op(Role::Patch));
        // An append-only collection whose list answers an array of items: the item schema is the
        // array's items schema when nothing else describes it.
        let (item_key, item_schema) = match single.and_then(|o| success_pointer(doc, o)) {
            Some(ptr) => item_layout(doc, &ptr),
            None => (None, None),
        };
        let id_field = item_schema
            .as_deref()
            .and_then(|p| object_properties(doc, p))
            .and_then(|props| id_field_for(&id_param, &props))
            .unwrap_or_else(|| "id".to_string());
        let singular = name.strip_suffix('s').unwrap_or(&name).to_string();
        let body_key = op(Role::Create)
            .and_then(|o| request_pointer(doc, o))
            .and_then(|p| object_properties(doc, &p))
            .and_then(|props| props.into_iter().find(|p| *p == singular));
        let create_fields =
            op(Role::Create).and_then(|o| request_pointer(doc, o)).and_then(|p| object_properties(doc, &p)).unwrap_or_default();
        let hints = spec.ext.resources.get(&coll.path).cloned().unwrap_or_default();
        let list_key = hints.list_key.or(list_key);
        let id_field = hints.id_field.unwrap_or(id_field);
        let client_id = !["id", "uuid", "number"].contains(&id_field.as_str()) && create_fields.contains(&id_field);
        let create_pointer = op(Role::Create).and_then(|o| request_pointer(doc, o));
        let write_only = write_only_fields(doc, item_schema.iter().cloned().chain(create_pointer));
        seen.insert(&coll.path);
        out.push(Resource {
            write_only,
            enums: item_schema.as_deref().map(|p| field_enums(doc, p)).unwrap_or_default(),
            closed: item_schema.as_deref().and_then(|p| closed_fields(doc, p)),
            maps: item_schema.as_deref().map(|p| map_fields(doc, p)).unwrap_or_default(),
            list_item_schema: op(Role::List).and_then(|o| list_items_pointer(doc, o, list_key.as_deref(), item_schema.as_deref())),
            id_style: hints.id_style,
            parent_field: hints.parent_field,
            name,
            collection: coll.path.clone(),
            id_param,
            parent_params: crate::spec::model::template_names(&coll.path),
            ops,
            list_key,
            item_key,
            id_field,
            client_id,
            item_schema,
            body_key,
        });
    }
    let singles = singletons(spec, &paths, &out);
    out.extend(singles);
    out
}

/// Which operation plays which role: `GET`/`POST` on the collection path list and create; on
/// the item path `GET` gets, `PATCH`/`PUT`/`DELETE` change, and `POST` updates (Stripe's
/// `POST /v1/customers/{customer}`) when the path declares no `PATCH` and no collection under it.
fn roles(spec: &Spec, paths: &Paths, collection: &str, items: &[(usize, &Operation)]) -> Vec<(Role, usize)> {
    let mut ops = Vec::new();
    for (i, o) in paths.on(spec, collection) {
        match o.method {
            Method::GET => ops.push((Role::List, i)),
            Method::POST => ops.push((Role::Create, i)),
            _ => {}
        }
    }
    let post_updates =
        |item_path: &str| !items.iter().any(|(_, o)| o.path == item_path && o.method == Method::PATCH) && !paths.has_items(item_path);
    for (i, o) in items {
        let role = match o.method {
            Method::GET => Role::Get,
            Method::POST if post_updates(&o.path) => Role::Patch,
            Method::PATCH => Role::Patch,
            Method::PUT => Role::Put,
            Method::DELETE => Role::Delete,
            _ => continue,
        };
        ops.push((role, *i));
    }
    ops
}

/// Items with no collection the spec declares (`GET`/`PATCH`/`DELETE /repos/{owner}/{repo}`,
/// where `/repos/{owner}` has no operation): a resource of their own, with no list or create,
/// so an update is read back and a delete makes them 404.
fn singletons(spec: &Spec, paths: &Paths, known: &[Resource]) -> Vec<Resource> {
    let doc = &spec.schemas.response;
    let claimed: HashSet<usize> = known.iter().flat_map(|r| r.ops.iter().map(|(_, i)| *i)).collect();
    let mut taken: HashSet<usize> = HashSet::new();
    let mut out: Vec<Resource> = Vec::new();
    for (gi, get) in spec.operations.iter().enumerate() {
        if get.method != Method::GET || claimed.contains(&gi) || taken.contains(&gi) {
            continue;
        }
        let Some((parent, last)) = get.path.rsplit_once('/') else { continue };
        let Some(id_param) = last.strip_prefix('{').and_then(|l| l.strip_suffix('}')) else { continue };
        if parent.is_empty() || paths.declared(parent) {
            continue;
        }
        let mut ops = vec![(Role::Get, gi)];
        for (i, o) in paths.on(spec, &get.path).filter(|(i, _)| !claimed.contains(i)) {
            match o.method {
                Method::PATCH => ops.push((Role::Patch, i)),
                Method::PUT => ops.push((Role::Put, i)),
                Method::DELETE => ops.push((Role::Delete, i)),
                _ => {}
            }
        }
        let Some(name) = parent.rsplit('/').find(|s| !s.is_empty() && !s.starts_with('{')).map(str::to_string) else { continue };
        if ops.len() < 2 {
            continue; // read-only: the mock's answer is as good
        }
        let Some((item_key, item_schema)) = success_pointer(doc, get).map(|p| item_layout(doc, &p)) else { continue };
        let props = item_schema.as_deref().and_then(|p| object_properties(doc, p)).unwrap_or_default();
        let hints = spec.ext.resources.get(parent).cloned().unwrap_or_default();
        let Some(id_field) = hints.id_field.or_else(|| id_field_for(id_param, &props)) else { continue };
        taken.extend(ops.iter().map(|(_, i)| *i));
        out.push(Resource {
            name,
            collection: parent.to_string(),
            id_param: id_param.to_string(),
            parent_params: crate::spec::model::template_names(parent),
            ops,
            list_key: None,
            item_key,
            id_field,
            client_id: false,
            item_schema,
            body_key: None,
            id_style: hints.id_style,
            parent_field: hints.parent_field,
            enums: Vec::new(),
            write_only: Vec::new(),
            closed: None,
            maps: Vec::new(),
            list_item_schema: None,
        });
    }
    out
}

/// The operations by path, and by the path one `{param}` segment up (a collection's item
/// operations): built once per [`infer`], so finding a path's operations is a look-up, not a
/// scan of every operation (which made inference quadratic: minutes on a 30,000-operation spec).
struct Paths<'s> {
    /// Path → the indices of the operations on it, in spec order.
    on: HashMap<&'s str, Vec<usize>>,
    /// Path → the indices of the operations on it plus one `{param}` segment, in spec order.
    under: HashMap<&'s str, Vec<usize>>,
}

impl<'s> Paths<'s> {
    fn new(spec: &'s Spec) -> Paths<'s> {
        let mut paths = Paths { on: HashMap::new(), under: HashMap::new() };
        for (i, o) in spec.operations.iter().enumerate() {
            paths.on.entry(o.path.as_str()).or_default().push(i);
            if let Some((parent, last)) = o.path.rsplit_once('/') {
                if last.starts_with('{') && last.ends_with('}') {
                    paths.under.entry(parent).or_default().push(i);
                }
            }
        }
        paths
    }

    /// Whether the spec declares an operation on `path`.
    fn declared(&self, path: &str) -> bool {
        self.on.contains_key(path)
    }

    /// The operations on `path`, in spec order.
    fn on<'a>(&'a self, spec: &'s Spec, path: &str) -> impl Iterator<Item = (usize, &'s Operation)> + 'a {
        self.on.get(path).into_iter().flatten().map(move |i| (*i, &spec.operations[*i]))
    }

    /// The operations on a collection's item path: the collection path plus one `{param}`
    /// segment.
    fn items_of(&self, spec: &'s Spec, collection: &str) -> Vec<(usize, &'s Operation)> {
        self.under.get(collection).into_iter().flatten().map(|i| (*i, &spec.operations[*i])).collect()
    }

    /// Whether some operation's path is `path` plus one `{param}` segment.
    fn has_items(&self, path: &str) -> bool {
        self.under.contains_key(path)
    }

    /// Whether `path` ends in a `{param}` segment under a path the spec also declares: an item
    /// path (`/gists/{gist_id}`), never a collection, even when a deeper `{sha}` sits below it.
    fn is_item_path(&self, path: &str) -> bool {
        let Some((parent, last)) = path.rsplit_once('/') else { return false };
        last.starts_with('{') && !parent.is_empty() && self.declared(parent)
    }
}

/// Where a list answer keeps its items (`x-standin-list-key`, else its first array property),
/// and whether the answer is itself an array.
fn list_shape(doc: &Value, list: Option<&Operation>) -> (Option<String>, bool) {
    let Some(o) = list else { return (None, false) };
    let ext = doc.pointer(&o.pointer).and_then(|v| v.get("x-standin-list-key")).and_then(Value::as_str).map(str::to_string);
    let key = ext.or_else(|| success_schema(doc, o).and_then(|s| array_property(doc, s)));
    let is_array = success_schema(doc, o).is_some_and(|s| crate::spec::model::schema_type(doc, s).as_deref() == Some("array"));
    (key, is_array)
}

/// The top-level fields marked `writeOnly` in any of the object schemas at `pointers`.
fn write_only_fields(doc: &Value, pointers: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for pointer in pointers {
        each_field(doc, &pointer, &mut |name, p| {
            if p.get("writeOnly") == Some(&Value::Bool(true)) && !out.iter().any(|w| w == name) {
                out.push(name.to_string());
            }
        });
    }
    out
}

/// The item field a path parameter looks an item up by, among the item schema's `props`: the
/// parameter's own name (`name`, `ref`), its last word (`issue_number` → `number`, `file_sha` →
/// `sha`, `taskId` → `id`), `login` for a user-like name (`username`), `name` for a named
/// thing (`branch`, `tag`), then `id`, `uuid` or a field ending in `Id`/`_id`.
pub(crate) fn id_field_for(param: &str, props: &[String]) -> Option<String> {
    let has = |f: &str| props.iter().any(|p| p == f);
    id_field_named(param, &has).or_else(|| props.iter().find(|p| p.ends_with("Id") || p.ends_with("_id")).cloned())
}

/// [`id_field_for`] without its last resort (a field ending in `Id`), for a body whose fields
/// `has` tells: the parameter's own name, its last word, `login`, `name`, then `id` or `uuid`.
/// The stateless answers reflect path ids by it too (`respond`).
pub fn id_field_named(param: &str, has: &dyn Fn(&str) -> bool) -> Option<String> {
    if has(param) {
        return Some(param.to_string());
    }
    let tail = match param.rfind(|c: char| c == '_' || c == '-' || c.is_ascii_uppercase()) {
        Some(i) if i > 0 => param[i..].trim_start_matches(['_', '-']).to_ascii_lowercase(),
        _ => String::new(),
    };
    if !tail.is_empty() && has(&tail) {
        return Some(tail);
    }
    let lower = param.to_ascii_lowercase();
    if has("login") && ["user", "login", "owner", "org", "member", "assignee"].iter().any(|w| lower.contains(w)) {
        return Some("login".into());
    }
    if has("name") && (lower.ends_with("name") || ["repo", "branch", "tag", "label", "environment", "secret"].contains(&lower.as_str())) {
        return Some("name".into());
    }
    ["id", "uuid"].into_iter().find(|f| has(f)).map(str::to_string)
}

/// Pointer of the JSON schema of an operation's default success response.
fn success_pointer(doc: &Value, op: &Operation) -> Option<String> {
    let _ = doc;
    let r = op.default_response()?;
    r.content.iter().find(|m| is_json_mime(&m.mime))?.schema.clone()
}

fn success_schema<'d>(doc: &'d Value, op: &Operation) -> Option<&'d Value> {
    doc.pointer(&success_pointer(doc, op)?)
}

fn request_pointer(doc: &Value, op: &Operation) -> Option<String> {
    let body = doc.pointer(&op.pointer)?.get("requestBody")?;
    let (body, at) = deref(doc, body, &format!("{}/requestBody", op.pointer)).ok()?;
    let content = body.get("content")?.as_object()?;
    let (mime, _) =
        content.iter().find(|(m, _)| is_json_mime(m)).or_else(|| content.iter().find(|(m, _)| crate::spec::model::is_form_mime(m)))?;
    Some(format!("{at}/content/{}/schema", crate::spec::error::escape_token(mime)))
}

/// The object properties of the schema at `pointer` (through `$ref` and `allOf`).
fn object_properties(doc: &Value, pointer: &str) -> Option<Vec<String>> {
    fn collect(doc: &Value, s: &Value, out: &mut Vec<String>, depth: usize) {
        if depth > 8 {
            return;
        }
        let Ok((s, _)) = deref(doc, s, "") else { return };
        if let Some(p) = s.get("properties").and_then(Value::as_object) {
            out.extend(p.keys().cloned());
        }
        // Every member of a composition (`oneOf: [private-user, public-user]`) adds its fields.
        for key in ["allOf", "oneOf", "anyOf"] {
            if let Some(all) = s.get(key).and_then(Value::as_array) {
                all.iter().for_each(|m| collect(doc, m, out, depth + 1));
            }
        }
    }
    let mut out = Vec::new();
    collect(doc, doc.pointer(pointer)?, &mut out, 0);
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    (!out.is_empty()).then_some(out)
}

/// The canonical pointer of a list's items schema (the array body's `items`, or those of its
/// `list_key` property), when it differs from the item schema's.
fn list_items_pointer(doc: &Value, list: &Operation, list_key: Option<&str>, item: Option<&str>) -> Option<String> {
    let body = success_pointer(doc, list)?;
    let items = match list_key {
        Some(k) => format!("{body}/properties/{}/items", crate::spec::error::escape_token(k)),
        None => format!("{body}/items"),
    };
    let items = crate::util::pointer::deep_resolve(doc, &items)?;
    let item = item.and_then(|p| crate::util::pointer::deep_resolve(doc, p));
    (item.as_deref() != Some(items.as_str())).then_some(items)
}

/// The declared fields of the object schema at `pointer` when it admits no others.
fn closed_fields(doc: &Value, pointer: &str) -> Option<Vec<String>> {
    let (s, _) = deref(doc, doc.pointer(pointer)?, pointer).ok()?;
    (s.get("additionalProperties") == Some(&Value::Bool(false))).then(|| object_properties(doc, pointer).unwrap_or_default())
}

/// Call `f` with each top-level field of the object schema at `pointer` and its schema (through
/// `$ref` and compositions).
fn each_field(doc: &Value, pointer: &str, f: &mut dyn FnMut(&str, &Value)) {
    fn walk(doc: &Value, s: &Value, f: &mut dyn FnMut(&str, &Value), depth: usize) {
        if depth > 8 {
            return;
        }
        let Ok((s, _)) = deref(doc, s, "") else { return };
        for (name, p) in s.get("properties").and_then(Value::as_object).into_iter().flatten() {
            if let Ok((p, _)) = deref(doc, p, "") {
                f(name, p);
            }
        }
        for key in ["allOf", "oneOf", "anyOf"] {
            if let Some(all) = s.get(key).and_then(Value::as_array) {
                all.iter().for_each(|m| walk(doc, m, f, depth + 1));
            }
        }
    }
    if let Some(s) = doc.pointer(pointer) {
        walk(doc, s, f, 0);
    }
}

/// The string `enum`s of the item schema's top-level fields: a list filter with a value outside
/// its field's enum (`state=all`) is no filter.
fn field_enums(doc: &Value, pointer: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    each_field(doc, pointer, &mut |name, p| {
        if let Some(values) = p.get("enum").and_then(Value::as_array) {
            out.push((name.to_string(), values.iter().filter_map(Value::as_str).map(str::to_string).collect()));
        }
    });
    out
}

/// The item's top-level fields that are maps (objects of free keys, such as `metadata`): an
/// object sent for one replaces it, where an object sent for a structured one is merged in.
fn map_fields(doc: &Value, pointer: &str) -> Vec<String> {
    let mut out = Vec::new();
    each_field(doc, pointer, &mut |name, p| {
        let is_object = p.get("type").and_then(Value::as_str) == Some("object") || p.get("additionalProperties").is_some();
        if is_object && p.get("properties").is_none() && ["allOf", "oneOf", "anyOf"].iter().all(|k| p.get(*k).is_none()) {
            out.push(name.to_string());
        }
    });
    out
}

/// The first property of an object schema whose schema is an array: where a list body keeps
/// its items.
fn array_property(doc: &Value, schema: &Value) -> Option<String> {
    let (s, _) = deref(doc, schema, "").ok()?;
    let props = s.get("properties")?.as_object()?;
    props.iter().find(|(_, p)| crate::spec::model::schema_type(doc, p).as_deref() == Some("array")).map(|(k, _)| k.clone())
}

/// Whether a single-item body is the item itself or wraps it in one property (`data`).
fn item_layout(doc: &Value, pointer: &str) -> (Option<String>, Option<String>) {
    let Some(props) = object_properties(doc, pointer) else { return (None, Some(pointer.to_string())) };
    if props.iter().any(|p| p == "id" || p.ends_with("Id") || p == "uuid") {
        return (None, Some(pointer.to_string()));
    }
    // A wrapper: the first object property whose schema has an id.
    let Some(schema) = doc.pointer(pointer) else { return (None, None) };
    let Ok((schema, at)) = deref(doc, schema, pointer) else { return (None, None) };
    for key in props {
        let child = format!("{at}/properties/{}", crate::spec::error::escape_token(&key));
        if schema.pointer(&format!("/properties/{}", crate::spec::error::escape_token(&key))).is_none() {
            continue;
        }
        if let Some(inner) = object_properties(doc, &child) {
            if inner.iter().any(|p| p == "id" || p == "uuid") {
                return (Some(key), Some(child));
            }
        }
    }
    (None, Some(pointer.to_string()))
}
