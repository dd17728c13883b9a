//! The tally and the report, from exchanges made by hand.
use super::*;

fn fields_of(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut path = String::new();
    let mut record = |p: &str| out.push(p.to_string());
    let mut de = serde_json::Deserializer::from_str(body);
    let _ = serde::de::DeserializeSeed::deserialize(FieldPaths { path: &mut path, record: &mut record, depth: 0 }, &mut de);
    out
}

#[test]
fn field_paths_name_nested_members_and_array_elements() {
    assert_eq!(
        fields_of(r#"{"name":"x","items":[{"sku":"a"},{"sku":"b","qty":2}],"meta":{"k\"ey":null}}"#),
        ["name", "items", "items[].sku", "items[].sku", "items[].qty", "meta", "meta.k\"ey"]
    );
    assert_eq!(fields_of(r#"[{"a":1}]"#), ["[].a"]);
    assert_eq!(fields_of(r#"{"a":1,"b":"#), ["a", "b"], "a broken body yields what was read");
}

fn exchange(id: u64, label: &Arc<str>, query: &str, body: &str) -> Arc<Exchange> {
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    Arc::new(Exchange {
        id,
        started_ms: 1_000,
        duration_us: 500,
        method: axum::http::Method::POST,
        path: "/things".into(),
        query: Some(query.into()),
        request_headers: crate::record::HeaderList::copy_of(&headers),
        request_body: axum::body::Bytes::copy_from_slice(body.as_bytes()),
        status: 201,
        response_headers: Default::default(),
        response_body: Default::default(),
        operation: Some(Arc::clone(label)),
        source: None,
        violations: Vec::new(),
        warnings: Vec::new(),
        tenant: None,
        secrets: Default::default(),
        write_only: None,
    })
}

#[test]
fn names_count_once_per_request_and_stay_bounded() {
    let label: Arc<str> = Arc::from("createThing");
    let c = Coverage::default();
    let many: String = (0..2 * MAX_NAMES).map(|i| format!("\"f{i}\":1")).collect::<Vec<_>>().join(",");
    c.observe(&[exchange(1, &label, "a=1&a=2", r#"{"items":[{"sku":1},{"sku":2}]}"#), exchange(2, &label, "a=3", &format!("{{{many}}}"))]);
    let t = c.tally.lock().unwrap();
    let op = &t.ops[&OpKey(Arc::clone(&label))];
    assert_eq!(op.count.requests, 2);
    assert_eq!(op.params["query.a"].requests, 2, "a repeated key counts once per request");
    assert_eq!(op.fields["items[].sku"].requests, 1);
    assert_eq!(op.fields.len(), MAX_NAMES, "bounded");
}

#[test]
fn problem_locations_lose_their_array_indexes() {
    let mut out = String::new();
    indexless("body.items[12].sku", &mut out);
    assert_eq!(out, "body.items[].sku");
    indexless("query.limit", &mut out);
    assert_eq!(out, "query.limit");
}

#[test]
fn timeline_stays_bounded_by_doubling_its_bucket_width() {
    let mut t = Timeline::default();
    for s in 0..10_000u64 {
        t.add(s * 1_000, 1_000, s % 10 == 0);
    }
    assert!(t.buckets.len() <= MAX_BUCKETS, "{} buckets", t.buckets.len());
    assert_eq!(t.buckets.iter().map(|b| b.requests).sum::<u64>(), 10_000);
    assert_eq!(t.buckets.iter().map(|b| b.violating).sum::<u64>(), 1_000);
    assert!(t.width_ms >= 10_000_000 / MAX_BUCKETS as u64);
}
