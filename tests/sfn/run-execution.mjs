#!/usr/bin/env node
// Runs an ASL state machine locally with aws-local-stepfunctions, invoking each Lambda Task
// on a local Lambda Invoke API endpoint (cargo lambda watch). Needs Node >= 22 (see install.sh).
//
// Exit codes: 0 execution succeeded, 1 execution failed, 2 the harness itself could not run,
// 3 stopped by --stop-after (as a crash or StopExecution would leave it).
// stdout: only the final JSON (output, or {"Error","Cause"} on failure), compact, as the last line.
// stderr: progress, one line per event.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import { StateMachine, ExecutionError, ExecutionTimeoutError } from 'aws-local-stepfunctions';

const USAGE = `usage: node run-execution.mjs --definition FILE.asl.json --input INPUT.json
  [--lambda-endpoint http://127.0.0.1:9000] [--max-wait-seconds N]
  [--account 123456789012] [--region us-east-1] [--execution-name NAME] [--state-machine-name NAME]
  [--stop-after TASK_STATE[:N]]`;

// Largest Task timeout setTimeout can hold (2^31-1 ms). The library defaults Task timeouts to 60 s,
// which a first `cargo lambda watch` invoke (compiling the function) easily exceeds; AWS has no
// such default for Lambda tasks, so Tasks without TimeoutSeconds(Path) get this instead.
const NO_TASK_TIMEOUT_SECONDS = 2147483;

// An error of the harness, not of the state machine: neither Retry nor Catch may match it
// (the library consults these getters), so it ends the execution and we exit 2.
class HarnessError extends Error {
  get isRetryable() { return false; }
  get isCatchable() { return false; }
}

// A Lambda function error as Step Functions reports it: Error = errorType,
// Cause = the error payload as a JSON string (AWS passes the whole payload, not just errorMessage).
class LambdaFunctionError extends Error {
  constructor(errorType, cause) {
    super(cause);
    this.name = errorType;
  }
}

function fail(message) {
  process.stderr.write(`harness error: ${message}\n`);
  process.exit(2);
}

// The library uses Node 22 APIs (Promise.withResolvers); the system Node may be older.
if (Number(process.versions.node.split('.')[0]) < 22) {
  fail(`Node >= 22 required, this is ${process.version}; use the one printed by tests/sfn/install.sh`);
}

// --- arguments --------------------------------------------------------------------------------
let args;
try {
  ({ values: args } = parseArgs({
    options: {
      definition: { type: 'string' },
      input: { type: 'string' },
      'lambda-endpoint': { type: 'string', default: 'http://127.0.0.1:9000' },
      'max-wait-seconds': { type: 'string' },
      account: { type: 'string', default: '123456789012' },
      region: { type: 'string', default: 'us-east-1' },
      'execution-name': { type: 'string' },
      'state-machine-name': { type: 'string' },
      'stop-after': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (e) {
  fail(`${e.message}\n${USAGE}`);
}
if (args.help) { process.stderr.write(`${USAGE}\n`); process.exit(0); }
if (!args.definition || !args.input) fail(`--definition and --input are required\n${USAGE}`);
let maxWaitMs;
if (args['max-wait-seconds'] !== undefined) {
  const n = Number(args['max-wait-seconds']);
  if (!Number.isFinite(n) || n < 0) fail('--max-wait-seconds must be a number >= 0');
  maxWaitMs = n * 1000;
}
// --stop-after STATE[:N]: abandon the execution right after the N-th (default 1st) answer of
// Task state STATE, before the state machine records it: the function's work is done, the
// execution goes no further (what StopExecution, a timeout or a crash leaves behind).
let stopAfter;
if (args['stop-after'] !== undefined) {
  const m = /^([^:]+)(?::([1-9][0-9]*))?$/.exec(args['stop-after']);
  if (!m) fail('--stop-after must be TASK_STATE or TASK_STATE:N (N >= 1)');
  stopAfter = { state: m[1], n: Number(m[2] ?? 1), seen: 0 };
}
let endpoint;
try { endpoint = new URL(args['lambda-endpoint']); } catch { fail(`bad --lambda-endpoint ${args['lambda-endpoint']}`); }
const { account, region } = args;
const stateMachineName = args['state-machine-name'] ?? basename(args.definition).replace(/(\.asl)?\.(json|ya?ml)$/, '');
const executionName = args['execution-name'] ?? randomUUID();

// --- definition -------------------------------------------------------------------------------
const pascalToKebab = (s) => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2').toLowerCase();
const lambdaArn = (fn) => `arn:aws:lambda:${region}:${account}:function:${fn}`;

let definition;
try {
  // ${FooBarFunctionArn} -> arn:aws:lambda:REGION:ACCOUNT:function:foo-bar (what the SAM/CFN
  // DefinitionSubstitutions would produce for function foo-bar).
  const text = readFileSync(args.definition, 'utf8')
    .replace(/\$\{([A-Za-z0-9]+)FunctionArn\}/g, (_, name) => lambdaArn(pascalToKebab(name)));
  const unresolved = [...new Set(text.match(/\$\{[^}]*\}/g) ?? [])];
  if (unresolved.length) fail(`unresolved substitution(s) in ${args.definition}: ${unresolved.join(', ')}`);
  definition = JSON.parse(text);
} catch (e) {
  fail(`cannot read definition ${args.definition}: ${e.message}`);
}
let input;
try { input = JSON.parse(readFileSync(args.input, 'utf8')); } catch (e) { fail(`cannot read input ${args.input}: ${e.message}`); }

// Every States object of the definition, nested Parallel branches and Map processors included.
function* stateMachines(sm) {
  yield sm;
  for (const state of Object.values(sm.States ?? {})) {
    for (const branch of state.Branches ?? []) yield* stateMachines(branch);
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor) yield* stateMachines(processor);
  }
}

// aws-local-stepfunctions 3.0.0 accepts these fields but silently ignores them, so a local run
// would pass where AWS behaves differently: refuse them. Others are ignored harmlessly: warn.
const UNSUPPORTED = ['Assign', 'Arguments', 'Output', 'Items', 'ItemReader', 'ItemBatcher', 'ResultWriter'];
const IGNORED = ['Credentials', 'HeartbeatSeconds', 'HeartbeatSecondsPath', 'ToleratedFailureCount',
  'ToleratedFailurePercentage', 'ToleratedFailureCountPath', 'ToleratedFailurePercentagePath'];
if (definition.QueryLanguage === 'JSONata') fail('QueryLanguage JSONata is not supported by aws-local-stepfunctions');
for (const sm of stateMachines(definition)) {
  for (const [name, state] of Object.entries(sm.States ?? {})) {
    const bad = UNSUPPORTED.filter((k) => k in state);
    if (state.QueryLanguage === 'JSONata') bad.push('QueryLanguage JSONata');
    // The library treats a falsy Pass Result (false, 0, "", null) as absent and passes the input on.
    if (state.Type === 'Pass' && 'Result' in state && !state.Result) bad.push(`Result ${JSON.stringify(state.Result)}`);
    if (bad.length) fail(`state "${name}" uses ${bad.join(', ')}, not supported by aws-local-stepfunctions`);
    const ignored = IGNORED.filter((k) => k in state);
    if (ignored.length) process.stderr.write(`warning: state "${name}": ${ignored.join(', ')} ignored locally\n`);
  }
}

// --- Lambda invocation ------------------------------------------------------------------------
// POST the task input to the Invoke API like the SDK would, but by plain function name (cargo lambda
// does not resolve ARNs) and with no client-side timeout (a first invoke compiles for minutes).
function invoke(functionName, payload) {
  const url = new URL(`2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`,
    endpoint.href.endsWith('/') ? endpoint : `${endpoint.href}/`);
  const body = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, functionError: res.headers['x-amz-function-error'], text }));
      res.on('error', reject);
    });
    req.on('error', (e) => reject(new HarnessError(`Lambda endpoint ${endpoint.origin} unreachable while invoking ${functionName}: ${e.message}`)));
    req.end(body);
  });
}

const parseJson = (text) => { try { return { value: text.trim() === '' ? null : JSON.parse(text) }; } catch { return null; } };

// Maps a response to the task result or a task failure the way Step Functions does. Real Lambda
// answers 200 + X-Amz-Function-Error; cargo lambda watch answers 500 + the same body.
async function invokeTask(functionName, payload) {
  const { status, functionError, text } = await invoke(functionName, payload);
  const parsed = parseJson(text);
  const errorType = typeof parsed?.value?.errorType === 'string' ? parsed.value.errorType : undefined;
  if (status === 200 && !functionError) {
    if (!parsed) throw new HarnessError(`${functionName} returned a non-JSON result: ${text.slice(0, 500)}`);
    return parsed.value;
  }
  if ((status === 200 && functionError) || (status >= 500 && errorType)) {
    throw new LambdaFunctionError(errorType ?? functionError, text.trim());
  }
  // e.g. 404 {"title":"Missing function"} from cargo lambda: a setup problem, not a task failure.
  throw new HarnessError(`Lambda endpoint answered HTTP ${status} for ${functionName}: ${text.slice(0, 500)}`);
}

// One local handler per Lambda Task state (the library keys overrides by state name), replacing
// the library's SDK call. The handler gets the effective input (after InputPath/Parameters) and
// its result goes through ResultSelector/ResultPath/OutputPath as usual.
const taskHandlers = {};
const waitOverrides = {};
const handlerFunction = {};
for (const sm of stateMachines(definition)) {
  for (const [name, state] of Object.entries(sm.States ?? {})) {
    if (state.Type === 'Task') {
      const m = /^arn:aws:lambda:[^:]+:[^:]+:function:([^:]+)(:[^:]+)?$/.exec(state.Resource ?? '');
      if (!m) fail(`Task state "${name}": only Lambda function ARNs are supported as Resource, got ${state.Resource}`);
      if (handlerFunction[name] && handlerFunction[name] !== m[1]) fail(`two Task states named "${name}" call different functions; rename one`);
      handlerFunction[name] = m[1];
      taskHandlers[name] = async (taskInput) => {
        const result = await invokeTask(m[1], taskInput);
        if (stopAfter?.state === name && ++stopAfter.seen === stopAfter.n) {
          process.stderr.write(`stopped after ${name} #${stopAfter.n}: the execution is abandoned here\n`);
          process.exit(3);
        }
        return result;
      };
      if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) state.TimeoutSeconds = NO_TASK_TIMEOUT_SECONDS;
    }
    if (state.Type === 'Wait' && maxWaitMs !== undefined) {
      // Getters: the library reads an override when the Wait runs, so a Timestamp wait is capped
      // against the clock of that moment. Seconds/Timestamp waits become min(real, cap); a
      // SecondsPath/TimestampPath wait becomes exactly the cap (its value is unknown up front).
      Object.defineProperty(waitOverrides, name, {
        enumerable: true,
        configurable: true,
        get() {
          if (state.Seconds !== undefined) return Math.min(state.Seconds * 1000, maxWaitMs);
          if (state.Timestamp !== undefined) return Math.max(0, Math.min(Date.parse(state.Timestamp) - Date.now(), maxWaitMs));
          return maxWaitMs;
        },
      });
    }
  }
}

// --- context object ---------------------------------------------------------------------------
// The library fills $$.Execution.Input/StartTime only. $$.State changes per state, so it is an
// object of getters fed by a Proxy on each States map: the library looks a state up there right
// before entering it, synchronously ahead of that state's InputPath/Parameters evaluation.
let current = { name: undefined, enteredTime: undefined };
let tracking = false;
for (const sm of stateMachines(definition)) {
  sm.States = new Proxy(sm.States, {
    get(target, key, receiver) {
      if (tracking && typeof key === 'string' && Object.hasOwn(target, key)) current = { name: key, enteredTime: new Date().toISOString() };
      return Reflect.get(target, key, receiver);
    },
  });
}
const context = {
  Execution: {
    Id: `arn:aws:states:${region}:${account}:execution:${stateMachineName}:${executionName}`,
    Name: executionName,
    RedriveCount: 0,
  },
  StateMachine: { Id: `arn:aws:states:${region}:${account}:stateMachine:${stateMachineName}`, Name: stateMachineName },
  State: {
    get Name() { return current.name; },
    get EnteredTime() { return current.enteredTime; },
  },
};

// --- run --------------------------------------------------------------------------------------
// Validates the ASL (asl-validator, ARNs and paths included).
let machine;
try {
  machine = new StateMachine(definition);
} catch (e) {
  fail(e.message);
}

// Fail fast (exit 2) when nothing listens on the endpoint, without invoking any function.
await new Promise((resolve) => {
  const sock = net.connect({ host: endpoint.hostname, port: Number(endpoint.port) || (endpoint.protocol === 'https:' ? 443 : 80) });
  sock.setTimeout(5000, () => sock.destroy(new Error('connect timeout')));
  sock.on('connect', () => { sock.end(); resolve(); });
  sock.on('error', (e) => fail(`Lambda endpoint ${endpoint.origin} unreachable (${e.message}); start it with \`cargo lambda watch\``));
});

const t0 = Date.now();
const log = (ts, text) => process.stderr.write(`[${((ts - t0) / 1000).toFixed(1).padStart(6)}s] ${text}\n`);
const short = (v) => { const s = typeof v === 'string' ? v : JSON.stringify(v); return s && s.length > 300 ? `${s.slice(0, 300)}...` : s; };
process.stderr.write(`execution ${context.Execution.Id} (lambda endpoint ${endpoint.origin}${maxWaitMs !== undefined ? `, waits capped at ${maxWaitMs / 1000}s` : ''})\n`);

tracking = true;
const execution = machine.run(input, {
  context,
  overrides: { taskResourceLocalHandlers: taskHandlers, waitTimeOverrides: waitOverrides },
});

// Progress from the library's event log. StateRetried carries no error, so remember the last one.
async function printEvents() {
  const lastError = {};
  for await (const ev of execution.eventLogs) {
    const where = ev.state ? `${ev.state.name}${ev.index !== undefined ? `[${ev.index}]` : ''}` : '';
    switch (ev.type) {
      case 'StateEntered': log(ev.timestamp, `${where} (${ev.state.type})`); break;
      case 'StateFailed':
        lastError[where] = ev.Error;
        if (ev.state.type !== 'Fail') log(ev.timestamp, `${where} failed: ${ev.Error}: ${short(ev.Cause)}`);
        break;
      case 'StateRetried':
        log(ev.timestamp, `${where} retry ${ev.retry.attempt}/${ev.retry.retrier.MaxAttempts ?? 3} after ${lastError[where]}`);
        break;
      case 'StateCaught': log(ev.timestamp, `${where} caught ${lastError[where]} -> ${ev.catch.catcher.Next}`); break;
      case 'ExecutionSucceeded': log(ev.timestamp, 'execution succeeded'); break;
      case 'ExecutionTimeout': log(ev.timestamp, 'execution timed out'); break;
      default: break;
    }
  }
}
const printing = printEvents();

let exitCode = 0;
let lastLine;
try {
  lastLine = await execution.result;
} catch (e) {
  let err = e instanceof ExecutionError ? e.cause : e;
  if (e instanceof ExecutionTimeoutError) {
    err = { name: 'States.Timeout', message: 'the state machine TimeoutSeconds elapsed' };
  } else if (!(e instanceof ExecutionError) || err instanceof HarnessError) {
    await printing;
    fail(err?.message ?? String(err));
  }
  lastLine = { Error: err.name, Cause: err.message };
  exitCode = 1;
}
await printing;
if (exitCode === 1) process.stderr.write(`execution failed: ${lastLine.Error}: ${lastLine.Cause}\n`);
// Exit as soon as stdout is flushed: a Task that timed out may still hold an open HTTP request.
process.stdout.write(`${JSON.stringify(lastLine)}\n`, () => process.exit(exitCode));
