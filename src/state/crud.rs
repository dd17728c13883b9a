//! CRUD requests of inferred resources: list, get, create, update (PATCH merges, PUT replaces),
//! delete — and the item building they share.
//!
//! Takes the operation's [`Role`], the tenant's [`TenantStore`] and the request's path, query and
//! body; hands back an [`Outcome`]: a [`StateAnswer`] (data, applied by respond) and a status.

use serde_json::{Map, Value};

use super::ids::{id_string, new_id};
use super::implicit::Implicit;
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
    /// Carry out a CRUD request on the tenant's store. `Ok(None)`: answer as the contract mock
    /// would (the sandbox cannot tell what the item would be).
    pub(crate) async fn crud(&self, spec: &Spec, req: Request<'_>) -> Result<Option<Outcome>, Rejection> {
        let r = &self.resources[req.ri];
        let param = |name: &str| req.path_params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let key: CollectionKey = (req.ri, super::ids::parent_key(r, req.path_params));
        let tenant = self.store.tenant(req.tenant_key);
        self.check_parent(&*tenant, req.ri, req.path_params).await?;
        let not_found = |id: &str| Rejection::resource_not_found(&singular_title(&r.name), id);
        let id = || param(&r.id_param).unwrap_or_default();
        match req.role {
            Role::List => {
                let mut page = list(spec, r, req.op, &*tenant, &key, req.query).await;
                if let StateAnswer::Page(p) = &mut page.body {
                    self.fit_to_list(spec, req.ri, &mut p.items);
                }
                Ok(Some(page))
            }
            Role::Get => {
                let id = id();
                if let Some(found) = get(r, &*tenant, &key, &id).await {
                    return Ok(Some(found));
                }
                match self.implicit_item(spec, &*tenant, &key, &id, req.tenant_key).await {
                    Implicit::Item(item) => Ok(Some(wrap(r, item, None))),
                    Implicit::Unknown => Ok(None),
                    Implicit::Missing => Err(not_found(&id)),
                }
            }
            Role::Create => {
                let sent = self.request_fields(req.op, r, req.body);
                let mut item = self.create_item(spec, &*tenant, &key, sent, req.tenant_key, &now_rfc3339()).await;
                if !r.parent_params.is_empty() {
                    // The child's reference to its parent comes from the path.
                    item = self.reference_parents(&*tenant, &key, item, req.path_params).await;
                }
                self.emit_crud(spec, r, req.tenant_key, &item, |e| &e.create);
                let status = req.op.default_response().map(|resp| resp.status.concrete());
                Ok(Some(wrap(r, item, status)))
            }
            Role::Patch | Role::Put => {
                let id = id();
                let sent = self.request_fields(req.op, r, req.body);
                let now = now_rfc3339();
                let merge = req.role == Role::Patch;
                // Cloned, not taken: a networked store may call the closure again (see TenantStore).
                let mut apply = |item: &mut Value| change(item, sent.clone(), r, merge, &now);
                let item = match tenant.update(&key, &id, &mut apply).await {
                    Some(item) => item,
                    // An item never created in a collection without fixtures: it exists as the
                    // mock would answer it, and this change is stored on it.
                    None => match self.implicit_item(spec, &*tenant, &key, &id, req.tenant_key).await {
                        Implicit::Item(mut item) => {
                            apply(&mut item);
                            tenant.create(&key, item, &mut |_, _| id.clone()).await.0
                        }
                        Implicit::Unknown => return Ok(None),
                        Implicit::Missing => return Err(not_found(&id)),
                    },
                };
                self.emit_crud(spec, r, req.tenant_key, &item, |e| &e.update);
                Ok(Some(wrap(r, item, None)))
            }
            Role::Delete => self.delete(spec, &*tenant, &key, &id(), req.tenant_key).await.map(Some),
        }
    }

    /// Delete item `id`. One never created in a collection without fixtures is deleted as the
    /// mock answers it; either way its id is remembered there, so it is a 404 from now on.
    async fn delete(
        &self,
        spec: &Spec,
        tenant: &dyn TenantStore,
        key: &CollectionKey,
        id: &str,
        tenant_key: &str,
    ) -> Result<Outcome, Rejection> {
        let (ri, r) = (key.0, &self.resources[key.0]);
        let removed = match tenant.delete(key, id).await {
            Some(removed) => removed,
            None if self.seeded[ri] || self.is_deleted(tenant, key, id).await => {
                return Err(Rejection::resource_not_found(&singular_title(&r.name), id))
            }
            None => {
                let mut item = Map::new();
                item.insert(r.id_field.clone(), Value::String(id.to_string()));
                Value::Object(item)
            }
        };
        if !self.seeded[ri] {
            self.mark_deleted(tenant, key, id).await;
        }
        self.emit_crud(spec, r, tenant_key, &removed, |e| &e.delete);
        let id_value = removed.get(&r.id_field).cloned();
        Ok(Outcome { status: None, body: StateAnswer::Deleted { id_field: r.id_field.clone(), id: id_value } })
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
    pub(crate) async fn create_item(
        &self,
        spec: &Spec,
        tenant: &dyn TenantStore,
        key: &CollectionKey,
        sent: Value,
        tenant_key: &str,
        now: &str,
    ) -> Value {
        let r = &self.resources[key.0];
        let seq = tenant.next_seq().await;
        let item = match self.item_plan(spec, key.0) {
            // Static generation: schema defaults (and examples) fill what the client did not send.
            Some(plan) => {
                let seed = crate::util::hash::stable_hash(&[tenant_key.as_bytes(), &seq.to_le_bytes()]);
                let mut item = plan.generate(seed, false);
                fill_null_objects(&mut item, &sent, &mut |n| plan.generate(seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15), false));
                item
            }
            None => Value::Object(Map::new()),
        };
        // A natural key the client names (a label's `name`) is the id; else one is made.
        let chosen = sent.get(&r.id_field).filter(|v| r.client_id && (v.is_string() || v.is_number())).cloned();
        let (item, forgotten) = tenant
            .create(key, item, &mut |existing, item| {
                let id = chosen.clone().unwrap_or_else(|| new_id(r, existing, item, seq));
                if let Some(obj) = item.as_object_mut() {
                    place_fields(obj, sent.clone(), r, false);
                    obj.insert(r.id_field.clone(), id.clone());
                    stamp(obj, now, true);
                }
                id_string(&id)
            })
            .await;
        if forgotten > 0 {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| tracing::warn!("the sandbox keeps at most {MAX_ITEMS} items per collection and tenant; the oldest {forgotten} of {} were forgotten (this is said once)", r.collection));
        }
        item
    }

    pub(crate) fn item_plan(&self, spec: &Spec, ri: usize) -> Option<&crate::respond::generate::Plan> {
        let pointer = self.resources[ri].item_schema.as_deref()?;
        Some(self.plans[ri].get_or_init(|| crate::respond::generate::Plan::compile(&spec.schemas.response, pointer)))
    }
}

/// A page of collection `key`, filtered, sorted and paged by the query.
async fn list(
    spec: &Spec,
    r: &Resource,
    op: &Operation,
    tenant: &dyn TenantStore,
    key: &CollectionKey,
    query: &[(String, String)],
) -> Outcome {
    let page_size =
        crate::spec::load::pointer(&spec.schemas.response, "/x-standin/pagination/pageSize").and_then(Value::as_u64).map(|n| n as usize);
    let mut found = None;
    tenant.list(key, &mut |items| found = Some(lists::list(op, r, items.values().collect(), query, page_size))).await;
    let lists::Listed { items, total, echo, more } =
        found.unwrap_or(lists::Listed { items: Vec::new(), total: 0, echo: Vec::new(), more: false });
    let total_pointer = crate::spec::load::pointer(&spec.schemas.response, "/x-standin/pagination/totalPointer")
        .and_then(Value::as_str)
        .map(str::to_string);
    Outcome { status: None, body: StateAnswer::Page(Page { list_key: r.list_key.clone(), items, total, total_pointer, echo, more }) }
}

/// Item `id` of collection `key`, or `None` when there is no such item.
async fn get(r: &Resource, tenant: &dyn TenantStore, key: &CollectionKey, id: &str) -> Option<Outcome> {
    let mut found = None;
    tenant
        .get(key, id, &mut |item| {
            found = item.map(|item| match &r.item_key {
                // The item is the whole body: written out where it is stored, not copied.
                None => {
                    let mut text = Vec::with_capacity(512);
                    crate::util::json_text::write_value(&mut text, item, usize::MAX);
                    Outcome { status: None, body: StateAnswer::ItemText(text.into()) }
                }
                Some(_) => wrap(r, item.clone(), None),
            })
        })
        .await;
    found
}

/// Change a stored item by a PATCH (`merge`: RFC 7396) or a PUT (replace; the id and the
/// creation time stay), and stamp its update time.
fn change(item: &mut Value, sent: Value, r: &Resource, merge: bool, now: &str) {
    let id_field = r.id_field.as_str();
    if merge {
        if let Some(obj) = item.as_object_mut() {
            place_fields(obj, sent, r, true);
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
pub(crate) fn unwrap_body(r: &Resource, v: Value) -> Value {
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
/// level down where a child object has them (JSON:API `attributes`), else top-level (unless
/// the item schema is closed and does not declare them). With
/// `merge`, values merge (RFC 7396) instead of replacing. The id is never taken from a client.
fn place_fields(obj: &mut Map<String, Value>, sent: Value, r: &Resource, merge: bool) {
    let Value::Object(sent) = sent else { return };
    for (k, v) in sent {
        // writeOnly fields (a password) are taken, never given back: not stored.
        if k == r.id_field || r.write_only.contains(&k) {
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
            // A value of another shape than the item's field (an id string sent for an object
            // such as a pull request's `head`) is a reference, not the field: it stays.
            (Some(slot), _) if !fits(slot, &v) => {}
            // A value outside the item field's enum (a free-text `state` sent where the item
            // says `open` or `closed`) would break the answer's schema: the field stays.
            (Some(_), _) if !in_enum(r, &k, &v) => {}
            (Some(slot), true) if v.is_null() => *slot = Value::Null,
            // An object sent for an object field fills it: the generated subfields the client
            // did not send stay (a price's `recurring` keeps its `interval_count`).
            (Some(slot), _) if slot.is_object() && v.is_object() && !r.maps.contains(&k) => merge_patch(slot, v),
            // Objects sent for a list of objects (an invoice's `lineItems`) fill generated ones the
            // same way: the subfields the server makes (`id`, `amount`) stay.
            (Some(slot), _) if object_items(slot).is_some() && object_items(&v).is_some() => fill_items(slot, v),
            (Some(slot), true) => merge_patch(slot, v),
            (Some(slot), false) => *slot = v,
            (None, _) if merge && v.is_null() => {}
            // A field the item's closed schema does not declare would break the answer's schema.
            (None, _) if r.closed.as_ref().is_some_and(|fields| !fields.contains(&k)) => {}
            (None, _) => {
                obj.insert(k, v);
            }
        }
    }
}

/// Whether `v` is allowed by the item field `k`'s string enum, if it has one.
fn in_enum(r: &Resource, k: &str, v: &Value) -> bool {
    match (r.enums.iter().find(|(f, _)| f == k), v) {
        (Some((_, values)), Value::String(s)) => values.iter().any(|e| e == s),
        _ => true,
    }
}

/// The items of `v` when it is a non-empty array of objects.
fn object_items(v: &Value) -> Option<&[Value]> {
    v.as_array().filter(|a| !a.is_empty() && a.iter().all(Value::is_object)).map(Vec::as_slice)
}

/// Replace the generated objects of `slot` by the `sent` ones, each merged into a generated one
/// (taken in turn) so the subfields the client does not send keep generated values.
fn fill_items(slot: &mut Value, sent: Value) {
    let templates: Vec<Value> = object_items(slot).map(<[Value]>::to_vec).unwrap_or_default();
    let Value::Array(sent) = sent else { return };
    let filled = sent
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let mut base = templates[i % templates.len()].clone();
            merge_patch(&mut base, item);
            base
        })
        .collect();
    *slot = Value::Array(filled);
}

/// Where the client sends an object for a field the generated item left `null` (a nullable
/// `card`), take the field from another generation (`regenerate(n)`, a few tries) so the
/// object sent fills a whole one, with the subfields its schema requires.
fn fill_null_objects(item: &mut Value, sent: &Value, regenerate: &mut dyn FnMut(u64) -> Value) {
    let (Some(obj), Some(sent)) = (item.as_object_mut(), sent.as_object()) else { return };
    for (k, v) in sent {
        if !v.is_object() || !obj.get(k).is_some_and(Value::is_null) {
            continue;
        }
        for n in 1..=3 {
            if let Some(found) = regenerate(n).get_mut(k).filter(|f| f.is_object()) {
                obj.insert(k.clone(), found.take());
                break;
            }
        }
    }
}

/// Whether a sent value can stand in a field whose current (stored or generated) value is
/// `slot`: the same JSON kind (numbers of any kind), or any value where the field is `null`;
/// for arrays, the first items of both of one kind.
pub(crate) fn fits(slot: &Value, sent: &Value) -> bool {
    fn kind(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
        }
    }
    match (slot, sent) {
        (Value::Null, _) | (_, Value::Null) => true,
        (Value::Array(a), Value::Array(b)) => match (a.first(), b.first()) {
            (Some(x), Some(y)) => x.is_null() || kind(x) == kind(y),
            _ => true,
        },
        _ => kind(slot) == kind(sent),
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
    fn an_object_sent_for_a_null_field_takes_the_field_from_another_generation() {
        let mut item = json!({"card": null, "name": null});
        fill_null_objects(&mut item, &json!({"card": {"token": "tok"}, "name": "x"}), &mut |n| {
            if n < 2 {
                json!({"card": null})
            } else {
                json!({"card": {"brand": "visa", "last4": "4242"}})
            }
        });
        assert_eq!(item, json!({"card": {"brand": "visa", "last4": "4242"}, "name": null}));
    }

    #[test]
    fn singular_titles_read_naturally() {
        assert_eq!(singular_title("leads"), "Lead");
        assert_eq!(singular_title("activities"), "Activity");
    }
}
