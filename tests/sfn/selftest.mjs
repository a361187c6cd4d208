// Self-test of run-execution.mjs against an in-process fake of `cargo lambda watch`.
// Run: npm test --prefix tests/sfn   (uses the Node 22 from node_modules/.bin)
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const runner = join(here, 'run-execution.mjs');
const sample = join(here, 'fixtures', 'sample.asl.json');
const tmp = mkdtempSync(join(tmpdir(), 'sfn-selftest-'));
// The harness needs Node 22: prefer the one install.sh puts in node_modules.
const localNode = join(here, 'node_modules', 'node', 'bin', 'node');
const nodeBin = existsSync(localNode) ? localNode : process.execPath;

// --- fake Lambda endpoint: answers like cargo lambda watch ------------------------------------
let calls = []; // { fn, payload }
const functionError = (res, errorType, errorMessage, style) => {
  const body = JSON.stringify({ errorType, errorMessage });
  if (style === 'aws') res.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
  else res.writeHead(500, { 'content-type': 'application/json' }); // cargo lambda watch
  res.end(body);
};
const ok = (res, value) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify(value)); };

const server = http.createServer((req, res) => {
  let text = '';
  req.on('data', (c) => { text += c; });
  req.on('end', () => {
    const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url);
    const fn = m && decodeURIComponent(m[1]);
    const payload = JSON.parse(text);
    calls.push({ fn, payload });
    const n = calls.filter((c) => c.fn === fn).length;
    switch (fn) {
      case 'precheck':
        if (payload.mode === 'throttle-twice' && n <= 2) return functionError(res, 'Throttled', `slow down #${n}`);
        if (payload.mode === 'reject') return functionError(res, 'PrecheckFailed', 'cluster is not eligible', 'aws');
        if (payload.mode === 'crash') return functionError(res, 'InvalidRequest', 'bad input');
        return ok(res, { eligible: true, echo: payload });
      case 'create': return ok(res, { green: `${payload.id}-green`, wait_seconds: 3600, extra: 'dropped by ResultSelector' });
      case 'remediation-metric': return ok(res, { published: true });
      default: // cargo lambda's answer for an unknown binary
        res.writeHead(404, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ title: 'Missing function', detail: `no binary ${fn}` }));
    }
  });
});
let endpoint;
before(async () => {
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${server.address().port}`;
});
after(() => { server.close(); rmSync(tmp, { recursive: true, force: true }); });
beforeEach(() => { calls = []; });

// Runs the harness as a child process (async, so the fake server keeps answering).
function run(args, input) {
  const inputFile = join(tmp, `input-${Math.random().toString(36).slice(2)}.json`);
  if (input !== undefined) writeFileSync(inputFile, JSON.stringify(input));
  const argv = input !== undefined ? ['--input', inputFile, ...args] : args;
  return new Promise((resolve) => {
    const child = spawn(nodeBin, [runner, ...argv]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('close', (code) => {
      const lines = stdout.trim().split('\n');
      let last;
      try { last = JSON.parse(lines.at(-1)); } catch { last = undefined; }
      resolve({ code, stdout, stderr, last });
    });
  });
}
const common = () => ['--definition', sample, '--lambda-endpoint', endpoint, '--max-wait-seconds', '1',
  '--account', '111122223333', '--region', 'eu-west-1'];
const input = (mode) => ({ cluster: { id: 'db1', engine: 'aurora-postgresql' }, mode });

test('success: substitutions, exact task input, context object, output on the last stdout line, Wait cap', async () => {
  const r = await run([...common(), '--execution-name', 'exec-ok'], input('ok'));
  assert.equal(r.code, 0, r.stderr);
  // Invoked by plain (kebab-case) function name, not by ARN.
  assert.deepEqual(calls.map((c) => c.fn), ['precheck', 'create']);
  // Task input is exactly the Parameters result; context fields filled like AWS.
  const sent = calls[0].payload;
  assert.deepEqual(Object.keys(sent).sort(), ['cluster', 'ctx', 'mode']);
  assert.equal(sent.ctx.execution_id, 'arn:aws:states:eu-west-1:111122223333:execution:sample:exec-ok');
  assert.equal(sent.ctx.execution_name, 'exec-ok');
  assert.equal(sent.ctx.state_name, 'Precheck');
  assert.match(sent.ctx.start_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Date.parse(sent.ctx.entered_time) >= Date.parse(sent.ctx.start_time));
  assert.deepEqual(calls[1].payload, { id: 'db1', engine: 'aurora-postgresql' }); // InputPath
  // Output: function JSON through ResultPath / ResultSelector.
  assert.deepEqual(r.last.precheck, { eligible: true, echo: sent });
  assert.deepEqual(r.last.create, { green: 'db1-green', wait_seconds: 3600 });
  // Progress lines; the waits of 30 s and 3600 s were capped to 1 s each.
  const at = (state) => Number(new RegExp(`\\[\\s*(\\d+\\.\\d)s\\] ${state} \\(`).exec(r.stderr)?.[1]);
  assert.match(r.stderr, /\[\s+\d+\.\ds\] Precheck \(Task\)\n/);
  const waited = at('Done') - at('WaitFixed');
  assert.ok(waited >= 1.9 && waited < 5, `waits took ${waited}s:\n${r.stderr}`);
});

test('--stop-after abandons the execution right after that Task answered (exit 3)', async () => {
  const r = await run([...common(), '--stop-after', 'Precheck'], input('ok'));
  assert.equal(r.code, 3, r.stderr);
  assert.deepEqual(calls.map((c) => c.fn), ['precheck'], 'nothing runs after the stop');
  assert.match(r.stderr, /stopped after Precheck #1/);
  assert.equal(r.last, undefined, 'no output: the execution did not end');
  const bad = await run([...common(), '--stop-after', 'Precheck:0'], input('ok'));
  assert.equal(bad.code, 2);
});

test('Retry on a custom errorType (HTTP 500 from cargo lambda)', async () => {
  const r = await run(common(), input('throttle-twice'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(calls.filter((c) => c.fn === 'precheck').length, 3);
  assert.match(r.stderr, /Precheck failed: Throttled: /);
  assert.match(r.stderr, /Precheck retry 2\/3 after Throttled/);
  assert.equal(r.last.precheck.eligible, true);
});

test('Catch with ResultPath, then Fail keeps Error/Cause (200 + X-Amz-Function-Error)', async () => {
  const r = await run(common(), input('reject'));
  assert.equal(r.code, 1, r.stderr);
  const cause = JSON.stringify({ errorType: 'PrecheckFailed', errorMessage: 'cluster is not eligible' });
  // Catch output landed at $.error, the rest of the input kept.
  const metric = calls.find((c) => c.fn === 'remediation-metric');
  assert.deepEqual(metric.payload, { cluster: input().cluster, error: { Error: 'PrecheckFailed', Cause: cause } });
  assert.match(r.stderr, /Precheck caught PrecheckFailed -> RemediationMetric/);
  assert.match(r.stderr, /execution failed: PrecheckFailed: \{"errorType":"PrecheckFailed"/);
  assert.deepEqual(r.last, { Error: 'PrecheckFailed', Cause: cause });
});

test('uncaught function error fails the execution with its errorType', async () => {
  const r = await run(common(), input('crash'));
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.last.Error, 'InvalidRequest');
  assert.equal(JSON.parse(r.last.Cause).errorMessage, 'bad input');
});

test('exit 2: harness problems are not execution failures', async (t) => {
  await t.test('bad arguments', async () => {
    const r = await run(['--definition', sample, '--bogus'], input('ok'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /harness error: .*bogus/);
  });
  await t.test('definition unreadable', async () => {
    const r = await run(['--definition', join(tmp, 'missing.asl.json'), '--lambda-endpoint', endpoint], input('ok'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot read definition/);
  });
  await t.test('unresolved substitution', async () => {
    const def = join(tmp, 'unresolved.asl.json');
    writeFileSync(def, JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Task', Resource: '${SomeBucket}', End: true } } }));
    const r = await run(['--definition', def, '--lambda-endpoint', endpoint], input('ok'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unresolved substitution.*\$\{SomeBucket\}/);
  });
  await t.test('ASL the library would silently ignore (Assign)', async () => {
    const def = join(tmp, 'assign.asl.json');
    writeFileSync(def, JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', Assign: { x: 1 }, End: true } } }));
    const r = await run(['--definition', def, '--lambda-endpoint', endpoint], input('ok'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /state "A" uses Assign, not supported/);
  });
  await t.test('Lambda endpoint unreachable', async () => {
    const closed = http.createServer();
    await new Promise((r) => closed.listen(0, '127.0.0.1', r));
    const port = closed.address().port;
    await new Promise((r) => closed.close(r));
    const r = await run(['--definition', sample, '--lambda-endpoint', `http://127.0.0.1:${port}`], input('ok'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Lambda endpoint .* unreachable/);
  });
  await t.test('function missing at the endpoint (404), even inside a Catch-all', async () => {
    const def = join(tmp, 'missing-fn.asl.json');
    writeFileSync(def, JSON.stringify({ StartAt: 'A', States: {
      A: { Type: 'Task', Resource: '${NotDeployedFunctionArn}', Catch: [{ ErrorEquals: ['States.ALL'], Next: 'B' }], End: true },
      B: { Type: 'Pass', End: true } } }));
    const r = await run(['--definition', def, '--lambda-endpoint', endpoint], input('ok'));
    assert.equal(r.code, 2);
    assert.deepEqual(calls.map((c) => c.fn), ['not-deployed']);
    assert.match(r.stderr, /HTTP 404 for not-deployed/);
  });
});
