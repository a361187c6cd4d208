//! The four ops of the `sql` worker over the run document (`{"op": ..., "run": {...}}` in,
//! the run document out, with `run.database` filled in). Without a way in (no
//! `database_secret_arn`, no `database_iam_user`) every op returns the run unchanged.
//! See crates/sql/README.md for where each op plugs into the state machine.

use crate::aws::{Aws, Logins};
use crate::failure::Failure;
use crate::session::{Endpoint, Session};
use crate::tls::Trust;
use crate::{mysql, postgres};
use bluegreen_aws::rds::parse_member_arn;
use bluegreen_domain::database::access::{access_check, access_ok, AccessFailure};
use bluegreen_domain::database::analyze::{
    analyze_on_green_check, unavailable as analyze_unavailable, GreenAnalyze,
};
use bluegreen_domain::database::credentials::DatabaseAccess;
use bluegreen_domain::database::fingerprint::{compare, FingerprintRecord};
use bluegreen_domain::database::finish::{
    analyze_check_after, compare_sequences, extensions_check, outdated_extensions, FinishState,
    ANALYZE_BUDGET_SECONDS,
};
use bluegreen_domain::database::prechecks::{
    external_replication, materialized_views, merge_into_report, mysql_checks,
    mysql_missing_privileges, postgres_checks, refusal, Context, PrecheckRecord,
    LONG_TRANSACTION_SECONDS,
};
use bluegreen_domain::database::smoke::{smoke_check, validate, DEFAULT_SMOKE_QUERY};
use bluegreen_domain::database::watch::{cdc_blockers, decide, WatchState, WatchVerdict};
use bluegreen_domain::database::{replicates_logically, DatabaseState, Op};
use bluegreen_domain::model::check::{id, Check, Verdict};
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::route::Route;
use bluegreen_domain::model::schedule::{HOLD_DELAY_SECONDS, MAX_HOLDS};
use bluegreen_domain::run::Run;
use bluegreen_domain::run::SqlInput;
use bluegreen_lambda::Invocation;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Tuning, from the environment (defaults from the domain).
#[derive(Clone, Debug)]
pub struct Options {
    /// `LONG_TRANSACTION_SECONDS` (default 300).
    pub long_transaction_seconds: i64,
    /// `ANALYZE_BUDGET_SECONDS` (default 30).
    pub analyze_budget: Duration,
}

impl Options {
    pub fn from_env() -> Self {
        let num = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        Self {
            long_transaction_seconds: num("LONG_TRANSACTION_SECONDS")
                .map_or(LONG_TRANSACTION_SECONDS, |v| v as i64),
            analyze_budget: Duration::from_secs(
                num("ANALYZE_BUDGET_SECONDS").unwrap_or(ANALYZE_BUDGET_SECONDS),
            ),
        }
    }
}

/// What the handler uses, built once per process.
#[derive(Clone, Debug)]
pub struct Deps {
    pub aws: Aws,
    pub options: Options,
    trust: Arc<OnceLock<Result<Trust, AccessFailure>>>,
}

impl Deps {
    pub fn new(aws: Aws, options: Options) -> Self {
        Self {
            aws,
            options,
            trust: Arc::new(OnceLock::new()),
        }
    }

    /// The CA bundle, read at the first connection (not at init) and kept.
    fn trust(&self) -> Result<Trust, Failure> {
        self.trust
            .get_or_init(Trust::from_env)
            .clone()
            .map_err(Failure::Access)
    }
}

pub async fn handle(deps: Deps, input: SqlInput, inv: Invocation) -> Result<Run, WorkerError> {
    let SqlInput { op, mut run } = input;
    let request = run.request()?.clone();
    let Some(access) = DatabaseAccess::from_request(&request) else {
        tracing::info!(
            op = op.as_str(),
            "no way into the database in the request: nothing to do"
        );
        return Ok(run);
    };
    if let DatabaseAccess::Secret(arn) = &access {
        arn.check_local(inv.account_id().as_deref(), inv.region().as_deref())?;
    }
    let source = run.source()?.clone();
    if !source.engine.supports_blue_green() {
        return Ok(run);
    }
    run.database
        .get_or_insert_with(|| DatabaseState::new(access.record()));
    let now = inv.now_rfc3339();
    let mut ctx = Ctx {
        deps: &deps,
        logins: Logins::new(&deps.aws, &access),
        access: &access,
    };
    match op {
        Op::Precheck => precheck(&mut ctx, &mut run, &now).await?,
        Op::Fingerprint => fingerprint(&mut ctx, &mut run, &now).await?,
        Op::Watch => watch(&mut ctx, &mut run, &now).await?,
        Op::Analyze => analyze_green(&mut ctx, &mut run, &now).await?,
        Op::Finish => finish(&mut ctx, &mut run, &now).await?,
    }
    Ok(run)
}

struct Ctx<'a> {
    deps: &'a Deps,
    logins: Logins<'a>,
    access: &'a DatabaseAccess,
}

impl Ctx<'_> {
    async fn endpoint(
        &self,
        run: &Run,
        name: &str,
        role: &str,
    ) -> Result<Option<Endpoint>, WorkerError> {
        let kind = run.source()?.kind;
        self.deps.aws.endpoint(kind, name, role).await
    }

    /// A session on `ep`: the login (secret or token) and the CA bundle.
    async fn session(&mut self, ep: &Endpoint, read_only: bool) -> Result<Session, Failure> {
        let trust = self.deps.trust()?;
        let login = self.logins.for_endpoint(ep).await?;
        let mut s = Session::new(login, trust, read_only);
        s.cleartext_auth =
            matches!(self.access, DatabaseAccess::Iam { .. }) && ep.engine.is_mysql_family();
        Ok(s)
    }

    /// The one failing check for a failure on the way in to `ep`.
    fn access_check(&self, failure: &AccessFailure, ep: &Endpoint, user: Option<&str>) -> Check {
        access_check(failure, self.access, &ep.target(), user)
    }
}

fn state(run: &mut Run) -> &mut DatabaseState {
    run.database.as_mut().expect("set by handle")
}

fn switched(run: &Run) -> bool {
    run.switchover.is_some()
        || run.verify.is_some()
        || run.deployment.as_ref().is_some_and(|d| {
            d.status == "SWITCHOVER_COMPLETED" || d.status == "SWITCHOVER_IN_PROGRESS"
        })
}

async fn blue(ctx: &Ctx<'_>, run: &Run) -> Result<Endpoint, WorkerError> {
    let source = run.source()?;
    ctx.endpoint(run, &source.identifier, "blue")
        .await?
        .ok_or_else(|| {
            WorkerError::SourceNotFound(format!(
                "{} no longer answers DescribeDB*: it was renamed or deleted outside this run",
                source.identifier
            ))
        })
}

/// What the rules need of the run: the source's engine, versions and parameters, the
/// deployment's kind of replication, the switchover timeout, blue's addresses.
async fn rules(ctx: &Ctx<'_>, run: &Run, blue: &Endpoint) -> Result<Context, WorkerError> {
    let source = run.source()?;
    let request = run.request()?;
    Ok(Context {
        deployment_exists: run.deployment.is_some(),
        long_transaction_seconds: ctx.deps.options.long_transaction_seconds,
        engine: source.engine.clone(),
        source_version: source.engine_version.clone(),
        target_version: request.target_engine_version.clone(),
        logical: logical(run)?,
        parameters: source.parameters.clone(),
        switchover_timeout_seconds: request.switchover_timeout_seconds,
        blue_addresses: addresses(&blue.host, blue.port).await,
    })
}

/// Whether this run's deployment replicates logically (`replicates_logically`).
fn logical(run: &Run) -> Result<bool, WorkerError> {
    let source = run.source()?;
    Ok(replicates_logically(
        &source.engine,
        &source.engine_version,
        &run.request()?.target_engine_version,
        run.plan.as_ref().map(|p| p.is_major_upgrade),
    ))
}

/// The IP addresses a host name resolves to (itself when it is one); none when it does not
/// resolve within 2 s (the check then names IPs without saying whose).
async fn addresses(host: &str, port: u16) -> Vec<String> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return vec![ip.to_string()];
    }
    match tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::lookup_host((host.to_string(), port)),
    )
    .await
    {
        Ok(Ok(found)) => {
            let mut ips: Vec<String> = found.map(|a| a.ip().to_string()).collect();
            ips.sort();
            ips.dedup();
            ips
        }
        _ => vec![],
    }
}

// ------------------------------------------------------------------ precheck
async fn precheck(ctx: &mut Ctx<'_>, run: &mut Run, now: &str) -> Result<(), WorkerError> {
    let db = run.db_label();
    let skip = match run.route {
        _ if switched(run) => {
            Some("the deployment is already switched over: blue is gone".to_string())
        }
        Some(Route::Plan | Route::Prepare | Route::Upgrade) | None => None,
        Some(other) => Some(format!(
            "route {other:?} creates nothing: no in-database precheck"
        )),
    };
    if let Some(why) = skip {
        state(run).precheck = Some(PrecheckRecord {
            checked_at: now.to_string(),
            databases: vec![],
            checks: vec![],
            replaced_manual_checks: vec![],
            skipped: Some(why),
            materialized_views: vec![],
        });
        return Ok(());
    }
    let ep = blue(ctx, run).await?;
    let rules = rules(ctx, run, &ep).await?;
    let mut views = Vec::new();
    let (checks, databases) = match ctx.session(&ep, true).await {
        Err(Failure::Worker(e)) => return Err(e),
        Err(Failure::Access(a)) => (vec![ctx.access_check(&a, &ep, None)], vec![]),
        Ok(s) => {
            let user = s.login.username.clone();
            if ep.engine.is_postgres_family() {
                match postgres::gather(&ep, &s).await {
                    Ok(f) => {
                        let mut checks =
                            vec![access_ok(ctx.access, &ep.target(), f.databases.len())];
                        checks.extend(postgres_checks(&f, &rules));
                        views = materialized_views(&f);
                        (checks, f.database_names)
                    }
                    Err(Failure::Access(a)) => {
                        (vec![ctx.access_check(&a, &ep, Some(&user))], vec![])
                    }
                    Err(Failure::Worker(e)) => return Err(e),
                }
            } else {
                match mysql::gather(&ep, &s).await {
                    Ok(f) => {
                        let missing = mysql_missing_privileges(&f);
                        if missing.is_empty() {
                            let mut checks =
                                vec![access_ok(ctx.access, &ep.target(), f.schemas.len())];
                            checks.extend(mysql_checks(&f, &rules));
                            (checks, f.schemas)
                        } else {
                            let failure = AccessFailure::Permission {
                                detail: format!(
                                    "no global {} privilege: tables and transactions of other users are invisible",
                                    missing.join(", ")
                                ),
                                missing: vec![format!(
                                    "GRANT SELECT, PROCESS, REPLICATION CLIENT ON *.* TO {user}"
                                )],
                            };
                            (vec![ctx.access_check(&failure, &ep, Some(&user))], vec![])
                        }
                    }
                    Err(Failure::Access(a)) => {
                        (vec![ctx.access_check(&a, &ep, Some(&user))], vec![])
                    }
                    Err(Failure::Worker(e)) => return Err(e),
                }
            }
        }
    };
    let engine = ep.engine.clone();
    let report = run.report.as_mut().ok_or_else(|| {
        WorkerError::MalformedRun(
            "the sql precheck runs after the Precheck step, which writes the report".into(),
        )
    })?;
    let replaced = merge_into_report(report, &checks, &engine);
    let failed = !report.failures().is_empty();
    let error = refusal(report, &db, &databases);
    tracing::info!(
        databases = databases.len(),
        failed = checks
            .iter()
            .filter(|c| c.verdict == bluegreen_domain::model::check::Verdict::Fail)
            .count(),
        "in-database precheck done"
    );
    state(run).precheck = Some(PrecheckRecord {
        checked_at: now.to_string(),
        databases,
        checks,
        replaced_manual_checks: replaced,
        skipped: None,
        materialized_views: views,
    });
    run.mark("database_prechecked", now);
    if failed && matches!(run.route, Some(Route::Prepare | Route::Upgrade)) {
        return Err(error);
    }
    Ok(())
}

// ------------------------------------------------------------------ fingerprint
async fn fingerprint(ctx: &mut Ctx<'_>, run: &mut Run, now: &str) -> Result<(), WorkerError> {
    if state(run)
        .fingerprint
        .as_ref()
        .is_some_and(|f| !f.databases.is_empty())
    {
        return Ok(()); // taken at create; a retry or a resumed run keeps the first one
    }
    if switched(run) {
        return Ok(()); // a restart after the switchover: blue's name is the new production's
    }
    let ep = blue(ctx, run).await?;
    if !ep.engine.is_postgres_family() {
        tracing::info!("MySQL/MariaDB replicate DDL in the binlog: no fingerprint needed");
        return Ok(());
    }
    if !logical(run)? {
        tracing::info!(
            "a physical deployment replicates DDL and privileges: no fingerprint needed"
        );
        return Ok(());
    }
    let taken = match ctx.session(&ep, true).await {
        Ok(s) => postgres::fingerprints(&ep, &s).await,
        Err(e) => Err(e),
    };
    let record = match taken.map_err(Failure::retry_if_busy) {
        Ok(databases) => FingerprintRecord {
            taken_at: now.to_string(),
            of: ep.label(),
            databases,
            unavailable: None,
        },
        Err(Failure::Worker(e)) => return Err(e),
        Err(Failure::Access(a)) => {
            let c = ctx.access_check(&a, &ep, None);
            tracing::warn!(observed = %c.observed, "no fingerprint at create: the watch compares blue with green");
            FingerprintRecord {
                taken_at: now.to_string(),
                of: ep.label(),
                databases: vec![],
                unavailable: Some(format!("{} ({})", c.observed, c.fix)),
            }
        }
    };
    state(run).fingerprint = Some(record);
    run.mark("database_fingerprinted", now);
    Ok(())
}

// ------------------------------------------------------------------ watch
async fn watch(ctx: &mut Ctx<'_>, run: &mut Run, now: &str) -> Result<(), WorkerError> {
    let db = run.db_label();
    let previous = state(run).watch.clone();
    if switched(run) {
        state(run).watch = Some(go(now, "the switchover is already requested or done"));
        return Ok(());
    }
    let ep = blue(ctx, run).await?;
    let max_lag = run.request()?.max_replication_slot_lag_bytes;
    let looked = if ep.engine.is_postgres_family() {
        watch_look(ctx, run, &ep).await
    } else {
        watch_look_mysql(ctx, run, &ep).await
    };
    let decision = match looked {
        Ok(look) => decide(
            previous.as_ref(),
            &db,
            look.compared_with,
            look.changes,
            look.blockers,
            look.slots,
            max_lag,
            now,
        )?,
        Err(Failure::Worker(e)) => return Err(e),
        Err(Failure::Access(a)) => {
            // Cannot see: hold, as the guardrail does without a lag reading, and give up with
            // the check's words after the same bound.
            let c = ctx.access_check(&a, &ep, None);
            let holds = previous.as_ref().map_or(0, |p| p.holds) + 1;
            let reason = format!("{}: {}", c.observed, c.fix);
            if holds > MAX_HOLDS {
                return Err(WorkerError::GuardrailViolated(format!(
                    "not switching over {db}: the replication watch cannot reach the database \
                     ({reason}). Green is kept and blue is untouched: fix the access, then run \
                     action `switchover`, or `abort`"
                )));
            }
            WatchState {
                verdict: WatchVerdict::Hold,
                checked_at: now.to_string(),
                compared_with: "nothing (no access)".into(),
                changes: vec![],
                blockers: vec![],
                drift_seen: previous.as_ref().map_or(0, |p| p.drift_seen),
                holds,
                reason,
                next_delay_seconds: HOLD_DELAY_SECONDS,
                slots: vec![],
            }
        }
    };
    tracing::info!(verdict = ?decision.verdict, reason = %decision.reason, "replication watch");
    let go_ahead = decision.verdict == WatchVerdict::Go;
    state(run).watch = Some(decision);
    // AWS's best practice before switching over a logical deployment: ANALYZE on green. The
    // state machine runs `analyze` while `database.analyze.done` is false.
    if go_ahead && ep.engine.is_postgres_family() && logical(run)? && state(run).analyze.is_none() {
        state(run).analyze = Some(GreenAnalyze::pending());
    }
    Ok(())
}

fn go(now: &str, reason: &str) -> WatchState {
    WatchState {
        verdict: WatchVerdict::Go,
        checked_at: now.to_string(),
        compared_with: "nothing".into(),
        changes: vec![],
        blockers: vec![],
        drift_seen: 0,
        holds: 0,
        reason: reason.into(),
        next_delay_seconds: 0,
        slots: vec![],
    }
}

/// What one watch saw.
struct Look {
    compared_with: String,
    changes: Vec<String>,
    blockers: Vec<String>,
    slots: Vec<bluegreen_domain::database::facts::Slot>,
}

/// MySQL/MariaDB replicate DDL (and DCL) in the binlog: no schema watch. What RDS's switchover
/// guardrail refuses is looked at again: blue actively replicating from an external source
/// (started since the precheck).
async fn watch_look_mysql(ctx: &mut Ctx<'_>, run: &Run, ep: &Endpoint) -> Result<Look, Failure> {
    let s = ctx.session(ep, true).await?;
    let facts = mysql::replication_of(ep, &s)
        .await
        .map_err(Failure::retry_if_busy)?;
    let rules = rules(ctx, run, ep).await?;
    let c = external_replication(&facts, &rules, true);
    let blockers = if c.verdict == Verdict::Fail {
        vec![format!("{}: {}", c.observed, c.fix)]
    } else {
        vec![]
    };
    Ok(Look {
        compared_with: "nothing (the binlog replicates DDL)".into(),
        changes: vec![],
        blockers,
        slots: vec![],
    })
}

/// Green's endpoint, from the deployment's target.
async fn green(ctx: &Ctx<'_>, run: &Run) -> Result<Endpoint, WorkerError> {
    let green_name = run
        .deployment
        .as_ref()
        .and_then(|d| d.target_arn.as_deref())
        .and_then(parse_member_arn)
        .map(|(_, name)| name)
        .ok_or_else(|| {
            WorkerError::MalformedRun(
                "no green ARN in `deployment` (deployment.target_arn): the step runs once the \
                 deployment is created"
                    .into(),
            )
        })?;
    ctx.endpoint(run, &green_name, "green")
        .await?
        .ok_or_else(|| WorkerError::GreenFailed(format!("green {green_name} no longer exists")))
}

async fn watch_look(ctx: &mut Ctx<'_>, run: &Run, ep: &Endpoint) -> Result<Look, Failure> {
    let s = ctx.session(ep, true).await?;
    let now = postgres::watch_facts(ep, &s)
        .await
        .map_err(Failure::retry_if_busy)?;
    let slots = postgres::slots_of(ep, &s)
        .await
        .map_err(Failure::retry_if_busy)?;
    // Green's subscriptions name the deployment's own publications on blue.
    let green_ep = green(ctx, run).await;
    let green_session = match &green_ep {
        Ok(g) => Some(ctx.session(g, true).await),
        Err(_) => None,
    };
    let subscribed = match (&green_ep, green_session) {
        (Ok(g), Some(Ok(gs))) => {
            match postgres::subscribed_publications(g, &gs)
                .await
                .map_err(Failure::retry_if_busy)
            {
                Ok(p) => Some(p),
                Err(Failure::Worker(e)) => return Err(Failure::Worker(e)),
                Err(Failure::Access(a)) => {
                    tracing::warn!(why = ?a, "green's subscriptions not readable: publications not compared");
                    None
                }
            }
        }
        (_, Some(Err(Failure::Worker(e)))) => return Err(Failure::Worker(e)),
        (Err(WorkerError::GreenFailed(m)), _) => {
            return Err(Failure::Worker(WorkerError::GreenFailed(m.clone())))
        }
        _ => None,
    };
    let blockers = cdc_blockers(&now.publications, &now.subscriptions, subscribed.as_deref());
    if !logical(run)? {
        return Ok(Look {
            compared_with: "nothing (physical replication carries DDL and privileges)".into(),
            changes: vec![],
            blockers,
            slots,
        });
    }
    let recorded = run
        .database
        .as_ref()
        .and_then(|d| d.fingerprint.as_ref())
        .filter(|f| !f.databases.is_empty());
    if let Some(at_create) = recorded {
        let changes = compare(&at_create.databases, &now.fingerprints);
        return Ok(Look {
            compared_with: format!("the fingerprint at create ({})", at_create.taken_at),
            changes,
            blockers,
            slots,
        });
    }
    // No fingerprint in this run (a `switchover` of a deployment another execution
    // prepared): DDL is not replicated, so blue's schema now against green's tells the same.
    let green = green_ep.map_err(Failure::Worker)?;
    let gs = ctx.session(&green, true).await?;
    let theirs = postgres::fingerprints(&green, &gs)
        .await
        .map_err(Failure::retry_if_busy)?;
    Ok(Look {
        compared_with: format!("{}'s schema", green.label()),
        changes: compare(&theirs, &now.fingerprints),
        blockers,
        slots,
    })
}

// ------------------------------------------------------------------ analyze
async fn analyze_green(ctx: &mut Ctx<'_>, run: &mut Run, now: &str) -> Result<(), WorkerError> {
    let Some(mut job) = state(run).analyze.clone() else {
        return Ok(()); // the watch did not ask for it (MySQL, a physical deployment)
    };
    if job.done {
        return Ok(());
    }
    if switched(run) {
        job.finish(analyze_unavailable(
            "green",
            "the switchover is already requested",
            "nothing to do before it",
        ));
        state(run).analyze = Some(job);
        return Ok(());
    }
    let green = green(ctx, run).await?;
    job.of = green.label();
    let budget = ctx.deps.options.analyze_budget;
    // Read-write for this session only: green's default_transaction_read_only is on, and
    // nothing but ANALYZE runs in it.
    let outcome = match ctx.session(&green, false).await {
        Ok(rw) => postgres::analyze(&green, &rw, &mut job.progress, budget)
            .await
            .map_err(Failure::retry_if_busy),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) if job.progress.is_complete() => {
            let check = analyze_on_green_check(&job.progress, &job.of);
            job.finish(check);
            run.mark("database_analyzed_on_green", now);
        }
        Ok(()) => job.next_delay_seconds = 0, // tables remain: the state machine invokes again
        Err(Failure::Worker(e)) => {
            state(run).analyze = Some(job);
            return Err(e);
        }
        Err(Failure::Access(a)) => {
            // Statistics are a best practice, not a guardrail: say so and go on.
            let c = ctx.access_check(&a, &green, None);
            job.finish(analyze_unavailable(&job.of, &c.observed, &c.fix));
        }
    }
    tracing::info!(
        done = job.done,
        tables = job.progress.tables_analyzed,
        "analyze on green"
    );
    state(run).analyze = Some(job);
    Ok(())
}

// ------------------------------------------------------------------ finish
async fn finish(ctx: &mut Ctx<'_>, run: &mut Run, now: &str) -> Result<(), WorkerError> {
    if !switched(run) {
        return Err(WorkerError::MalformedRun(
            "the finish runs after the switchover (after Verify): nothing is switched over yet"
                .into(),
        ));
    }
    let db = run.db_label();
    let request = run.request()?.clone();
    let source = run.source()?.clone();
    let mut fin = state(run).finish.clone().unwrap_or_default();
    if fin.done {
        return Ok(());
    }
    let prod = ctx
        .endpoint(run, &source.identifier, "the new production")
        .await?
        .ok_or_else(|| {
            WorkerError::VerificationFailed(format!(
                "no database named {} answers after the switchover",
                source.identifier
            ))
        })?;
    let outcome = finish_steps(ctx, run, &prod, &request, &mut fin).await;
    match outcome {
        Ok(()) => {}
        Err(Failure::Worker(e)) => {
            state(run).finish = Some(fin);
            return Err(e);
        }
        Err(Failure::Access(a)) => {
            fin.set_check(ctx.access_check(&a, &prod, None));
            fin.done = true;
        }
    }
    if fin.done {
        run.mark("database_finished", now);
    }
    let failure = fin.done.then(|| fin.failure(&db)).flatten();
    state(run).finish = Some(fin);
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

async fn finish_steps(
    ctx: &mut Ctx<'_>,
    run: &Run,
    prod: &Endpoint,
    request: &bluegreen_domain::model::request::Request,
    fin: &mut FinishState,
) -> Result<(), Failure> {
    let query = request
        .smoke_query
        .as_deref()
        .unwrap_or(DEFAULT_SMOKE_QUERY);
    let query = validate(query)?;
    if !prod.engine.is_postgres_family() {
        // InnoDB keeps persistent statistics across the upgrade; sequences do not exist.
        fin.analyze.list(vec![]);
        fin.set_check(Check::new(
            id::ANALYZE,
            bluegreen_domain::model::check::Verdict::Pass,
            "not needed: InnoDB's persistent statistics survive the upgrade",
            "",
        ));
        let s = ctx.session(prod, true).await?;
        let answer = mysql::smoke(prod, &s, &query)
            .await
            .map_err(Failure::retry_if_busy)?;
        fin.set_check(smoke_check(&query, answer, &prod.label()));
        fin.steps.push(format!("smoke query on {}", prod.label()));
        fin.done = true;
        return Ok(());
    }
    let rw = ctx.session(prod, false).await?;
    if !fin.analyze.is_complete() {
        postgres::analyze(prod, &rw, &mut fin.analyze, ctx.deps.options.analyze_budget)
            .await
            .map_err(Failure::retry_if_busy)?;
        fin.steps.push(format!(
            "analyze: {} of {} database(s) done, {} table(s) so far",
            fin.analyze.done.len(),
            fin.analyze.databases.len(),
            fin.analyze.tables_analyzed
        ));
        if !fin.analyze.is_complete() {
            fin.next_delay_seconds = 0;
            return Ok(()); // the state machine invokes the step again
        }
    }
    let before = run
        .database
        .as_ref()
        .and_then(|d| d.analyze.as_ref())
        .filter(|a| a.done && a.progress.is_complete())
        .map(|a| &a.progress);
    fin.set_check(analyze_check_after(&fin.analyze, before));

    let mut outdated = outdated_extensions(
        postgres::extension_versions(prod, &rw)
            .await
            .map_err(Failure::retry_if_busy)?,
    );
    if request.update_extensions && !outdated.is_empty() {
        postgres::update_extensions(prod, &rw, &mut outdated)
            .await
            .map_err(Failure::retry_if_busy)?;
        fin.steps
            .push(format!("extensions: {} update(s) tried", outdated.len()));
    }
    fin.set_check(extensions_check(&outdated, request.update_extensions));
    fin.extensions = outdated;

    let old_name = run
        .verify
        .as_ref()
        .map(|v| v.old_blue_identifier.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| {
            format!(
                "{}-old1",
                run.source()
                    .map(|s| s.identifier.clone())
                    .unwrap_or_default()
            )
        });
    let production = postgres::sequences(prod, &rw)
        .await
        .map_err(Failure::retry_if_busy)?;
    match ctx.endpoint(run, &old_name, "the old blue").await? {
        Some(old) => {
            let old_values = match ctx.session(&old, true).await {
                Ok(os) => postgres::sequences(&old, &os).await,
                Err(e) => Err(e),
            };
            match old_values.map_err(Failure::retry_if_busy) {
                Ok(values) => fin.set_check(compare_sequences(&production, &values)),
                Err(Failure::Access(a)) => fin.set_check(ctx.access_check(&a, &old, None)),
                Err(e) => return Err(e),
            }
        }
        None => fin.set_check(Check::new(
            id::SEQUENCES,
            Verdict::Warn,
            format!("the old blue {old_name} is gone: sequences not compared"),
            "compare sequence values with the final snapshot of the old blue",
        )),
    }
    fin.steps
        .push(format!("sequences compared with {old_name}"));

    let ro = ctx.session(prod, true).await?;
    let answer = postgres::smoke(prod, &ro, &query)
        .await
        .map_err(Failure::retry_if_busy)?;
    fin.set_check(smoke_check(&query, answer, &prod.label()));
    fin.steps.push(format!("smoke query on {}", prod.label()));
    fin.next_delay_seconds = 0;
    fin.done = true;
    Ok(())
}
