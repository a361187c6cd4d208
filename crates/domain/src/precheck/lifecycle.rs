//! The cost of waiting: past the end of standard support RDS enrols a database in Extended
//! Support automatically and bills it per vCPU-hour (Multi-AZ standbys and read replicas
//! count too), for up to three years, then upgrades it by force. Every plan says when the
//! current major leaves standard support and what Extended Support would cost this database
//! as deployed (`DescribeDBMajorEngineVersions` gives the dates).

use crate::model::db::DbKind;
use crate::model::engine::major_version;
use crate::model::lifecycle::{CostOfWaiting, MajorLifecycle};
use crate::model::source::SourceDb;
use crate::precheck::topology::replicas_of;

/// The published on-demand Extended Support price per vCPU-hour in us-east-1 for years 1 and
/// 2 (year 3: 0.200), per the Amazon RDS pricing page's Extended Support section. Other
/// Regions and Aurora Serverless (billed per ACU-hour) differ: the rate is a parameter.
pub const DEFAULT_RATE_PER_VCPU_HOUR: f64 = 0.100;
pub const RATE_SOURCE: &str =
    "https://aws.amazon.com/rds/postgresql/pricing/ (Extended Support, us-east-1, years 1-2)";
/// Hours in an average month (365.25 × 24 / 12).
pub const HOURS_PER_MONTH: f64 = 730.5;

/// vCPUs of an RDS instance class from its size, as AWS sizes them: `micro` to `large` 2,
/// `xlarge` 4, `Nxlarge` 4·N (`db.r6g.2xlarge` 8, `db.m5.24xlarge` 96). `None` for classes
/// not billed per vCPU (`db.serverless`) or not recognised.
pub fn vcpus(class: &str) -> Option<u32> {
    let size = class.rsplit('.').next()?;
    match size {
        "micro" | "small" | "medium" | "large" => Some(2),
        "xlarge" => Some(4),
        s => s
            .strip_suffix("xlarge")
            .and_then(|n| n.parse::<u32>().ok())
            .map(|n| n * 4),
    }
}

/// The cost of waiting for `source` (its class, Multi-AZ, replicas) on `today` (`YYYY-MM-DD`).
pub fn cost_of_waiting(
    source: &SourceDb,
    major: &str,
    lifecycle: Option<&MajorLifecycle>,
    rate: f64,
    today: &str,
) -> CostOfWaiting {
    let replicas = replicas_of(source).len() as u32;
    let copies = 1 + u32::from(source.multi_az) + replicas;
    let per_copy = source.instance_class.as_deref().and_then(vcpus);
    // An Aurora cluster: every member instance is billed.
    let members = if source.kind == DbKind::Cluster {
        source.members.len().max(1) as u32
    } else {
        copies
    };
    let vcpus_billed = per_copy.map(|v| v * members);
    let ends = lifecycle.and_then(|l| l.standard_support_ends.clone());
    let in_extended = ends.as_deref().is_some_and(|e| e <= today);
    let monthly =
        vcpus_billed.map(|v| (f64::from(v) * rate * HOURS_PER_MONTH * 100.0).round() / 100.0);
    let note = match (&ends, lifecycle) {
        (_, None) => format!(
            "RDS published no lifecycle for {} {major}: no Extended Support date is known",
            source.engine.as_str()
        ),
        (None, Some(_)) => format!(
            "{} {major} has no published end of standard support",
            source.engine.as_str()
        ),
        (Some(e), Some(_)) if in_extended => format!(
            "{} {major} left standard support on {e}: Extended Support is billed now{}",
            source.engine.as_str(),
            monthly
                .map(|m| format!(
                    ", about ${m:.2} a month for this database at ${rate:.3}/vCPU-hour"
                ))
                .unwrap_or_default()
        ),
        (Some(e), Some(_)) => format!(
            "{} {major} leaves standard support on {e}; from then Extended Support would cost{}",
            source.engine.as_str(),
            monthly
                .map(|m| format!(
                    " about ${m:.2} a month for this database at ${rate:.3}/vCPU-hour"
                ))
                .unwrap_or_else(|| {
                    " an amount this tool cannot estimate (instance class not billed per vCPU)"
                        .into()
                })
        ),
    };
    CostOfWaiting {
        major: major.to_string(),
        standard_support_ends: ends,
        extended_support_starts: lifecycle.and_then(|l| l.extended_support_starts.clone()),
        extended_support_ends: lifecycle.and_then(|l| l.extended_support_ends.clone()),
        in_extended_support: in_extended,
        vcpus_billed,
        rate_per_vcpu_hour: rate,
        monthly_usd: monthly,
        note,
    }
}

/// The cost of waiting as the precheck reports it, from what it could read of the lifecycle
/// of the source's major: a refusal (a missing permission, an API not offered) leaves the end
/// of standard support unknown and says why, never fails the precheck.
pub fn cost_of_waiting_as_read(
    source: &SourceDb,
    lifecycle: &Result<Option<MajorLifecycle>, String>,
    today: &str,
) -> CostOfWaiting {
    let major = major_version(&source.engine, &source.engine_version);
    let read = lifecycle.as_ref().ok().and_then(Option::as_ref);
    let mut cost = cost_of_waiting(source, &major, read, DEFAULT_RATE_PER_VCPU_HOUR, today);
    if let Err(e) = lifecycle {
        cost.note = format!(
            "the end of standard support of {} {major} is unknown: {e}",
            source.engine.as_str()
        );
    }
    cost
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::engine::Engine;

    #[test]
    fn vcpus_follow_the_size() {
        assert_eq!(vcpus("db.r6g.large"), Some(2));
        assert_eq!(vcpus("db.t3.micro"), Some(2));
        assert_eq!(vcpus("db.m6i.xlarge"), Some(4));
        assert_eq!(vcpus("db.r6g.2xlarge"), Some(8));
        assert_eq!(vcpus("db.m5.24xlarge"), Some(96));
        assert_eq!(vcpus("db.serverless"), None);
    }

    fn pg13() -> MajorLifecycle {
        MajorLifecycle {
            engine: "postgres".into(),
            major: "13".into(),
            standard_support_ends: Some("2026-02-28".into()),
            extended_support_starts: Some("2026-03-01".into()),
            extended_support_ends: Some("2029-02-28".into()),
        }
    }

    #[test]
    fn a_multi_az_instance_with_two_replicas_bills_four_copies() {
        let source = SourceDb {
            engine: Engine::Postgres,
            instance_class: Some("db.r6g.xlarge".into()),
            multi_az: true,
            read_replicas: vec!["r1".into(), "r2".into()],
            ..SourceDb::default()
        };
        let c = cost_of_waiting(&source, "13", Some(&pg13()), 0.1, "2026-12-01");
        assert!(c.in_extended_support);
        assert_eq!(c.vcpus_billed, Some(16));
        assert_eq!(c.monthly_usd, Some(1168.8));
        assert!(
            c.note.contains("left standard support on 2026-02-28"),
            "{}",
            c.note
        );
    }

    #[test]
    fn before_the_end_of_standard_support_the_plan_says_when_and_how_much() {
        let source = SourceDb {
            engine: Engine::Postgres,
            instance_class: Some("db.r6g.large".into()),
            ..SourceDb::default()
        };
        let mut l = pg13();
        l.standard_support_ends = Some("2027-02-28".into());
        let c = cost_of_waiting(&source, "14", Some(&l), 0.1, "2026-12-01");
        assert!(!c.in_extended_support);
        assert_eq!(c.monthly_usd, Some(146.1));
        assert!(
            c.note.contains("leaves standard support on 2027-02-28"),
            "{}",
            c.note
        );
        let unknown = cost_of_waiting(&source, "17", None, 0.1, "2026-12-01");
        assert!(unknown.note.contains("no lifecycle"), "{}", unknown.note);
    }
}
