// Runs GitHub's official SDK (@octokit/rest), unchanged, against a standin serving GitHub's own
// spec (@octokit/openapi, api.github.com.json) unmodified: only `baseUrl` points at standin.
//
//   bash tests/sdk/run-github.sh          (installs both from npm into a temp dir, starts standin
//                                          in --stateless and in the default mode)
//
// STANDIN_URL: the server. STANDIN_MODE: `stateful` adds the checks only a sandbox can pass
// (what was created is what is read back). STANDIN_ACCEPT_JSON=1 sends `Accept:
// application/json` instead of the SDK's `application/vnd.github.v3+json` (a diagnosis aid:
// how far the calls get once content negotiation is out of the way).
import { Octokit } from '@octokit/rest';

const stateful = process.env.STANDIN_MODE === 'stateful';
const octokit = new Octokit({ baseUrl: process.env.STANDIN_URL, auth: 'ghp_standin', userAgent: 'standin-sdk-check' });
if (process.env.STANDIN_ACCEPT_JSON === '1') {
  octokit.hook.before('request', (options) => {
    options.headers.accept = 'application/json';
  });
}

const owner = 'octocat';
const repo = 'hello-world';
const results = [];
const ctx = {};

function must(cond, why) {
  if (!cond) throw new Error(`check failed: ${why}`);
}
const isInt = (v) => Number.isInteger(v);
const isStr = (v) => typeof v === 'string';

function describe(e) {
  if (e && e.status) {
    const data = e.response && e.response.data;
    const body = typeof data === 'string' ? data : JSON.stringify(data);
    return `${e.name} ${e.status}: ${(body || e.message || '').slice(0, 240)}`;
  }
  return String(e && e.stack ? e.message : e).slice(0, 240);
}

async function step(name, f, { statefulOnly = false } = {}) {
  if (statefulOnly && !stateful) return;
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out after 15 s')), 15000);
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

// An error the SDK raises as its own type (RequestError, name `HttpError`) with a 4xx status.
async function expectHttpError(f, statuses) {
  try {
    const r = await f();
    throw new Error(`expected a ${statuses.join('/')} error, got ${r.status}`);
  } catch (e) {
    if (e.name !== 'HttpError') throw e;
    must(statuses.includes(e.status), `status ${e.status}, expected ${statuses.join('/')}`);
  }
}

// --- Users and orgs.
await step('users.getAuthenticated', async () => {
  const { data } = await octokit.rest.users.getAuthenticated();
  must(isStr(data.login) && isInt(data.id), 'login and id');
});
await step('users.getByUsername', async () => {
  const { data } = await octokit.rest.users.getByUsername({ username: 'octocat' });
  must(isStr(data.login) && isInt(data.id), 'login and id');
});
await step('orgs.get', async () => {
  const { data } = await octokit.rest.orgs.get({ org: 'github' });
  must(isStr(data.login), 'login');
});
await step('orgs.listMembers', async () => {
  const { data } = await octokit.rest.orgs.listMembers({ org: 'github', per_page: 5 });
  must(Array.isArray(data), 'an array');
});
await step('rateLimit.get', async () => {
  const { data } = await octokit.rest.rateLimit.get();
  must(isInt(data.rate.limit), 'rate.limit');
});
await step('search.repos', async () => {
  const { data } = await octokit.rest.search.repos({ q: 'standin language:rust' });
  must(isInt(data.total_count) && Array.isArray(data.items), 'total_count and items');
});

// --- Repositories: create → get → update → list → delete.
await step('repos.createForAuthenticatedUser', async () => {
  const { data, status } = await octokit.rest.repos.createForAuthenticatedUser({ name: 'sdk-made', description: 'made by the SDK' });
  must(status === 201, `status ${status}`);
  must(isStr(data.name) && isInt(data.id) && isStr(data.full_name), 'name, id, full_name');
  ctx.repo = data;
  if (stateful) must(data.name === 'sdk-made', `name ${data.name}`);
});
await step('repos.get', async () => {
  const { data } = await octokit.rest.repos.get({ owner, repo });
  must(isStr(data.full_name) && isInt(data.id) && typeof data.owner === 'object', 'full_name, id, owner object');
});
await step('repos.update', async () => {
  const { data } = await octokit.rest.repos.update({ owner, repo, description: 'updated by the SDK' });
  must(isStr(data.full_name), 'full_name');
  if (stateful) must(data.description === 'updated by the SDK', `description ${data.description}`);
});
await step('repos.get after update', async () => {
  const { data } = await octokit.rest.repos.get({ owner, repo });
  must(data.description === 'updated by the SDK', `description ${data.description}`);
}, { statefulOnly: true });
await step('repos.listForAuthenticatedUser', async () => {
  const { data } = await octokit.rest.repos.listForAuthenticatedUser({ per_page: 10 });
  must(Array.isArray(data) && data.every((r) => isStr(r.full_name)), 'an array of repositories');
});
await step('repos.listForOrg', async () => {
  const { data } = await octokit.rest.repos.listForOrg({ org: 'github', type: 'all' });
  must(Array.isArray(data), 'an array');
});
await step('repos.listBranches', async () => {
  const { data } = await octokit.rest.repos.listBranches({ owner, repo });
  must(Array.isArray(data), 'an array');
});
await step('repos.getBranch', async () => {
  const { data } = await octokit.rest.repos.getBranch({ owner, repo, branch: 'main' });
  must(isStr(data.name) && typeof data.commit === 'object', 'name and commit');
});
await step('repos.listCommits', async () => {
  const { data } = await octokit.rest.repos.listCommits({ owner, repo, per_page: 3 });
  must(Array.isArray(data), 'an array');
});
await step('repos.getContent', async () => {
  const { data } = await octokit.rest.repos.getContent({ owner, repo, path: 'README.md' });
  must(data && (Array.isArray(data) || isStr(data.type)), 'a file or a directory listing');
});
await step('repos.createOrUpdateFileContents', async () => {
  const { data } = await octokit.rest.repos.createOrUpdateFileContents({ owner, repo, path: 'notes.txt', message: 'add notes', content: Buffer.from('hi').toString('base64') });
  must(typeof data.commit === 'object', 'commit');
});
await step('repos.delete', async () => {
  const { status } = await octokit.rest.repos.delete({ owner, repo: 'sdk-made' });
  must(status === 204, `status ${status}`);
});

// --- Issues: create → get → update → list, comments, labels.
await step('issues.create', async () => {
  const { data, status } = await octokit.rest.issues.create({ owner, repo, title: 'Found a bug', body: 'It breaks', labels: ['bug'] });
  must(status === 201, `status ${status}`);
  must(isInt(data.number) && isStr(data.title), 'number and title');
  ctx.issue = data;
  if (stateful) must(data.title === 'Found a bug', `title ${data.title}`);
});
await step('issues.create (second)', async () => {
  const { data } = await octokit.rest.issues.create({ owner, repo, title: 'Another one' });
  ctx.issue2 = data;
  if (stateful && ctx.issue) must(data.number !== ctx.issue.number, `both issues got number ${data.number}`);
});
await step('issues.get', async () => {
  const n = ctx.issue ? ctx.issue.number : 1;
  const { data } = await octokit.rest.issues.get({ owner, repo, issue_number: n });
  must(isInt(data.number) && isStr(data.title), 'number and title');
  if (stateful) must(data.title === 'Found a bug' && data.number === n, `got #${data.number} ${data.title}`);
});
await step('issues.update', async () => {
  const n = ctx.issue ? ctx.issue.number : 1;
  const { data } = await octokit.rest.issues.update({ owner, repo, issue_number: n, state: 'closed' });
  must(isStr(data.state), 'state');
  if (stateful) must(data.state === 'closed' && data.title === 'Found a bug', `state ${data.state}, title ${data.title}`);
});
await step('issues.listForRepo', async () => {
  const { data } = await octokit.rest.issues.listForRepo({ owner, repo, state: 'all', per_page: 50 });
  must(Array.isArray(data) && data.every((i) => isInt(i.number)), 'an array of issues');
  if (stateful) must(data.some((i) => i.title === 'Found a bug'), 'the created issue is listed (state=all)');
});
await step('issues.createComment', async () => {
  const n = ctx.issue ? ctx.issue.number : 1;
  const { data, status } = await octokit.rest.issues.createComment({ owner, repo, issue_number: n, body: 'me too' });
  must(status === 201 && isInt(data.id) && isStr(data.body), 'id and body');
  ctx.comment = data;
  if (stateful) must(data.body === 'me too', `body ${data.body}`);
});
await step('issues.listComments', async () => {
  const n = ctx.issue ? ctx.issue.number : 1;
  const { data } = await octokit.rest.issues.listComments({ owner, repo, issue_number: n });
  must(Array.isArray(data), 'an array');
});
await step('issues.updateComment', async () => {
  const id = ctx.comment ? ctx.comment.id : 1;
  const { data } = await octokit.rest.issues.updateComment({ owner, repo, comment_id: id, body: 'me three' });
  must(isStr(data.body), 'body');
  if (stateful) must(data.body === 'me three', `body ${data.body}`);
});
await step('issues.deleteComment', async () => {
  const id = ctx.comment ? ctx.comment.id : 1;
  const { status } = await octokit.rest.issues.deleteComment({ owner, repo, comment_id: id });
  must(status === 204, `status ${status}`);
});
await step('issues.createLabel', async () => {
  const { data, status } = await octokit.rest.issues.createLabel({ owner, repo, name: 'sdk-label', color: 'ff0000' });
  must(status === 201 && isStr(data.name), 'name');
  if (stateful) must(data.name === 'sdk-label', `name ${data.name}`);
});
await step('issues.getLabel', async () => {
  const { data } = await octokit.rest.issues.getLabel({ owner, repo, name: 'sdk-label' });
  must(isStr(data.name) && isStr(data.color), 'name and color');
  if (stateful) must(data.name === 'sdk-label', `name ${data.name}`);
});
await step('issues.addLabels', async () => {
  const n = ctx.issue ? ctx.issue.number : 1;
  const { data } = await octokit.rest.issues.addLabels({ owner, repo, issue_number: n, labels: ['sdk-label'] });
  must(Array.isArray(data), 'an array');
});
await step('issues.deleteLabel', async () => {
  const { status } = await octokit.rest.issues.deleteLabel({ owner, repo, name: 'sdk-label' });
  must(status === 204, `status ${status}`);
});

// --- Pull requests.
await step('pulls.create', async () => {
  const { data, status } = await octokit.rest.pulls.create({ owner, repo, title: 'Add feature', head: 'feature', base: 'main' });
  must(status === 201 && isInt(data.number), 'number');
  must(typeof data.head === 'object' && isStr(data.head.ref), `head is ${JSON.stringify(data.head).slice(0, 60)}, not a branch object`);
  ctx.pull = data;
});
await step('pulls.get', async () => {
  const n = ctx.pull ? ctx.pull.number : 1;
  const { data } = await octokit.rest.pulls.get({ owner, repo, pull_number: n });
  must(isInt(data.number) && typeof data.head === 'object', 'number and head object');
  if (stateful) must(data.title === 'Add feature', `title ${data.title}`);
});
await step('pulls.update', async () => {
  const n = ctx.pull ? ctx.pull.number : 1;
  const { data } = await octokit.rest.pulls.update({ owner, repo, pull_number: n, title: 'Add the feature' });
  must(isStr(data.title), 'title');
  if (stateful) must(data.title === 'Add the feature', `title ${data.title}`);
});
await step('pulls.list', async () => {
  const { data } = await octokit.rest.pulls.list({ owner, repo, state: 'all' });
  must(Array.isArray(data), 'an array');
  if (stateful) must(data.some((p) => p.title === 'Add the feature'), 'the created pull is listed');
});
await step('pulls.listFiles', async () => {
  const n = ctx.pull ? ctx.pull.number : 1;
  const { data } = await octokit.rest.pulls.listFiles({ owner, repo, pull_number: n });
  must(Array.isArray(data), 'an array');
});
await step('pulls.merge', async () => {
  const n = ctx.pull ? ctx.pull.number : 1;
  const { data } = await octokit.rest.pulls.merge({ owner, repo, pull_number: n });
  must(isStr(data.sha), 'sha');
});

// --- Git data: blob → tree → commit → ref.
await step('git.createBlob', async () => {
  const { data, status } = await octokit.rest.git.createBlob({ owner, repo, content: 'hello', encoding: 'utf-8' });
  must(status === 201 && isStr(data.sha), 'sha');
  ctx.blob = data;
});
await step('git.getBlob', async () => {
  const sha = ctx.blob ? ctx.blob.sha : 'abc';
  const { data } = await octokit.rest.git.getBlob({ owner, repo, file_sha: sha });
  must(isStr(data.sha) && isStr(data.content), 'sha and content');
  if (stateful) must(data.sha === sha, `sha ${data.sha}, asked ${sha}`);
});
await step('git.createTree', async () => {
  const sha = ctx.blob ? ctx.blob.sha : 'abc';
  const { data } = await octokit.rest.git.createTree({ owner, repo, tree: [{ path: 'hello.txt', mode: '100644', type: 'blob', sha }] });
  must(isStr(data.sha) && Array.isArray(data.tree), 'sha and tree');
  ctx.tree = data;
});
await step('git.createCommit', async () => {
  const tree = ctx.tree ? ctx.tree.sha : 'abc';
  const { data } = await octokit.rest.git.createCommit({ owner, repo, message: 'sdk commit', tree, parents: [] });
  must(isStr(data.sha), 'sha');
  must(typeof data.tree === 'object' && isStr(data.tree.sha), `tree is ${JSON.stringify(data.tree).slice(0, 60)}, not an object`);
  ctx.commit = data;
});
await step('git.getCommit', async () => {
  const sha = ctx.commit ? ctx.commit.sha : 'abc';
  const { data } = await octokit.rest.git.getCommit({ owner, repo, commit_sha: sha });
  must(isStr(data.sha) && typeof data.tree === 'object', 'sha and tree object');
  if (stateful) must(data.message === 'sdk commit', `message ${data.message}`);
});
await step('git.createRef', async () => {
  const sha = ctx.commit ? ctx.commit.sha : 'abc';
  const { data, status } = await octokit.rest.git.createRef({ owner, repo, ref: 'refs/heads/sdk', sha });
  must(status === 201 && isStr(data.ref), 'ref');
});
await step('git.getRef', async () => {
  const { data } = await octokit.rest.git.getRef({ owner, repo, ref: 'heads/sdk' });
  must(isStr(data.ref) && typeof data.object === 'object', 'ref and object');
});
await step('git.deleteRef', async () => {
  const { status } = await octokit.rest.git.deleteRef({ owner, repo, ref: 'heads/sdk' });
  must(status === 204, `status ${status}`);
});

// --- Gists: create → get → update → revision → list → delete.
await step('gists.create', async () => {
  const { data, status } = await octokit.rest.gists.create({ description: 'sdk gist', public: false, files: { 'a.txt': { content: 'A' } } });
  must(status === 201 && isStr(data.id), 'id');
  ctx.gist = data;
});
await step('gists.get', async () => {
  const id = ctx.gist ? ctx.gist.id : 'aa5a315d61ae9438b18d';
  const { data } = await octokit.rest.gists.get({ gist_id: id });
  must(isStr(data.id) && typeof data.files === 'object', 'id and files');
  if (stateful) must(data.description === 'sdk gist', `description ${data.description}`);
});
await step('gists.update', async () => {
  const id = ctx.gist ? ctx.gist.id : 'aa5a315d61ae9438b18d';
  const { data } = await octokit.rest.gists.update({ gist_id: id, description: 'sdk gist, edited' });
  must(isStr(data.id), 'id');
  if (stateful) must(data.description === 'sdk gist, edited', `description ${data.description}`);
});
await step('gists.getRevision', async () => {
  const id = ctx.gist ? ctx.gist.id : 'aa5a315d61ae9438b18d';
  const { data } = await octokit.rest.gists.getRevision({ gist_id: id, sha: '3d7a7bd' });
  must(isStr(data.id) && typeof data.files === 'object', 'a gist (not a list)');
});
await step('gists.list', async () => {
  const { data } = await octokit.rest.gists.list({ per_page: 10 });
  must(Array.isArray(data), 'an array');
});
await step('gists.delete', async () => {
  const id = ctx.gist ? ctx.gist.id : 'aa5a315d61ae9438b18d';
  const { status } = await octokit.rest.gists.delete({ gist_id: id });
  must(status === 204, `status ${status}`);
});
await step('gists.get after delete is 404', async () => {
  const id = ctx.gist ? ctx.gist.id : 'aa5a315d61ae9438b18d';
  await expectHttpError(() => octokit.rest.gists.get({ gist_id: id }), [404]);
}, { statefulOnly: true });

// --- Auto-pagination (Link rel="next"): bounded, every page from standin itself.
await step('paginate issues.listForRepo', async () => {
  let pages = 0;
  const seen = [];
  for await (const page of octokit.paginate.iterator(octokit.rest.issues.listForRepo, { owner, repo, state: 'all', per_page: 1 })) {
    pages += 1;
    seen.push(...page.data.map((i) => i.number));
    if (pages >= 20) break;
  }
  must(pages >= 1, 'at least one page');
  if (stateful) must(new Set(seen).size === seen.length, `repeated items: ${seen.join(',')}`);
});
await step('paginate repos.listForOrg', async () => {
  const all = await octokit.paginate(octokit.rest.repos.listForOrg, { org: 'github', per_page: 100 }, (response, done) => {
    if (response.data.length > 500) done();
    return response.data;
  });
  must(Array.isArray(all), 'an array');
});

// --- Errors: the SDK raises its own RequestError (HttpError) on a 4xx.
await step('error: issues.create without a title', async () => {
  await expectHttpError(() => octokit.request('POST /repos/{owner}/{repo}/issues', { owner, repo, body: 'no title' }), [400, 422]);
});
await step('error: wrong type for labels', async () => {
  await expectHttpError(() => octokit.rest.issues.create({ owner, repo, title: 'x', labels: 'not-an-array' }), [400, 422]);
});
await step('error: repos.get of a deleted repository', async () => {
  await expectHttpError(() => octokit.rest.repos.get({ owner, repo: 'sdk-made' }), [404]);
}, { statefulOnly: true });

for (const [status, name, detail] of results) console.log(`${status} ${name.padEnd(42)} ${detail}`);
const failed = results.filter((r) => r[0] !== 'PASS').length;
console.log(`github sdk (${stateful ? 'default' : 'stateless'}${process.env.STANDIN_ACCEPT_JSON === '1' ? ', Accept: application/json' : ''}): ${results.length - failed} passed, ${failed} failed`);
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
