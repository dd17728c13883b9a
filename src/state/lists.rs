//! List requests: filter by query parameters that name item fields, search, sort and page.
//!
//! Takes the operation (its declared query parameters), the stored items of one collection and
//! the request's query; hands back a [`Page`]'s items, the total before paging and the paging
//! values to echo. Putting them into the list body is respond's pass
//! ([`crate::respond::apply`]).

use serde_json::Value;

use super::ids::id_string;
use crate::spec::model::ParamLocation;
use crate::spec::Operation;

#[cfg(doc)]
use crate::respond::Page;

/// Names of list parameters that page, search and sort rather than filter.
const PAGE_PARAMS: [&str; 7] = ["limit", "offset", "page", "perPage", "per_page", "pageSize", "page_size"];
const SEARCH_PARAMS: [&str; 3] = ["search", "q", "query"];
const SORT_PARAMS: [&str; 3] = ["sort", "sortBy", "order_by"];

/// Filter, search, sort and page a list (`page_size`: the vendor's fixed page size, for APIs
/// that page with `page` alone). Returns the page, the total before paging, and the
/// paging values to echo (`limit`, `offset`, `page`, `perPage`).
pub(crate) fn list(
    op: &Operation,
    mut items: Vec<&Value>,
    query: &[(String, String)],
    page_size: Option<usize>,
) -> (Vec<Value>, usize, Vec<(String, Value)>) {
    let q = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let declared = |name: &str| op.params.iter().find(|p| p.location == ParamLocation::Query && p.name == name);
    for p in op.params.iter().filter(|p| p.location == ParamLocation::Query) {
        let name = p.name.as_str();
        if PAGE_PARAMS.contains(&name) || SORT_PARAMS.contains(&name) || SEARCH_PARAMS.contains(&name) {
            continue;
        }
        let Some(wanted) = q(name) else { continue };
        let wanted: Vec<&str> = wanted.split(',').collect();
        // Only parameters that name a field of the items filter.
        if !items.iter().any(|i| i.get(name).is_some()) {
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
    let num = |name: &str| -> Option<usize> {
        q(name)
            .and_then(|v| v.parse().ok())
            .or_else(|| declared(name).and_then(|p| p.default.as_ref()).and_then(Value::as_u64).map(|n| n as usize))
    };
    let mut echo = Vec::new();
    let page_size_name = ["perPage", "per_page", "pageSize", "page_size"].into_iter().find(|n| declared(n).is_some());
    let (start, size) = if declared("page").is_some() {
        let page = num("page").unwrap_or(1).max(1);
        let size = page_size_name.and_then(num).or_else(|| num("limit")).or(page_size).unwrap_or(total.max(1)).max(1);
        echo.push(("page".to_string(), Value::from(page)));
        if let Some(n) = page_size_name {
            echo.push((n.to_string(), Value::from(size)));
        }
        ((page - 1).saturating_mul(size), size)
    } else {
        let offset = num("offset").unwrap_or(0);
        let limit = num("limit").unwrap_or(total);
        if declared("offset").is_some() {
            echo.push(("offset".to_string(), Value::from(offset)));
        }
        if declared("limit").is_some() {
            echo.push(("limit".to_string(), Value::from(limit)));
        }
        (offset, limit)
    };
    // Only the page is copied out of the store.
    let page = items.into_iter().skip(start).take(size).cloned().collect();
    (page, total, echo)
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
