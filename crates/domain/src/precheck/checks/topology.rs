//! What surrounds the source and moves (or breaks) with the switchover: its read replicas,
//! the RDS Proxies in front of it, Aurora custom endpoints, an Aurora Global Database, zero-ETL
//! integrations and AWS DMS tasks. AWS's rules (see `shared/reference/bluegreen-facts.md`):
//! - In-Region read replicas "are copied as replicas of the green instance" and at switchover
//!   "they are also promoted": the production replicas keep their names and replicate from
//!   the new primary; the old ones get `-oldN` like the primary. Cross-Region and cascading
//!   replicas are not supported, nor is a source that is itself a replica.
//! - RDS Proxy follows a switchover (since April 2026) when the source is a registered,
//!   available target before the deployment is created.
//! - Aurora read replica clusters: AWS documents cross-Region ones as unsupported and says
//!   nothing of others; the precheck says only that.
//! - Zero-ETL integrations must be removed before a switchover (they block the switchover,
//!   not the create: the plan warns, the guardrails step refuses); DMS tasks must be
//!   recreated after it.
//! - Aurora Global Database has managed blue/green deployments; this tool does not upgrade
//!   one yet and refuses it before anything changes.

use crate::model::check::{id, Check};
use crate::model::db::DbKind;
use crate::model::source::{GlobalMembership, SourceDb, Topology};
use crate::precheck::topology::{proxy_follows_switchover, replicas_of};

/// The prechecks of the topology.
pub fn checks(src: &SourceDb) -> Vec<Check> {
    let t = &src.topology;
    let mut checks = vec![check_replicas(src)];
    if !t.proxies.is_empty() {
        checks.push(check_proxies(src));
    }
    if let Some(g) = &t.global {
        checks.push(check_global(src, g));
    }
    checks.push(check_integrations(src));
    if !t.dms_tasks.is_empty() {
        checks.push(check_dms(src));
    }
    if !t.unread.is_empty() {
        checks.push(Check::warn(
            id::TOPOLOGY_READ,
            format!("could not read: {}", t.unread.join("; ")),
            "grant the precheck role the describe permission named (see infra/README.md), or \
             check these by hand before the upgrade",
        ));
    }
    checks
}

fn check_replicas(src: &SourceDb) -> Check {
    const ID: &str = id::REPLICAS;
    let replicas = replicas_of(src);
    let t = Topology {
        replicas,
        ..Topology::default()
    };
    let t = &t;
    if src.kind == DbKind::Cluster {
        return check_replica_clusters(src, t);
    }
    if let Some(upstream) = &src.replica_source {
        return Check::fail(
            ID,
            format!("{} is itself a read replica of {upstream}", src.identifier),
            format!(
                "upgrade the primary {upstream}: its blue/green deployment copies its replicas \
                 (this one included) into green and switches them over with it"
            ),
        );
    }
    let cross = cross_region(t);
    if !cross.is_empty() {
        return Check::fail(
            ID,
            format!(
                "{} has cross-Region read replicas: {}; blue/green supports in-Region replicas only",
                src.identifier,
                cross.join(", ")
            ),
            "delete the cross-Region replica before the upgrade and recreate it from the new \
             production after the switchover (create-db-instance-read-replica with the \
             production ARN), or upgrade without blue/green",
        );
    }
    let cascades: Vec<String> = t
        .replicas
        .iter()
        .filter(|r| !r.replicas.is_empty())
        .map(|r| format!("{} (replicated by {})", r.identifier, r.replicas.join(", ")))
        .collect();
    if !cascades.is_empty() {
        return Check::fail(
            ID,
            format!(
                "cascading read replicas: {}; blue/green does not copy a replica of a replica",
                cascades.join(", ")
            ),
            "delete the second-level replicas before the upgrade and recreate them after the \
             switchover, or re-point them at the primary",
        );
    }
    if t.replicas.is_empty() {
        return Check::pass(ID, "no read replicas; not a replica");
    }
    let names: Vec<&str> = t.replicas.iter().map(|r| r.identifier.as_str()).collect();
    Check::pass(
        ID,
        format!(
            "{} in-Region read replica(s) copied into green and switched over with it: {} keep \
             their names on the new version; the old ones become -oldN replicas of the old blue",
            names.len(),
            names.join(", ")
        ),
    )
}

/// The replicas in another Region, each as `NAME (REGION)`.
fn cross_region(t: &Topology) -> Vec<String> {
    t.replicas
        .iter()
        .filter_map(|r| {
            r.region
                .as_ref()
                .map(|region| format!("{} ({region})", r.identifier))
        })
        .collect()
}

/// An Aurora cluster's read replica clusters (`ReadReplicaIdentifiers`), and a cluster that
/// is one (`ReplicationSourceIdentifier`). AWS lists cross-Region read replicas among the
/// features blue/green does not support and documents nothing of an in-Region replica
/// cluster: whether it is copied into green or follows the switchover is unknown, so the
/// precheck says so and the operator checks it after the switchover.
fn check_replica_clusters(src: &SourceDb, t: &Topology) -> Check {
    const ID: &str = id::REPLICAS;
    if let Some(upstream) = &src.replica_source {
        return Check::fail(
            ID,
            format!("{} is a read replica cluster of {upstream}", src.identifier),
            format!(
                "upgrade {upstream} instead, or promote {} (aws rds promote-read-replica-db-cluster) \
                 to upgrade it on its own",
                src.identifier
            ),
        );
    }
    if t.replicas.is_empty() {
        return Check::pass(ID, "no read replica clusters; not a replica");
    }
    let cross = cross_region(t);
    if !cross.is_empty() {
        return Check::fail(
            ID,
            format!(
                "{} has cross-Region read replica cluster(s): {}; AWS lists cross-Region read \
                 replicas as not supported by blue/green deployments",
                src.identifier,
                cross.join(", ")
            ),
            "delete (or promote) the cross-Region replica cluster before the upgrade and create \
             it again from the new production after the switchover",
        );
    }
    Check::warn(
        ID,
        format!(
            "read replica cluster(s) {}: AWS documents nothing of replica clusters in a blue/green \
             deployment other than cross-Region ones, which it does not support",
            t.replicas
                .iter()
                .map(|r| r.identifier.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "after the switchover, check that each replica cluster replicates from the new \
         production (aws rds describe-db-clusters: ReplicationSourceIdentifier); if it still \
         follows the old blue, create it again from the new production",
    )
}

fn check_proxies(src: &SourceDb) -> Check {
    const ID: &str = id::RDS_PROXY;
    let t = &src.topology;
    if !proxy_follows_switchover(&src.engine) {
        return Check::fail(
            ID,
            format!(
                "{} is behind RDS Proxy {} but its engine does not support proxy-aware switchover",
                src.identifier,
                t.proxies
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "point applications at the database endpoint for the upgrade, or upgrade without blue/green",
        );
    }
    let bad: Vec<String> = t
        .proxies
        .iter()
        .filter(|p| !p.state.eq_ignore_ascii_case("AVAILABLE"))
        .map(|p| {
            format!(
                "{} target {} is {}{}",
                p.name,
                p.target,
                if p.state.is_empty() {
                    "not reported"
                } else {
                    &p.state
                },
                p.reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    if !bad.is_empty() {
        return Check::fail(
            ID,
            bad.join("; "),
            "the source must be a registered, AVAILABLE target of each proxy before the \
             deployment is created (RDS then makes the proxy follow the switchover): fix the \
             target's health (security group, secret, IAM auth), then run again",
        );
    }
    Check::pass(
        ID,
        format!(
            "RDS Proxy {} reaches {} (AVAILABLE): it follows the switchover to the new production",
            t.proxies
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            src.identifier
        ),
    )
}

fn check_global(src: &SourceDb, g: &GlobalMembership) -> Check {
    const ID: &str = id::GLOBAL_DATABASE;
    if !g.is_primary {
        return Check::fail(
            ID,
            format!(
                "{} is a secondary cluster of Aurora Global Database {}",
                src.identifier, g.global_cluster
            ),
            "a global database is upgraded from its primary cluster",
        );
    }
    Check::fail(
        ID,
        format!(
            "{} is the primary cluster of Aurora Global Database {} ({} member clusters)",
            src.identifier,
            g.global_cluster,
            g.members.len()
        ),
        "rds-bluegreen does not yet take a global database across a major version (one \
         deployment across its Regions): upgrade it with RDS's global database major version \
         upgrade (modify-global-cluster --engine-version --allow-major-version-upgrade), or \
         remove the secondary Regions first",
    )
}

fn check_integrations(src: &SourceDb) -> Check {
    const ID: &str = id::ZERO_ETL_INTEGRATIONS;
    let t = &src.topology;
    if t.integrations.is_empty() {
        return Check::pass(ID, "no zero-ETL integration reads from this database");
    }
    Check::warn(
        ID,
        format!(
            "zero-ETL integration(s) {} read from {}: AWS blocks the switchover while one exists \
             (not the create); the guardrails step refuses the switchover until they are gone",
            t.integrations
                .iter()
                .map(|i| format!("{} -> {}", i.name, i.target))
                .collect::<Vec<_>>()
                .join(", "),
            src.identifier
        ),
        "delete the integration(s) (aws rds delete-integration) before the switchover, then \
         create them again from the new production",
    )
}

fn check_dms(src: &SourceDb) -> Check {
    Check::warn(
        id::DMS_TASKS,
        format!(
            "AWS DMS task(s) use {} through its endpoint: {}",
            src.identifier,
            src.topology
                .dms_tasks
                .iter()
                .map(|d| format!("{} ({}, endpoint {})", d.identifier, d.status, d.endpoint))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "stop them before the switchover and recreate them after it (their position on blue \
         does not carry over to the new production)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::check::Verdict;
    use crate::model::engine::Engine;
    use crate::model::source::{DmsTask, Integration, Proxy, Replica};

    fn src() -> SourceDb {
        SourceDb {
            identifier: "orders".into(),
            engine: Engine::Postgres,
            engine_version: "13.15".into(),
            status: "available".into(),
            ..SourceDb::default()
        }
    }

    fn replica(name: &str) -> Replica {
        Replica {
            identifier: name.into(),
            status: "available".into(),
            replicates_from: Some("orders".into()),
            ..Replica::default()
        }
    }

    fn verdict(s: &SourceDb, id: &str) -> Check {
        checks(s).into_iter().find(|c| c.id == id).unwrap()
    }

    #[test]
    fn in_region_replicas_are_accepted_and_named() {
        let mut s = src();
        s.read_replicas = vec!["orders-r1".into(), "orders-r2".into()];
        s.topology.replicas = vec![replica("orders-r1"), replica("orders-r2")];
        let c = verdict(&s, "replicas");
        assert_eq!(c.verdict, Verdict::Pass);
        assert!(
            c.observed.contains("orders-r1, orders-r2"),
            "{}",
            c.observed
        );
    }

    #[test]
    fn cross_region_cascading_and_replica_sources_are_refused_with_what_to_do() {
        let mut s = src();
        s.arn = "arn:aws:rds:us-east-1:123456789012:db:orders".into();
        // RDS lists a cross-Region replica by its ARN.
        s.read_replicas = vec![
            "orders-r1".into(),
            "arn:aws:rds:eu-west-1:123456789012:db:orders-dr".into(),
        ];
        let c = verdict(&s, "replicas");
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.observed.contains("orders-dr (eu-west-1)"));
        assert!(c.fix.contains("recreate it from the new production"));

        let mut s = src();
        let mut mid = replica("orders-r1");
        mid.replicas = vec!["orders-r1-r".into()];
        s.read_replicas = vec!["orders-r1".into()];
        s.topology.replicas = vec![mid];
        assert_eq!(verdict(&s, "replicas").verdict, Verdict::Fail);

        let mut s = src();
        s.replica_source = Some("orders-primary".into());
        let c = verdict(&s, "replicas");
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.fix.contains("upgrade the primary orders-primary"));
    }

    #[test]
    fn a_proxy_must_reach_the_source_before_create() {
        let mut s = src();
        s.topology.proxies = vec![Proxy {
            name: "orders-proxy".into(),
            engine_family: "POSTGRESQL".into(),
            target: "db-BLUE".into(),
            state: "AVAILABLE".into(),
            ..Proxy::default()
        }];
        assert_eq!(verdict(&s, "rds-proxy").verdict, Verdict::Pass);
        s.topology.proxies[0].state = "UNAVAILABLE".into();
        s.topology.proxies[0].reason = Some("AUTH_FAILURE".into());
        let c = verdict(&s, "rds-proxy");
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(
            c.observed.contains("UNAVAILABLE (AUTH_FAILURE)"),
            "{}",
            c.observed
        );
    }

    #[test]
    fn global_databases_are_refused_integrations_warned_dms_named() {
        let mut s = src();
        s.topology.integrations = vec![Integration {
            name: "orders-to-redshift".into(),
            target: "arn:aws:redshift-serverless:...".into(),
            status: "active".into(),
        }];
        s.topology.dms_tasks = vec![DmsTask {
            identifier: "orders-cdc".into(),
            endpoint: "orders-source".into(),
            status: "running".into(),
        }];
        s.topology.global = Some(GlobalMembership {
            global_cluster: "orders-global".into(),
            is_primary: true,
            members: vec!["a".into(), "b".into()],
        });
        // Zero-ETL blocks the switchover, not the create: the guardrails step refuses it.
        let etl = verdict(&s, "zero-etl-integrations");
        assert_eq!(etl.verdict, Verdict::Warn);
        assert!(etl.observed.contains("guardrails step"), "{}", etl.observed);
        assert_eq!(verdict(&s, "global-database").verdict, Verdict::Fail);
        let dms = verdict(&s, "dms-tasks");
        assert_eq!(dms.verdict, Verdict::Warn);
        assert!(dms
            .observed
            .contains("orders-cdc (running, endpoint orders-source)"));
    }

    #[test]
    fn aurora_replica_clusters_cross_region_refused_in_region_warned_in_awss_words() {
        let mut s = src();
        s.engine = Engine::AuroraMysql;
        s.kind = DbKind::Cluster;
        s.arn = "arn:aws:rds:us-east-1:123456789012:cluster:orders".into();
        assert_eq!(verdict(&s, "replicas").verdict, Verdict::Pass);

        s.read_replicas = vec!["arn:aws:rds:eu-west-1:123456789012:cluster:orders-dr".into()];
        let c = verdict(&s, "replicas");
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(
            c.observed
                .contains("read replica cluster(s): orders-dr (eu-west-1)"),
            "{}",
            c.observed
        );
        // A cluster is not fixed with an instance command.
        assert!(
            !c.fix.contains("create-db-instance-read-replica"),
            "{}",
            c.fix
        );

        s.read_replicas =
            vec!["arn:aws:rds:us-east-1:123456789012:cluster:orders-reporting".into()];
        let c = verdict(&s, "replicas");
        assert_eq!(c.verdict, Verdict::Warn);
        assert!(
            c.observed.contains("AWS documents nothing"),
            "{}",
            c.observed
        );
        assert!(c.fix.contains("ReplicationSourceIdentifier"), "{}", c.fix);

        s.read_replicas.clear();
        s.replica_source = Some("arn:aws:rds:us-west-2:123456789012:cluster:main".into());
        let c = verdict(&s, "replicas");
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(
            c.fix.contains("promote-read-replica-db-cluster"),
            "{}",
            c.fix
        );
    }
}
