//! The command line: commands, flags, and the request they build.

use crate::exit::{CliError, EXIT_CODES_HELP};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{json, Map, Value};

#[derive(Debug, Parser)]
#[command(
    name = "rbg",
    version,
    about = "rds-bluegreen: plan, run, follow and approve major-version upgrades of RDS and Aurora \
             databases with Blue/Green Deployments, through the deployed state machines.",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Print the raw JSON document on stdout (run document, campaign, rows, execution) and
    /// nothing else there; progress stays on stderr.
    #[arg(long, global = true)]
    pub json: bool,
    /// The upgrade state machine's ARN (else from the stack's outputs).
    #[arg(long, global = true, env = "RBG_STATE_MACHINE_ARN", value_name = "ARN")]
    pub state_machine: Option<String>,
    /// The fleet state machine's ARN (else from the stack's outputs).
    #[arg(
        long,
        global = true,
        env = "RBG_FLEET_STATE_MACHINE_ARN",
        value_name = "ARN"
    )]
    pub fleet_state_machine: Option<String>,
    /// The CloudFormation stack whose outputs StateMachineArn / FleetStateMachineArn name the
    /// state machines.
    #[arg(
        long,
        global = true,
        env = "RBG_STACK",
        default_value = "rds-bluegreen",
        value_name = "NAME"
    )]
    pub stack: String,
    /// The AWS profile (else AWS_PROFILE, else the default chain).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// The AWS Region (else AWS_REGION, else the profile's).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Seconds between two polls of a followed execution.
    #[arg(
        long,
        global = true,
        env = "RBG_POLL_SECONDS",
        default_value_t = 2.0,
        value_name = "SECONDS",
        hide = true
    )]
    pub poll_seconds: f64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Plan (read-only): run every precheck, print the checks (failing ones first, with their
    /// fixes) and the cost of waiting. Exit 10 when a check fails.
    Plan(PlanArgs),
    /// Build green and stop: blue is untouched, switch over later.
    Prepare(ActionArgs),
    /// Upgrade: build green, guardrails, (approval), switchover, verify, soak, clean up.
    Upgrade(ActionArgs),
    /// Switch over a prepared deployment, then verify, soak and clean up.
    Switchover(ActionArgs),
    /// Delete an unswitched deployment and its green (refused after a switchover).
    Abort(ActionArgs),
    /// After a switchover: final snapshot, deployment record (and the old blue if asked), now.
    Cleanup(ActionArgs),
    /// Where a database or an execution stands (no argument: the latest execution).
    Status(StatusArgs),
    /// Approve the switchover an execution is waiting for (require_approval).
    Approve(ApproveArgs),
    /// Reject the switchover an execution is waiting for: green stays prepared (or is
    /// deleted with on_reject abort).
    Reject(RejectArgs),
    /// Blue/green deployments and executions in flight.
    Ls,
    /// A fleet: the databases whose tags match, one execution per database.
    Fleet(FleetArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActionName {
    Plan,
    Prepare,
    Upgrade,
    Switchover,
    Abort,
    Cleanup,
}

impl ActionName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::Prepare => "prepare",
            Self::Upgrade => "upgrade",
            Self::Switchover => "switchover",
            Self::Abort => "abort",
            Self::Cleanup => "cleanup",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnReject {
    Keep,
    Abort,
}

/// The database and its target: what every per-database command needs.
#[derive(Debug, Args)]
pub struct Target {
    /// The RDS DB instance or Aurora cluster, by name or ARN.
    pub db: String,
    /// The target engine version, e.g. 16.4, 8.0.39, 8.0.mysql_aurora.3.05.2.
    #[arg(long = "to", value_name = "VERSION")]
    pub to: String,
    /// The target DB parameter group (required when the source uses a custom one).
    #[arg(long, value_name = "NAME")]
    pub parameter_group: Option<String>,
    /// The target DB cluster parameter group (Aurora).
    #[arg(long, value_name = "NAME")]
    pub cluster_parameter_group: Option<String>,
    /// The target DB instance class.
    #[arg(long, value_name = "CLASS")]
    pub instance_class: Option<String>,
}

#[derive(Debug, Args)]
pub struct Start {
    /// Start the execution, print its ARN and exit (0) without following it.
    #[arg(long)]
    pub no_follow: bool,
    /// The execution's name (default: a new UUID).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub target: Target,
    /// Re-compute the Extended Support estimate at this rate, in USD per vCPU-hour (default:
    /// the precheck's, 0.100 = us-east-1 years 1-2, from the Amazon RDS pricing page).
    #[arg(long, value_name = "USD")]
    pub rate: Option<f64>,
    #[command(flatten)]
    pub start: Start,
    #[command(flatten)]
    pub options: Options,
}

#[derive(Debug, Args)]
pub struct ActionArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub start: Start,
    #[command(flatten)]
    pub options: Options,
}

/// Request fields, as flags (the README's request table); `--set` for any other.
#[derive(Debug, Args, Default)]
pub struct Options {
    /// Hours the old blue is kept untouched before cleanup (default 24).
    #[arg(long, value_name = "HOURS")]
    pub soak_hours: Option<u32>,
    /// When the switchover may start, e.g. "Sun 03:00-05:00 UTC".
    #[arg(long, value_name = "WINDOW")]
    pub switchover_window: Option<String>,
    /// Wait for `rbg approve` before the switchover.
    #[arg(long)]
    pub require_approval: bool,
    /// Hours to wait for the approval (default 24): then green is left prepared.
    #[arg(long, value_name = "HOURS")]
    pub approval_timeout_hours: Option<u32>,
    /// What a rejection leaves: keep (green prepared, the default) or abort (green deleted).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub on_reject: Option<OnReject>,
    /// The switchover waits until green's replica lag is within this (default 5).
    #[arg(long, value_name = "SECONDS")]
    pub max_replica_lag_seconds: Option<u32>,
    /// RDS rolls the switchover back if it takes longer (default 300).
    #[arg(long, value_name = "SECONDS")]
    pub switchover_timeout_seconds: Option<u32>,
    /// Green must be ready within this (default 240).
    #[arg(long, value_name = "MINUTES")]
    pub max_provisioning_minutes: Option<u32>,
    /// Delete the old blue after its final snapshot.
    #[arg(long)]
    pub delete_old_blue: bool,
    /// Skip the final snapshot of the old blue.
    #[arg(long)]
    pub no_final_snapshot: bool,
    /// Any other request field, e.g. --set expected_account_id=123456789012 (a JSON value or
    /// text).
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A database (name or ARN), or an execution (ARN, or name of an execution of the upgrade
    /// or fleet machine).
    pub target: Option<String>,
    /// Follow the execution until it ends (exit codes as the command that started it).
    #[arg(long)]
    pub follow: bool,
    /// With --follow, the Extended Support rate of a plan (as plan --rate).
    #[arg(long, value_name = "USD", hide = true)]
    pub rate: Option<f64>,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The execution waiting for approval (ARN or name).
    pub execution: String,
    /// Who approves (recorded in the run document), default $USER.
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,
    /// A note recorded with the approval.
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
}

#[derive(Debug, Args)]
pub struct RejectArgs {
    /// The execution waiting for approval (ARN or name).
    pub execution: String,
    /// Why: recorded in the run document and the notification.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Who rejects, default $USER.
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,
}

#[derive(Debug, Args)]
pub struct FleetArgs {
    /// What each selected database does.
    #[arg(value_enum)]
    pub action: ActionName,
    /// Select the databases carrying this tag (repeat: every tag must match).
    #[arg(long = "tag", value_name = "KEY=VALUE", required = true)]
    pub tags: Vec<String>,
    /// Only these engines (repeat): postgres, mysql, mariadb, aurora-postgresql, aurora-mysql.
    #[arg(long = "engine", value_name = "ENGINE")]
    pub engines: Vec<String>,
    /// One target for every database (default: each database's bluegreen:target-engine-version tag).
    #[arg(long = "to", value_name = "VERSION")]
    pub to: Option<String>,
    /// Databases at a time (default 5).
    #[arg(long, value_name = "N")]
    pub max_concurrency: Option<u32>,
    /// Failures after which no new database starts (default 0).
    #[arg(long, value_name = "N")]
    pub tolerated_failures: Option<u32>,
    /// Re-compute the Extended Support estimates at this rate (USD per vCPU-hour).
    #[arg(long, value_name = "USD")]
    pub rate: Option<f64>,
    #[command(flatten)]
    pub start: Start,
    #[command(flatten)]
    pub options: Options,
}

/// `KEY=VALUE` split at the first `=`.
pub fn key_value(text: &str, what: &str) -> Result<(String, String), CliError> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(CliError::usage(format!(
            "{what} `{text}` is not KEY=VALUE: give it as e.g. {}",
            if what == "--tag" {
                "--tag bluegreen:wave=1"
            } else {
                "--set soak_hours=0"
            }
        ))),
    }
}

impl Options {
    /// The request fields these flags set.
    pub fn fields(&self) -> Result<Map<String, Value>, CliError> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        if let Some(v) = self.soak_hours {
            put("soak_hours", json!(v));
        }
        if let Some(v) = &self.switchover_window {
            put("switchover_window", json!(v));
        }
        if self.require_approval {
            put("require_approval", json!(true));
        }
        if let Some(v) = self.approval_timeout_hours {
            put("approval_timeout_hours", json!(v));
        }
        if let Some(v) = self.on_reject {
            put(
                "on_reject",
                json!(if v == OnReject::Abort {
                    "abort"
                } else {
                    "keep"
                }),
            );
        }
        if let Some(v) = self.max_replica_lag_seconds {
            put("max_replica_lag_seconds", json!(v));
        }
        if let Some(v) = self.switchover_timeout_seconds {
            put("switchover_timeout_seconds", json!(v));
        }
        if let Some(v) = self.max_provisioning_minutes {
            put("max_provisioning_minutes", json!(v));
        }
        if self.delete_old_blue {
            put("delete_old_blue", json!(true));
        }
        if self.no_final_snapshot {
            put("final_snapshot", json!(false));
        }
        for s in &self.set {
            let (k, v) = key_value(s, "--set")?;
            let value = serde_json::from_str::<Value>(&v).unwrap_or(Value::String(v));
            m.insert(k, value);
        }
        Ok(m)
    }
}

/// The execution input for one database, checked against the request contract before
/// anything starts (a refused input is exit 2, with the contract's own sentence).
pub fn request(target: &Target, action: ActionName, options: &Options) -> Result<Value, CliError> {
    let mut m = Map::new();
    m.insert("db_identifier".into(), json!(target.db));
    m.insert("target_engine_version".into(), json!(target.to));
    if let Some(g) = &target.parameter_group {
        m.insert("target_db_parameter_group_name".into(), json!(g));
    }
    if let Some(g) = &target.cluster_parameter_group {
        m.insert("target_db_cluster_parameter_group_name".into(), json!(g));
    }
    if let Some(c) = &target.instance_class {
        m.insert("target_db_instance_class".into(), json!(c));
    }
    m.insert("action".into(), json!(action.as_str()));
    for (k, v) in options.fields()? {
        m.insert(k, v);
    }
    let input = Value::Object(m);
    bluegreen_domain::precheck::intake::parse_request(&input)
        .map_err(|e| CliError::usage(sentence(&e.to_string())))?;
    Ok(input)
}

/// The fleet's execution input, checked as the fleet machine's Resolve step would.
pub fn fleet_request(args: &FleetArgs) -> Result<Value, CliError> {
    let mut tags = Map::new();
    for t in &args.tags {
        let (k, v) = key_value(t, "--tag")?;
        tags.insert(k, json!(v));
    }
    let mut selector = Map::new();
    selector.insert("tags".into(), Value::Object(tags));
    match args.engines.as_slice() {
        [] => {}
        [one] => {
            selector.insert("engine".into(), json!(one));
        }
        many => {
            selector.insert("engine".into(), json!(many));
        }
    }
    let mut m = Map::new();
    m.insert("selector".into(), Value::Object(selector));
    m.insert("action".into(), json!(args.action.as_str()));
    if let Some(v) = &args.to {
        m.insert("target_engine_version".into(), json!(v));
    }
    if let Some(v) = args.max_concurrency {
        m.insert("max_concurrency".into(), json!(v));
    }
    if let Some(v) = args.tolerated_failures {
        m.insert("tolerated_failures".into(), json!(v));
    }
    for (k, v) in args.options.fields()? {
        m.insert(k, v);
    }
    let input = Value::Object(m);
    match bluegreen_domain::fleet::fleet_request(&input) {
        Ok(Some(_)) => Ok(input),
        Ok(None) => Err(CliError::usage(
            "the fleet request selects nothing: give at least one --tag KEY=VALUE",
        )),
        Err(e) => Err(CliError::usage(sentence(&e.to_string()))),
    }
}

/// A message as one sentence (no trailing period, so it reads after `rbg: `).
pub fn sentence(text: &str) -> String {
    crate::awsctx::short(text)
}

/// `--rate`: a positive number.
pub fn check_rate(rate: Option<f64>) -> Result<(), CliError> {
    match rate {
        Some(r) if !(r.is_finite() && r > 0.0 && r < 100.0) => Err(CliError::usage(format!(
            "--rate {r} is not a price per vCPU-hour: give USD, e.g. --rate 0.100"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Exit;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("rbg").chain(args.iter().copied()))
    }

    #[test]
    fn upgrade_flags_become_the_request() {
        let cli = parse(&[
            "upgrade",
            "orders-pg",
            "--to",
            "16.4",
            "--parameter-group",
            "orders-pg-pg16",
            "--soak-hours",
            "0",
            "--require-approval",
            "--on-reject",
            "abort",
            "--set",
            "expected_account_id=\"123456789012\"",
        ])
        .unwrap();
        let Command::Upgrade(a) = cli.command else {
            panic!()
        };
        let input = request(&a.target, ActionName::Upgrade, &a.options).unwrap();
        assert_eq!(
            input,
            json!({"db_identifier": "orders-pg", "target_engine_version": "16.4",
                   "target_db_parameter_group_name": "orders-pg-pg16", "action": "upgrade",
                   "soak_hours": 0, "require_approval": true, "on_reject": "abort",
                   "expected_account_id": "123456789012"})
        );
    }

    #[test]
    fn the_contract_refuses_bad_inputs_before_anything_starts() {
        let cli = parse(&["plan", "orders--pg", "--to", "16.4"]).unwrap();
        let Command::Plan(a) = cli.command else {
            panic!()
        };
        let e = request(&a.target, ActionName::Plan, &a.options).unwrap_err();
        assert_eq!(e.exit, Exit::Usage);
        assert!(
            e.message
                .starts_with("db_identifier `orders--pg` is not a valid RDS identifier"),
            "{}",
            e.message
        );
        let cli = parse(&[
            "upgrade",
            "orders-pg",
            "--to",
            "16.4",
            "--soak-hours",
            "500",
        ])
        .unwrap();
        let Command::Upgrade(a) = cli.command else {
            panic!()
        };
        let e = request(&a.target, ActionName::Upgrade, &a.options).unwrap_err();
        assert!(e.message.contains("soak_hours is 500"), "{}", e.message);
        let cli = parse(&[
            "upgrade",
            "orders-pg",
            "--to",
            "16.4",
            "--set",
            "colour=blue",
        ])
        .unwrap();
        let Command::Upgrade(a) = cli.command else {
            panic!()
        };
        let e = request(&a.target, ActionName::Upgrade, &a.options).unwrap_err();
        assert!(e.message.contains("colour"), "{}", e.message);
        assert!(
            parse(&["upgrade", "orders-pg"]).is_err(),
            "--to is required"
        );
        assert!(parse(&["reject", "arn"]).is_err(), "--reason is required");
    }

    #[test]
    fn fleet_plan_by_tags() {
        let cli = parse(&[
            "fleet",
            "plan",
            "--tag",
            "bluegreen:wave=1",
            "--engine",
            "postgres",
        ])
        .unwrap();
        let Command::Fleet(f) = cli.command else {
            panic!()
        };
        assert_eq!(
            fleet_request(&f).unwrap(),
            json!({"selector": {"tags": {"bluegreen:wave": "1"}, "engine": "postgres"}, "action": "plan"})
        );
        let cli = parse(&["fleet", "plan", "--tag", "novalue"]).unwrap();
        let Command::Fleet(f) = cli.command else {
            panic!()
        };
        assert_eq!(fleet_request(&f).unwrap_err().exit, Exit::Usage);
        assert!(parse(&["fleet", "plan"]).is_err(), "a fleet needs a tag");
    }

    #[test]
    fn global_flags_anywhere() {
        let cli = parse(&["status", "orders-pg", "--json", "--stack", "other"]).unwrap();
        assert!(cli.global.json);
        assert_eq!(cli.global.stack, "other");
        assert!(check_rate(Some(-1.0)).is_err());
        assert!(check_rate(Some(0.2)).is_ok());
    }

    #[test]
    fn help_documents_the_exit_codes() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        assert!(
            help.contains("Exit codes:") && help.contains("10  plan"),
            "{help}"
        );
    }
}
