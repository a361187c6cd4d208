//! What surrounds the source, as the precheck finds it: which RDS Proxies target it, which
//! AWS DMS endpoints reach it and the tasks that use them, its read replicas. The checks on
//! it: `precheck::checks::topology`; after the switchover: `verify::topology`.

use crate::model::engine::Engine;
use crate::model::source::{DmsEndpoint, DmsTask, DmsTaskListing, Proxy, Replica, SourceDb};

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

/// Engines whose RDS Proxy follows a blue/green switchover (RDS for PostgreSQL, MySQL and
/// MariaDB since April 2026; Aurora's overview lists it as well).
pub fn proxy_follows_switchover(engine: &Engine) -> bool {
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

/// The source's replicas: the detail the precheck gathered for each, else what
/// `ReadReplicaDBInstanceIdentifiers` says (a replica in another Region is listed by ARN).
pub fn replicas_of(src: &SourceDb) -> Vec<Replica> {
    let here = crate::model::names::arn_region(&src.arn);
    src.read_replicas
        .iter()
        .map(|listed| {
            let (name, region) = match crate::model::names::parse_rds_arn(listed) {
                Some((_, name)) => (name.to_string(), crate::model::names::arn_region(listed)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> SourceDb {
        SourceDb {
            identifier: "orders".into(),
            engine: Engine::Postgres,
            engine_version: "13.15".into(),
            status: "available".into(),
            ..SourceDb::default()
        }
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
}
