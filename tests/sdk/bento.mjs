// Runs Bento's official Node SDK (@bentonow/bento-node-sdk 2.0.0), unchanged, against a standin
// serving specs/bento.yaml: only clientOptions.baseUrl points at standin.
//
//   bash tests/sdk/run-bento.sh          (installs the SDK from npm into a temp dir, starts standin)
import { Analytics } from '@bentonow/bento-node-sdk';

const baseUrl = process.env.STANDIN_URL + '/api/v1';
const bento = new Analytics({
  authentication: { publishableKey: 'pk_test', secretKey: 'sk_test' },
  siteUuid: 'site_1',
  clientOptions: { baseUrl },
});

const results = [];
async function step(name, f) {
  try {
    const v = await f();
    results.push([name, 'ok', JSON.stringify(v)?.slice(0, 80)]);
  } catch (e) {
    results.push([name, 'FAIL', String(e).slice(0, 200)]);
  }
}

await step('V1.track', () => bento.V1.track({ email: 'ari@example.com', type: '$signed_up', fields: { first_name: 'Ari' } }));
await step('V1.addSubscriber', () => bento.V1.addSubscriber({ email: 'ari@example.com' }));
await step('V1.tagSubscriber', () => bento.V1.tagSubscriber({ email: 'ari@example.com', tagName: 'vip' }));
await step('V1.trackPurchase', () => bento.V1.trackPurchase({ email: 'ari@example.com', purchaseDetails: { unique: { key: 'order-1' }, value: { amount: 1999, currency: 'USD' } } }));
await step('Batch.importSubscribers', () => bento.V1.Batch.importSubscribers({ subscribers: [{ email: 'b@example.com', first_name: 'B' }] }));
await step('Batch.importEvents', () => bento.V1.Batch.importEvents({ events: [{ email: 'c@example.com', type: '$login' }] }));
await step('Tags.getTags', () => bento.V1.Tags.getTags());
await step('Tags.createTag', () => bento.V1.Tags.createTag({ name: 'from-sdk' }));
await step('Fields.getFields', () => bento.V1.Fields.getFields());
await step('Fields.createField', () => bento.V1.Fields.createField({ key: 'plan' }));
await step('Subscribers.getSubscribers', () => bento.V1.Subscribers.getSubscribers({ email: 'ari@example.com' }));
await step('Subscribers.createSubscriber', () => bento.V1.Subscribers.createSubscriber({ email: 'new@example.com' }));
await step('Commands.addTag', () => bento.V1.Commands.addTag({ email: 'ari@example.com', tagName: 'x' }));
await step('Broadcasts.getBroadcasts', () => bento.V1.Broadcasts.getBroadcasts());
await step('Sequences.getSequences', () => bento.V1.Sequences.getSequences());
await step('Workflows.getWorkflows', () => bento.V1.Workflows.getWorkflows());
await step('Stats.getSiteStats', () => bento.V1.Stats.getSiteStats());
await step('Experimental.validateEmail', () => bento.V1.Experimental.validateEmail({ email: 'ari@example.com' }));
await step('Experimental.guessGender', () => bento.V1.Experimental.guessGender({ name: 'Ari' }));
await step('Experimental.geolocate', () => bento.V1.Experimental.geolocate({ ip: '1.1.1.1' }));
await step('Experimental.checkBlacklist', () => bento.V1.Experimental.checkBlacklist({ domain: 'example.com' }));

for (const [name, status, detail] of results) console.log(`${status.padEnd(4)} ${name.padEnd(32)} ${detail ?? ''}`);
const failed = results.filter((r) => r[1] !== 'ok').length;
console.log(`bento sdk: ${results.length - failed} calls answered as the SDK expects, ${failed} not`);
process.exit(failed ? 1 : 0);
