//! List requests: filter by query parameters that name item fields, search, sort and page.
//!
//! Takes the operation (its declared query parameters), the stored items of one collection and
//! the request's query; hands back a [`Page`]'s items, the total before paging and the paging
//! values to echo. Putting them into the list body is respond's pass
//! ([`crate::respond::apply`]).

use serde_json::Value;

use super::ids::id_string;
use super::infer::Resource;
use crate::spec::model::ParamLocation;
use crate::spec::Operation;

#[cfg(doc)]
use crate::respond::Page;

/// Names of list parameters that page, search and sort rather than filter.
const PAGE_PARAMS: [&str; 7] = ["limit", "offset", "page", "perPage", "per_page", "pageSize", "page_size"];
const SEARCH_PARAMS: [&str; 3] = ["search", "q", "query"];
const SORT_PARAMS: [&str; 3] = ["sort", "sortBy", "order_by"];
/// Filter values that mean "no filter" (GitHub's `state=all`, `milestone=*`).
const ALL_VALUES: [&str; 3] = ["all", "any", "*"];

/// One page of a list and what the list body reports about it.
pub(crate) struct Listed {
    pub items: Vec<Value>,
    /// How many items matched, before paging.
    pub total: usize,
    /// The paging values to echo (`limit`, `offset`, `page`, `perPage`).
    pub echo: Vec<(String, Value)>,
    /// Whether items follow this page (`has_more`).
    pub more: bool,
}

/// Filter, search, sort and page a list (`page_size`: the vendor's fixed page size, for APIs
/// that page with `page` alone; `id_field`: what a cursor names).
pub(crate) fn list(op: &Operation, r: &Resource, mut items: Vec<&Value>, query: &[(String, String)], page_size: Option<usize>) -> Listed {
    let id_field = r.id_field.as_str();
    let q = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let declared = |name: &str| op.params.iter().find(|p| p.location == ParamLocation::Query && p.name == name);
    for p in op.params.iter().filter(|p| p.location == ParamLocation::Query) {
        let name = p.name.as_str();
        if PAGE_PARAMS.contains(&name) || SORT_PARAMS.contains(&name) || SEARCH_PARAMS.contains(&name) {
            continue;
        }
        let Some(wanted) = q(name) else { continue };
        let wanted: Vec<&str> = wanted.split(',').filter(|w| !ALL_VALUES.contains(w)).collect();
        // Only parameters that name a scalar field of the items filter, and only with values of
        // the field's type (`state=all`, `labels=bug` against an array, `since=<date>` against
        // a number leave the list whole).
        let Some(sample) = items.iter().find_map(|i| i.get(name).filter(|v| !v.is_null())) else { continue };
        let allowed = r.enums.iter().find(|(f, _)| f == name).map(|(_, values)| values);
        if wanted.is_empty() || !wanted.iter().all(|w| fits(sample, w) && allowed.is_none_or(|a| a.iter().any(|v| v == w))) {
            continue;
        }
        items.retain(|i| i.get(name).is_some_and(|v| wanted.contains(&id_string(v).as_str())));
    }
    if let Some(term) = SEARCH_PARAMS.iter().find_map(|s| declared(s).and(q(s))).map(str::to_lowercase).filter(|t| !t.is_empty()) {
        items.retain(|i| i.as_object().is_some_and(|o| o.values().any(|v| v.as_str().is_some_and(|s| s.to_lowercase().contains(&term)))));
    }
    if let Some(sort) = SORT_PARAMS.iter().find_map(|s| declared(s).and(q(s))) {
        let (field, desc) = match sort.strip_prefix('-') {
            Some(f) => (f, true),
            None => (sort.trim_start_matches('+'), false),
        };
        items.sort_by(|a, b| {
            let o = compare(a.get(field), b.get(field));
            if desc {
                o.reverse()
            } else {
                o
            }
        });
    }
    let total = items.len();
    let (start, size, echo) = window(op, query, &items, id_field, page_size);
    // Only the page is copied out of the store.
    let page: Vec<Value> = items.into_iter().skip(start).take(size).cloned().collect();
    let more = start.saturating_add(page.len()) < total;
    Listed { items: page, total, echo, more }
}

/// Where the page starts and how long it is, and the paging values to echo: by `page` and a
/// page size, by `limit`/`offset`, or by a cursor (`starting_after`/`ending_before`: the id of
/// the item the page starts after or ends before; an unknown id gives an empty page).
fn window(
    op: &Operation,
    query: &[(String, String)],
    items: &[&Value],
    id_field: &str,
    page_size: Option<usize>,
) -> (usize, usize, Vec<(String, Value)>) {
    let total = items.len();
    let q = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let declared = |name: &str| op.params.iter().find(|p| p.location == ParamLocation::Query && p.name == name);
    let num = |name: &str| -> Option<usize> {
        q(name)
            .and_then(|v| v.parse().ok())
            .or_else(|| declared(name).and_then(|p| p.default.as_ref()).and_then(Value::as_u64).map(|n| n as usize))
    };
    let cursor = |name: &str| declared(name).and(q(name)).filter(|v| !v.is_empty());
    let at = |id: &str| items.iter().position(|i| i.get(id_field).is_some_and(|v| id_string(v) == id));
    let mut echo = Vec::new();
    let page_size_name = ["perPage", "per_page", "pageSize", "page_size"].into_iter().find(|n| declared(n).is_some());
    if declared("page").is_some() {
        let page = num("page").unwrap_or(1).max(1);
        let size = page_size_name.and_then(num).or_else(|| num("limit")).or(page_size).unwrap_or(total.max(1)).max(1);
        echo.push(("page".to_string(), Value::from(page)));
        if let Some(n) = page_size_name {
            echo.push((n.to_string(), Value::from(size)));
        }
        return ((page - 1).saturating_mul(size), size, echo);
    }
    let limit = num("limit").unwrap_or(total);
    if declared("limit").is_some() {
        echo.push(("limit".to_string(), Value::from(limit)));
    }
    if let Some(after) = cursor("starting_after") {
        return (at(after).map_or(total, |p| p + 1), limit, echo);
    }
    if let Some(before) = cursor("ending_before") {
        let end = at(before).unwrap_or(0);
        let start = end.saturating_sub(limit);
        return (start, end - start, echo);
    }
    let offset = num("offset").unwrap_or(0);
    if declared("offset").is_some() {
        echo.insert(0, ("offset".to_string(), Value::from(offset)));
    }
    (offset, limit, echo)
}

/// Whether the query value `wanted` can be a value of the field `sample` is a value of.
fn fits(sample: &Value, wanted: &str) -> bool {
    match sample {
        Value::Number(_) => wanted.parse::<f64>().is_ok(),
        Value::Bool(_) => wanted == "true" || wanted == "false",
        Value::String(_) => true,
        _ => false,
    }
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(std::cmp::Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        _ => std::cmp::Ordering::Equal,
    }
}
