//! What the stateful sandbox infers from a vendor's spec so it never answers worse than the
//! contract mock: the id field a path parameter looks items up by, request fields that fit the
//! item, items never created, "all"-style filters, deeper siblings, form bodies, `POST`
//! updates, cursor pages and nested parents (tests/fixtures/specs/sandbox.yaml).

use serde_json::{json, Value};

use crate::common::{parts, TestServer};

const SPEC: &str = "tests/fixtures/specs/sandbox.yaml";

async fn sandbox() -> TestServer {
    TestServer::stateful(SPEC, None).await
}

async fn send(t: &TestServer, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = t.client.request(method.parse().unwrap(), t.url(path));
    if let Some(b) = body {
        r = r.header("content-type", "application/json").body(b.to_string());
    }
    let (status, _, body) = parts(r.send().await.unwrap()).await;
    (status, body)
}

async fn form(t: &TestServer, path: &str, body: &str) -> (u16, Value) {
    let r = t.client.post(t.url(path)).header("content-type", "application/x-www-form-urlencoded").body(body.to_string());
    let (status, _, body) = parts(r.send().await.unwrap()).await;
    (status, body)
}

#[tokio::test]
async fn items_are_keyed_by_the_field_the_path_parameter_names() {
    let t = sandbox().await;
    let (_, first) = send(&t, "POST", "/repos/octocat/issues", Some(json!({"title": "one"}))).await;
    let (_, second) = send(&t, "POST", "/repos/octocat/issues", Some(json!({"title": "two"}))).await;
    assert_ne!(first["number"], second["number"], "{first} {second}");
    let n = second["number"].as_i64().unwrap();
    let (status, got) = send(&t, "GET", &format!("/repos/octocat/issues/{n}"), None).await;
    assert_eq!((status, got["title"].as_str()), (200, Some("two")), "{got}");
    let (status, patched) = send(&t, "PATCH", &format!("/repos/octocat/issues/{n}"), Some(json!({"state": "closed"}))).await;
    assert_eq!((status, patched["state"].as_str(), patched["title"].as_str()), (200, Some("closed"), Some("two")));
    // A natural key the client names (a label's `name`) is the id it is read back by.
    let (status, label) =
        send(&t, "POST", "/repos/octocat/labels", Some(json!({"name": "sdk-label", "color": "ff0000", "extra": 1}))).await;
    assert_eq!((status, label["name"].as_str()), (201, Some("sdk-label")), "{label}");
    // The label schema is closed: a field it does not declare is not stored.
    assert!(label.get("extra").is_none(), "{label}");
    let (status, got) = send(&t, "GET", "/repos/octocat/labels/sdk-label", None).await;
    assert_eq!((status, got["color"].as_str()), (200, Some("ff0000")), "{got}");
    let (status, _) = send(&t, "DELETE", "/repos/octocat/labels/sdk-label", None).await;
    assert_eq!(status, 204);
    let (status, _) = send(&t, "GET", "/repos/octocat/labels/sdk-label", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_request_field_of_another_shape_does_not_replace_the_item_field() {
    let t = sandbox().await;
    let (status, issue) = send(&t, "POST", "/repos/octocat/issues", Some(json!({"title": "pr", "head": "feature"}))).await;
    assert_eq!(status, 201);
    assert!(issue["head"].is_object() && issue["head"]["ref"].is_string(), "{issue}");
    assert_eq!(issue["title"], "pr");
}

#[tokio::test]
async fn an_item_never_created_answers_like_the_mock_until_deleted() {
    let t = sandbox().await;
    let (status, user) = send(&t, "GET", "/users/hubot", None).await;
    assert_eq!((status, user["login"].as_str()), (200, Some("hubot")), "{user}");
    assert!(user["id"].is_i64(), "{user}");
    // The path id goes into a numeric id field only as a number; else the mock answers.
    let (status, flow) = send(&t, "GET", "/workflows/7", None).await;
    assert_eq!((status, flow["id"].as_i64()), (200, Some(7)), "{flow}");
    let (status, flow) = send(&t, "GET", "/workflows/ci.yml", None).await;
    assert!(status == 200 && flow["id"].is_i64(), "{status} {flow}");
    let (status, _) = send(&t, "DELETE", "/users/hubot", None).await;
    assert_eq!(status, 204);
    let (status, _) = send(&t, "GET", "/users/hubot", None).await;
    assert_eq!(status, 404);
    // An update of an item never created is stored on it.
    let (status, patched) = send(&t, "PATCH", "/repos/octocat/issues/7", Some(json!({"title": "seven"}))).await;
    assert_eq!((status, patched["number"].as_i64(), patched["title"].as_str()), (200, Some(7), Some("seven")), "{patched}");
    let (_, got) = send(&t, "GET", "/repos/octocat/issues/7", None).await;
    assert_eq!(got["title"], "seven");
}

#[tokio::test]
async fn all_style_values_and_values_of_another_type_do_not_filter() {
    let t = sandbox().await;
    send(&t, "POST", "/repos/octocat/issues", Some(json!({"title": "open one", "state": "open"}))).await;
    let (_, closed) = send(&t, "POST", "/repos/octocat/issues", Some(json!({"title": "closed one", "state": "closed"}))).await;
    let (_, all) = send(&t, "GET", "/repos/octocat/issues?state=all", None).await;
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    // A value outside the field's enum is no filter either.
    let (_, everything) = send(&t, "GET", "/repos/octocat/issues?state=everything", None).await;
    assert_eq!(everything.as_array().unwrap().len(), 2, "{everything}");
    let (_, only) = send(&t, "GET", "/repos/octocat/issues?state=closed", None).await;
    assert_eq!(only, json!([closed]));
}

#[tokio::test]
async fn a_path_with_a_deeper_sibling_is_an_item_not_a_collection() {
    let t = sandbox().await;
    let (_, gist) = send(&t, "POST", "/gists", Some(json!({"description": "mine"}))).await;
    let id = gist["id"].as_str().unwrap();
    let (status, got) = send(&t, "GET", &format!("/gists/{id}"), None).await;
    assert_eq!((status, got["description"].as_str()), (200, Some("mine")), "{got}");
    let (status, revision) = send(&t, "GET", &format!("/gists/{id}/3d7a7bd"), None).await;
    assert!(status == 200 && revision.is_object(), "{status} {revision}");
    // The list has its own item schema: the stored gist is fitted to it (a `files` object, a
    // `user` object instead of the single gist's string), what it holds kept.
    let (_, list) = send(&t, "GET", "/gists", None).await;
    let listed = &list[0];
    assert_eq!((listed["id"].as_str(), listed["description"].as_str()), (Some(id), Some("mine")), "{list}");
    assert!(listed["files"]["count"].is_i64() && (listed["user"].is_object() || listed["user"].is_null()), "{list}");
}

#[tokio::test]
async fn form_bodies_are_stored_and_post_on_an_item_updates_it() {
    let t = sandbox().await;
    let (status, c) = form(&t, "/v1/customers", "email=ari%40example.com&name=Ari&balance=150&metadata[plan]=pro").await;
    assert_eq!(status, 200, "{c}");
    assert_eq!((c["email"].as_str(), c["name"].as_str(), c["balance"].as_i64()), (Some("ari@example.com"), Some("Ari"), Some(150)));
    assert_eq!(c["metadata"], json!({"plan": "pro"}));
    // An object sent for a structured field fills it: what its schema requires stays.
    let (_, a) = form(&t, "/v1/customers", "address[city]=Paris").await;
    assert_eq!(a["address"]["city"], "Paris", "{a}");
    assert!(a["address"]["country"].is_string(), "{a}");
    let id = c["id"].as_str().unwrap().to_string();
    let (status, u) = form(&t, &format!("/v1/customers/{id}"), "name=Ari+Updated").await;
    assert_eq!(
        (status, u["id"].as_str(), u["name"].as_str(), u["email"].as_str()),
        (200, Some(id.as_str()), Some("Ari Updated"), Some("ari@example.com"))
    );
    let (_, list) = send(&t, "GET", "/v1/customers?email=ari%40example.com", None).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "{list}");
}

#[tokio::test]
async fn a_nested_item_needs_its_parent_and_refers_to_it() {
    let t = sandbox().await;
    let (_, c) = form(&t, "/v1/customers", "email=n%40example.com").await;
    let id = c["id"].as_str().unwrap().to_string();
    let (status, source) = form(&t, &format!("/v1/customers/{id}/sources"), "source=tok_visa").await;
    assert_eq!((status, source["customer"].as_str()), (200, Some(id.as_str())), "{source}");
    let sid = source["id"].as_str().unwrap();
    let (status, got) = send(&t, "GET", &format!("/v1/customers/{id}/sources/{sid}"), None).await;
    assert_eq!((status, got["customer"].as_str()), (200, Some(id.as_str())), "{got}");
    send(&t, "DELETE", &format!("/v1/customers/{id}"), None).await;
    let (status, _) = form(&t, &format!("/v1/customers/{id}/sources"), "source=tok_visa").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn cursor_pages_come_from_the_store_with_a_true_has_more() {
    let t = sandbox().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let (_, c) = form(&t, "/v1/customers", &format!("email=c{i}%40example.com")).await;
        ids.push(c["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let q = after.as_ref().map(|a| format!("&starting_after={a}")).unwrap_or_default();
        let (status, page) = send(&t, "GET", &format!("/v1/customers?limit=2{q}"), None).await;
        assert_eq!(status, 200, "{page}");
        let data = page["data"].as_array().unwrap();
        seen.extend(data.iter().map(|c| c["id"].as_str().unwrap().to_string()));
        if page["has_more"] != true || seen.len() > 10 {
            break;
        }
        after = seen.last().cloned();
    }
    assert_eq!(seen, ids);
    let (_, before) = send(&t, "GET", &format!("/v1/customers?limit=2&ending_before={}", ids[3]), None).await;
    let got: Vec<&str> = before["data"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(got, vec![ids[1].as_str(), ids[2].as_str()]);
}

#[tokio::test]
async fn a_deep_object_under_any_of_object_or_integer_is_typed() {
    let t = sandbox().await;
    let (status, page) = send(&t, "GET", "/v1/customers?created%5Bgte%5D=1700000000&limit=3", None).await;
    assert_eq!(status, 200, "{page}");
    let (status, problem) = send(&t, "GET", "/v1/customers?created%5Bgte%5D=soon", None).await;
    assert_eq!(status, 400, "{problem}");
}

#[tokio::test]
async fn an_item_without_a_declared_collection_keeps_its_updates_and_deletion() {
    let t = sandbox().await;
    let (status, repo) = send(&t, "GET", "/repos/octocat/hello-world", None).await;
    assert_eq!((status, repo["name"].as_str()), (200, Some("hello-world")), "{repo}");
    let (_, patched) = send(&t, "PATCH", "/repos/octocat/hello-world", Some(json!({"description": "updated"}))).await;
    assert_eq!(patched["description"], "updated");
    let (_, got) = send(&t, "GET", "/repos/octocat/hello-world", None).await;
    assert_eq!((got["description"].as_str(), got["name"].as_str()), (Some("updated"), Some("hello-world")));
    let (status, _) = send(&t, "DELETE", "/repos/octocat/hello-world", None).await;
    assert_eq!(status, 204);
    let (status, _) = send(&t, "GET", "/repos/octocat/hello-world", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_declared_link_header_pages_through_this_server() {
    let t = sandbox().await;
    for title in ["a", "b", "c"] {
        send(&t, "POST", "/repos/octocat/issues", Some(json!({"title": title}))).await;
    }
    let mut next = Some(t.url("/repos/octocat/issues?per_page=2"));
    let mut titles = Vec::new();
    while let Some(url) = next.take() {
        assert!(url.starts_with(&t.server.url()), "{url}");
        let resp = t.client.get(&url).send().await.unwrap();
        next = resp.headers().get("link").map(|l| {
            let l = l.to_str().unwrap();
            assert!(l.ends_with("rel=\"next\""), "{l}");
            l[1..l.find('>').unwrap()].to_string()
        });
        let (_, _, page) = parts(resp).await;
        titles.extend(page.as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap().to_string()));
        assert!(titles.len() <= 3, "{titles:?}");
    }
    assert_eq!(titles, ["a", "b", "c"]);
}

#[tokio::test]
async fn multipart_bodies_are_stored_like_json_ones() {
    let t = sandbox().await;
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\ndispute_evidence\r\n--XyZ\r\nContent-Disposition: form-data; name=\"size\"\r\n\r\n2048\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n";
    let r = t.client.post(t.url("/v1/files")).header("content-type", "multipart/form-data; boundary=XyZ").body(body);
    let (status, _, file) = parts(r.send().await.unwrap()).await;
    assert_eq!((status, file["purpose"].as_str(), file["size"].as_i64()), (200, Some("dispute_evidence"), Some(2048)), "{file}");
    let (_, got) = send(&t, "GET", &format!("/v1/files/{}", file["id"].as_str().unwrap()), None).await;
    assert_eq!(got, file);
}

#[tokio::test]
async fn new_ids_keep_the_style_of_the_spec_example() {
    let t = sandbox().await;
    let mut ids = std::collections::HashSet::new();
    for _ in 0..3 {
        let (_, c) = form(&t, "/v1/customers", "email=x%40example.com").await;
        let id = c["id"].as_str().unwrap().to_string();
        assert!(id.starts_with("cus_") && id.len() == "cus_NffrFeUfNV2Hib".len(), "{id}");
        ids.insert(id);
    }
    assert_eq!(ids.len(), 3);
}

#[tokio::test]
async fn x_standin_resources_overrides_the_id_and_parent_fields() {
    let t = sandbox().await;
    let (status, team) = send(&t, "POST", "/orgs/acme/teams", Some(json!({"slug": "core", "name": "Core"}))).await;
    assert_eq!((status, team["slug"].as_str(), team["org_ref"].as_str()), (201, Some("core"), Some("acme")), "{team}");
    let (status, got) = send(&t, "GET", "/orgs/acme/teams/core", None).await;
    assert_eq!((status, got), (200, team));
}

#[tokio::test]
async fn bi369_tasks_need_their_project_and_take_its_id_from_the_path() {
    let t = TestServer::stateful("specs/bi369.yaml", Some("fixtures/bi369")).await;
    let post = |path: &str| {
        t.client
            .post(t.url(path))
            .bearer_auth("key_nested")
            .header("content-type", "application/json")
            .body(json!({"title": "T"}).to_string())
    };
    let (status, _, body) = parts(post("/v1/projects/999999/tasks").send().await.unwrap()).await;
    assert_eq!((status, body["error"]["message"].as_str()), (404, Some("Project with ID 999999 not found")), "{body}");
    let (status, _, body) = parts(post("/v1/projects/301/tasks").send().await.unwrap()).await;
    assert_eq!((status, &body["data"]["projectId"]), (201, &json!(301)), "{body}");
}

#[tokio::test]
async fn a_write_only_field_sent_on_create_is_never_given_back() {
    let t = TestServer::stateful("tests/fixtures/specs/writeonly.yaml", None).await;
    let sent = serde_json::json!({"email": "ada@example.com", "password": "correct horse"});
    let (status, _, created) = parts(t.post_json("/accounts", &sent).send().await.unwrap()).await;
    assert_eq!(status, 201);
    assert_eq!(created["email"], "ada@example.com");
    assert!(created.get("password").is_none(), "{created}");
    let (status, _, read) = parts(t.get(&format!("/accounts/{}", created["id"])).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(read.get("password").is_none(), "{read}");
}
