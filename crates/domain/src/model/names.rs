//! Every name AWS or the product defines, in one place: our tags, the names we build for
//! AWS resources (deployments, snapshots) within AWS's limits, the SNS subject rules, the
//! EventBridge detail types we accept, the metric namespace. A name used by two crates lives
//! here, never spelled twice.

use crate::model::db::DbKind;

/// Tags this product reads or writes. Tag keys are 1–128 characters, values up to 256.
pub mod tags {
    /// Every `bluegreen:` tag: request fields (`bluegreen:target-engine-version`, ...) and ours.
    pub const PREFIX: &str = "bluegreen:";
    /// Opts a database in to changes by this tool (IAM conditions and Scheduled Events use it).
    pub const MANAGED: &str = "bluegreen:managed";
    /// The value of `MANAGED` that opts in (IAM compares it exactly, case included).
    pub const MANAGED_VALUE: &str = "true";
    /// A fleet wave, for selectors.
    pub const WAVE: &str = "bluegreen:wave";
    /// The request field a fleet needs on each database when the request names no target.
    pub const TARGET_ENGINE_VERSION: &str = "bluegreen:target-engine-version";
    /// On the deployments and snapshots this tool creates.
    pub const MANAGED_BY: &str = "bluegreen:managed-by";
    pub const MANAGED_BY_VALUE: &str = "rds-bluegreen";
    /// The execution that created the deployment: tells a lost create answer of our own run
    /// from another run that created it at the same moment.
    pub const EXECUTION: &str = "bluegreen:execution";
    /// The source's resource id (`db-...` / `cluster-...`), on the deployment: it survives
    /// every rename, so any later run finds the old blue whatever RDS named it.
    pub const SOURCE_RESOURCE_ID: &str = "bluegreen:source-resource-id";
    /// On an old blue after its switchover (and on its final snapshot): whose fallback it is.
    pub const OLD_BLUE_OF: &str = "bluegreen:old-blue-of";

    /// `bluegreen:` tags that are not request fields.
    pub const NON_REQUEST: &[&str] = &[
        MANAGED,
        WAVE,
        MANAGED_BY,
        EXECUTION,
        SOURCE_RESOURCE_ID,
        OLD_BLUE_OF,
    ];
}

/// EventBridge `detail-type`s of the events this tool is started with.
pub mod events {
    pub const ALARM_STATE_CHANGE: &str = "CloudWatch Alarm State Change";
    pub const SCHEDULED_EVENT: &str = "Scheduled Event";
}

/// The CloudWatch namespace of the `Remediations` metric and the durations.
pub const METRIC_NAMESPACE: &str = "RdsBlueGreen";

/// CreateBlueGreenDeployment: 1–60 characters, `[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*`.
pub const MAX_DEPLOYMENT_NAME: usize = 60;
/// CreateDBClusterSnapshot: "Must contain from 1 to 63 letters, numbers, or hyphens."
pub const MAX_CLUSTER_SNAPSHOT_ID: usize = 63;
/// CreateDBSnapshot: "Can't be null, empty, or blank; must contain from 1 to 255 letters,
/// numbers, or hyphens."
pub const MAX_INSTANCE_SNAPSHOT_ID: usize = 255;
/// SNS Publish: Subject "must be ... less than 100 characters long".
pub const MAX_SNS_SUBJECT_CHARS: usize = 99;

/// `rbg-<db>-to-<version>`, e.g. `rbg-orders-pg-to-16-4`. Names that would pass 60
/// characters keep a readable prefix and end in a hash of the full name, so two long
/// names never collide and the same inputs always give the same name.
pub fn deployment_name(db_name: &str, target_version: &str) -> String {
    let full = format!(
        "{}{}",
        deployment_name_prefix(db_name),
        sanitize(target_version)
    );
    fit(&full, MAX_DEPLOYMENT_NAME, "")
}

/// `rbg-<db>-to-`: how our deployments of `db_name` begin, whatever the target (a name cut
/// to 60 characters with a hash may not keep it whole: match by source ARN first).
pub fn deployment_name_prefix(db_name: &str) -> String {
    format!("rbg-{}-to-", sanitize(db_name))
}

/// The final snapshot of the old blue: `<deployment name>-final`, within the limit of the
/// snapshot kind (a cluster snapshot identifier is at most 63 characters).
pub fn final_snapshot_id(kind: DbKind, deployment_name: &str) -> String {
    let max = match kind {
        DbKind::Instance => MAX_INSTANCE_SNAPSHOT_ID,
        DbKind::Cluster => MAX_CLUSTER_SNAPSHOT_ID,
    };
    fit(&sanitize(deployment_name), max, "-final")
}

/// `base` + `suffix` if it fits `max`; else a readable cut of `base`, a hash of the whole
/// name, and `suffix`. Never a double or trailing hyphen.
fn fit(base: &str, max: usize, suffix: &str) -> String {
    let full = format!("{base}{suffix}");
    if full.len() <= max {
        return full;
    }
    let hash = format!("{:08x}", fnv1a(&full) as u32);
    let keep = max - hash.len() - 1 - suffix.len();
    let prefix = base[..keep.min(base.len())].trim_end_matches('-');
    format!("{prefix}-{hash}{suffix}")
}

/// Letters and digits kept; every other run of characters becomes one hyphen.
fn sanitize(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// Whether a name satisfies the CreateBlueGreenDeployment pattern and length.
pub fn is_valid_deployment_name(name: &str) -> bool {
    let mut parts = name.split('-');
    let first_ok = parts.next().is_some_and(|p| {
        p.starts_with(|c: char| c.is_ascii_alphabetic())
            && p.chars().all(|c| c.is_ascii_alphanumeric())
    });
    !name.is_empty()
        && name.len() <= MAX_DEPLOYMENT_NAME
        && first_ok
        && parts.all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Whether an identifier is a valid snapshot identifier of that kind: first a letter, then
/// letters, digits and hyphens, no two hyphens in a row, no trailing hyphen, within the
/// kind's length.
pub fn is_valid_snapshot_id(kind: DbKind, id: &str) -> bool {
    let max = match kind {
        DbKind::Instance => MAX_INSTANCE_SNAPSHOT_ID,
        DbKind::Cluster => MAX_CLUSTER_SNAPSHOT_ID,
    };
    !id.is_empty()
        && id.len() <= max
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !id.contains("--")
        && !id.ends_with('-')
}

/// An SNS subject: no line breaks or control characters, fewer than 100 characters.
pub fn sns_subject(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if clean.chars().count() > MAX_SNS_SUBJECT_CHARS {
        clean
            .chars()
            .take(MAX_SNS_SUBJECT_CHARS - 1)
            .collect::<String>()
            + "…"
    } else {
        clean
    }
}

/// Whether an identifier looks like what RDS names an old blue (`NAME-old1`, `NAME-old2`):
/// only a hint for databases no deployment reports any more and no tag marks (see
/// `fleet::select`); the product reads the old blue's name from the deployment itself.
pub fn looks_like_old_blue(identifier: &str) -> Option<&str> {
    identifier
        .rsplit_once("-old")
        .filter(|(base, n)| {
            !base.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        })
        .map(|(base, _)| base)
}

/// The Region of an ARN (`arn:aws:rds:eu-west-1:...` -> `eu-west-1`).
pub fn arn_region(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.splitn(5, ':').collect();
    (parts.len() == 5 && parts[0] == "arn" && !parts[3].is_empty()).then(|| parts[3].to_string())
}

/// The name in an RDS ARN: `arn:aws:rds:REGION:ACCOUNT:db:NAME` -> (Instance, NAME).
pub fn parse_rds_arn(arn: &str) -> Option<(DbKind, &str)> {
    let mut parts = arn.splitn(7, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let mut parts = parts.skip(4);
    let kind = match parts.next()? {
        "db" => DbKind::Instance,
        "cluster" => DbKind::Cluster,
        _ => return None,
    };
    parts.next().filter(|n| !n.is_empty()).map(|n| (kind, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_names_are_readable_and_valid() {
        assert_eq!(
            deployment_name("orders-pg", "16.4"),
            "rbg-orders-pg-to-16-4"
        );
        assert_eq!(
            deployment_name("billing", "8.0.mysql_aurora.3.05.2"),
            "rbg-billing-to-8-0-mysql-aurora-3-05-2"
        );
        assert!(is_valid_deployment_name(&deployment_name(
            "orders-pg",
            "16.4"
        )));
    }

    #[test]
    fn long_deployment_names_are_cut_to_60_with_a_stable_distinct_hash() {
        let long = "a".repeat(30) + "-" + &"b".repeat(32);
        let a = deployment_name(&long, "8.0.mysql_aurora.3.05.2");
        let b = deployment_name(&long, "8.0.mysql_aurora.3.06.0");
        assert!(a.len() <= 60 && b.len() <= 60, "{a} {b}");
        assert!(
            is_valid_deployment_name(&a) && is_valid_deployment_name(&b),
            "{a} {b}"
        );
        assert_ne!(a, b);
        assert_eq!(a, deployment_name(&long, "8.0.mysql_aurora.3.05.2"));
    }

    #[test]
    fn the_deployment_name_validator_rejects_what_the_api_rejects() {
        for bad in ["", "1abc", "a--b", "a-", "-a", "a_b", &"a".repeat(61)] {
            assert!(!is_valid_deployment_name(bad), "{bad}");
        }
    }

    #[test]
    fn final_snapshots_keep_the_readable_name_when_it_fits() {
        assert_eq!(
            final_snapshot_id(DbKind::Instance, "rbg-orders-pg-to-16-4"),
            "rbg-orders-pg-to-16-4-final"
        );
        assert_eq!(
            final_snapshot_id(DbKind::Cluster, "rbg-ledger-aurora-to-16-4"),
            "rbg-ledger-aurora-to-16-4-final"
        );
    }

    #[test]
    fn a_cluster_snapshot_of_a_60_character_deployment_fits_63() {
        let name = deployment_name(&"l".repeat(40), "8.0.mysql_aurora.3.05.2");
        assert_eq!(name.len(), 60);
        let id = final_snapshot_id(DbKind::Cluster, &name);
        assert!(id.len() <= 63 && id.ends_with("-final"), "{id}");
        assert!(is_valid_snapshot_id(DbKind::Cluster, &id), "{id}");
        // The instance limit is 255: the whole name is kept.
        assert_eq!(
            final_snapshot_id(DbKind::Instance, &name),
            format!("{name}-final")
        );
    }

    #[test]
    fn subjects_stay_under_100_characters_without_control_characters() {
        let s = sns_subject(&format!("a\nb\tc{}", "x".repeat(200)));
        assert_eq!(s.chars().count(), 99);
        assert!(!s.chars().any(char::is_control));
        assert_eq!(sns_subject("short"), "short");
        assert_eq!(sns_subject(&"y".repeat(99)).chars().count(), 99);
    }

    #[test]
    fn old_blue_hints_and_arns() {
        assert_eq!(looks_like_old_blue("orders-pg-old1"), Some("orders-pg"));
        assert_eq!(looks_like_old_blue("orders-pg-old12"), Some("orders-pg"));
        assert_eq!(looks_like_old_blue("orders-pg-older"), None);
        assert_eq!(looks_like_old_blue("orders-pg"), None);
        assert_eq!(
            parse_rds_arn("arn:aws:rds:us-east-1:123456789012:db:orders-pg-old2"),
            Some((DbKind::Instance, "orders-pg-old2"))
        );
        assert_eq!(
            parse_rds_arn("arn:aws:rds:us-east-1:123456789012:cluster:ledger"),
            Some((DbKind::Cluster, "ledger"))
        );
        assert_eq!(parse_rds_arn("arn:aws:rds:us-east-1:1:snapshot:x"), None);
        assert_eq!(parse_rds_arn("nonsense"), None);
    }
}

#[cfg(test)]
mod prefix_tests {
    use super::*;

    #[test]
    fn a_deployment_name_begins_with_its_database_prefix() {
        assert_eq!(deployment_name_prefix("Orders.PG"), "rbg-Orders-PG-to-");
        assert!(
            deployment_name("Orders.PG", "16.4").starts_with(&deployment_name_prefix("Orders.PG"))
        );
    }
}
