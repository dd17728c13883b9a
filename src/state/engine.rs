//! Carrying out a declared action ([`actions`]): find the target, change it, subscribe, create,
//! emit, schedule the `later:` change, and say what to answer.
//!
//! Takes the operation's [`Action`] and the request (tenant, path parameters, body); hands back
//! an [`Outcome`] whose [`StateAnswer`] respond applies. The steps run in the order the
//! action's keys are documented in, each in its own function below.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::Value;

use super::actions::{self, Action};
use super::crud::{singular_title, stamp, wrap};
use super::ids::{id_string, parent_key};
use super::scheduler::{self, Scheduled};
use super::store::{CollectionKey, TenantStore};
use super::{now_rfc3339, Outcome, Sandbox};
use crate::reject::{Problem, Rejection};
use crate::respond::StateAnswer;
use crate::spec::{Operation, Spec};

/// One run of an action: the request, and what each step found or made.
struct Run<'a> {
    now: String,
    seq: u64,
    path: &'a [(String, String)],
    body: Value,
    /// The target: its collection, id, and the item after and before the change.
    target: Option<(CollectionKey, String)>,
    item: Option<Value>,
    before: Option<Value>,
    /// The item created in another collection.
    created: Option<(CollectionKey, Value)>,
}

impl Run<'_> {
    /// What templates see, with `created` as given.
    fn ctx<'c>(&'c self, created: Option<&'c Value>) -> actions::Context<'c> {
        actions::Context {
            now: &self.now,
            seq: self.seq,
            path: self.path,
            body: &self.body,
            item: self.item.as_ref(),
            before: self.before.as_ref(),
            created,
        }
    }
}

impl Sandbox {
    /// Carry out a declared action (see [`actions`]).
    pub(crate) async fn run_action(
        &self,
        spec: &Spec,
        op: &Operation,
        action: &Action,
        tenant_key: &str,
        path_params: &[(String, String)],
        body: &[u8],
    ) -> Result<Outcome, Rejection> {
        let tenant = self.store.tenant(tenant_key);
        let no_resource = |c: &str| Rejection::internal(format!("x-standin.actions.{}: no resource at {c}", op.label()));
        let find = |collection: &str| self.resources.iter().position(|r| r.collection == collection).ok_or_else(|| no_resource(collection));

        // --- Target: the item the path names; it must exist.
        let mut target = None;
        if let Some(t) = &action.target {
            let ri = find(t)?;
            let r = &self.resources[ri];
            let id = path_params.iter().find(|(k, _)| *k == r.id_param).or(path_params.last()).map(|(_, v)| v.clone()).unwrap_or_default();
            let key = (ri, parent_key(r, path_params));
            let mut exists = false;
            tenant.get(&key, &id, &mut |item| exists = item.is_some()).await;
            if !exists {
                return Err(Rejection::resource_not_found(&singular_title(&r.name), &id));
            }
            target = Some((key, id));
        }
        let mut run = Run {
            now: now_rfc3339(),
            seq: tenant.next_seq().await + 10_000,
            path: path_params,
            body: serde_json::from_slice(body).unwrap_or(Value::Null),
            target,
            item: None,
            before: None,
            created: None,
        };

        change_target(&*tenant, action, &mut run).await;
        let subscription = self.subscribe(action, tenant_key, &run).await?;
        if let Some(c) = &action.create {
            let ri = find(&c.collection)?;
            let key = (ri, parent_key(&self.resources[ri], path_params));
            let sent = actions::render(&Value::Object(c.set.clone()), &run.ctx(None));
            let item = self.create_item(spec, &*tenant, &key, sent, tenant_key, &run.now).await;
            run.created = Some((key, item));
        }

        // --- Events now, and the change that comes later.
        let subject = run.created.as_ref().map(|(_, i)| i.clone()).or_else(|| run.item.clone()).unwrap_or(Value::Null);
        if let Some(e) = &action.emit {
            self.events.emit(tenant_key, e, &subject);
        }
        self.schedule_later(action, &tenant, tenant_key, &run).await;

        let status = op.default_response().map(|r| r.status.concrete());
        Ok(self.answer(action, run, subscription, status))
    }

    /// Subscribe: a webhook subscription of the calling tenant; returns `{id, url, events}`.
    async fn subscribe(&self, action: &Action, tenant_key: &str, run: &Run<'_>) -> Result<Option<Value>, Rejection> {
        let Some(sub) = &action.subscribe else { return Ok(None) };
        let ctx = run.ctx(None);
        let url = actions::render(&sub.url, &ctx);
        let Some(url) = url.as_str().filter(|u| !u.is_empty()).map(str::to_string) else {
            return Err(Rejection::invalid_request(
                StatusCode::BAD_REQUEST,
                vec![Problem { location: "body".into(), message: "the webhook url is missing".into(), keyword: None }],
            ));
        };
        let events: Vec<String> = match actions::render(&sub.events, &ctx) {
            Value::Array(e) => e.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            Value::String(e) => vec![e],
            _ => Vec::new(),
        };
        let secret = actions::render(&sub.secret, &ctx).as_str().map(str::to_string);
        let id = self.webhooks.subscribe_for(tenant_key, url.clone(), events.clone(), secret).await.map_err(|message| {
            Rejection::invalid_request(StatusCode::BAD_REQUEST, vec![Problem { location: "body.url".into(), message, keyword: None }])
        })?;
        Ok(Some(serde_json::json!({"id": id, "url": url, "events": events})))
    }

    /// Schedule the first `later:` alternative whose `when` holds, on the created item (else the
    /// target).
    async fn schedule_later(&self, action: &Action, tenant: &Arc<dyn TenantStore>, tenant_key: &str, run: &Run<'_>) {
        let chosen = {
            let ctx = run.ctx(run.created.as_ref().map(|(_, i)| i));
            action.later.iter().find(|l| actions::conditions_hold(&l.when, &ctx)).cloned()
        };
        let Some(later) = chosen else { return };
        let which = match (&run.created, &run.target) {
            (Some((key, item)), _) => Some((key.clone(), item.get(&self.resources[key.0].id_field).map(id_string).unwrap_or_default())),
            (None, Some(t)) => Some(t.clone()),
            (None, None) => None,
        };
        let Some((key, id)) = which else { return };
        scheduler::schedule(
            later,
            Scheduled {
                tenant: Arc::clone(tenant),
                events: Arc::clone(&self.events),
                tenant_key: tenant_key.to_string(),
                key,
                id,
                seq: run.seq,
                path: run.path.to_vec(),
                body: run.body.clone(),
            },
        )
        .await;
    }

    /// The answer the action declares: `created`, `item`, fields from a template, or by default
    /// the target (else the created item).
    fn answer(&self, action: &Action, run: Run<'_>, subscription: Option<Value>, status: Option<u16>) -> Outcome {
        let no_change = || Outcome { status: None, body: StateAnswer::Keep };
        let target_r = run.target.as_ref().map(|(key, _)| &self.resources[key.0]);
        let created_r = run.created.as_ref().map(|(key, _)| &self.resources[key.0]);
        match &action.respond {
            Some(Value::String(s)) if s == "created" => match (created_r, run.created) {
                (Some(r), Some((_, item))) => wrap(r, item, status),
                _ => no_change(),
            },
            Some(Value::String(s)) if s == "item" => match (target_r, run.item) {
                (Some(r), Some(item)) => wrap(r, item, status),
                _ => no_change(),
            },
            Some(template @ Value::Object(_)) => {
                let created_value = run.created.as_ref().map(|(_, i)| i).or(subscription.as_ref());
                let fields = match actions::render(template, &run.ctx(created_value)) {
                    Value::Object(fields) => fields,
                    _ => Default::default(),
                };
                Outcome { status, body: StateAnswer::Fields(fields) }
            }
            _ => match (target_r, run.item, created_r, run.created) {
                (Some(r), Some(item), _, _) => wrap(r, item, status),
                (_, _, Some(r), Some((_, item))) => wrap(r, item, status),
                _ => no_change(),
            },
        }
    }
}

/// Change the target: `set`, `append`, and the update time when either changed something.
async fn change_target(tenant: &dyn TenantStore, action: &Action, run: &mut Run<'_>) {
    let Some((key, id)) = &run.target else { return };
    let mut before = None;
    let (now, seq, path, body) = (&run.now, run.seq, run.path, &run.body);
    let changed = tenant
        .update(key, id, &mut |item| {
            let was = item.clone();
            let ctx = actions::Context { now, seq, path, body, item: Some(&was), before: Some(&was), created: None };
            actions::apply_set(item, &action.set, &ctx);
            actions::apply_append(item, &action.append, &ctx);
            if !action.set.is_empty() || !action.append.is_empty() {
                if let Some(obj) = item.as_object_mut() {
                    stamp(obj, now, false);
                }
            }
            before = Some(was);
        })
        .await;
    run.item = changed;
    run.before = before;
}
