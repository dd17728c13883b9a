//! CRUD requests of inferred resources: list, get, create, update (PATCH merges, PUT replaces),
//! delete — and the item building they share.
//!
//! Takes the operation's [`Role`], the tenant's [`TenantStore`] and the request's path, query and
//! body; hands back an [`Outcome`]: a [`StateAnswer`] (data, applied by respond) and a status.

use serde_json::{Map, Value};

use super::ids::{id_string, new_id};
use super::infer::{Resource, Role};
use super::store::{CollectionKey, TenantStore, MAX_ITEMS};
use super::{actions, lists, now_rfc3339, Outcome, Sandbox};
use crate::reject::Rejection;
use crate::respond::{Page, StateAnswer};
use crate::spec::{Operation, Spec};

/// One CRUD request, as [`Sandbox::handle`] received it.
pub(crate) struct Request<'q> {
    pub op: &'q Operation,
    pub ri: usize,
    pub role: Role,
    pub tenant_key: &'q str,
    pub path_params: &'q [(String, String)],
    pub query: &'q [(String, String)],
    pub body: &'q [u8],
}

impl Sandbox {
    /// Carry out a CRUD request on the tenant's store.
    pub(crate) fn crud(&self, spec: &Spec, req: Request<'_>) -> Result<Outcome, Rejection> {
        let r = &self.resources[req.ri];
        let param = |name: &str| req.path_params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let key: CollectionKey = (req.ri, super::ids::parent_key(r, req.path_params));
        let tenant = self.store.tenant(req.tenant_key);
        let not_found = |id: &str| Rejection::resource_not_found(&singular_title(&r.name), id);
        let id = || param(&r.id_param).unwrap_or_default();
        match req.role {
            Role::List => Ok(list(spec, r, req.op, &*tenant, &key, req.query)),
            Role::Get => get(r, &*tenant, &key, &id()).ok_or_else(|| not_found(&id())),
            Role::Create => {
                let sent = unwrap_body(r, req.body);
                let item = self.create_item(spec, &*tenant, &key, sent, req.tenant_key, &now_rfc3339());
                self.emit_crud(spec, r, req.tenant_key, &item, |e| &e.create);
                let status = req.op.default_response().map(|resp| resp.status.concrete());
                Ok(wrap(r, item, status))
            }
            Role::Patch | Role::Put => {
                let id = id();
                let sent = unwrap_body(r, req.body);
                let now = now_rfc3339();
                let merge = req.role == Role::Patch;
                // Cloned, not taken: a networked store may call the closure again (see TenantStore).
                let item = tenant
                    .update(&key, &id, &mut |item| change(item, sent.clone(), &r.id_field, merge, &now))
                    .ok_or_else(|| not_found(&id))?;
                self.emit_crud(spec, r, req.tenant_key, &item, |e| &e.update);
                Ok(wrap(r, item, None))
            }
            Role::Delete => {
                let id = id();
                let removed = tenant.delete(&key, &id).ok_or_else(|| not_found(&id))?;
                self.emit_crud(spec, r, req.tenant_key, &removed, |e| &e.delete);
                let id_value = removed.get(&r.id_field).cloned();
                Ok(Outcome { status: None, body: StateAnswer::Deleted { id_field: r.id_field.clone(), id: id_value } })
            }
        }
    }

    /// Emit the events `x-standin.events` declares for this kind of change of `r`.
    pub(crate) fn emit_crud(
        &self,
        spec: &Spec,
        r: &Resource,
        tenant: &str,
        item: &Value,
        which: impl Fn(&actions::CrudEvents) -> &actions::EventList,
    ) {
        if let Some(events) = spec.ext.events.get(&r.collection) {
            for e in which(events).matching(item) {
                self.events.emit(tenant, e, item);
            }
        }
    }

    /// Create an item in collection `key`: generated fields, then the sent ones, a new id,
    /// timestamps. Returns the stored item.
    pub(crate) fn create_item(
        &self,
        spec: &Spec,
        tenant: &dyn TenantStore,
        key: &CollectionKey,
        sent: Value,
        tenant_key: &str,
        now: &str,
    ) -> Value {
        let r = &self.resources[key.0];
        let seq = tenant.next_seq();
        let item = match self.item_plan(spec, key.0) {
            // Static generation: schema defaults (and examples) fill what the client did not send.
            Some(plan) => plan.generate(crate::util::hash::stable_hash(&[tenant_key.as_bytes(), &seq.to_le_bytes()]), false),
            None => Value::Object(Map::new()),
        };
        let (item, forgotten) = tenant.create(key, item, &mut |existing, item| {
            let id = new_id(r, existing, item, seq);
            if let Some(obj) = item.as_object_mut() {
                place_fields(obj, sent.clone(), &r.id_field, false);
                obj.insert(r.id_field.clone(), id.clone());
                stamp(obj, now, true);
            }
            id_string(&id)
        });
        if forgotten > 0 {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| tracing::warn!("the sandbox keeps at most {MAX_ITEMS} items per collection and tenant; the oldest {forgotten} of {} were forgotten (this is said once)", r.collection));
        }
        item
    }

    fn item_plan(&self, spec: &Spec, ri: usize) -> Option<&crate::respond::generate::Plan> {
        let pointer = self.resources[ri].item_schema.as_deref()?;
        Some(self.plans[ri].get_or_init(|| crate::respond::generate::Plan::compile(&spec.schemas.response, pointer)))
    }
}

/// A page of collection `key`, filtered, sorted and paged by the query.
fn list(spec: &Spec, r: &Resource, op: &Operation, tenant: &dyn TenantStore, key: &CollectionKey, query: &[(String, String)]) -> Outcome {
    let page_size =
        crate::spec::load::pointer(&spec.schemas.response, "/x-standin/pagination/pageSize").and_then(Value::as_u64).map(|n| n as usize);
    let mut found = (Vec::new(), 0, Vec::new());
    tenant.list(key, &mut |items| found = lists::list(op, items.values().collect(), query, page_size));
    let (items, total, echo) = found;
    let total_pointer = crate::spec::load::pointer(&spec.schemas.response, "/x-standin/pagination/totalPointer")
        .and_then(Value::as_str)
        .map(str::to_string);
    Outcome { status: None, body: StateAnswer::Page(Page { list_key: r.list_key.clone(), items, total, total_pointer, echo }) }
}

/// Item `id` of collection `key`, or `None` when there is no such item.
fn get(r: &Resource, tenant: &dyn TenantStore, key: &CollectionKey, id: &str) -> Option<Outcome> {
    let mut found = None;
    tenant.get(key, id, &mut |item| {
        found = item.map(|item| match &r.item_key {
            // The item is the whole body: written out where it is stored, not copied.
            None => {
                let mut text = Vec::with_capacity(512);
                crate::util::json_text::write_value(&mut text, item, usize::MAX);
                Outcome { status: None, body: StateAnswer::ItemText(text.into()) }
            }
            Some(_) => wrap(r, item.clone(), None),
        })
    });
    found
}

/// Change a stored item by a PATCH (`merge`: RFC 7396) or a PUT (replace; the id and the
/// creation time stay), and stamp its update time.
fn change(item: &mut Value, sent: Value, id_field: &str, merge: bool, now: &str) {
    if merge {
        if let Some(obj) = item.as_object_mut() {
            place_fields(obj, sent, id_field, true);
        }
    } else if let (Some(obj), Value::Object(sent)) = (item.as_object_mut(), sent) {
        let keep: Vec<(String, Value)> =
            ["createdAt", "created_at"].iter().filter_map(|k| obj.get(*k).map(|v| (k.to_string(), v.clone()))).collect();
        let id_value = obj.get(id_field).cloned();
        obj.clear();
        obj.extend(sent);
        obj.extend(keep);
        if let Some(v) = id_value {
            obj.insert(id_field.to_string(), v);
        }
    }
    if let Some(obj) = item.as_object_mut() {
        stamp(obj, now, false);
    }
}

/// The item part of a create/update body (`{"tag": {...}}` → the tag), as an object.
fn unwrap_body(r: &Resource, body: &[u8]) -> Value {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Object(Map::new()));
    match (&r.body_key, &v) {
        (Some(k), Value::Object(m)) if m.get(k).is_some_and(Value::is_object) => m[k].clone(),
        _ => v,
    }
}

/// Answer with one item, inside the response body's wrapper when it has one.
pub(crate) fn wrap(r: &Resource, item: Value, status: Option<u16>) -> Outcome {
    let body = match r.item_key.clone() {
        Some(key) => StateAnswer::Wrapped { key, item },
        // The item is the whole body: nothing else is chosen or generated.
        None => StateAnswer::Item(item),
    };
    Outcome { status, body }
}

/// Put the fields a client sent into an item: top-level where the item has them, else one
/// level down where a child object has them (JSON:API `attributes`), else top-level. With
/// `merge`, values merge (RFC 7396) instead of replacing. The id is never taken from a client.
fn place_fields(obj: &mut Map<String, Value>, sent: Value, id_field: &str, merge: bool) {
    let Value::Object(sent) = sent else { return };
    for (k, v) in sent {
        if k == id_field {
            continue;
        }
        let slot = if obj.contains_key(&k) {
            obj.get_mut(&k)
        } else {
            match obj.values_mut().find(|c| c.as_object().is_some_and(|c| c.contains_key(&k))) {
                Some(Value::Object(child)) => child.get_mut(&k),
                _ => None,
            }
        };
        match (slot, merge) {
            (Some(slot), true) if v.is_null() => *slot = Value::Null,
            (Some(slot), true) => merge_patch(slot, v),
            (Some(slot), false) => *slot = v,
            (None, _) if merge && v.is_null() => {}
            (None, _) => {
                obj.insert(k, v);
            }
        }
    }
}

/// RFC 7396 JSON merge patch: objects merge recursively, `null` deletes.
fn merge_patch(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Some(t) = target.as_object_mut() {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(&k);
                    } else {
                        merge_patch(t.entry(k).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other,
    }
}

/// Set the server-managed timestamps that the item has (or, on create, is generated with).
pub(crate) fn stamp(obj: &mut Map<String, Value>, now: &str, created: bool) {
    for field in ["updatedAt", "updated_at"] {
        if obj.get(field).is_some_and(Value::is_string) {
            obj.insert(field.into(), Value::String(now.to_string()));
        }
    }
    if created {
        for field in ["createdAt", "created_at"] {
            if obj.get(field).is_some_and(Value::is_string) {
                obj.insert(field.into(), Value::String(now.to_string()));
            }
        }
    }
}

/// The English name of one item of `name` (`leads` → `Lead`), for the vendor's 404 wording.
pub(crate) fn singular_title(name: &str) -> String {
    let s = name
        .strip_suffix("ies")
        .map(|b| format!("{b}y"))
        .or_else(|| name.strip_suffix('s').map(str::to_string))
        .unwrap_or_else(|| name.to_string());
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_merges_objects_and_deletes_nulls() {
        let mut t = json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge_patch(&mut t, json!({"a": 5, "b": {"d": null, "e": 4}}));
        assert_eq!(t, json!({"a": 5, "b": {"c": 2, "e": 4}}));
    }

    #[test]
    fn singular_titles_read_naturally() {
        assert_eq!(singular_title("leads"), "Lead");
        assert_eq!(singular_title("activities"), "Activity");
    }
}
