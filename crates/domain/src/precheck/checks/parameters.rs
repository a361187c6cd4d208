//! The parameters: logical replication and its headroom on blue and in green's group,
//! Aurora PostgreSQL's `synchronous_commit`, what green must not preload (or must), the event
//! scheduler and query plan capture off on green, `lower_case_table_names` as on blue, the
//! binlog format, the option group, and the target parameter groups green is created with.

use super::PrecheckFacts;
use crate::model::check::{id, Check};
use crate::model::db::DbKind;
use crate::model::source::SourceDb;
use std::collections::BTreeMap;

pub(super) fn param<'a>(src: &'a SourceDb, name: &str) -> Option<&'a str> {
    src.parameters.get(name).map(String::as_str)
}

pub(super) fn group_label(src: &SourceDb) -> String {
    match (&src.cluster_parameter_group, src.parameter_groups.first()) {
        (Some(c), _) => format!("cluster parameter group {}", c.name),
        (None, Some(p)) => format!("parameter group {}", p.name),
        (None, None) => "the source's parameter group".into(),
    }
}

pub(super) fn check_logical_replication(src: &SourceDb) -> Check {
    const ID: &str = id::LOGICAL_REPLICATION;
    let group = group_label(src);
    match param(src, "rds.logical_replication") {
        Some("1") => Check::pass(ID, format!("rds.logical_replication = 1 in {group}")),
        other => Check::fail(
            ID,
            format!("rds.logical_replication = {} in {group}; a major-version blue/green replicates logically", other.unwrap_or("0 (default)")),
            if src.parameter_groups.iter().chain(src.cluster_parameter_group.iter()).any(|g| g.is_default()) {
                "attach a custom parameter group with rds.logical_replication = 1, reboot, then run again"
            } else {
                "set rds.logical_replication = 1 in that group and reboot the database, then run again"
            },
        ),
    }
}

/// Replication slots and workers: on blue (`failing`: too few fail the precheck), and in the
/// group green will use (a warning: AWS rejects a green whose workers cannot keep up only
/// after create, "incompatible parameter(s)", and the fix is delete and recreate).
pub(super) fn check_replication_headroom(
    id: &str,
    params: &BTreeMap<String, String>,
    failing: bool,
) -> Check {
    let param = |name: &str| params.get(name).map(String::as_str);
    let mut low = Vec::new();
    let mut zero = Vec::new();
    let mut seen = Vec::new();
    for name in [
        "max_replication_slots",
        "max_wal_senders",
        "max_logical_replication_workers",
        "max_worker_processes",
    ] {
        match param(name).map(|v| (v, v.parse::<i64>())) {
            Some((v, Ok(n))) => {
                seen.push(format!("{name} = {v}"));
                if n <= 0 {
                    zero.push(name);
                } else if n < 10 && name != "max_logical_replication_workers" {
                    low.push(format!("{name} = {n}"));
                }
            }
            Some((v, Err(_))) => seen.push(format!("{name} = {v} (formula; RDS computes it)")),
            None => seen.push(format!("{name} = default")),
        }
    }
    let workers = param("max_logical_replication_workers").and_then(|v| v.parse::<i64>().ok());
    let processes = param("max_worker_processes").and_then(|v| v.parse::<i64>().ok());
    if let (Some(w), Some(p)) = (workers, processes) {
        if p <= w {
            low.push(format!(
                "max_worker_processes ({p}) must exceed max_logical_replication_workers ({w})"
            ));
        }
    }
    let observed = seen.join(", ");
    let observed = if failing {
        observed
    } else {
        format!("target parameter group: {observed}")
    };
    if !zero.is_empty() && failing {
        Check::fail(
            id,
            observed,
            format!(
                "set {} above zero: blue/green needs one replication slot and worker per database",
                zero.join(", ")
            ),
        )
    } else if !low.is_empty() || !zero.is_empty() {
        low.extend(zero.iter().map(|z| format!("{z} = 0")));
        Check::warn(
            id,
            format!("{observed}; low: {}", low.join("; ")),
            "blue/green needs one replication slot, WAL sender and worker per database on top of those in use; raise these (the failure only shows after create, and the fix is delete and recreate)",
        )
    } else {
        Check::pass(id, observed)
    }
}

/// AWS: the event scheduler must be off on green when the deployment is created (green
/// would run blue's events a second time).
pub(super) fn check_event_scheduler(target: &BTreeMap<String, String>) -> Check {
    const ID: &str = id::EVENT_SCHEDULER_OFF_ON_GREEN;
    match target.get("event_scheduler").map(|v| v.to_ascii_uppercase()) {
        Some(v) if v == "ON" || v == "1" => Check::fail(
            ID,
            format!("event_scheduler = {v} in the parameter group green will use"),
            "set event_scheduler = OFF in the target parameter group (turn it on again on the new production after the switchover), then run again",
        ),
        Some(v) => Check::pass(ID, format!("event_scheduler = {v} in the target parameter group")),
        None => Check::pass(ID, "event_scheduler not set in the target parameter group (engine default)"),
    }
}

pub(super) fn check_binlog_format(src: &SourceDb) -> Check {
    const ID: &str = id::BINLOG_FORMAT;
    let group = group_label(src);
    match param(src, "binlog_format").map(|v| v.to_ascii_uppercase()) {
        Some(v) if v == "ROW" => Check::pass(ID, format!("binlog_format = ROW in {group}")),
        Some(v) if v == "MIXED" || v == "STATEMENT" => Check::warn(
            ID,
            format!("binlog_format = {v} in {group}"),
            "ROW is the safe choice for blue/green replication: set binlog_format = ROW and reboot the writer",
        ),
        other => Check::fail(
            ID,
            format!("binlog_format = {} in {group}: binary logging is off", other.unwrap_or_else(|| "OFF (default)".into())),
            "set binlog_format = ROW in the cluster parameter group and reboot the writer, then run again",
        ),
    }
}

pub(super) fn check_option_group(src: &SourceDb, is_major: bool) -> Check {
    const ID: &str = id::OPTION_GROUP;
    let custom: Vec<&str> = src
        .option_groups
        .iter()
        .filter(|g| !g.is_default())
        .map(|g| g.name.as_str())
        .collect();
    if is_major && !custom.is_empty() {
        Check::fail(
            ID,
            format!("custom option group {} with a major upgrade", custom.join(", ")),
            "with a custom option group RDS cannot upgrade the major version at create: move the source to the default option group first",
        )
    } else {
        Check::pass(
            ID,
            if custom.is_empty() {
                "default option group".to_string()
            } else {
                format!("option group {} (no major upgrade)", custom.join(", "))
            },
        )
    }
}

pub(super) fn check_target_parameter_group(f: &PrecheckFacts) -> (Check, Option<String>) {
    const ID: &str = id::TARGET_PARAMETER_GROUP;
    let family = f.target_version.as_ref().map(|v| v.family.clone());
    match (&f.request.target_db_parameter_group_name, &f.target_parameter_group) {
        (Some(name), Some(found)) => match &family {
            Some(fam) if !fam.eq_ignore_ascii_case(&found.family) => (
                Check::fail(
                    ID,
                    format!("{name} is of family {}, the target needs {fam}", found.family),
                    format!("create a parameter group of family {fam} and name it in target_db_parameter_group_name"),
                ),
                Some(name.clone()),
            ),
            _ => (Check::pass(ID, format!("{name} exists, family {}", found.family)), Some(name.clone())),
        },
        (Some(name), None) => (
            Check::fail(
                ID,
                format!("parameter group {name} does not exist"),
                format!("create it (family {}) with your settings, then run again", family.as_deref().unwrap_or("of the target version")),
            ),
            Some(name.clone()),
        ),
        (None, _) if f.source.kind == DbKind::Cluster => {
            // Aurora instances may keep the default group of the new family.
            let name = family.as_ref().map(|fam| format!("default.{fam}"));
            (Check::pass(ID, format!("green instances use {}", name.as_deref().unwrap_or("the default group"))), name)
        }
        (None, _) => {
            let custom = f.source.parameter_groups.iter().find(|g| !g.is_default());
            let default = family.as_ref().map(|fam| format!("default.{fam}"));
            match custom {
                Some(g) => (
                    Check::fail(
                        ID,
                        format!("the source uses custom group {}; green would fall back to {}", g.name, default.as_deref().unwrap_or("a default group")),
                        format!("create a group of family {} with the same settings and pass target_db_parameter_group_name", family.as_deref().unwrap_or("of the target version")),
                    ),
                    None,
                ),
                None => (Check::pass(ID, format!("source uses a default group; green uses {}", default.as_deref().unwrap_or("the default"))), default),
            }
        }
    }
}

pub(super) fn check_target_cluster_parameter_group(f: &PrecheckFacts) -> (Check, Option<String>) {
    const ID: &str = id::TARGET_CLUSTER_PARAMETER_GROUP;
    let family = f.target_version.as_ref().map(|v| v.family.clone());
    match (&f.request.target_db_cluster_parameter_group_name, &f.target_cluster_parameter_group) {
        (Some(name), Some(found)) => match &family {
            Some(fam) if !fam.eq_ignore_ascii_case(&found.family) => (
                Check::fail(ID, format!("{name} is of family {}, the target needs {fam}", found.family), format!("create a cluster parameter group of family {fam}")),
                Some(name.clone()),
            ),
            _ => (Check::pass(ID, format!("{name} exists, family {}", found.family)), Some(name.clone())),
        },
        (Some(name), None) => (
            Check::fail(ID, format!("cluster parameter group {name} does not exist"), "create it with your settings (for Aurora PostgreSQL: rds.logical_replication = 1), then run again"),
            Some(name.clone()),
        ),
        (None, _) => (
            Check::fail(
                ID,
                "no target_db_cluster_parameter_group_name: green would get a default cluster group and lose your settings (logical replication, binlog)",
                format!("create a cluster parameter group of family {} and pass target_db_cluster_parameter_group_name", family.as_deref().unwrap_or("of the target version")),
            ),
            None,
        ),
    }
}

/// Aurora PostgreSQL, every blue/green: `synchronous_commit` must be `on` (the engine default
/// when the group leaves it unset).
pub(super) fn check_synchronous_commit(src: &SourceDb) -> Check {
    const ID: &str = id::SYNCHRONOUS_COMMIT;
    let group = group_label(src);
    match param(src, "synchronous_commit") {
        None => Check::pass(
            ID,
            format!("synchronous_commit unset in {group}: on (default)"),
        ),
        Some(v) if v.eq_ignore_ascii_case("on") => {
            Check::pass(ID, format!("synchronous_commit = on in {group}"))
        }
        Some(v) => Check::fail(
            ID,
            format!(
                "synchronous_commit = {v} in {group}; Aurora PostgreSQL blue/green requires on"
            ),
            "set synchronous_commit = on in that group (no reboot needed), then run again",
        ),
    }
}

/// The libraries a `shared_preload_libraries` value names, lower case.
fn libraries(value: Option<&String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .map(|l| l.trim().trim_matches('"').to_ascii_lowercase())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// PostgreSQL: `pg_cron` must stay disabled on green (it would run blue's jobs a second
/// time), and `pgaudit`, when blue preloads it, must be preloaded by green's group too.
pub(super) fn check_green_preloaded_libraries(
    src: &SourceDb,
    target: &BTreeMap<String, String>,
) -> Check {
    const ID: &str = id::GREEN_PRELOADED_LIBRARIES;
    const NAME: &str = "shared_preload_libraries";
    let blue = libraries(src.parameters.get(NAME));
    let green = libraries(target.get(NAME));
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    if green.iter().any(|l| l == "pg_cron") {
        problems.push(
            "the target parameter group preloads pg_cron, which must stay disabled on green"
                .to_string(),
        );
        fixes.push("remove pg_cron from shared_preload_libraries in the target parameter group (add it back on the new production after the switchover)");
    }
    if blue.iter().any(|l| l == "pgaudit") && !green.iter().any(|l| l == "pgaudit") {
        problems.push(
            "blue preloads pgaudit and the target parameter group does not; AWS requires it in both".to_string(),
        );
        fixes.push("add pgaudit to shared_preload_libraries in the target parameter group");
    }
    if problems.is_empty() {
        Check::pass(
            ID,
            format!(
                "green preloads {}",
                if green.is_empty() {
                    "nothing of note (shared_preload_libraries unset in the target group)"
                        .to_string()
                } else {
                    green.join(", ")
                }
            ),
        )
    } else {
        Check::fail(
            ID,
            problems.join("; "),
            format!("{}, then run again", fixes.join("; ")),
        )
    }
}

/// MySQL family: `lower_case_table_names` in green's group must equal blue's, or RDS refuses
/// the create. Unset is the engine default, 0.
pub(super) fn check_lower_case_table_names(
    src: &SourceDb,
    target: &BTreeMap<String, String>,
) -> Check {
    const ID: &str = id::LOWER_CASE_TABLE_NAMES;
    const NAME: &str = "lower_case_table_names";
    let value = |v: Option<&String>| {
        v.map(|v| v.trim().to_string())
            .unwrap_or_else(|| "0".into())
    };
    let (blue, green) = (value(src.parameters.get(NAME)), value(target.get(NAME)));
    if blue == green {
        Check::pass(
            ID,
            format!("{NAME} = {blue} on blue and in the target parameter group"),
        )
    } else {
        Check::fail(
            ID,
            format!("{NAME} = {blue} on blue but {green} in the target parameter group; RDS refuses the create"),
            format!("set {NAME} = {blue} in the target parameter group, then run again"),
        )
    }
}

/// Aurora PostgreSQL query plan management: `apg_plan_mgmt.capture_plan_baselines` must be
/// off on green.
pub(super) fn check_plan_capture_off_on_green(target: &BTreeMap<String, String>) -> Check {
    const ID: &str = id::PLAN_CAPTURE_OFF_ON_GREEN;
    const NAME: &str = "apg_plan_mgmt.capture_plan_baselines";
    match target.get(NAME) {
        Some(v) if !v.eq_ignore_ascii_case("off") => Check::fail(
            ID,
            format!("{NAME} = {v} in the parameter group green will use; it must be off on green"),
            format!("set {NAME} = off in the target parameter group (turn it on again on the new production after the switchover), then run again"),
        ),
        Some(v) => Check::pass(ID, format!("{NAME} = {v} in the target parameter group")),
        None => Check::pass(ID, format!("{NAME} unset in the target parameter group (off by default)")),
    }
}
