//! Walk a [`Plan`] with a seeded RNG: the only generation work done per request.
//!
//! Takes a plan, a seed and `dynamic` (`Prefer: dynamic=true`); hands on a [`Gen`]. Bounds the
//! walk by depth and by a per-body node budget. Which words, names and numbers a string or number
//! gets comes from [`hints`](super::hints).

use std::borrow::Cow;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde_json::{Number, Value};

use super::gen::Gen;
use super::hints::Hint;
use super::plan::{ArrayPlan, Kind, NodeId, NumPlan, ObjectPlan, Plan, StrPlan};
use super::{MAX_ARRAY, MAX_DEPTH, NODE_BUDGET, OPTIONAL_DEPTH};

impl Plan {
    /// Generate one value.
    pub fn generate(&self, seed: u64, dynamic: bool) -> Value {
        self.generate_gen(seed, dynamic).into_value()
    }

    /// Generate one value, to serialize as it is ([`Gen`] borrows keys and examples from the plan).
    pub fn generate_gen(&self, seed: u64, dynamic: bool) -> Gen<'_> {
        let mut run = Run { plan: self, rng: ChaCha8Rng::seed_from_u64(seed), dynamic, budget: NODE_BUDGET, minimal: false };
        run.gen(self.root, Ctx { depth: 0, hint: Hint::NONE, repeat: false, only_required: false })
    }

    /// Generate the smallest value of the node `id`: required properties only, at every depth,
    /// and arrays of their `minItems` (error bodies, whose fields are filled in afterwards).
    pub(super) fn generate_minimal_at(&self, id: NodeId, seed: u64) -> Value {
        let mut run = Run { plan: self, rng: ChaCha8Rng::seed_from_u64(seed), dynamic: false, budget: NODE_BUDGET, minimal: true };
        run.gen(id, Ctx { depth: 0, hint: Hint::NONE, repeat: false, only_required: true }).into_value()
    }

    /// This plan generates something named `name` (a response header): the name's hint is
    /// worked out here, once, not per value.
    pub fn named(mut self, name: &str) -> Plan {
        self.hint = Hint::from_name(name);
        self
    }

    /// Generate one value for a plan made [`Plan::named`].
    pub fn generate_named(&self, seed: u64) -> Value {
        let mut run = Run { plan: self, rng: ChaCha8Rng::seed_from_u64(seed), dynamic: false, budget: 1_000, minimal: false };
        run.gen(self.root, Ctx { depth: 0, hint: self.hint, repeat: false, only_required: false }).into_value()
    }
}

pub(super) struct Run<'p> {
    plan: &'p Plan,
    pub(super) rng: ChaCha8Rng,
    /// `Prefer: dynamic=true`: ignore schema examples and defaults, always invent.
    dynamic: bool,
    /// Values still allowed in this body.
    budget: usize,
    /// Required properties only, at every depth, and arrays of `minItems` items.
    minimal: bool,
}

#[derive(Clone, Copy)]
struct Ctx {
    depth: usize,
    /// What the name of the property being generated suggests.
    hint: Hint,
    /// Inside the 2nd+ item of an array: examples would repeat, so invent instead.
    repeat: bool,
    /// Generate only the required properties of this object (a `oneOf` branch told apart from its
    /// siblings by its required set); not inherited by children.
    only_required: bool,
}

impl<'p> Run<'p> {
    fn gen(&mut self, id: NodeId, ctx: Ctx) -> Gen<'p> {
        if self.budget == 0 || ctx.depth > MAX_DEPTH * 2 {
            return Gen::Null;
        }
        self.budget -= 1;
        let plan = self.plan;
        let node = &plan.nodes[id];
        if !self.dynamic && !ctx.repeat {
            if let Some(ex) = &node.example {
                return Gen::Json(ex);
            }
        }
        match &node.kind {
            Kind::Null => Gen::Null,
            Kind::Any => Gen::Str(self.word()),
            Kind::Const(c) => Gen::Json(c),
            Kind::Enum(options) => Gen::Json(&options[self.rng.random_range(0..options.len())]),
            Kind::Choice { options, distinct, shallow } => {
                let next = Ctx { depth: ctx.depth + 1, ..ctx };
                if let Some(i) = distinct {
                    return self.gen(options[*i], Ctx { only_required: true, ..next });
                }
                let pick = if ctx.depth >= OPTIONAL_DEPTH { shallow.iter().position(|s| *s).unwrap_or(0) } else { 0 };
                self.gen(options[pick], Ctx { only_required: false, ..next })
            }
            Kind::Object(o) => self.object(o, ctx),
            Kind::Array(a) => self.array(a, ctx),
            Kind::Str(s) => Gen::Str(self.string(s, ctx)),
            Kind::Int(n) => self.integer(n, ctx),
            Kind::Num(n) => self.number(n, ctx),
            Kind::Bool => Gen::Bool(self.rng.random_bool(0.5)),
        }
    }

    fn object(&mut self, o: &'p ObjectPlan, ctx: Ctx) -> Gen<'p> {
        if ctx.depth > MAX_DEPTH {
            return Gen::Obj(Vec::new());
        }
        let mut out: Vec<(Cow<'p, str>, Gen<'p>)> = Vec::with_capacity(o.props.len() + o.bare_required.len());
        for p in &o.props {
            if !p.required && (ctx.depth >= OPTIONAL_DEPTH || ctx.only_required || self.minimal) {
                continue;
            }
            let child = Ctx { depth: ctx.depth + 1, hint: p.hint, repeat: ctx.repeat, only_required: false };
            let v = self.gen(p.node, child);
            out.push((Cow::Borrowed(&p.name), v));
        }
        for (name, hint) in &o.bare_required {
            let child = Ctx { depth: ctx.depth + 1, hint: *hint, repeat: ctx.repeat, only_required: false };
            let v = match o.additional {
                Some(a) => self.gen(a, child),
                None if o.additional_false => Gen::Null,
                None => Gen::Str(self.word()),
            };
            out.push((Cow::Borrowed(name), v));
        }
        let want_extra = match o.additional {
            Some(_) if out.is_empty() && ctx.depth < OPTIONAL_DEPTH && !self.minimal => 2,
            _ => 0,
        }
        .max(o.min_properties.saturating_sub(out.len()))
        .min(50);
        if want_extra > 0 && !o.additional_false {
            for i in 0..want_extra {
                let key = format!("{}{}", self.word(), if i > 0 { i.to_string() } else { String::new() });
                let child = Ctx { depth: ctx.depth + 1, hint: Hint::NONE, repeat: ctx.repeat, only_required: false };
                let v = match o.additional {
                    Some(a) => self.gen(a, child),
                    None => Gen::Str(self.word()),
                };
                // A made-up name may repeat a declared one: the later value wins, in place.
                match out.iter_mut().find(|(k, _)| *k == key) {
                    Some(slot) => slot.1 = v,
                    None => out.push((Cow::Owned(key), v)),
                }
            }
        }
        Gen::Obj(out)
    }

    fn array(&mut self, a: &ArrayPlan, ctx: Ctx) -> Gen<'p> {
        if ctx.depth > MAX_DEPTH {
            return Gen::Arr(Vec::new());
        }
        let typical = if self.minimal {
            0
        } else if ctx.depth >= OPTIONAL_DEPTH {
            1
        } else {
            2 + self.rng.random_range(0..2usize)
        };
        let mut n = typical.max(a.min).min(a.max).min(MAX_ARRAY);
        if a.unique {
            if let Some(len) = a.enum_len {
                n = n.min(len);
            }
        }
        let mut out: Vec<Gen<'p>> = Vec::with_capacity(n);
        let mut attempts = 0;
        while out.len() < n && attempts < n * 4 + 8 && self.budget > 0 {
            attempts += 1;
            let i = out.len();
            let child = Ctx { depth: ctx.depth + 1, hint: ctx.hint, repeat: ctx.repeat || i > 0, only_required: false };
            let node = a.prefix.get(i).copied().unwrap_or(a.items);
            let v = self.gen(node, child);
            if a.unique && out.iter().any(|o| o.same(&v)) {
                continue;
            }
            out.push(v);
        }
        Gen::Arr(out)
    }

    fn integer(&mut self, n: &NumPlan, ctx: Ctx) -> Gen<'p> {
        let lo_i = n.lo.map(|l| if n.lo_ex { l.floor() as i64 + 1 } else { l.ceil() as i64 });
        let hi_i = n.hi.map(|h| if n.hi_ex { h.ceil() as i64 - 1 } else { h.floor() as i64 });
        let (mut a, mut b) = (ctx.hint.range.0 as i64, ctx.hint.range.1 as i64);
        if let Some(l) = lo_i {
            a = a.max(l);
            if b < a {
                b = l.saturating_add(1000);
            }
        }
        if let Some(h) = hi_i {
            b = b.min(h);
            if a > b {
                a = h.saturating_sub(1000).max(lo_i.unwrap_or(i64::MIN));
            }
        }
        if a > b {
            a = b;
        }
        let mut v = if a == b { a } else { self.rng.random_range(a..=b) };
        if let Some(m) = n.multiple_of.filter(|m| *m >= 1.0 && m.fract() == 0.0) {
            let m = m as i64;
            v = (v / m) * m;
            if v < a {
                v = v.saturating_add(m);
            }
        }
        Gen::Num(Number::from(v))
    }

    fn number(&mut self, n: &NumPlan, ctx: Ctx) -> Gen<'p> {
        let (mut a, mut b) = ctx.hint.range;
        if let Some(l) = n.lo {
            a = a.max(l);
            if b < a {
                b = a + 1000.0;
            }
        }
        if let Some(h) = n.hi {
            b = b.min(h);
            if a > b {
                a = (h - 1000.0).max(n.lo.unwrap_or(f64::MIN));
            }
        }
        let mut v = if a < b { self.rng.random_range(a..b) } else { a };
        v = (v * 100.0).round() / 100.0;
        if let Some(m) = n.multiple_of {
            v = (v / m).round() * m;
            let p = 10f64.powi(decimals(m));
            v = (v * p).round() / p;
        }
        // Keep strict bounds strict after rounding.
        if n.lo.is_some_and(|l| v < l || (n.lo_ex && v <= l)) || n.hi.is_some_and(|h| v > h || (n.hi_ex && v >= h)) {
            v = match (n.lo, n.hi) {
                (Some(l), Some(h)) => (l + h) / 2.0,
                (Some(l), None) => l + 1.0,
                (None, Some(h)) => h - 1.0,
                (None, None) => v,
            };
        }
        Number::from_f64(v).map(Gen::Num).unwrap_or(Gen::Null)
    }

    fn string(&mut self, s: &StrPlan, ctx: Ctx) -> String {
        if let Some(re) = &s.pattern {
            let out: String = self.rng.sample(&**re);
            return fit_length(out, s.min, s.max, &mut self.rng);
        }
        let out = match s.format.as_deref().and_then(|f| self.formatted(f)) {
            Some(v) => v,
            None => self.text(ctx.hint.text),
        };
        fit_length(out, s.min, s.max, &mut self.rng)
    }
}

fn decimals(m: f64) -> i32 {
    let s = format!("{m}");
    s.split_once('.').map_or(0, |(_, d)| d.len() as i32)
}

/// Pad with letters or truncate (by characters) to fit `minLength`/`maxLength`.
fn fit_length(mut s: String, min: usize, max: Option<usize>, rng: &mut ChaCha8Rng) -> String {
    // Bytes bound characters from above: most strings need no count at all.
    if s.len() >= min && max.is_none_or(|m| s.len() <= m) && (min == 0 || s.is_ascii()) {
        return s;
    }
    let len = s.chars().count();
    if len < min {
        let pad = (min - len).min(100_000);
        s.extend((0..pad).map(|_| char::from(b'a' + rng.random_range(0..26u8))));
    }
    if let Some(max) = max {
        if s.chars().count() > max {
            s = s.chars().take(max).collect();
        }
    }
    s
}
