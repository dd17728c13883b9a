//! The sandbox's answer as data ([`StateAnswer`]), and the pass that applies it to the body the
//! usual precedence chose (`apply_state`).
//!
//! Takes what `state` decided (a stored item, a page of a list, a deletion, fields to set) and
//! hands [`respond`](super::respond) the finished JSON body. State never sees a response body;
//! respond never looks into the store.

use axum::body::Bytes;
use serde_json::{Map, Value};

/// What the stateful sandbox says about a JSON answer.
#[derive(Debug, Clone, PartialEq)]
pub enum StateAnswer {
    /// The body is this stored item: nothing else is chosen or generated.
    Item(Value),
    /// The body is this JSON text (a stored item serialized where it is stored, without a copy of
    /// the item): nothing else is chosen or generated.
    ItemText(Bytes),
    /// The usual body, with this item under its wrapper field `key` (the whole body when the
    /// usual body is not an object).
    Wrapped { key: String, item: Value },
    /// The usual body, with a page of a list put in and its totals set.
    Page(Page),
    /// The usual body, with the deleted item's id in `id_field` when the body has that field.
    Deleted { id_field: String, id: Option<Value> },
    /// The usual body, with these top-level fields set (an action's declared answer).
    Fields(Map<String, Value>),
    /// The usual body, unchanged (an action that declares no answer).
    Keep,
}

/// One page of a list, with what the list body reports about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The field of the list body that holds the items (`None`: the body is the array).
    pub list_key: Option<String>,
    /// The items of this page.
    pub items: Vec<Value>,
    /// How many items matched, before paging.
    pub total: usize,
    /// Where the body keeps the total (`x-standin.pagination.totalPointer`); else a top-level
    /// `total` or `meta.total` when the body has one.
    pub total_pointer: Option<String>,
    /// Paging values to echo next to the total (`limit`, `offset`, `page`, `perPage`).
    pub echo: Vec<(String, Value)>,
    /// Whether items follow this page: set into a top-level `has_more` (Stripe's cursor
    /// lists) when the body has one.
    pub more: bool,
}

impl StateAnswer {
    /// Whether the answer changes the usual body (so it is needed as a JSON value).
    pub(crate) fn edits(&self) -> bool {
        matches!(self, StateAnswer::Wrapped { .. } | StateAnswer::Page(_) | StateAnswer::Deleted { .. } | StateAnswer::Fields(_))
    }
}

/// Apply an editing answer to the usual JSON body (whole-body answers and `Keep` leave it).
pub(crate) fn apply_state(body: &mut Value, answer: StateAnswer) {
    match answer {
        StateAnswer::Wrapped { key, item } => match body.as_object_mut() {
            Some(obj) => {
                obj.insert(key, item);
            }
            None => *body = item,
        },
        StateAnswer::Page(page) => {
            match page.list_key {
                Some(k) => {
                    if let Some(obj) = body.as_object_mut() {
                        obj.insert(k, Value::Array(page.items));
                    }
                }
                None => *body = Value::Array(page.items),
            }
            set_totals(body, page.total_pointer.as_deref(), page.total, &page.echo);
            if let Some(slot) = body.get_mut("has_more").filter(|v| v.is_boolean()) {
                *slot = Value::Bool(page.more);
            }
        }
        StateAnswer::Deleted { id_field, id } => {
            if let (Some(obj), Some(v)) = (body.as_object_mut(), id) {
                if let Some(slot) = obj.get_mut(&id_field) {
                    // A path id (text) goes into a numeric field as a number, or not at all.
                    match (&*slot, v) {
                        (Value::Number(_), Value::String(s)) => {
                            if let Ok(n) = s.parse::<i64>() {
                                *slot = Value::from(n);
                            }
                        }
                        (_, v) => *slot = v,
                    }
                }
            }
        }
        StateAnswer::Fields(fields) => {
            if let Some(obj) = body.as_object_mut() {
                for (k, v) in fields {
                    obj.insert(k, v);
                }
            }
        }
        StateAnswer::Item(_) | StateAnswer::ItemText(_) | StateAnswer::Keep => {}
    }
}

/// Put the true total (and the paging values) where the list body keeps them: the
/// `x-standin.pagination.totalPointer`, else a top-level `total` or `meta.total`.
fn set_totals(body: &mut Value, total_pointer: Option<&str>, total: usize, echo: &[(String, Value)]) {
    let pointer = total_pointer.map(str::to_string).or_else(|| {
        if body.get("total").is_some() {
            Some("/total".into())
        } else if body.pointer("/meta/total").is_some() {
            Some("/meta/total".into())
        } else {
            None
        }
    });
    let Some(pointer) = pointer else { return };
    let parent = pointer.rsplit_once('/').map(|(p, _)| p.to_string()).unwrap_or_default();
    if let Some(slot) = body.pointer_mut(&pointer) {
        *slot = Value::from(total);
    }
    if let Some(Value::Object(holder)) = body.pointer_mut(&parent) {
        for (k, v) in echo {
            if holder.contains_key(k) {
                holder.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_page_replaces_the_items_and_sets_the_totals_it_finds() {
        let mut body = json!({"data": [{"id": 0}], "meta": {"total": 0, "limit": 10, "other": 1}});
        let page = Page {
            list_key: Some("data".into()),
            items: vec![json!({"id": 1})],
            total: 7,
            total_pointer: None,
            echo: vec![("limit".into(), json!(1)), ("offset".into(), json!(0))],
            more: true,
        };
        apply_state(&mut body, StateAnswer::Page(page));
        assert_eq!(body, json!({"data": [{"id": 1}], "meta": {"total": 7, "limit": 1, "other": 1}}));
    }

    #[test]
    fn a_deletion_reflects_the_id_only_into_a_body_that_has_the_field() {
        let mut with = json!({"id": "x", "deleted": true});
        apply_state(&mut with, StateAnswer::Deleted { id_field: "id".into(), id: Some(json!("d_1")) });
        assert_eq!(with, json!({"id": "d_1", "deleted": true}));
        let mut numeric = json!({"id": 1});
        apply_state(&mut numeric, StateAnswer::Deleted { id_field: "id".into(), id: Some(json!("42")) });
        assert_eq!(numeric, json!({"id": 42}));
        let mut without = json!({"ok": true});
        apply_state(&mut without, StateAnswer::Deleted { id_field: "id".into(), id: Some(json!("d_1")) });
        assert_eq!(without, json!({"ok": true}));
    }
}
