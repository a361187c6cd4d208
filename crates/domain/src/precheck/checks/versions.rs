//! The versions: the target is a valid upgrade of the current version, PostgreSQL's minimum
//! minor for a major upgrade (RDS) or for any blue/green (Aurora), Babelfish's minimums, and
//! the target instance class.

use super::PrecheckFacts;
use crate::model::check::{id, Check};
use crate::model::db::DbKind;
use crate::model::engine::{
    aurora_postgres_minimum_version, babelfish_supports_blue_green, compare_versions,
    postgres_minimum_minor_for_major_upgrade,
};
use crate::model::source::SourceDb;
use std::cmp::Ordering;

pub(super) fn check_upgrade_target(f: &PrecheckFacts, listed: bool) -> Check {
    const ID: &str = id::UPGRADE_TARGET;
    let cur = &f.source.engine_version;
    let target = &f.request.target_engine_version;
    match compare_versions(target, cur) {
        Ordering::Equal => {
            return Check::fail(
                ID,
                format!("{} already runs {target}", f.source.identifier),
                "nothing to upgrade: pick a higher target_engine_version",
            )
        }
        Ordering::Less => {
            return Check::fail(
                ID,
                format!(
                    "target {target} is lower than the current {cur}; blue/green cannot downgrade"
                ),
                "pick a target_engine_version higher than the current version",
            )
        }
        Ordering::Greater => {}
    }
    let Some(current) = &f.current_version else {
        return Check::fail(
            ID,
            format!("DescribeDBEngineVersions does not list {} {cur}", f.source.engine.as_str()),
            "check the engine and version in the RDS console; the worker cannot confirm the upgrade path",
        );
    };
    if let Some(t) = f.target_version.as_ref().filter(|t| !t.is_available()) {
        return Check::fail(
            ID,
            format!(
                "{target} is `{}`: RDS no longer creates new databases on it",
                t.status
            ),
            "pick an available target_engine_version (`aws rds describe-db-engine-versions --engine ENGINE`)",
        );
    }
    let deprecated = if current.is_available() {
        String::new()
    } else {
        format!(
            " ({cur} itself is `{}`, which is why it needs upgrading)",
            current.status
        )
    };
    if listed {
        let kind = if f.current_version.as_ref().is_some_and(|c| {
            c.valid_upgrade_targets
                .iter()
                .any(|t| &t.version == target && t.is_major)
        }) {
            "major"
        } else {
            "minor"
        };
        Check::pass(
            ID,
            format!("{cur} -> {target} is a valid {kind} upgrade target{deprecated}"),
        )
    } else {
        let mut majors: Vec<&str> = current
            .valid_upgrade_targets
            .iter()
            .filter(|t| t.is_major)
            .map(|t| t.version.as_str())
            .collect();
        majors.sort_by(|a, b| compare_versions(b, a));
        majors.truncate(8);
        let exists = if f.target_version.is_some() {
            "exists but "
        } else {
            ""
        };
        Check::fail(
            ID,
            format!("{target} {exists}is not a valid upgrade target of {cur}"),
            if majors.is_empty() {
                format!("{cur} has no major upgrade target: upgrade to a later minor first")
            } else {
                format!("pick one of the valid major targets ({}), or upgrade to a later minor of {cur} first", majors.join(", "))
            },
        )
    }
}

pub(super) fn check_postgres_minimum_minor(src: &SourceDb) -> Check {
    const ID: &str = id::POSTGRES_MINIMUM_MINOR;
    match postgres_minimum_minor_for_major_upgrade(&src.engine_version) {
        Some(min) if compare_versions(&src.engine_version, min) == Ordering::Less => Check::fail(
            ID,
            format!(
                "{} is below {min}, the lowest minor blue/green accepts for a major upgrade",
                src.engine_version
            ),
            format!(
                "first upgrade {} to {min} or later (a minor version upgrade), then run again",
                src.identifier
            ),
        ),
        Some(min) => Check::pass(
            ID,
            format!(
                "{} is at or above the minimum minor {min}",
                src.engine_version
            ),
        ),
        None => Check::pass(
            ID,
            format!("no minimum minor applies to {}", src.engine_version),
        ),
    }
}

/// Aurora PostgreSQL: AWS's version table applies to every blue/green, not only majors.
pub(super) fn check_aurora_postgres_minimum(src: &SourceDb) -> Check {
    const ID: &str = id::POSTGRES_MINIMUM_MINOR;
    match aurora_postgres_minimum_version(&src.engine_version) {
        Some(min) if compare_versions(&src.engine_version, min) == Ordering::Less => Check::fail(
            ID,
            format!(
                "Aurora PostgreSQL {} is below {min}, the lowest version of its major that \
                 blue/green deployments support",
                src.engine_version
            ),
            format!(
                "first upgrade {} to {min} or later in place (a minor version upgrade: \
                 aws rds modify-db-cluster --engine-version), then run again",
                src.identifier
            ),
        ),
        Some(min) => Check::pass(
            ID,
            format!(
                "Aurora PostgreSQL {} is at or above {min}, the lowest its major supports for \
                 blue/green",
                src.engine_version
            ),
        ),
        None => Check::pass(
            ID,
            format!(
                "AWS lists no blue/green minimum for Aurora PostgreSQL {}",
                src.engine_version
            ),
        ),
    }
}

/// Babelfish for Aurora PostgreSQL (`rds.babelfish_status` on in the cluster parameter
/// group): blue/green only from 15.7 and 16.3. Both ends are held to it, as AWS does not say
/// whether green's version counts too.
pub(super) fn check_babelfish(src: &SourceDb, target: &str) -> Option<Check> {
    const ID: &str = id::BABELFISH;
    let status = src.parameters.get("rds.babelfish_status")?;
    if status.eq_ignore_ascii_case("off") {
        return None;
    }
    let unsupported: Vec<&str> = [src.engine_version.as_str(), target]
        .into_iter()
        .filter(|v| !babelfish_supports_blue_green(v))
        .collect();
    Some(if unsupported.is_empty() {
        Check::pass(
            ID,
            format!(
                "Babelfish ({status}) on {} -> {target}: both support blue/green",
                src.engine_version
            ),
        )
    } else {
        Check::fail(
            ID,
            format!(
                "rds.babelfish_status = {status}: Babelfish supports blue/green deployments on \
                 15.7 and higher and 16.3 and higher only, not on {}",
                unsupported.join(" or ")
            ),
            "upgrade the cluster in place to 15.7 or 16.3 or later first, and pick a target at \
             or above them, then run again",
        )
    })
}

pub(super) fn check_instance_class(src: &SourceDb, class: &str) -> Check {
    const ID: &str = id::TARGET_INSTANCE_CLASS;
    match src.kind {
        DbKind::Instance => Check::pass(ID, format!("green is created as {class}")),
        DbKind::Cluster => Check::pass(
            ID,
            format!(
                "RDS takes no instance class for an Aurora blue/green deployment: once green is \
                 ready, its {} instance(s) are modified to {class}, and the switchover waits until \
                 they run it",
                src.members.len().max(1)
            ),
        ),
    }
}
