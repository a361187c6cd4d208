//! The topology after the switchover: production's replicas, its RDS Proxies' targets and
//! its custom endpoints must be what they were, on the new production; its replicas on the
//! class the request named (AWS sizes only green's primary at create: the wait resized green's
//! replicas, see `wait`).

use crate::model::db::DbKind;
use crate::model::source::{CustomEndpoint, Proxy, Replica, SourceDb, Topology};

/// The replicas whose production counterpart is verified: an instance's read replicas, which
/// RDS copies into green and switches over with it. An Aurora cluster's replicas are replica
/// *clusters*: AWS documents nothing of an in-Region one in a blue/green deployment (the
/// precheck warned and said what to check after the switchover), so no outcome is held
/// against production.
pub fn verified_replicas(source: &SourceDb) -> &[Replica] {
    match source.kind {
        DbKind::Instance => &source.topology.replicas,
        DbKind::Cluster => &[],
    }
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

/// After the switchover: what the topology must look like on production.
pub struct TopologyAfter<'a> {
    pub production: &'a str,
    /// Each of blue's replicas, as its name answers now.
    pub replicas: Vec<(&'a Replica, Option<&'a SourceDb>)>,
    pub target_version: &'a str,
    /// The request's `target_db_instance_class`: every production replica must run it.
    pub instance_class: Option<&'a str>,
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
                if let Some(class) = after.instance_class {
                    if db.instance_class.as_deref() != Some(class) {
                        problems.push(format!(
                            "replica {name} runs {}, not the requested {class}: modify it \
                             (aws rds modify-db-instance --db-instance-identifier {name} \
                             --db-instance-class {class} --apply-immediately)",
                            db.instance_class.as_deref().unwrap_or("an unknown class")
                        ));
                    }
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

    fn replica(name: &str) -> Replica {
        Replica {
            identifier: name.into(),
            status: "available".into(),
            replicates_from: Some("orders".into()),
            ..Replica::default()
        }
    }

    #[test]
    fn an_aurora_clusters_replica_clusters_are_not_held_against_production() {
        let mut source = SourceDb {
            kind: DbKind::Instance,
            ..SourceDb::default()
        };
        source.topology.replicas = vec![replica("orders-r1")];
        assert_eq!(verified_replicas(&source).len(), 1);
        source.kind = DbKind::Cluster;
        assert!(verified_replicas(&source).is_empty());
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
            instance_class: None,
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

    #[test]
    fn production_replicas_must_run_the_requested_class() {
        let before = Topology {
            replicas: vec![replica("orders-r1")],
            ..Topology::default()
        };
        let wrong = SourceDb {
            identifier: "orders-r1".into(),
            engine_version: "16.4".into(),
            status: "available".into(),
            replica_source: Some("orders".into()),
            instance_class: Some("db.r6g.large".into()),
            ..SourceDb::default()
        };
        let right = SourceDb {
            instance_class: Some("db.r6g.xlarge".into()),
            ..wrong.clone()
        };
        let check = |db: &SourceDb| {
            verify(
                &before,
                &TopologyAfter {
                    production: "orders",
                    replicas: vec![(&before.replicas[0], Some(db))],
                    target_version: "16.4",
                    instance_class: Some("db.r6g.xlarge"),
                    proxies: &[],
                    production_resource_id: None,
                    production_endpoint: None,
                    custom_endpoints: &[],
                },
            )
        };
        let problems = check(&wrong).join("; ");
        assert!(
            problems
                .contains("replica orders-r1 runs db.r6g.large, not the requested db.r6g.xlarge"),
            "{problems}"
        );
        assert!(check(&right).is_empty());
    }
}
