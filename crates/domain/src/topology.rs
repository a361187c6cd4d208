//! What surrounds the source and moves (or breaks) with the switchover: its read replicas,
//! the RDS Proxies in front of it, Aurora custom endpoints, an Aurora Global Database, zero-ETL
//! integrations and AWS DMS tasks. AWS's rules (see `shared/reference/bluegreen-facts.md`):
//! - In-Region read replicas "are copied as replicas of the green instance" and at switchover
//!   "they are also promoted": the production replicas keep their names and replicate from
//!   the new primary; the old ones get `-oldN` like the primary. Cross-Region and cascading
//!   replicas are not supported, nor is a source that is itself a replica.
//! - RDS Proxy follows a switchover (since April 2026) when the source is a registered,
//!   available target before the deployment is created.
//! - Zero-ETL integrations must be removed before a switchover; DMS tasks must be recreated
//!   after it.
//! - Aurora Global Database has managed blue/green deployments; this tool does not upgrade
//!   one yet and refuses it before anything changes.

use crate::checks::Check;
use crate::source::SourceDb;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A read replica of the source, as DescribeDBInstances reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replica {
    pub identifier: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub arn: String,
    /// Its own tags: IAM evaluates the opt-in tag on the replica itself (`access`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring_role_arn: Option<String>,
    /// The Region, when the source lists it by ARN in another Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub engine_version: String,
    #[serde(default)]
    pub multi_az: bool,
    /// Replicas of this replica (a cascade).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<String>,
    /// What it replicates from, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicates_from: Option<String>,
}

impl Replica {
    /// A replica as DescribeDBInstances describes it now (`home_region`: the source's, to
    /// tell a cross-Region replica by its ARN).
    pub fn from_db(db: &SourceDb, home_region: Option<&str>) -> Self {
        let region = crate::names::arn_region(&db.arn).filter(|r| Some(r.as_str()) != home_region);
        Self {
            identifier: db.identifier.clone(),
            arn: db.arn.clone(),
            tags: db.tags.clone(),
            monitoring_role_arn: db.monitoring_role_arn.clone(),
            region,
            resource_id: db.resource_id.clone(),
            status: db.status.clone(),
            engine_version: db.engine_version.clone(),
            multi_az: db.multi_az,
            replicas: db.read_replicas.clone(),
            replicates_from: db.replica_source.clone(),
        }
    }
}

/// An instance of the source Aurora cluster, as DescribeDBInstances reports it: what IAM
/// and RDS look at on each member (its own tags, its own Enhanced Monitoring role).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub identifier: String,
    #[serde(default)]
    pub arn: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring_role_arn: Option<String>,
}

impl Member {
    pub fn from_db(db: &SourceDb) -> Self {
        Self {
            identifier: db.identifier.clone(),
            arn: db.arn.clone(),
            tags: db.tags.clone(),
            monitoring_role_arn: db.monitoring_role_arn.clone(),
        }
    }
}

/// An RDS Proxy whose targets include the source, and that target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proxy {
    pub name: String,
    #[serde(default)]
    pub engine_family: String,
    /// The target's `RdsResourceId` (for a cluster target, the cluster identifier), its
    /// endpoint and `TargetHealth.State`.
    #[serde(default)]
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_endpoint: Option<String>,
    #[serde(default)]
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An Aurora custom endpoint of the source cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomEndpoint {
    pub identifier: String,
    #[serde(default)]
    pub endpoint_type: String,
    #[serde(default)]
    pub static_members: Vec<String>,
    #[serde(default)]
    pub excluded_members: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub arn: String,
    /// Its tags (ListTagsForResource: DescribeDBClusterEndpoints returns none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Set when its tags could not be read (named in `Topology::unread`): the opt-in check
    /// cannot tell, and says so there instead of calling it untagged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tags_unread: bool,
}

/// The source cluster's place in an Aurora Global Database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalMembership {
    pub global_cluster: String,
    pub is_primary: bool,
    /// Every member cluster's ARN.
    #[serde(default)]
    pub members: Vec<String>,
}

/// A zero-ETL integration whose source is the database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    pub name: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub status: String,
}

/// An AWS DMS task reading from (or writing to) the database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmsTask {
    pub identifier: String,
    #[serde(default)]
    pub endpoint: String,
    #[serde(default)]
    pub status: String,
}

/// An AWS DMS endpoint as DescribeEndpoints lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DmsEndpoint {
    pub arn: String,
    pub identifier: String,
    /// `ServerName`: the host DMS connects to.
    pub server_name: Option<String>,
    pub port: Option<i32>,
}

/// An AWS DMS replication task as DescribeReplicationTasks lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DmsTaskListing {
    pub identifier: String,
    pub status: String,
    pub source_endpoint_arn: String,
    pub target_endpoint_arn: String,
}

/// The host names that reach the source: an instance's endpoint; a cluster's writer endpoint
/// and its reader endpoint (`NAME.cluster-ro-…`, AWS's documented form of the writer's
/// `NAME.cluster-…`). Lower case, no trailing dot: DNS names compare that way.
fn addresses(src: &SourceDb) -> Vec<String> {
    let Some(endpoint) = src.endpoint.as_deref() else {
        return Vec::new();
    };
    let writer = endpoint.trim_end_matches('.').to_ascii_lowercase();
    let reader = writer
        .split_once(".cluster-")
        .filter(|(_, rest)| !rest.starts_with("ro-") && !rest.starts_with("custom-"))
        .map(|(name, rest)| format!("{name}.cluster-ro-{rest}"));
    std::iter::once(writer).chain(reader).collect()
}

/// The DMS endpoints that connect to the source: `ServerName` is one of its addresses and
/// the port, when the endpoint names one, is the source's. An endpoint that reaches it
/// through a DNS alias or an instance endpoint of a cluster member is not recognised (the
/// `dms-tasks` manual check says so).
pub fn dms_endpoints_reaching<'a>(src: &SourceDb, all: &'a [DmsEndpoint]) -> Vec<&'a DmsEndpoint> {
    let addresses = addresses(src);
    all.iter()
        .filter(|e| {
            e.server_name.as_deref().is_some_and(|host| {
                addresses.contains(&host.trim_end_matches('.').to_ascii_lowercase())
            }) && (e.port.is_none() || src.port.is_none() || e.port == src.port)
        })
        .collect()
}

/// The tasks that use one of `endpoints` (as source or target), each naming the endpoint.
pub fn dms_tasks_using(endpoints: &[&DmsEndpoint], tasks: &[DmsTaskListing]) -> Vec<DmsTask> {
    tasks
        .iter()
        .filter_map(|t| {
            let endpoint = endpoints
                .iter()
                .find(|e| e.arn == t.source_endpoint_arn || e.arn == t.target_endpoint_arn)?;
            Some(DmsTask {
                identifier: t.identifier.clone(),
                endpoint: endpoint.identifier.clone(),
                status: t.status.clone(),
            })
        })
        .collect()
}

/// Everything around the source the switchover touches, exported with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topology {
    /// An Aurora cluster's member instances, each as described (`SourceDb::members` names them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<Replica>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxies: Vec<Proxy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_endpoints: Vec<CustomEndpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<GlobalMembership>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integrations: Vec<Integration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dms_tasks: Vec<DmsTask>,
    /// What could not be read (a missing permission, an API not offered in the Region): a
    /// warning, never a silent pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<String>,
}

impl Topology {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Engines whose RDS Proxy follows a blue/green switchover (RDS for PostgreSQL, MySQL and
/// MariaDB since April 2026; Aurora's overview lists it as well).
pub fn proxy_follows_switchover(engine: &crate::engine::Engine) -> bool {
    engine.supports_blue_green()
}

/// The proxies whose targets include the database named `identifier` (instance target:
/// the instance identifier; cluster target: the cluster identifier), from every proxy's
/// targets (one entry per proxy and target, as DescribeDBProxyTargets lists them).
pub fn proxies_targeting(all: &[Proxy], identifier: &str) -> Vec<Proxy> {
    all.iter()
        .filter(|p| p.target.eq_ignore_ascii_case(identifier))
        .cloned()
        .collect()
}

/// After the switchover: each proxy of `before` as it reports its target now (the target
/// named after production when it lists one, else its first target), for `verify`.
pub fn proxies_after(before: &[Proxy], all: &[Proxy], production: &str) -> Vec<Proxy> {
    before
        .iter()
        .filter_map(|b| {
            let of: Vec<&Proxy> = all.iter().filter(|p| p.name == b.name).collect();
            of.iter()
                .find(|p| p.target.eq_ignore_ascii_case(production))
                .or_else(|| of.first())
                .map(|p| (*p).clone())
        })
        .collect()
}

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
            "topology-read",
            format!("could not read: {}", t.unread.join("; ")),
            "grant the precheck role the describe permission named (see infra/README.md), or \
             check these by hand before the upgrade",
        ));
    }
    checks
}

/// The source's replicas: the detail the precheck gathered for each, else what
/// `ReadReplicaDBInstanceIdentifiers` says (a replica in another Region is listed by ARN).
pub fn replicas_of(src: &SourceDb) -> Vec<Replica> {
    let here = crate::names::arn_region(&src.arn);
    src.read_replicas
        .iter()
        .map(|listed| {
            let (name, region) = match crate::names::parse_rds_arn(listed) {
                Some((_, name)) => (name.to_string(), crate::names::arn_region(listed)),
                None => (listed.clone(), None),
            };
            src.topology
                .replicas
                .iter()
                .find(|r| r.identifier == name)
                .cloned()
                .unwrap_or_else(|| Replica {
                    identifier: name,
                    region: region.filter(|r| Some(r) != here.as_ref()),
                    ..Replica::default()
                })
        })
        .collect()
}

fn check_replicas(src: &SourceDb) -> Check {
    const ID: &str = "replicas";
    let replicas = replicas_of(src);
    let t = Topology {
        replicas,
        ..Topology::default()
    };
    let t = &t;
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
    let cross: Vec<String> = t
        .replicas
        .iter()
        .filter(|r| r.region.is_some())
        .map(|r| format!("{} ({})", r.identifier, r.region.as_deref().unwrap_or("?")))
        .collect();
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

fn check_proxies(src: &SourceDb) -> Check {
    const ID: &str = "rds-proxy";
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
    const ID: &str = "global-database";
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
    const ID: &str = "zero-etl-integrations";
    let t = &src.topology;
    if t.integrations.is_empty() {
        return Check::pass(ID, "no zero-ETL integration reads from this database");
    }
    Check::fail(
        ID,
        format!(
            "zero-ETL integration(s) {} read from {}: AWS requires them removed before a switchover",
            t.integrations
                .iter()
                .map(|i| format!("{} -> {}", i.name, i.target))
                .collect::<Vec<_>>()
                .join(", "),
            src.identifier
        ),
        "delete the integration(s) (aws rds delete-integration), run the upgrade, then create \
         them again from the new production",
    )
}

fn check_dms(src: &SourceDb) -> Check {
    Check::warn(
        "dms-tasks",
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

/// After the switchover: what the topology must look like on production.
pub struct TopologyAfter<'a> {
    pub production: &'a str,
    /// Each of blue's replicas, as its name answers now.
    pub replicas: Vec<(&'a Replica, Option<&'a SourceDb>)>,
    pub target_version: &'a str,
    /// The proxies, as they report the production target now (by name of the proxy).
    pub proxies: &'a [Proxy],
    /// The production's resource id and endpoint (what a proxy target must point at).
    pub production_resource_id: Option<&'a str>,
    pub production_endpoint: Option<&'a str>,
    /// The custom endpoints of production now.
    pub custom_endpoints: &'a [CustomEndpoint],
}

/// What is wrong with the topology after the switchover (empty when nothing).
pub fn verify(before: &Topology, after: &TopologyAfter<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    for (replica, now) in &after.replicas {
        let name = &replica.identifier;
        match now {
            None => problems.push(format!("the production replica {name} is missing")),
            Some(db) => {
                if db.engine_version != after.target_version {
                    problems.push(format!(
                        "replica {name} runs {}, not {}",
                        db.engine_version, after.target_version
                    ));
                }
                if !db.status.eq_ignore_ascii_case("available") {
                    problems.push(format!("replica {name} is `{}`", db.status));
                }
                if db.replica_source.as_deref() != Some(after.production) {
                    problems.push(format!(
                        "replica {name} replicates from {}, not the new production {}",
                        db.replica_source.as_deref().unwrap_or("nothing"),
                        after.production
                    ));
                }
            }
        }
    }
    for before_proxy in &before.proxies {
        match after.proxies.iter().find(|p| p.name == before_proxy.name) {
            None => problems.push(format!(
                "RDS Proxy {} no longer lists a target for {}",
                before_proxy.name, after.production
            )),
            Some(p) => {
                let points_at_production = after
                    .production_resource_id
                    .is_some_and(|id| p.target == id)
                    || (p.target_endpoint.is_some()
                        && p.target_endpoint.as_deref() == after.production_endpoint)
                    || p.target.eq_ignore_ascii_case(after.production);
                if !points_at_production {
                    problems.push(format!(
                        "RDS Proxy {} targets {}, not the new production {}",
                        p.name, p.target, after.production
                    ));
                }
                if !p.state.eq_ignore_ascii_case("AVAILABLE") {
                    problems.push(format!(
                        "RDS Proxy {} reports its target {}{}",
                        p.name,
                        p.state,
                        p.reason
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    ));
                }
            }
        }
    }
    for e in &before.custom_endpoints {
        match after
            .custom_endpoints
            .iter()
            .find(|a| a.identifier == e.identifier)
        {
            None => problems.push(format!("the custom endpoint {} is missing", e.identifier)),
            Some(a) => {
                let same = |x: &[String], y: &[String]| {
                    let mut x = x.to_vec();
                    let mut y = y.to_vec();
                    x.sort();
                    y.sort();
                    x == y
                };
                if !same(&a.static_members, &e.static_members)
                    || !same(&a.excluded_members, &e.excluded_members)
                    || !a.endpoint_type.eq_ignore_ascii_case(&e.endpoint_type)
                {
                    problems.push(format!(
                        "the custom endpoint {} now has {} members {:?} (excluded {:?}), before {} \
                         {:?} (excluded {:?})",
                        e.identifier,
                        a.endpoint_type,
                        a.static_members,
                        a.excluded_members,
                        e.endpoint_type,
                        e.static_members,
                        e.excluded_members
                    ));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Verdict;
    use crate::engine::Engine;

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
    fn integrations_and_global_databases_are_refused_dms_is_named() {
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
        assert_eq!(verdict(&s, "zero-etl-integrations").verdict, Verdict::Fail);
        assert_eq!(verdict(&s, "global-database").verdict, Verdict::Fail);
        let dms = verdict(&s, "dms-tasks");
        assert_eq!(dms.verdict, Verdict::Warn);
        assert!(dms
            .observed
            .contains("orders-cdc (running, endpoint orders-source)"));
    }

    fn dms_endpoint(id: &str, host: Option<&str>, port: Option<i32>) -> DmsEndpoint {
        DmsEndpoint {
            arn: format!("arn:aws:dms:us-east-1:123456789012:endpoint:{id}"),
            identifier: id.into(),
            server_name: host.map(str::to_string),
            port,
        }
    }

    #[test]
    fn dms_endpoints_are_matched_by_the_sources_addresses_and_port() {
        let mut s = src();
        s.endpoint = Some("orders.abc123.us-east-1.rds.amazonaws.com".into());
        s.port = Some(5432);
        let all = vec![
            dms_endpoint(
                "same",
                Some("ORDERS.abc123.us-east-1.rds.amazonaws.com."),
                Some(5432),
            ),
            dms_endpoint(
                "no-port",
                Some("orders.abc123.us-east-1.rds.amazonaws.com"),
                None,
            ),
            dms_endpoint(
                "other-port",
                Some("orders.abc123.us-east-1.rds.amazonaws.com"),
                Some(5433),
            ),
            dms_endpoint(
                "other-host",
                Some("billing.abc123.us-east-1.rds.amazonaws.com"),
                Some(5432),
            ),
            dms_endpoint("s3", None, None),
        ];
        let ids = |found: Vec<&DmsEndpoint>| {
            found
                .iter()
                .map(|e| e.identifier.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(dms_endpoints_reaching(&s, &all)), ["same", "no-port"]);
        // A cluster is reached through its writer or its reader endpoint.
        s.endpoint = Some("orders.cluster-abc123.us-east-1.rds.amazonaws.com".into());
        let cluster = vec![
            dms_endpoint(
                "writer",
                Some("orders.cluster-abc123.us-east-1.rds.amazonaws.com"),
                None,
            ),
            dms_endpoint(
                "reader",
                Some("orders.cluster-ro-abc123.us-east-1.rds.amazonaws.com"),
                None,
            ),
            dms_endpoint(
                "instance",
                Some("orders-1.abc123.us-east-1.rds.amazonaws.com"),
                None,
            ),
        ];
        assert_eq!(
            ids(dms_endpoints_reaching(&s, &cluster)),
            ["writer", "reader"]
        );
        s.endpoint = None;
        assert!(
            dms_endpoints_reaching(&s, &cluster).is_empty(),
            "no endpoint, nothing matches"
        );
    }

    #[test]
    fn dms_tasks_name_the_endpoint_they_use_either_way() {
        let source = dms_endpoint("orders-src", Some("h"), None);
        let target = dms_endpoint("orders-dst", Some("h"), None);
        let task = |id: &str, src: &str, dst: &str| DmsTaskListing {
            identifier: id.into(),
            status: "running".into(),
            source_endpoint_arn: src.into(),
            target_endpoint_arn: dst.into(),
        };
        let tasks = vec![
            task("cdc-out", &source.arn, "arn:other"),
            task("load-in", "arn:other", &target.arn),
            task("unrelated", "arn:a", "arn:b"),
        ];
        let found = dms_tasks_using(&[&source, &target], &tasks);
        assert_eq!(
            found
                .iter()
                .map(|t| (t.identifier.as_str(), t.endpoint.as_str()))
                .collect::<Vec<_>>(),
            [("cdc-out", "orders-src"), ("load-in", "orders-dst")]
        );
    }

    #[test]
    fn after_the_switchover_replicas_proxies_and_endpoints_are_verified() {
        let mut before = Topology {
            replicas: vec![replica("orders-r1")],
            proxies: vec![Proxy {
                name: "orders-proxy".into(),
                target: "db-BLUE".into(),
                state: "AVAILABLE".into(),
                ..Proxy::default()
            }],
            ..Topology::default()
        };
        before.custom_endpoints = vec![CustomEndpoint {
            identifier: "reporting".into(),
            endpoint_type: "READER".into(),
            static_members: vec!["orders-2".into()],
            excluded_members: vec![],
            ..CustomEndpoint::default()
        }];
        let good = SourceDb {
            identifier: "orders-r1".into(),
            engine_version: "16.4".into(),
            status: "available".into(),
            replica_source: Some("orders".into()),
            ..SourceDb::default()
        };
        let proxies = [Proxy {
            name: "orders-proxy".into(),
            target: "db-GREEN".into(),
            state: "AVAILABLE".into(),
            ..Proxy::default()
        }];
        let endpoints = before.custom_endpoints.clone();
        let after = TopologyAfter {
            production: "orders",
            replicas: vec![(&before.replicas[0], Some(&good))],
            target_version: "16.4",
            proxies: &proxies,
            production_resource_id: Some("db-GREEN"),
            production_endpoint: None,
            custom_endpoints: &endpoints,
        };
        assert_eq!(verify(&before, &after), Vec::<String>::new());

        let stale = SourceDb {
            replica_source: Some("orders-old1".into()),
            ..good.clone()
        };
        let old_proxy = [Proxy {
            target: "db-BLUE".into(),
            ..proxies[0].clone()
        }];
        let after = TopologyAfter {
            replicas: vec![(&before.replicas[0], Some(&stale))],
            proxies: &old_proxy,
            custom_endpoints: &[],
            ..after
        };
        let problems = verify(&before, &after).join("; ");
        assert!(
            problems.contains("replicates from orders-old1"),
            "{problems}"
        );
        assert!(problems.contains("targets db-BLUE"), "{problems}");
        assert!(
            problems.contains("custom endpoint reporting is missing"),
            "{problems}"
        );
    }
}
