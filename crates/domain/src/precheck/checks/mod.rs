//! Prechecks: everything AWS would reject, or that would lose data, checked before anything
//! changes. Each rule is a small function over facts the adapters gathered (read-only), one
//! file per theme: the source, the versions, the parameters, the deployment found, the
//! topology around the source, and what the stack's roles would be denied (`access`).

pub mod access;
mod deployment;
mod parameters;
mod scaling;
mod source;
pub mod topology;
mod versions;

use super::topology::replicas_of;
use super::PrecheckFacts;
use crate::database::replicates_logically;
use crate::model::check::{id, Check};
use crate::model::db::DbKind;
use crate::model::engine::{major_version, Engine};
use crate::model::names::tags;
use crate::model::plan::CreatePlan;
use crate::model::report::ExistingDeployment;
use std::collections::BTreeMap;

/// What the checks found, and the deployment they plan.
pub struct Evaluation {
    pub checks: Vec<Check>,
    pub existing: ExistingDeployment,
    pub is_major_upgrade: bool,
    pub plan: CreatePlan,
}

/// Runs every rule. Pure: the same facts always give the same checks.
pub fn evaluate(f: &PrecheckFacts) -> Evaluation {
    let mut checks = Vec::new();
    let src = &f.source;
    let req = &f.request;

    checks.push(source::check_account(f));
    checks.push(source::check_status(src));
    checks.push(source::check_engine(src));

    let target_info = f.current_version.as_ref().and_then(|cur| {
        cur.valid_upgrade_targets
            .iter()
            .find(|t| t.version == req.target_engine_version)
    });
    let is_major_upgrade = target_info.map(|t| t.is_major).unwrap_or_else(|| {
        major_version(&src.engine, &src.engine_version)
            != major_version(&src.engine, &req.target_engine_version)
    });
    checks.push(versions::check_upgrade_target(f, target_info.is_some()));

    // RDS for PostgreSQL replicates logically for a major upgrade only; Aurora PostgreSQL
    // always does, and its prerequisites hold for every blue/green.
    let logical = replicates_logically(
        &src.engine,
        &src.engine_version,
        &req.target_engine_version,
        Some(is_major_upgrade),
    );
    if src.engine == Engine::Postgres && is_major_upgrade {
        checks.push(versions::check_postgres_minimum_minor(src));
    }
    if src.engine == Engine::AuroraPostgresql {
        checks.push(versions::check_aurora_postgres_minimum(src));
        checks.push(parameters::check_synchronous_commit(src));
        checks.push(parameters::check_plan_capture_off_on_green(
            &f.target_parameters,
        ));
        checks.extend(versions::check_babelfish(src, &req.target_engine_version));
    }
    if src.engine.is_postgres_family() {
        checks.push(parameters::check_green_preloaded_libraries(
            src,
            &f.target_parameters,
        ));
    }
    if src.engine.is_postgres_family() && logical {
        checks.push(parameters::check_logical_replication(src));
        checks.push(parameters::check_replication_headroom(
            id::REPLICATION_HEADROOM,
            &src.parameters,
            true,
        ));
        checks.push(parameters::check_replication_headroom(
            id::GREEN_REPLICATION_HEADROOM,
            &f.target_parameters,
            false,
        ));
    }
    if src.engine.is_mysql_family() {
        checks.push(parameters::check_event_scheduler(&f.target_parameters));
        checks.push(parameters::check_lower_case_table_names(
            src,
            &f.target_parameters,
        ));
    }
    if src.engine == Engine::AuroraMysql {
        checks.push(parameters::check_binlog_format(src));
        checks.extend(source::check_backtrack(src));
    }
    if src.kind == DbKind::Instance {
        // Cross-Region replicas are refused by `replicas`; only in-Region ones were described.
        let replicas: Vec<_> = replicas_of(src)
            .into_iter()
            .filter(|r| r.region.is_none())
            .collect();
        checks.push(source::check_dedicated_log_volume(src, &replicas));
        if matches!(src.engine, Engine::Mysql | Engine::Mariadb) && is_major_upgrade {
            checks.extend(source::check_delayed_replication(&replicas));
        }
    }
    checks.push(source::check_backups(src));
    checks.push(source::check_parameter_groups_in_sync(src));
    checks.push(source::check_managed_master_password(src));
    checks.extend(topology::checks(src));
    checks.extend(scaling::check_auto_scaling(src));
    // What the stack's roles would be denied later: reported by every action, plan included.
    checks.extend(access::checks(src, req, &f.grants, &f.key_manager));
    checks.push(source::check_multi_az_cluster(src));
    if matches!(src.engine, Engine::Mysql | Engine::Mariadb) {
        checks.push(parameters::check_option_group(src, is_major_upgrade));
    }
    let (pg_check, target_pg) = parameters::check_target_parameter_group(f);
    checks.push(pg_check);
    let mut target_cluster_pg = None;
    if src.kind == DbKind::Cluster {
        let (c, name) = parameters::check_target_cluster_parameter_group(f);
        checks.push(c);
        target_cluster_pg = name;
    }
    let (deployment_check, existing) = deployment::check_existing_deployments(f);
    checks.push(deployment_check);
    checks.push(source::check_pending_maintenance(f));
    if src.kind == DbKind::Instance {
        checks.push(source::check_free_storage(f));
    }
    if let Some(class) = &req.target_db_instance_class {
        checks.push(versions::check_instance_class(src, class));
    }

    let mut tags = BTreeMap::new();
    tags.insert(
        tags::MANAGED_BY.to_string(),
        tags::MANAGED_BY_VALUE.to_string(),
    );
    if let Some(id) = &src.resource_id {
        tags.insert(tags::SOURCE_RESOURCE_ID.to_string(), id.clone());
    }
    // AWS refuses TargetDBInstanceClass for a cluster: green's instances are resized once
    // green is ready instead (see `wait`).
    let (target_db_instance_class, green_instance_class) = match src.kind {
        DbKind::Instance => (req.target_db_instance_class.clone(), None),
        DbKind::Cluster => (None, req.target_db_instance_class.clone()),
    };
    let plan = CreatePlan {
        deployment_name: f.deployment_name.clone(),
        source_arn: src.arn.clone(),
        target_engine_version: req.target_engine_version.clone(),
        is_major_upgrade,
        target_db_parameter_group_name: target_pg,
        target_db_cluster_parameter_group_name: target_cluster_pg,
        target_db_instance_class,
        green_instance_class,
        tags,
    };
    Evaluation {
        checks,
        existing,
        is_major_upgrade,
        plan,
    }
}
