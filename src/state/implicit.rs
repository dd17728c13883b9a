//! What the sandbox assumes about items it never saw, so it never answers worse than the
//! contract mock: an item of a collection without fixtures exists as the mock would answer it
//! (a generated item with the path id) until it is deleted; a nested resource's parent must
//! exist; a created child refers to the parent in its path; a create or update body is read
//! like the validator reads it (JSON, or a form or multipart body typed by its schema); a stored
//! item listed where the list has its own item schema is fitted to it.
//!
//! Takes a resource, the tenant's store and the request's path parameters; hands back items,
//! the vendor's 404 for a missing parent, and whether an id was deleted (kept as tombstones in
//! the store, in a collection of their own next to the items).

use serde_json::{Map, Value};

use super::crud::singular_title;
use super::ids::{id_string, parent_key};
use super::infer::Resource;
use super::store::{CollectionKey, TenantStore};
use super::Sandbox;
use crate::reject::Rejection;
use crate::spec::{Operation, Spec};

/// A list's own item schema, compiled: its validator and a generated item (the template fields
/// are taken from).
pub(crate) type ListFit = (std::sync::Arc<jsonschema::Validator>, Value);

/// Marks the parent key of a collection of tombstones (ids deleted from `(ri, parent)`).
pub(crate) const DELETED: char = '\u{1}';

/// What the sandbox knows of an item it does not hold.
pub(crate) enum Implicit {
    /// It exists as the mock answers it: this generated item with the path id.
    Item(Value),
    /// It was deleted, or its collection has fixtures (which list every item): 404.
    Missing,
    /// Nothing to go by (no item schema): the mock answers.
    Unknown,
}

impl Sandbox {
    /// The item `id` of collection `key` as the mock would answer it, if the sandbox may assume it.
    pub(crate) async fn implicit_item(
        &self,
        spec: &Spec,
        tenant: &dyn TenantStore,
        key: &CollectionKey,
        id: &str,
        tenant_key: &str,
    ) -> Implicit {
        if self.seeded[key.0] || self.is_deleted(tenant, key, id).await {
            return Implicit::Missing;
        }
        let r = &self.resources[key.0];
        let Some(plan) = self.item_plan(spec, key.0) else { return Implicit::Unknown };
        let mut item =
            plan.generate(crate::util::hash::stable_hash(&[tenant_key.as_bytes(), r.collection.as_bytes(), id.as_bytes()]), false);
        // A path id that cannot be the field (`{workflow_id}` as a file name, the field an
        // integer): the mock answers.
        let Some(slot) = item.get_mut(&r.id_field) else { return Implicit::Unknown };
        let Some(typed) = typed_like(slot, id) else { return Implicit::Unknown };
        *slot = typed;
        Implicit::Item(item)
    }

    /// Whether `id` was deleted from collection `key`.
    pub(crate) async fn is_deleted(&self, tenant: &dyn TenantStore, key: &CollectionKey, id: &str) -> bool {
        let mut found = false;
        tenant.get(&tombstones(key), id, &mut |item| found = item.is_some()).await;
        found
    }

    /// Remember that `id` was deleted from collection `key`.
    pub(crate) async fn mark_deleted(&self, tenant: &dyn TenantStore, key: &CollectionKey, id: &str) {
        tenant.create(&tombstones(key), Value::Bool(true), &mut |_, _| id.to_string()).await;
    }

    /// The vendor's 404 when a nested resource's parent item does not exist (it was deleted, or
    /// its collection has fixtures and none with that id); each ancestor in turn.
    pub(crate) async fn check_parent(
        &self,
        tenant: &dyn TenantStore,
        ri: usize,
        path_params: &[(String, String)],
    ) -> Result<(), Rejection> {
        let mut at = ri;
        // Bounded by the number of resources: each step goes to a shorter collection path.
        for _ in 0..self.resources.len() {
            let Some(pi) = self.parents[at] else { return Ok(()) };
            let parent = &self.resources[pi];
            let id = path_params.iter().find(|(k, _)| *k == parent.id_param).map(|(_, v)| v.as_str()).unwrap_or_default();
            let key = (pi, parent_key(parent, path_params));
            let mut exists = false;
            tenant.get(&key, id, &mut |item| exists = item.is_some()).await;
            if !exists && (self.seeded[pi] || self.is_deleted(tenant, &key, id).await) {
                return Err(Rejection::resource_not_found(&singular_title(&parent.name), id));
            }
            at = pi;
        }
        Ok(())
    }

    /// Set a created child's references to its parents (`projectId`, `project_id`, `project`)
    /// from the path, where the item has such a field; the stored item is changed too.
    pub(crate) async fn reference_parents(
        &self,
        tenant: &dyn TenantStore,
        key: &CollectionKey,
        item: Value,
        path_params: &[(String, String)],
    ) -> Value {
        let r = &self.resources[key.0];
        let mut refs = Map::new();
        for (field, value) in parent_fields(r, path_params) {
            if let Some(typed) = item.get(&field).filter(|v| !v.is_object() && !v.is_array()).and_then(|slot| typed_like(slot, &value)) {
                refs.insert(field, typed);
            }
        }
        if refs.is_empty() {
            return item;
        }
        let Some(id) = item.get(&r.id_field).map(id_string) else { return item };
        let mut refs = Some(refs);
        let changed = tenant
            .update(key, &id, &mut |stored| {
                if let (Some(obj), Some(refs)) = (stored.as_object_mut(), refs.take()) {
                    obj.extend(refs);
                }
            })
            .await;
        changed.unwrap_or(item)
    }

    /// The fields a create or update sent, as a JSON value: the JSON body, or a form body typed
    /// by its schema, unwrapped from the resource's body key.
    pub(crate) fn request_fields(&self, op: &Operation, r: &Resource, body: &[u8]) -> Value {
        let sent = match serde_json::from_slice::<Value>(body) {
            Ok(v) => v,
            Err(_) if !body.is_empty() => crate::pipeline::validate::form_body(op, body).unwrap_or(Value::Object(Map::new())),
            Err(_) => Value::Object(Map::new()),
        };
        let mut sent = super::crud::unwrap_body(r, sent);
        // writeOnly members (a card's `cvc`, at any depth) are taken, never stored, so never
        // given back (the names are gathered at load: `RequestBody::write_only`).
        if let Some(names) = op.body.as_ref().and_then(|b| b.write_only.as_deref()) {
            drop_members(&mut sent, names, 0);
        }
        sent
    }
}

impl Sandbox {
    /// Fit the items of a page to the list's own item schema where it differs from the item
    /// schema and an item breaks it: fields of another kind take the list template's value,
    /// missing ones are added from it (a `pull-request-simple`'s teams need a `parent`).
    /// Items that validate are left as they are.
    pub(crate) fn fit_to_list(&self, spec: &Spec, ri: usize, items: &mut [Value]) {
        let Some(pointer) = self.resources[ri].list_item_schema.as_deref() else { return };
        let fit = self.list_fits[ri].get_or_init(|| {
            let validator = spec.schemas.compile_pointer(crate::spec::View::Response, pointer).ok()?;
            let template = crate::respond::generate::Plan::compile(&spec.schemas.response, pointer).generate(0, false);
            Some((validator, template))
        });
        let Some((validator, template)) = fit else { return };
        for item in items.iter_mut().filter(|i| !validator.is_valid(i)) {
            conform(item, template, 0);
        }
    }
}

/// Make `item` take the shape of `template`: fields of another kind replaced, missing ones
/// added, recursively (arrays after their first template item).
fn conform(item: &mut Value, template: &Value, depth: usize) {
    if depth > 6 {
        return;
    }
    match (item, template) {
        (Value::Object(obj), Value::Object(t)) => {
            for (k, tv) in t {
                match obj.get_mut(k) {
                    None => {
                        obj.insert(k.clone(), tv.clone());
                    }
                    Some(v) if !super::crud::fits(v, tv) || (v.is_null() && !tv.is_null()) => *v = tv.clone(),
                    Some(v) => conform(v, tv, depth + 1),
                }
            }
        }
        (Value::Array(items), Value::Array(t)) => {
            if let Some(first) = t.first() {
                items.iter_mut().for_each(|i| conform(i, first, depth + 1));
            }
        }
        _ => {}
    }
}

/// The tombstones of collection `key`.
fn tombstones(key: &CollectionKey) -> CollectionKey {
    (key.0, format!("{}{DELETED}", key.1))
}

/// `raw` (a path value) as the JSON kind of `like`: a number where the field is one (`None`
/// when it is not a number), else text.
pub(crate) fn typed_like(like: &Value, raw: &str) -> Option<Value> {
    match like {
        Value::Number(_) => raw.parse::<i64>().ok().map(Value::from),
        _ => Some(Value::String(raw.to_string())),
    }
}

/// The resource each nested resource's parent path names: `/projects/{id}/tasks` → the
/// resource whose items are `/projects/{id}`.
pub(crate) fn parents(resources: &[Resource]) -> Vec<Option<usize>> {
    // Item path → the first resource with a single-item GET there: one pass, then a look-up per
    // resource (a spec with 30,000 operations has thousands of resources).
    let mut by_item: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, p) in resources.iter().enumerate().filter(|(_, p)| p.op(super::infer::Role::Get).is_some()) {
        by_item.entry(format!("{}/{{{}}}", p.collection, p.id_param)).or_insert(i);
    }
    resources.iter().map(|r| r.collection.rsplit_once('/').and_then(|(parent_item, _)| by_item.get(parent_item).copied())).collect()
}

/// The candidate reference fields of a nested resource's item and their values from the path:
/// for `/projects/{id}/tasks`, `projectId`, `project_id` and `project` (or the declared
/// `parentField`) ← the `{id}` value.
fn parent_fields(r: &Resource, path_params: &[(String, String)]) -> Vec<(String, String)> {
    let segments: Vec<&str> = r.collection.split('/').collect();
    let mut out = Vec::new();
    for p in &r.parent_params {
        let Some(pos) = segments.iter().position(|s| *s == format!("{{{p}}}")) else { continue };
        let Some(name) = pos.checked_sub(1).and_then(|i| segments.get(i)) else { continue };
        let Some(value) = path_params.iter().find(|(k, _)| k == p).map(|(_, v)| v.clone()) else { continue };
        // The parameter's own name (`{id}`) may be the child's id field: never overwritten.
        for field in super::ids::reference_fields(r, p, name).into_iter().filter(|f| *f != r.id_field) {
            out.push((field, value.clone()));
        }
    }
    out
}

/// Remove the members named in `names` from `v`, at any depth (bounded).
fn drop_members(v: &mut Value, names: &[String], depth: u32) {
    if depth > 64 {
        return;
    }
    match v {
        Value::Object(map) => {
            map.retain(|k, _| !names.contains(k));
            for child in map.values_mut() {
                drop_members(child, names, depth + 1);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| drop_members(i, names, depth + 1)),
        _ => {}
    }
}
