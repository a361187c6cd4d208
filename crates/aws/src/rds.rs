//! RDS: describe the source and its surroundings, and the few blue/green mutations.

use crate::errors::{classify, code_of, AwsError, Classify};
use aws_sdk_rds::types::{BlueGreenDeployment, DbCluster, DbInstance, Filter, Tag};
use aws_sdk_rds::Client;
use bluegreen_domain::fleet::Candidate;
use bluegreen_domain::model::db::{DbKind, DbRef};
use bluegreen_domain::model::deployment::{
    parse_percent, DeploymentTask, DeploymentView, MemberStatus, SwitchoverDetail,
};
use bluegreen_domain::model::engine::Engine;
use bluegreen_domain::model::engine::{EngineVersionInfo, UpgradeTarget};
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::lifecycle::MajorLifecycle;
use bluegreen_domain::model::plan::CreatePlan;
use bluegreen_domain::model::source::ParameterGroupInfo;
use bluegreen_domain::model::source::{CustomEndpoint, GlobalMembership, Integration, Proxy};
use bluegreen_domain::model::source::{Membership, SourceDb, RELEVANT_PARAMETERS};
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub struct Rds {
    client: Client,
}

/// What connecting to a database needs beyond its record: the database created with it
/// (`DBName` / `DatabaseName`) and whether IAM database authentication is on. The sql
/// worker's; not part of the run's record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection {
    pub database_name: Option<String>,
    pub iam_auth_enabled: Option<bool>,
}

fn tags_of(list: &[Tag]) -> BTreeMap<String, String> {
    list.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

fn instance_to_source(db: &DbInstance) -> SourceDb {
    SourceDb {
        kind: DbKind::Instance,
        identifier: db.db_instance_identifier().unwrap_or_default().to_string(),
        arn: db.db_instance_arn().unwrap_or_default().to_string(),
        resource_id: db.dbi_resource_id().map(str::to_string),
        engine: Engine::parse(db.engine().unwrap_or_default()),
        engine_version: db.engine_version().unwrap_or_default().to_string(),
        status: db.db_instance_status().unwrap_or_default().to_string(),
        instance_class: db.db_instance_class().map(str::to_string),
        multi_az: db.multi_az().unwrap_or(false),
        multi_az_db_cluster: false,
        endpoint: db.endpoint().and_then(|e| e.address()).map(str::to_string),
        port: db.endpoint().and_then(|e| e.port()),
        backup_retention_days: db.backup_retention_period().unwrap_or(0),
        deletion_protection: db.deletion_protection().unwrap_or(false),
        storage_encrypted: db.storage_encrypted().unwrap_or(false),
        kms_key_id: db.kms_key_id().map(str::to_string),
        monitoring_role_arn: db.monitoring_role_arn().map(str::to_string),
        allocated_storage_gib: db.allocated_storage(),
        dedicated_log_volume: db.dedicated_log_volume().unwrap_or(false),
        backtrack_window: None,
        parameter_groups: db
            .db_parameter_groups()
            .iter()
            .map(|g| {
                Membership::new(
                    g.db_parameter_group_name().unwrap_or_default(),
                    g.parameter_apply_status().unwrap_or("in-sync"),
                )
            })
            .collect(),
        cluster_parameter_group: None,
        option_groups: db
            .option_group_memberships()
            .iter()
            .map(|g| {
                Membership::new(
                    g.option_group_name().unwrap_or_default(),
                    g.status().unwrap_or_default(),
                )
            })
            .collect(),
        managed_master_password: db.master_user_secret().is_some(),
        read_replicas: db.read_replica_db_instance_identifiers().to_vec(),
        topology: Default::default(),
        replica_source: db
            .read_replica_source_db_instance_identifier()
            .or(db.read_replica_source_db_cluster_identifier())
            .map(str::to_string),
        members: Vec::new(),
        tags: tags_of(db.tag_list()),
        parameters: BTreeMap::new(),
    }
}

fn cluster_to_source(c: &DbCluster) -> SourceDb {
    let mut members: Vec<(bool, String)> = c
        .db_cluster_members()
        .iter()
        .map(|m| {
            (
                m.is_cluster_writer().unwrap_or(false),
                m.db_instance_identifier().unwrap_or_default().to_string(),
            )
        })
        .collect();
    members.sort_by_key(|(writer, _)| !*writer);
    let cluster_pg_status = c
        .db_cluster_members()
        .iter()
        .find_map(|m| m.db_cluster_parameter_group_status())
        .unwrap_or("in-sync");
    SourceDb {
        kind: DbKind::Cluster,
        identifier: c.db_cluster_identifier().unwrap_or_default().to_string(),
        arn: c.db_cluster_arn().unwrap_or_default().to_string(),
        resource_id: c.db_cluster_resource_id().map(str::to_string),
        engine: Engine::parse(c.engine().unwrap_or_default()),
        engine_version: c.engine_version().unwrap_or_default().to_string(),
        status: c.status().unwrap_or_default().to_string(),
        instance_class: c.db_cluster_instance_class().map(str::to_string),
        multi_az: c.multi_az().unwrap_or(false),
        // A DB cluster with a cluster-level instance class that is not Aurora is a
        // Multi-AZ DB cluster.
        multi_az_db_cluster: c.db_cluster_instance_class().is_some()
            && !c.engine().unwrap_or_default().starts_with("aurora"),
        endpoint: c.endpoint().map(str::to_string),
        port: c.port(),
        backup_retention_days: c.backup_retention_period().unwrap_or(0),
        deletion_protection: c.deletion_protection().unwrap_or(false),
        storage_encrypted: c.storage_encrypted().unwrap_or(false),
        kms_key_id: c.kms_key_id().map(str::to_string),
        // Aurora's monitoring roles are its member instances' (described one by one).
        monitoring_role_arn: None,
        allocated_storage_gib: None,
        dedicated_log_volume: false,
        backtrack_window: c.backtrack_window().filter(|w| *w > 0),
        parameter_groups: Vec::new(),
        cluster_parameter_group: c
            .db_cluster_parameter_group()
            .map(|name| Membership::new(name, cluster_pg_status)),
        option_groups: Vec::new(),
        managed_master_password: c.master_user_secret().is_some(),
        read_replicas: c.read_replica_identifiers().to_vec(),
        topology: Default::default(),
        replica_source: c.replication_source_identifier().map(str::to_string),
        members: members.into_iter().map(|(_, id)| id).collect(),
        tags: tags_of(c.tag_list()),
        parameters: BTreeMap::new(),
    }
}

fn to_view(d: &BlueGreenDeployment) -> DeploymentView {
    DeploymentView {
        id: d
            .blue_green_deployment_identifier()
            .unwrap_or_default()
            .to_string(),
        name: d
            .blue_green_deployment_name()
            .unwrap_or_default()
            .to_string(),
        source_arn: d.source().unwrap_or_default().to_string(),
        target_arn: d.target().unwrap_or_default().to_string(),
        status: d.status().unwrap_or_default().to_string(),
        status_details: d.status_details().map(str::to_string),
        tasks: d
            .tasks()
            .iter()
            .map(|t| DeploymentTask {
                name: t.name().unwrap_or_default().to_string(),
                status: t.status().unwrap_or_default().to_string(),
            })
            .collect(),
        switchover_details: d
            .switchover_details()
            .iter()
            .map(|s| SwitchoverDetail {
                source_member: s.source_member().unwrap_or_default().to_string(),
                target_member: s.target_member().unwrap_or_default().to_string(),
                status: s.status().unwrap_or_default().to_string(),
            })
            .collect(),
        tags: tags_of(d.tag_list()),
    }
}

/// `arn:aws:rds:REGION:ACCOUNT:db:NAME` -> (Instance, NAME).
pub fn parse_member_arn(arn: &str) -> Option<(DbKind, String)> {
    bluegreen_domain::model::names::parse_rds_arn(arn).map(|(kind, name)| (kind, name.to_string()))
}

/// An IAM database authentication token for `user` at `host:port` (`rds-db:connect`): signed
/// locally with the credentials and Region of `conf`, valid 15 minutes, used at once as the
/// password. The reason, as text, when it cannot be signed.
pub async fn auth_token(
    conf: &aws_config::SdkConfig,
    host: &str,
    port: u16,
    user: &str,
) -> Result<String, String> {
    use aws_sdk_rds::auth_token::{AuthTokenGenerator, Config as TokenConfig};
    let mut config = TokenConfig::builder()
        .hostname(host)
        .port(u64::from(port))
        .username(user);
    if let Some(region) = conf.region() {
        config = config.region(region.clone());
    }
    let config = config.build().map_err(|e| e.to_string())?;
    let token = AuthTokenGenerator::new(config)
        .auth_token(conf)
        .await
        .map_err(|e| e.to_string())?;
    Ok(token.as_str().to_string())
}

/// What `find_source` answers when nothing carries the name.
pub fn source_not_found(name: &str) -> WorkerError {
    WorkerError::SourceNotFound(format!(
        "no DB instance or cluster named `{name}` in this account and Region: check \
         db_identifier (names are case-insensitive; give the cluster name for Aurora)"
    ))
}

impl Rds {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// An adapter over a client built from `conf`.
    pub fn from_conf(conf: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(conf))
    }

    /// The instance or cluster the reference names, with its parameters of interest.
    pub async fn find_source(&self, db: &DbRef) -> Result<SourceDb, WorkerError> {
        let mut source = match db.kind {
            Some(DbKind::Instance) => self.describe(DbKind::Instance, &db.name).await?,
            Some(DbKind::Cluster) => self.describe(DbKind::Cluster, &db.name).await?,
            None => match self.describe_instance(&db.name).await? {
                // A cluster member's instance is not the database: upgrade its cluster.
                Some(i) if i.db_cluster_identifier().is_some() => {
                    self.describe(
                        DbKind::Cluster,
                        i.db_cluster_identifier().unwrap_or_default(),
                    )
                    .await?
                }
                Some(i) => Some(instance_to_source(&i)),
                None => self.describe(DbKind::Cluster, &db.name).await?,
            },
        }
        .ok_or_else(|| source_not_found(&db.name))?;
        if source.kind == DbKind::Cluster {
            if let Some(writer) = source.members.first().cloned() {
                if let Some(w) = self.describe(DbKind::Instance, &writer).await? {
                    source.parameter_groups = w.parameter_groups;
                }
            }
        }
        let mut params = BTreeMap::new();
        if let Some(group) = &source.cluster_parameter_group {
            params.extend(self.parameters(&group.name, true).await?);
        }
        for group in &source.parameter_groups {
            for (k, v) in self.parameters(&group.name, false).await? {
                params.entry(k).or_insert(v);
            }
        }
        source.parameters = params;
        Ok(source)
    }

    /// DescribeDBInstances of one instance by name: the one place it is asked; `None` when
    /// there is no such instance.
    async fn describe_instance(&self, id: &str) -> Result<Option<DbInstance>, AwsError> {
        match self
            .client
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(out) => Ok(out.db_instances().first().cloned()),
            Err(e)
                if code_of(&e) == Some("DBInstanceNotFound")
                    || code_of(&e) == Some("DBInstanceNotFoundFault") =>
            {
                Ok(None)
            }
            Err(e) => Err(AwsError::new("rds:DescribeDBInstances", &e)),
        }
    }

    /// DescribeDBClusters of one cluster by name: the one place it is asked; `None` when
    /// there is no such cluster.
    async fn describe_cluster(&self, id: &str) -> Result<Option<DbCluster>, AwsError> {
        match self
            .client
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
        {
            Ok(out) => Ok(out.db_clusters().first().cloned()),
            Err(e)
                if code_of(&e) == Some("DBClusterNotFoundFault")
                    || code_of(&e) == Some("DBClusterNotFound") =>
            {
                Ok(None)
            }
            Err(e) => Err(AwsError::new("rds:DescribeDBClusters", &e)),
        }
    }

    /// The current state of one instance or cluster by name, or `None` when it is gone.
    pub async fn describe(&self, kind: DbKind, id: &str) -> Result<Option<SourceDb>, AwsError> {
        Ok(self
            .describe_with_connection(kind, id)
            .await?
            .map(|(source, _)| source))
    }

    /// [`Rds::describe`], with what connecting to it needs (the sql worker's).
    pub async fn describe_with_connection(
        &self,
        kind: DbKind,
        id: &str,
    ) -> Result<Option<(SourceDb, Connection)>, AwsError> {
        Ok(match kind {
            DbKind::Instance => self.describe_instance(id).await?.map(|db| {
                (
                    instance_to_source(&db),
                    Connection {
                        database_name: db.db_name().map(str::to_string),
                        iam_auth_enabled: db.iam_database_authentication_enabled(),
                    },
                )
            }),
            DbKind::Cluster => self.describe_cluster(id).await?.map(|c| {
                (
                    cluster_to_source(&c),
                    Connection {
                        database_name: c.database_name().map(str::to_string),
                        iam_auth_enabled: c.iam_database_authentication_enabled(),
                    },
                )
            }),
        })
    }

    /// The instance or cluster that carries a resource id (`db-...` / `cluster-...`), whatever
    /// it is named now; `None` when no database carries it.
    pub async fn describe_by_resource_id(
        &self,
        kind: DbKind,
        resource_id: &str,
    ) -> Result<Option<SourceDb>, WorkerError> {
        match kind {
            DbKind::Instance => {
                let out = self
                    .client
                    .describe_db_instances()
                    .filters(
                        Filter::builder()
                            .name("dbi-resource-id")
                            .values(resource_id)
                            .build(),
                    )
                    .send()
                    .await
                    .or_classify("rds:DescribeDBInstances")?;
                Ok(out
                    .db_instances()
                    .iter()
                    .find(|d| d.dbi_resource_id() == Some(resource_id))
                    .map(instance_to_source))
            }
            DbKind::Cluster => {
                let out = self
                    .client
                    .describe_db_clusters()
                    .filters(
                        Filter::builder()
                            .name("db-cluster-resource-id")
                            .values(resource_id)
                            .build(),
                    )
                    .send()
                    .await
                    .or_classify("rds:DescribeDBClusters")?;
                Ok(out
                    .db_clusters()
                    .iter()
                    .find(|c| c.db_cluster_resource_id() == Some(resource_id))
                    .map(cluster_to_source))
            }
        }
    }

    /// The parameters the prechecks read (`model::source::RELEVANT_PARAMETERS`) from one parameter
    /// group; empty when the group does not exist (a target family's default group, say,
    /// before RDS first uses it).
    pub async fn parameters(
        &self,
        group: &str,
        cluster: bool,
    ) -> Result<BTreeMap<String, String>, WorkerError> {
        let mut found = BTreeMap::new();
        let mut marker: Option<String> = None;
        let not_found = |code: Option<&str>| {
            matches!(
                code,
                Some("DBParameterGroupNotFound" | "DBParameterGroupNotFoundFault")
            )
        };
        loop {
            let (params, next) = if cluster {
                match self
                    .client
                    .describe_db_cluster_parameters()
                    .db_cluster_parameter_group_name(group)
                    .set_marker(marker.clone())
                    .send()
                    .await
                {
                    Ok(out) => (out.parameters().to_vec(), out.marker().map(str::to_string)),
                    Err(e) if not_found(code_of(&e)) => return Ok(found),
                    Err(e) => return Err(classify("rds:DescribeDBClusterParameters", &e)),
                }
            } else {
                match self
                    .client
                    .describe_db_parameters()
                    .db_parameter_group_name(group)
                    .set_marker(marker.clone())
                    .send()
                    .await
                {
                    Ok(out) => (out.parameters().to_vec(), out.marker().map(str::to_string)),
                    Err(e) if not_found(code_of(&e)) => return Ok(found),
                    Err(e) => return Err(classify("rds:DescribeDBParameters", &e)),
                }
            };
            for p in params {
                if let (Some(name), Some(value)) = (p.parameter_name(), p.parameter_value()) {
                    if RELEVANT_PARAMETERS.contains(&name) {
                        found.insert(name.to_string(), value.to_string());
                    }
                }
            }
            match next {
                Some(m) if !m.is_empty() => marker = Some(m),
                _ => return Ok(found),
            }
        }
    }

    pub async fn engine_version(
        &self,
        engine: &Engine,
        version: &str,
    ) -> Result<Option<EngineVersionInfo>, WorkerError> {
        let out = self
            .client
            .describe_db_engine_versions()
            .engine(engine.as_str())
            .engine_version(version)
            // A minor AWS has since deprecated is listed only with IncludeAll: the databases
            // that most need upgrading run one.
            .include_all(true)
            .send()
            .await
            .or_classify("rds:DescribeDBEngineVersions")?;
        Ok(out
            .db_engine_versions()
            .iter()
            .find(|v| v.engine_version() == Some(version))
            .map(|v| EngineVersionInfo {
                version: version.to_string(),
                family: v
                    .db_parameter_group_family()
                    .unwrap_or_default()
                    .to_string(),
                status: v.status().unwrap_or("available").to_string(),
                valid_upgrade_targets: v
                    .valid_upgrade_target()
                    .iter()
                    .map(|t| UpgradeTarget {
                        version: t.engine_version().unwrap_or_default().to_string(),
                        is_major: t.is_major_version_upgrade().unwrap_or(false),
                    })
                    .collect(),
            }))
    }

    pub async fn parameter_group(
        &self,
        name: &str,
        cluster: bool,
    ) -> Result<Option<ParameterGroupInfo>, WorkerError> {
        if cluster {
            match self
                .client
                .describe_db_cluster_parameter_groups()
                .db_cluster_parameter_group_name(name)
                .send()
                .await
            {
                Ok(out) => {
                    Ok(out
                        .db_cluster_parameter_groups()
                        .first()
                        .map(|g| ParameterGroupInfo {
                            name: name.to_string(),
                            family: g
                                .db_parameter_group_family()
                                .unwrap_or_default()
                                .to_string(),
                        }))
                }
                Err(e) if code_of(&e) == Some("DBParameterGroupNotFound") => Ok(None),
                Err(e) => Err(classify("rds:DescribeDBClusterParameterGroups", &e)),
            }
        } else {
            match self
                .client
                .describe_db_parameter_groups()
                .db_parameter_group_name(name)
                .send()
                .await
            {
                Ok(out) => Ok(out
                    .db_parameter_groups()
                    .first()
                    .map(|g| ParameterGroupInfo {
                        name: name.to_string(),
                        family: g
                            .db_parameter_group_family()
                            .unwrap_or_default()
                            .to_string(),
                    })),
                Err(e) if code_of(&e) == Some("DBParameterGroupNotFound") => Ok(None),
                Err(e) => Err(classify("rds:DescribeDBParameterGroups", &e)),
            }
        }
    }

    async fn deployments(&self, filter: Filter) -> Result<Vec<DeploymentView>, AwsError> {
        self.deployments_matching(Some(filter)).await
    }

    async fn deployments_matching(
        &self,
        filter: Option<Filter>,
    ) -> Result<Vec<DeploymentView>, AwsError> {
        let mut all = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_blue_green_deployments()
                .set_filters(filter.clone().map(|f| vec![f]))
                .set_marker(marker.clone())
                .send()
                .await
                .or_aws("rds:DescribeBlueGreenDeployments")?;
            all.extend(out.blue_green_deployments().iter().map(to_view));
            match out.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => return Ok(all),
            }
        }
    }

    /// Every instance and cluster of the account and Region, for a fleet selection. Pages of
    /// 100: the calls grow with the account's size, never per selected database.
    pub async fn fleet_candidates(&self) -> Result<Vec<Candidate>, WorkerError> {
        let mut all = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_db_instances()
                .max_records(100)
                .set_marker(marker.clone())
                .send()
                .await
                .or_classify("rds:DescribeDBInstances")?;
            all.extend(out.db_instances().iter().map(|db| {
                Candidate {
                    identifier: db.db_instance_identifier().unwrap_or_default().to_string(),
                    kind: DbKind::Instance,
                    engine: db.engine().unwrap_or_default().to_ascii_lowercase(),
                    engine_version: db.engine_version().unwrap_or_default().to_string(),
                    tags: tags_of(db.tag_list()),
                    replica_of: db
                        .read_replica_source_db_instance_identifier()
                        .or(db.read_replica_source_db_cluster_identifier())
                        .map(str::to_string),
                    cluster: db.db_cluster_identifier().map(str::to_string),
                }
            }));
            match out.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => break,
            }
        }
        marker = None;
        loop {
            let out = self
                .client
                .describe_db_clusters()
                .max_records(100)
                .set_marker(marker.clone())
                .send()
                .await
                .or_classify("rds:DescribeDBClusters")?;
            all.extend(out.db_clusters().iter().map(|c| Candidate {
                identifier: c.db_cluster_identifier().unwrap_or_default().to_string(),
                kind: DbKind::Cluster,
                engine: c.engine().unwrap_or_default().to_ascii_lowercase(),
                engine_version: c.engine_version().unwrap_or_default().to_string(),
                tags: tags_of(c.tag_list()),
                replica_of: c.replication_source_identifier().map(str::to_string),
                cluster: None,
            }));
            match out.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => return Ok(all),
            }
        }
    }

    /// Every deployment of the account and Region, for a fleet selection (`fleet::select`
    /// never takes what they report as green or old blue for a database of its own).
    pub async fn all_deployments(&self) -> Result<Vec<DeploymentView>, AwsError> {
        self.deployments_matching(None).await
    }

    /// One deployment by its identifier (`bgd-...`), or `None` when there is none.
    pub async fn deployment(&self, id: &str) -> Result<Option<DeploymentView>, AwsError> {
        match self
            .client
            .describe_blue_green_deployments()
            .blue_green_deployment_identifier(id)
            .send()
            .await
        {
            Ok(out) => Ok(out.blue_green_deployments().first().map(to_view)),
            Err(e) if code_of(&e) == Some("BlueGreenDeploymentNotFoundFault") => Ok(None),
            Err(e) => Err(AwsError::new("rds:DescribeBlueGreenDeployments", &e)),
        }
    }

    pub async fn deployments_for_source(
        &self,
        source_arn: &str,
    ) -> Result<Vec<DeploymentView>, WorkerError> {
        Ok(self
            .deployments(Filter::builder().name("source").values(source_arn).build())
            .await?)
    }

    pub async fn deployment_by_name(
        &self,
        name: &str,
    ) -> Result<Option<DeploymentView>, WorkerError> {
        Ok(self
            .deployments(
                Filter::builder()
                    .name("blue-green-deployment-name")
                    .values(name)
                    .build(),
            )
            .await?
            .into_iter()
            .find(|d| d.name == name))
    }

    /// Pending maintenance for one resource, as readable lines.
    pub async fn pending_maintenance(&self, arn: &str) -> Result<Vec<String>, WorkerError> {
        let out = self
            .client
            .describe_pending_maintenance_actions()
            .resource_identifier(arn)
            .send()
            .await
            .or_classify("rds:DescribePendingMaintenanceActions")?;
        Ok(out
            .pending_maintenance_actions()
            .iter()
            .flat_map(|r| r.pending_maintenance_action_details())
            .map(|a| {
                let mut line = a.action().unwrap_or("maintenance").to_string();
                if let Some(d) = a.description() {
                    line.push_str(&format!(" ({d})"));
                }
                if let Some(t) = a.auto_applied_after_date() {
                    line.push_str(&format!(", auto-applied after {t}"));
                }
                line
            })
            .collect())
    }

    /// Every RDS Proxy and each of its targets, one entry per (proxy, target):
    /// DescribeDBProxies, then DescribeDBProxyTargets per proxy (its default target group).
    /// A `TRACKED_CLUSTER` target that reports no health takes its writer's (the
    /// `RDS_INSTANCE` target with role `READ_WRITE` of that cluster).
    pub async fn proxy_targets(&self) -> Result<Vec<Proxy>, WorkerError> {
        let mut proxies = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_db_proxies()
                .set_marker(marker.clone())
                .send()
                .await
                .or_classify("rds:DescribeDBProxies")?;
            proxies.extend(out.db_proxies().iter().filter_map(|p| {
                Some((
                    p.db_proxy_name()?.to_string(),
                    p.engine_family().unwrap_or_default().to_string(),
                ))
            }));
            match out.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => break,
            }
        }
        let mut all = Vec::new();
        for (name, family) in proxies {
            let mut targets = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                let out = match self
                    .client
                    .describe_db_proxy_targets()
                    .db_proxy_name(&name)
                    .set_marker(marker.clone())
                    .send()
                    .await
                {
                    Ok(out) => out,
                    // Deleted between the two calls.
                    Err(e) if code_of(&e) == Some("DBProxyNotFoundFault") => break,
                    Err(e) => return Err(classify("rds:DescribeDBProxyTargets", &e)),
                };
                targets.extend(out.targets().iter().cloned());
                match out.marker() {
                    Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                    _ => break,
                }
            }
            let health = |t: &aws_sdk_rds::types::DbProxyTarget| {
                t.target_health().map(|h| {
                    (
                        h.state()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                        h.reason().map(|r| r.as_str().to_string()),
                    )
                })
            };
            for t in &targets {
                let Some(id) = t.rds_resource_id() else {
                    continue;
                };
                let is_cluster = t.r#type().map(|k| k.as_str()) == Some("TRACKED_CLUSTER");
                let (state, reason) = health(t)
                    .filter(|(s, _)| !s.is_empty())
                    .or_else(|| {
                        targets
                            .iter()
                            .filter(|_| is_cluster)
                            .find(|w| {
                                w.tracked_cluster_id() == Some(id)
                                    && w.role().map(|r| r.as_str()) == Some("READ_WRITE")
                            })
                            .and_then(health)
                    })
                    .unwrap_or_default();
                all.push(Proxy {
                    name: name.clone(),
                    engine_family: family.clone(),
                    target: id.to_string(),
                    target_endpoint: t.endpoint().map(str::to_string),
                    state,
                    reason,
                });
            }
        }
        Ok(all)
    }

    /// The custom endpoints of an Aurora cluster (DescribeDBClusterEndpoints with the
    /// `db-cluster-endpoint-type` filter `custom`).
    pub async fn custom_endpoints(
        &self,
        cluster: &str,
    ) -> Result<Vec<CustomEndpoint>, WorkerError> {
        let mut found = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_db_cluster_endpoints()
                .db_cluster_identifier(cluster)
                .filters(
                    Filter::builder()
                        .name("db-cluster-endpoint-type")
                        .values("custom")
                        .build(),
                )
                .set_marker(marker.clone())
                .send()
                .await
                .or_classify("rds:DescribeDBClusterEndpoints")?;
            found.extend(
                out.db_cluster_endpoints()
                    .iter()
                    .filter(|e| {
                        e.endpoint_type()
                            .is_some_and(|t| t.eq_ignore_ascii_case("CUSTOM"))
                    })
                    .map(|e| CustomEndpoint {
                        identifier: e
                            .db_cluster_endpoint_identifier()
                            .unwrap_or_default()
                            .to_string(),
                        endpoint_type: e.custom_endpoint_type().unwrap_or_default().to_string(),
                        static_members: e.static_members().to_vec(),
                        excluded_members: e.excluded_members().to_vec(),
                        arn: e.db_cluster_endpoint_arn().unwrap_or_default().to_string(),
                        // Not in this answer: `tags_of` reads them.
                        tags: BTreeMap::new(),
                        tags_unread: false,
                    }),
            );
            match out.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => return Ok(found),
            }
        }
    }

    /// The tags of any RDS resource by ARN (ListTagsForResource): for those whose describe
    /// call returns none, such as a custom endpoint.
    pub async fn tags_of(&self, arn: &str) -> Result<BTreeMap<String, String>, WorkerError> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
            .or_classify("rds:ListTagsForResource")?;
        Ok(tags_of(out.tag_list()))
    }

    /// The Aurora Global Database whose members include the cluster (DescribeGlobalClusters,
    /// every page: its only filter is `region`).
    pub async fn global_membership(
        &self,
        cluster_arn: &str,
    ) -> Result<Option<GlobalMembership>, WorkerError> {
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_global_clusters()
                .set_marker(marker.clone())
                .send()
                .await
                .or_classify("rds:DescribeGlobalClusters")?;
            for g in out.global_clusters() {
                let members = g.global_cluster_members();
                if let Some(me) = members
                    .iter()
                    .find(|m| m.db_cluster_arn() == Some(cluster_arn))
                {
                    return Ok(Some(GlobalMembership {
                        global_cluster: g
                            .global_cluster_identifier()
                            .unwrap_or_default()
                            .to_string(),
                        is_primary: me.is_writer().unwrap_or(false),
                        members: members
                            .iter()
                            .filter_map(|m| m.db_cluster_arn().map(str::to_string))
                            .collect(),
                    }));
                }
            }
            match out.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => return Ok(None),
            }
        }
    }

    /// The zero-ETL integrations whose `SourceArn` is the database (DescribeIntegrations,
    /// every page, matched here: the API reference names no filter).
    pub async fn integrations(&self, source_arn: &str) -> Result<Vec<Integration>, WorkerError> {
        let mut found = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_integrations()
                .set_marker(marker.clone())
                .send()
                .await
                .or_classify("rds:DescribeIntegrations")?;
            found.extend(
                out.integrations()
                    .iter()
                    .filter(|i| i.source_arn() == Some(source_arn))
                    .map(|i| Integration {
                        name: i.integration_name().unwrap_or_default().to_string(),
                        target: i.target_arn().unwrap_or_default().to_string(),
                        status: i
                            .status()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                    }),
            );
            match out.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => return Ok(found),
            }
        }
    }

    /// A major version's standard and Extended Support dates (DescribeDBMajorEngineVersions
    /// with Engine and MajorEngineVersion), as `YYYY-MM-DD`.
    pub async fn major_lifecycle(
        &self,
        engine: &Engine,
        major: &str,
    ) -> Result<Option<MajorLifecycle>, WorkerError> {
        let out = self
            .client
            .describe_db_major_engine_versions()
            .engine(engine.as_str())
            .major_engine_version(major)
            .send()
            .await
            .or_classify("rds:DescribeDBMajorEngineVersions")?;
        let day = |d: Option<&aws_sdk_rds::primitives::DateTime>| {
            d.and_then(|d| {
                d.fmt(aws_sdk_rds::primitives::DateTimeFormat::DateTime)
                    .ok()
            })
            .map(|s| s.chars().take(10).collect::<String>())
        };
        Ok(out
            .db_major_engine_versions()
            .iter()
            .find(|v| v.major_engine_version() == Some(major))
            .map(|v| {
                let mut l = MajorLifecycle {
                    engine: v.engine().unwrap_or_default().to_string(),
                    major: major.to_string(),
                    ..MajorLifecycle::default()
                };
                for life in v.supported_engine_lifecycles() {
                    match life.lifecycle_support_name().map(|n| n.as_str()) {
                        Some("open-source-rds-standard-support") => {
                            l.standard_support_ends = day(life.lifecycle_support_end_date());
                        }
                        Some("open-source-rds-extended-support") => {
                            l.extended_support_starts = day(life.lifecycle_support_start_date());
                            l.extended_support_ends = day(life.lifecycle_support_end_date());
                        }
                        _ => {}
                    }
                }
                l
            }))
    }

    /// Creates the deployment. `Ok(None)` when one with this name already exists (a race
    /// with another run, or a retry after a lost response): the caller adopts it.
    pub async fn create_deployment(
        &self,
        plan: &CreatePlan,
    ) -> Result<Option<DeploymentView>, WorkerError> {
        let tags: Vec<Tag> = plan
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        let result = self
            .client
            .create_blue_green_deployment()
            .blue_green_deployment_name(&plan.deployment_name)
            .source(&plan.source_arn)
            .target_engine_version(&plan.target_engine_version)
            .set_target_db_parameter_group_name(plan.target_db_parameter_group_name.clone())
            .set_target_db_cluster_parameter_group_name(
                plan.target_db_cluster_parameter_group_name.clone(),
            )
            .set_target_db_instance_class(plan.target_db_instance_class.clone())
            .set_tags(Some(tags))
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.blue_green_deployment().map(to_view)),
            Err(e) if code_of(&e) == Some("BlueGreenDeploymentAlreadyExistsFault") => Ok(None),
            Err(e) => Err(classify("rds:CreateBlueGreenDeployment", &e)),
        }
    }

    /// Statuses of the green members (instances or clusters) named by ARN, with each
    /// instance's class and pending class, and how far it is in loading its data
    /// (`PercentProgress`, a string; the newer `StorageOperationStatus` /
    /// `StorageOperationPercentProgress`); absent ones are reported as `missing`.
    pub async fn member_statuses(&self, arns: &[String]) -> Result<Vec<MemberStatus>, WorkerError> {
        let mut out = Vec::new();
        for arn in arns {
            let Some((kind, name)) = parse_member_arn(arn) else {
                continue;
            };
            let mut member = MemberStatus {
                arn: arn.clone(),
                status: "missing".into(),
                ..MemberStatus::default()
            };
            match kind {
                DbKind::Instance => {
                    if let Some(db) = self.describe_instance(&name).await? {
                        member.status = db.db_instance_status().unwrap_or_default().to_string();
                        member.instance_class = db.db_instance_class().map(str::to_string);
                        member.pending_instance_class = db
                            .pending_modified_values()
                            .and_then(|p| p.db_instance_class())
                            .map(str::to_string);
                        member.storage_operation =
                            db.storage_operation_status().map(str::to_string);
                        member.percent_progress = db
                            .percent_progress()
                            .and_then(parse_percent)
                            .or(db.storage_operation_percent_progress().map(f64::from));
                    }
                }
                DbKind::Cluster => {
                    if let Some(c) = self.describe_cluster(&name).await? {
                        member.status = c.status().unwrap_or_default().to_string();
                    }
                }
            }
            out.push(member);
        }
        Ok(out)
    }

    /// Modifies an instance's class now (Aurora green instances before the switchover).
    pub async fn modify_instance_class(&self, id: &str, class: &str) -> Result<(), WorkerError> {
        self.client
            .modify_db_instance()
            .db_instance_identifier(id)
            .db_instance_class(class)
            .apply_immediately(true)
            .send()
            .await
            .or_classify("rds:ModifyDBInstance")
            .map(|_| ())
    }

    /// Adds (or overwrites) tags on an instance or cluster by ARN.
    pub async fn add_tags(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), WorkerError> {
        let tags: Vec<Tag> = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        self.client
            .add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .or_classify("rds:AddTagsToResource")
            .map(|_| ())
    }

    pub async fn switchover(
        &self,
        deployment_id: &str,
        timeout_seconds: u32,
    ) -> Result<(), WorkerError> {
        // One attempt: the SDK would send the call again after a 500 or a lost answer, which is
        // a second switchover request. The worker finds out what RDS did (it describes the
        // deployment before it asks) when the state machine retries the step.
        self.client
            .switchover_blue_green_deployment()
            .blue_green_deployment_identifier(deployment_id)
            .switchover_timeout(timeout_seconds as i32)
            .customize()
            .config_override(
                aws_sdk_rds::config::Builder::default()
                    .retry_config(aws_sdk_rds::config::retry::RetryConfig::disabled()),
            )
            .send()
            .await
            .or_classify("rds:SwitchoverBlueGreenDeployment")
            .map(|_| ())
    }

    /// Deletes the deployment record; with `delete_target` also green (only before switchover).
    /// `Ok(false)` when it was already gone.
    pub async fn delete_deployment(
        &self,
        deployment_id: &str,
        delete_target: bool,
    ) -> Result<bool, WorkerError> {
        let mut call = self
            .client
            .delete_blue_green_deployment()
            .blue_green_deployment_identifier(deployment_id);
        if delete_target {
            call = call.delete_target(true);
        }
        match call.send().await {
            Ok(_) => Ok(true),
            Err(e) if code_of(&e) == Some("BlueGreenDeploymentNotFoundFault") => Ok(false),
            Err(e) => Err(classify("rds:DeleteBlueGreenDeployment", &e)),
        }
    }

    pub async fn disable_deletion_protection(
        &self,
        kind: DbKind,
        id: &str,
    ) -> Result<(), WorkerError> {
        match kind {
            DbKind::Instance => self
                .client
                .modify_db_instance()
                .db_instance_identifier(id)
                .deletion_protection(false)
                .apply_immediately(true)
                .send()
                .await
                .or_classify("rds:ModifyDBInstance")
                .map(|_| ()),
            DbKind::Cluster => self
                .client
                .modify_db_cluster()
                .db_cluster_identifier(id)
                .deletion_protection(false)
                .apply_immediately(true)
                .send()
                .await
                .or_classify("rds:ModifyDBCluster")
                .map(|_| ()),
        }
    }

    /// Starts a manual snapshot; `Ok(false)` when one with this id already exists.
    pub async fn create_snapshot(
        &self,
        kind: DbKind,
        db_id: &str,
        snapshot_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<bool, WorkerError> {
        let tags: Vec<Tag> = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        match kind {
            DbKind::Instance => match self
                .client
                .create_db_snapshot()
                .db_instance_identifier(db_id)
                .db_snapshot_identifier(snapshot_id)
                .set_tags(Some(tags))
                .send()
                .await
            {
                Ok(_) => Ok(true),
                Err(e) if code_of(&e) == Some("DBSnapshotAlreadyExists") => Ok(false),
                Err(e) => Err(classify("rds:CreateDBSnapshot", &e)),
            },
            DbKind::Cluster => match self
                .client
                .create_db_cluster_snapshot()
                .db_cluster_identifier(db_id)
                .db_cluster_snapshot_identifier(snapshot_id)
                .set_tags(Some(tags))
                .send()
                .await
            {
                Ok(_) => Ok(true),
                Err(e) if code_of(&e) == Some("DBClusterSnapshotAlreadyExistsFault") => Ok(false),
                Err(e) => Err(classify("rds:CreateDBClusterSnapshot", &e)),
            },
        }
    }

    /// The snapshot's status (`creating`, `available`, ...), or `None` when it does not exist.
    pub async fn snapshot_status(
        &self,
        kind: DbKind,
        snapshot_id: &str,
    ) -> Result<Option<String>, WorkerError> {
        match kind {
            DbKind::Instance => match self
                .client
                .describe_db_snapshots()
                .db_snapshot_identifier(snapshot_id)
                .send()
                .await
            {
                Ok(out) => Ok(out
                    .db_snapshots()
                    .first()
                    .and_then(|s| s.status())
                    .map(str::to_string)),
                Err(e) if code_of(&e) == Some("DBSnapshotNotFound") => Ok(None),
                Err(e) => Err(classify("rds:DescribeDBSnapshots", &e)),
            },
            DbKind::Cluster => match self
                .client
                .describe_db_cluster_snapshots()
                .db_cluster_snapshot_identifier(snapshot_id)
                .send()
                .await
            {
                Ok(out) => Ok(out
                    .db_cluster_snapshots()
                    .first()
                    .and_then(|s| s.status())
                    .map(str::to_string)),
                Err(e) if code_of(&e) == Some("DBClusterSnapshotNotFoundFault") => Ok(None),
                Err(e) => Err(classify("rds:DescribeDBClusterSnapshots", &e)),
            },
        }
    }

    /// Deletes an instance or an (empty) cluster without a final snapshot: callers take
    /// their own snapshot first, or the request said not to. `Ok(false)` when already gone.
    pub async fn delete_db(&self, kind: DbKind, id: &str) -> Result<bool, WorkerError> {
        match kind {
            DbKind::Instance => match self
                .client
                .delete_db_instance()
                .db_instance_identifier(id)
                .skip_final_snapshot(true)
                .delete_automated_backups(false)
                .send()
                .await
            {
                Ok(_) => Ok(true),
                Err(e)
                    if code_of(&e) == Some("DBInstanceNotFound")
                        || code_of(&e) == Some("DBInstanceNotFoundFault") =>
                {
                    Ok(false)
                }
                // The SDK retried a delete whose first answer was lost and RDS had started it.
                Err(e) if code_of(&e) == Some("InvalidDBInstanceState") => {
                    match self.describe_instance(id).await? {
                        Some(db)
                            if db
                                .db_instance_status()
                                .unwrap_or_default()
                                .eq_ignore_ascii_case("deleting") =>
                        {
                            Ok(false)
                        }
                        _ => Err(classify("rds:DeleteDBInstance", &e)),
                    }
                }
                Err(e) => Err(classify("rds:DeleteDBInstance", &e)),
            },
            DbKind::Cluster => match self
                .client
                .delete_db_cluster()
                .db_cluster_identifier(id)
                .skip_final_snapshot(true)
                .send()
                .await
            {
                Ok(_) => Ok(true),
                Err(e) if code_of(&e) == Some("DBClusterNotFoundFault") => Ok(false),
                Err(e) if code_of(&e) == Some("InvalidDBClusterStateFault") => {
                    match self.describe_cluster(id).await? {
                        Some(c)
                            if c.status()
                                .unwrap_or_default()
                                .eq_ignore_ascii_case("deleting") =>
                        {
                            Ok(false)
                        }
                        _ => Err(classify("rds:DeleteDBCluster", &e)),
                    }
                }
                Err(e) => Err(classify("rds:DeleteDBCluster", &e)),
            },
        }
    }
}
