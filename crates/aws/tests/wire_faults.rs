//! Every adapter operation against AWS trouble on the wire: HTTP 500/503, a proxy's 502 page,
//! a reset connection, a connect timeout, no answer at all, each in the service's own
//! protocol and through the SDK's own parsing. Each becomes the retryable `AwsUnavailable`
//! naming the AWS call; throttling becomes `Throttled`; the not-found answers each adapter
//! maps to `Ok(None)` / `Ok(false)` do so; an error retrying will not fix is
//! `AwsRequestFailed`. The calls rbg makes keep the call's `AwsError`: rbg reads trouble on
//! the way as an endpoint out of reach. (How the workers behave on these errors:
//! crates/workers/tests/faults.rs.)

mod wire;

use aws_sdk_rds::operation::delete_db_instance::DeleteDbInstanceOutput;
use aws_sdk_rds::operation::describe_db_clusters::DescribeDbClustersOutput;
use aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput;
use bluegreen_aws::ports::{Datum, Stat, Unit};
use bluegreen_aws::sfn::HistoryQuery;
use bluegreen_aws::{AutoScaling, AwsError, Clients, Dms, Executions, Fault, Kms, Secrets, Stacks};
use bluegreen_domain::model::db::{DbKind, DbRef};
use bluegreen_domain::model::engine::Engine;
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::plan::CreatePlan;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};
use wire::mock::{mock, Rule};
use wire::*;

type Outcome = Result<(), WorkerError>;
type Run = Box<dyn Fn(Adapters) -> Pin<Box<dyn Future<Output = Outcome>>>>;

/// Every adapter, its client answered by the same rules.
struct Adapters {
    clients: Clients,
    executions: Executions,
    dms: Dms,
    kms: Kms,
    scaling: AutoScaling,
    stacks: Stacks,
    secrets: Secrets,
}

impl Adapters {
    fn over(rules: &[Rule]) -> Self {
        Self {
            clients: clients(rules),
            executions: executions(rules),
            dms: dms(rules),
            kms: kms(rules),
            scaling: scaling(rules),
            stacks: stacks(rules),
            secrets: secrets(rules),
        }
    }
}

/// One adapter call, and the AWS operation of it that fails (`healthy` answers the calls it
/// makes before that one).
struct Case {
    call: &'static str,
    op: &'static str,
    healthy: fn() -> Vec<Rule>,
    run: Run,
}

/// A call's outcome as the workers read it (a call that returns the `AwsError` it read, as
/// the ones rbg makes do, is one `From` away).
fn outcome<Fut, E>(call: Fut) -> Pin<Box<dyn Future<Output = Outcome>>>
where
    Fut: Future<Output = Result<(), E>> + 'static,
    E: Into<WorkerError>,
{
    Box::pin(async move { call.await.map_err(Into::into) })
}

fn case<F, Fut, E>(call: &'static str, op: &'static str, healthy: fn() -> Vec<Rule>, run: F) -> Case
where
    F: Fn(Clients, Executions) -> Fut + 'static,
    Fut: Future<Output = Result<(), E>> + 'static,
    E: Into<WorkerError>,
{
    Case {
        call,
        op,
        healthy,
        run: Box::new(move |a| outcome(run(a.clients, a.executions))),
    }
}

/// A case of the DMS adapter (the precheck's own client).
fn dms_case<F, Fut>(
    call: &'static str,
    op: &'static str,
    healthy: fn() -> Vec<Rule>,
    run: F,
) -> Case
where
    F: Fn(Dms) -> Fut + 'static,
    Fut: Future<Output = Outcome> + 'static,
{
    Case {
        call,
        op,
        healthy,
        run: Box::new(move |a| outcome(run(a.dms))),
    }
}

/// A case of the KMS adapter (the precheck's own client).
fn kms_case<F, Fut>(call: &'static str, op: &'static str, run: F) -> Case
where
    F: Fn(Kms) -> Fut + 'static,
    Fut: Future<Output = Outcome> + 'static,
{
    Case {
        call,
        op,
        healthy: nothing,
        run: Box::new(move |a| outcome(run(a.kms))),
    }
}

/// A case of the Application Auto Scaling adapter (the precheck's own client).
fn scaling_case<F, Fut>(
    call: &'static str,
    op: &'static str,
    healthy: fn() -> Vec<Rule>,
    run: F,
) -> Case
where
    F: Fn(AutoScaling) -> Fut + 'static,
    Fut: Future<Output = Outcome> + 'static,
{
    Case {
        call,
        op,
        healthy,
        run: Box::new(move |a| outcome(run(a.scaling))),
    }
}

/// A case of the CloudFormation adapter (rbg's).
fn stacks_case<F, Fut>(call: &'static str, op: &'static str, run: F) -> Case
where
    F: Fn(Stacks) -> Fut + 'static,
    Fut: Future<Output = Result<(), AwsError>> + 'static,
{
    Case {
        call,
        op,
        healthy: nothing,
        run: Box::new(move |a| outcome(run(a.stacks))),
    }
}

/// A case of the Secrets Manager adapter (the sql worker's).
fn secrets_case<F, Fut>(call: &'static str, op: &'static str, run: F) -> Case
where
    F: Fn(Secrets) -> Fut + 'static,
    Fut: Future<Output = Result<(), AwsError>> + 'static,
{
    Case {
        call,
        op,
        healthy: nothing,
        run: Box::new(move |a| outcome(run(a.secrets))),
    }
}

/// `ledger`'s replica-count target: its policies are read next.
fn a_scalable_target() -> Vec<Rule> {
    use aws_sdk_applicationautoscaling::operation::describe_scalable_targets::DescribeScalableTargetsOutput;
    use aws_sdk_applicationautoscaling::types::{
        ScalableDimension, ScalableTarget, ServiceNamespace,
    };
    vec![
        mock!(aws_sdk_applicationautoscaling::Client::describe_scalable_targets).then_output(|| {
            DescribeScalableTargetsOutput::builder()
                .scalable_targets(
                    ScalableTarget::builder()
                        .service_namespace(ServiceNamespace::Rds)
                        .resource_id("cluster:ledger")
                        .scalable_dimension(ScalableDimension::RdsClusterReadReplicaCount)
                        .min_capacity(1)
                        .max_capacity(4)
                        .role_arn("arn:aws:iam::123456789012:role/aws-service-role/rds.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_RDSCluster")
                        .creation_time(aws_smithy_types::DateTime::from_secs(0))
                        .build()
                        .expect("a target"),
                )
                .build()
        }),
    ]
}

fn a_dms_endpoint() -> Vec<Rule> {
    vec![mock!(aws_sdk_databasemigration::Client::describe_endpoints).then_output(|| {
        aws_sdk_databasemigration::operation::describe_endpoints::DescribeEndpointsOutput::builder().build()
    })]
}

/// One RDS Proxy: its targets are read next.
fn a_proxy() -> Vec<Rule> {
    use aws_sdk_rds::operation::describe_db_proxies::DescribeDbProxiesOutput;
    use aws_sdk_rds::types::DbProxy;
    vec![
        mock!(aws_sdk_rds::Client::describe_db_proxies).then_output(|| {
            DescribeDbProxiesOutput::builder()
                .db_proxies(
                    DbProxy::builder()
                        .db_proxy_name("orders-proxy")
                        .engine_family("POSTGRESQL")
                        .build(),
                )
                .build()
        }),
    ]
}

fn nothing() -> Vec<Rule> {
    Vec::new()
}

fn no_instance() -> Vec<Rule> {
    vec![refuse("rds:DescribeDBInstances", 404, "DBInstanceNotFound")]
}

fn the_instance() -> Vec<Rule> {
    vec![
        mock!(aws_sdk_rds::Client::describe_db_instances).then_output(|| {
            DescribeDbInstancesOutput::builder()
                .db_instances(instance(DB, "13.15", BLUE_RID))
                .build()
        }),
    ]
}

fn no_instances_listed() -> Vec<Rule> {
    vec![mock!(aws_sdk_rds::Client::describe_db_instances)
        .then_output(|| DescribeDbInstancesOutput::builder().build())]
}

fn a_cluster_without_members() -> Vec<Rule> {
    vec![
        mock!(aws_sdk_rds::Client::describe_db_clusters).then_output(|| {
            DescribeDbClustersOutput::builder()
                .db_clusters(cluster("ledger", "13.15", &[]))
                .build()
        }),
    ]
}

fn delete_already_started() -> Vec<Rule> {
    vec![refuse(
        "rds:DeleteDBInstance",
        400,
        "InvalidDBInstanceState",
    )]
}

fn cluster_delete_already_started() -> Vec<Rule> {
    vec![refuse(
        "rds:DeleteDBCluster",
        400,
        "InvalidDBClusterStateFault",
    )]
}

fn plan() -> CreatePlan {
    CreatePlan {
        deployment_name: DEPLOYMENT_NAME.into(),
        source_arn: SOURCE_ARN.into(),
        target_engine_version: "16.4".into(),
        is_major_upgrade: true,
        target_db_parameter_group_name: Some("orders-pg16".into()),
        target_db_cluster_parameter_group_name: None,
        target_db_instance_class: None,
        green_instance_class: None,
        tags: BTreeMap::from([("bluegreen:managed-by".into(), "rds-bluegreen".into())]),
    }
}

fn marker() -> BTreeMap<String, String> {
    BTreeMap::from([("bluegreen:old-blue-of".into(), DB.into())])
}

fn name(n: &str) -> DbRef {
    DbRef::parse(n).expect("a valid reference")
}

/// Every adapter call, each AWS operation it makes.
fn cases() -> Vec<Case> {
    use DbKind::{Cluster, Instance};
    vec![
        case(
            "find_source",
            "rds:DescribeDBInstances",
            nothing,
            |c, _| async move { c.rds.find_source(&name(DB)).await.map(drop) },
        ),
        case(
            "find_source (no such instance)",
            "rds:DescribeDBClusters",
            no_instance,
            |c, _| async move { c.rds.find_source(&name(DB)).await.map(drop) },
        ),
        case(
            "find_source (its parameters)",
            "rds:DescribeDBParameters",
            the_instance,
            |c, _| async move { c.rds.find_source(&name(DB)).await.map(drop) },
        ),
        case(
            "find_source (a cluster's parameters)",
            "rds:DescribeDBClusterParameters",
            a_cluster_without_members,
            |c, _| async move {
                c.rds
                    .find_source(&name(&cluster_arn_of("ledger")))
                    .await
                    .map(drop)
            },
        ),
        case(
            "describe instance",
            "rds:DescribeDBInstances",
            nothing,
            |c, _| async move { c.rds.describe(Instance, DB).await.map(drop) },
        ),
        case(
            "describe cluster",
            "rds:DescribeDBClusters",
            nothing,
            |c, _| async move { c.rds.describe(Cluster, "ledger").await.map(drop) },
        ),
        case(
            "describe_by_resource_id instance",
            "rds:DescribeDBInstances",
            nothing,
            |c, _| async move {
                c.rds
                    .describe_by_resource_id(Instance, BLUE_RID)
                    .await
                    .map(drop)
            },
        ),
        case(
            "describe_by_resource_id cluster",
            "rds:DescribeDBClusters",
            nothing,
            |c, _| async move {
                c.rds
                    .describe_by_resource_id(Cluster, "cluster-LEDGER")
                    .await
                    .map(drop)
            },
        ),
        case(
            "parameters",
            "rds:DescribeDBParameters",
            nothing,
            |c, _| async move { c.rds.parameters("orders-pg13", false).await.map(drop) },
        ),
        case(
            "parameters (cluster)",
            "rds:DescribeDBClusterParameters",
            nothing,
            |c, _| async move { c.rds.parameters("ledger-apg13", true).await.map(drop) },
        ),
        case(
            "engine_version",
            "rds:DescribeDBEngineVersions",
            nothing,
            |c, _| async move {
                c.rds
                    .engine_version(&Engine::Postgres, "13.15")
                    .await
                    .map(drop)
            },
        ),
        case(
            "parameter_group",
            "rds:DescribeDBParameterGroups",
            nothing,
            |c, _| async move { c.rds.parameter_group("orders-pg16", false).await.map(drop) },
        ),
        case(
            "parameter_group (cluster)",
            "rds:DescribeDBClusterParameterGroups",
            nothing,
            |c, _| async move { c.rds.parameter_group("ledger-apg16", true).await.map(drop) },
        ),
        case(
            "deployments_for_source",
            "rds:DescribeBlueGreenDeployments",
            nothing,
            |c, _| async move { c.rds.deployments_for_source(SOURCE_ARN).await.map(drop) },
        ),
        case(
            "deployment_by_name",
            "rds:DescribeBlueGreenDeployments",
            nothing,
            |c, _| async move { c.rds.deployment_by_name(DEPLOYMENT_NAME).await.map(drop) },
        ),
        case(
            "all_deployments",
            "rds:DescribeBlueGreenDeployments",
            nothing,
            |c, _| async move { c.rds.all_deployments().await.map(drop) },
        ),
        case(
            "fleet_candidates",
            "rds:DescribeDBInstances",
            nothing,
            |c, _| async move { c.rds.fleet_candidates().await.map(drop) },
        ),
        case(
            "fleet_candidates (the clusters)",
            "rds:DescribeDBClusters",
            no_instances_listed,
            |c, _| async move { c.rds.fleet_candidates().await.map(drop) },
        ),
        case(
            "pending_maintenance",
            "rds:DescribePendingMaintenanceActions",
            nothing,
            |c, _| async move { c.rds.pending_maintenance(SOURCE_ARN).await.map(drop) },
        ),
        case(
            "tags_of",
            "rds:ListTagsForResource",
            nothing,
            |c, _| async move {
                c.rds
                    .tags_of("arn:aws:rds:us-east-1:123456789012:cluster-endpoint:reporting")
                    .await
                    .map(drop)
            },
        ),
        case(
            "proxy_targets",
            "rds:DescribeDBProxies",
            nothing,
            |c, _| async move { c.rds.proxy_targets().await.map(drop) },
        ),
        case(
            "proxy_targets (a proxy's targets)",
            "rds:DescribeDBProxyTargets",
            a_proxy,
            |c, _| async move { c.rds.proxy_targets().await.map(drop) },
        ),
        case(
            "custom_endpoints",
            "rds:DescribeDBClusterEndpoints",
            nothing,
            |c, _| async move { c.rds.custom_endpoints("ledger").await.map(drop) },
        ),
        case(
            "global_membership",
            "rds:DescribeGlobalClusters",
            nothing,
            |c, _| async move {
                c.rds
                    .global_membership(&cluster_arn_of("ledger"))
                    .await
                    .map(drop)
            },
        ),
        case(
            "integrations",
            "rds:DescribeIntegrations",
            nothing,
            |c, _| async move { c.rds.integrations(SOURCE_ARN).await.map(drop) },
        ),
        case(
            "major_lifecycle",
            "rds:DescribeDBMajorEngineVersions",
            nothing,
            |c, _| async move {
                c.rds
                    .major_lifecycle(&Engine::Postgres, "13")
                    .await
                    .map(drop)
            },
        ),
        case(
            "create_deployment",
            "rds:CreateBlueGreenDeployment",
            nothing,
            |c, _| async move { c.rds.create_deployment(&plan()).await.map(drop) },
        ),
        case(
            "member_statuses (instance)",
            "rds:DescribeDBInstances",
            nothing,
            |c, _| async move { c.rds.member_statuses(&[GREEN_ARN.into()]).await.map(drop) },
        ),
        case(
            "member_statuses (cluster)",
            "rds:DescribeDBClusters",
            nothing,
            |c, _| async move {
                c.rds
                    .member_statuses(&[cluster_arn_of("ledger-green")])
                    .await
                    .map(drop)
            },
        ),
        case(
            "modify_instance_class",
            "rds:ModifyDBInstance",
            nothing,
            |c, _| async move { c.rds.modify_instance_class(GREEN, "db.r6g.2xlarge").await },
        ),
        case(
            "add_tags",
            "rds:AddTagsToResource",
            nothing,
            |c, _| async move { c.rds.add_tags(&arn_of("orders-pg-old1"), &marker()).await },
        ),
        case(
            "switchover",
            "rds:SwitchoverBlueGreenDeployment",
            nothing,
            |c, _| async move { c.rds.switchover(DEPLOYMENT_ID, 300).await },
        ),
        case(
            "delete_deployment",
            "rds:DeleteBlueGreenDeployment",
            nothing,
            |c, _| async move { c.rds.delete_deployment(DEPLOYMENT_ID, true).await.map(drop) },
        ),
        case(
            "disable_deletion_protection instance",
            "rds:ModifyDBInstance",
            nothing,
            |c, _| async move { c.rds.disable_deletion_protection(Instance, GREEN).await },
        ),
        case(
            "disable_deletion_protection cluster",
            "rds:ModifyDBCluster",
            nothing,
            |c, _| async move {
                c.rds
                    .disable_deletion_protection(Cluster, "ledger-old1")
                    .await
            },
        ),
        case(
            "create_snapshot instance",
            "rds:CreateDBSnapshot",
            nothing,
            |c, _| async move {
                c.rds
                    .create_snapshot(Instance, "orders-pg-old1", "rbg-final", &marker())
                    .await
                    .map(drop)
            },
        ),
        case(
            "create_snapshot cluster",
            "rds:CreateDBClusterSnapshot",
            nothing,
            |c, _| async move {
                c.rds
                    .create_snapshot(Cluster, "ledger-old1", "rbg-final", &marker())
                    .await
                    .map(drop)
            },
        ),
        case(
            "snapshot_status instance",
            "rds:DescribeDBSnapshots",
            nothing,
            |c, _| async move { c.rds.snapshot_status(Instance, "rbg-final").await.map(drop) },
        ),
        case(
            "snapshot_status cluster",
            "rds:DescribeDBClusterSnapshots",
            nothing,
            |c, _| async move { c.rds.snapshot_status(Cluster, "rbg-final").await.map(drop) },
        ),
        case(
            "delete_db instance",
            "rds:DeleteDBInstance",
            nothing,
            |c, _| async move { c.rds.delete_db(Instance, "orders-pg-old1").await.map(drop) },
        ),
        case(
            "delete_db instance (already being deleted?)",
            "rds:DescribeDBInstances",
            delete_already_started,
            |c, _| async move { c.rds.delete_db(Instance, "orders-pg-old1").await.map(drop) },
        ),
        case(
            "delete_db cluster",
            "rds:DeleteDBCluster",
            nothing,
            |c, _| async move { c.rds.delete_db(Cluster, "ledger-old1").await.map(drop) },
        ),
        case(
            "delete_db cluster (already being deleted?)",
            "rds:DescribeDBClusters",
            cluster_delete_already_started,
            |c, _| async move { c.rds.delete_db(Cluster, "ledger-old1").await.map(drop) },
        ),
        case(
            "rds_statistic",
            "cloudwatch:GetMetricStatistics",
            nothing,
            |c, _| async move {
                c.metrics
                    .rds_statistic(
                        "ReplicaLag",
                        &[("DBInstanceIdentifier", GREEN)],
                        Stat::Maximum,
                        Duration::from_secs(300),
                        SystemTime::now(),
                    )
                    .await
                    .map(drop)
            },
        ),
        case(
            "put",
            "cloudwatch:PutMetricData",
            nothing,
            |c, _| async move {
                c.metrics
                    .put(
                        "RdsBlueGreen",
                        vec![Datum::new(
                            "Remediations",
                            1.0,
                            Unit::Count,
                            &[("DBIdentifier", DB)],
                            SystemTime::now(),
                        )],
                    )
                    .await
            },
        ),
        case("publish", "sns:Publish", nothing, |c, _| async move {
            c.notifier
                .publish(TOPIC_ARN, "subject", "{}", &[("milestone", "started")])
                .await
                .map(drop)
        }),
        case(
            "start",
            "states:StartExecution",
            nothing,
            |_, x| async move { x.start(MACHINE, "wave-1-u0001", "{}").await.map(drop) },
        ),
        case(
            "status",
            "states:DescribeExecution",
            nothing,
            |_, x| async move {
                x.status(&bluegreen_aws::sfn::execution_arn(MACHINE, "wave-1-u0001"))
                    .await
                    .map(drop)
            },
        ),
        dms_case(
            "dms endpoints",
            "dms:DescribeEndpoints",
            nothing,
            |d| async move { d.endpoints().await.map(drop) },
        ),
        dms_case(
            "dms tasks",
            "dms:DescribeReplicationTasks",
            a_dms_endpoint,
            |d| async move { d.tasks_using(&["arn:A".into()]).await.map(drop) },
        ),
        kms_case("key_manager", "kms:DescribeKey", |k| async move {
            k.key_manager(KEY_ARN).await.map(drop)
        }),
        scaling_case(
            "cluster_targets",
            "application-autoscaling:DescribeScalableTargets",
            nothing,
            |s| async move { s.cluster_targets("ledger").await.map(drop) },
        ),
        scaling_case(
            "cluster_targets policies",
            "application-autoscaling:DescribeScalingPolicies",
            a_scalable_target,
            |s| async move { s.cluster_targets("ledger").await.map(drop) },
        ),
        // rbg's and the sql worker's calls.
        case(
            "describe_with_connection",
            "rds:DescribeDBInstances",
            nothing,
            |c, _| async move { c.rds.describe_with_connection(Instance, DB).await.map(drop) },
        ),
        case(
            "deployment",
            "rds:DescribeBlueGreenDeployments",
            nothing,
            |c, _| async move { c.rds.deployment(DEPLOYMENT_ID).await.map(drop) },
        ),
        case(
            "start_execution",
            "states:StartExecution",
            nothing,
            |_, x| async move { x.start_execution(MACHINE, None, "{}").await.map(drop) },
        ),
        case(
            "describe execution",
            "states:DescribeExecution",
            nothing,
            |_, x| async move { x.describe(EXECUTION).await.map(drop) },
        ),
        case(
            "history",
            "states:GetExecutionHistory",
            nothing,
            |_, x| async move { x.history(EXECUTION, history_page()).await.map(drop) },
        ),
        case(
            "list",
            "states:ListExecutions",
            nothing,
            |_, x| async move { x.list(MACHINE, true, 100).await.map(drop) },
        ),
        case(
            "send_task_success",
            "states:SendTaskSuccess",
            nothing,
            |_, x| async move { x.send_task_success("token", "{}").await },
        ),
        case(
            "send_task_failure",
            "states:SendTaskFailure",
            nothing,
            |_, x| async move { x.send_task_failure("token", "Rejected", "no").await },
        ),
        stacks_case("outputs", "cloudformation:DescribeStacks", |s| async move {
            s.outputs("rds-bluegreen").await.map(drop)
        }),
        secrets_case(
            "secret_string",
            "secretsmanager:GetSecretValue",
            |s| async move { s.secret_string(SECRET_ARN).await.map(drop) },
        ),
    ]
}

const EXECUTION: &str =
    "arn:aws:states:us-east-1:123456789012:execution:rds-bluegreen-upgrade:orders-pg-upgrade";
const SECRET_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-pg-AbCdEf";

fn history_page() -> HistoryQuery<'static> {
    HistoryQuery {
        max_results: 100,
        newest_first: true,
        with_data: true,
        next_token: None,
    }
}

/// Where the stack's permissions are kept: each function's row names the IAM action of every
/// API operation its code calls.
const PERMISSIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/permissions.yaml");

/// Actions a function's `calls:` may name that are no API operation made through this crate:
/// each with the reason.
const NOT_AN_ADAPTER_CALL: [(&str, &str); 1] = [(
    "rds-db:connect",
    "IAM database authentication: the token is signed locally (rds::auth_token), not sent",
)];

/// Every AWS operation the functions call: the `calls:` keys of each row of `functions:` in
/// infra/permissions.yaml (not `on_behalf:`, which AWS checks while it carries out a call,
/// nor `optional:`, nor the state machines' and triggers' rows). The file's shape is simple
/// enough to read line by line: a section at column 0, a function at 2, its blocks at 4, an
/// action at 6.
fn function_operations() -> Vec<String> {
    let text = std::fs::read_to_string(PERMISSIONS)
        .unwrap_or_else(|e| panic!("reading {PERMISSIONS}: {e}"));
    let mut ops: Vec<String> = Vec::new();
    let (mut section, mut block) = (String::new(), String::new());
    for line in text.lines() {
        let content = line.split('#').next().unwrap_or_default().trim_end();
        if content.trim().is_empty() {
            continue;
        }
        let indent = content.len() - content.trim_start().len();
        let key = content
            .trim_start()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        match indent {
            0 => section = key,
            2 => block.clear(),
            4 => block = key,
            6 if section == "functions" && block == "calls" => {
                // `service:Operation: [resource types]`: the key is the text before `: `.
                let (action, _) = content
                    .trim_start()
                    .split_once(": ")
                    .unwrap_or_else(|| panic!("{PERMISSIONS}: not an action row: {line:?}"));
                let action = action.to_string();
                let excepted = NOT_AN_ADAPTER_CALL.iter().any(|(a, _)| *a == action);
                if !excepted && !ops.contains(&action) {
                    ops.push(action);
                }
            }
            6 => {}
            _ => panic!("{PERMISSIONS}: a line of a shape this reader does not know: {line:?}"),
        }
    }
    // The reader found the rows: the actions the functions are known to call, and none of the
    // rows it skips.
    assert!(ops.len() >= 38, "only {} actions read: {ops:?}", ops.len());
    for known in [
        "rds:CreateBlueGreenDeployment",
        "rds:SwitchoverBlueGreenDeployment",
        "rds:DescribeIntegrations",
        "sns:Publish",
        "states:StartExecution",
        "application-autoscaling:DescribeScalingPolicies",
    ] {
        assert!(ops.iter().any(|o| o == known), "{known} not read: {ops:?}");
    }
    for skipped in [
        "logs:CreateLogStream",       // every_function
        "rds:CreateDBInstance",       // on_behalf
        "kms:CreateGrant",            // optional
        "lambda:InvokeFunction",      // state_machines
        "ec2:CreateNetworkInterface", // on_behalf
    ] {
        assert!(!ops.iter().any(|o| o == skipped), "{skipped} read: {ops:?}");
    }
    ops
}

/// Runs every case with the failing operation answered by `answer`; what each ended with.
async fn each_case(answer: impl Fn(&str) -> Rule) -> Vec<(String, &'static str, Outcome)> {
    let mut out = Vec::new();
    for case in cases() {
        let mut rules = (case.healthy)();
        rules.push(answer(case.op));
        let result = (case.run)(Adapters::over(&rules)).await;
        out.push((format!("{} ({})", case.call, case.op), case.op, result));
    }
    out
}

#[track_caller]
fn assert_error(case: &str, op: &str, result: &Outcome, name: &str) -> String {
    let err = match result {
        Ok(()) => panic!("{case}: succeeded, expected {name}"),
        Err(e) => e,
    };
    assert_eq!(err.name(), name, "{case}: {err}");
    assert!(err.to_string().contains(op), "{case}: {err}");
    err.to_string()
}

#[test]
fn every_aws_operation_of_every_adapter_is_swept() {
    let swept: Vec<&str> = cases().iter().map(|c| c.op).collect();
    let called = function_operations();
    let unswept: Vec<&String> = called
        .iter()
        .filter(|op| !swept.contains(&op.as_str()))
        .collect();
    assert!(
        unswept.is_empty(),
        "called by a function (infra/permissions.yaml) and not swept: {unswept:?}"
    );
    // And no case sweeps an operation that nothing calls: each is a function's or rbg's.
    for op in &swept {
        assert!(
            called.iter().any(|c| c == op) || OPERATOR_OPS.contains(op),
            "{op} is swept but neither a function (infra/permissions.yaml) nor rbg calls it"
        );
    }
}

#[tokio::test]
async fn every_wire_fault_on_every_call_is_a_retryable_aws_unavailable_naming_it() {
    let mut rows = 0;
    for f in WireFault::ALL {
        for (case, op, result) in each_case(|op| fault(op, f)).await {
            let case = format!("{case} {f:?}");
            assert_error(&case, op, &result, "AwsUnavailable");
            assert!(result.unwrap_err().is_transient(), "{case}");
            rows += 1;
        }
    }
    assert_eq!(rows, cases().len() * WireFault::ALL.len());
}

#[tokio::test]
async fn throttling_on_every_call_is_throttled() {
    for (status, code) in [
        (400, "Throttling"),
        (400, "ThrottlingException"),
        (400, "RequestLimitExceeded"),
        (429, "TooManyRequestsException"),
    ] {
        for (case, op, result) in each_case(|op| refuse(op, status, code)).await {
            let msg = assert_error(&format!("{case} {code}"), op, &result, "Throttled");
            assert!(msg.contains("backoff"), "{msg}");
        }
    }
}

#[tokio::test]
async fn aws_timing_out_reading_the_request_is_retried() {
    for (case, op, result) in each_case(|op| refuse(op, 400, "RequestTimeout")).await {
        assert_error(&case, op, &result, "AwsUnavailable");
    }
}

#[tokio::test]
async fn an_error_retrying_will_not_fix_is_aws_request_failed_on_every_call() {
    for (case, op, result) in each_case(|op| refuse(op, 400, "InvalidParameterValue")).await {
        let msg = assert_error(&case, op, &result, "AwsRequestFailed");
        assert!(msg.contains("InvalidParameterValue"), "{msg}");
    }
    for (case, op, result) in each_case(|op| refuse(op, 403, "AccessDenied")).await {
        let msg = assert_error(&case, op, &result, "AwsRequestFailed");
        assert!(msg.contains("grant the function's role"), "{msg}");
    }
}

#[tokio::test]
async fn a_deployment_not_in_a_state_for_the_call_yet_is_deployment_state_transient() {
    let c = clients(&[
        refuse(
            "rds:SwitchoverBlueGreenDeployment",
            400,
            "InvalidBlueGreenDeploymentStateFault",
        ),
        refuse(
            "rds:DeleteBlueGreenDeployment",
            400,
            "InvalidBlueGreenDeploymentStateFault",
        ),
    ]);
    let e = c.rds.switchover(DEPLOYMENT_ID, 300).await.unwrap_err();
    assert_eq!(e.name(), "DeploymentStateTransient");
    assert!(e.is_transient());
    let e = c
        .rds
        .delete_deployment(DEPLOYMENT_ID, true)
        .await
        .unwrap_err();
    assert_eq!(e.name(), "DeploymentStateTransient");
}

// ---------------------------------------------------------------- not found, already there

#[tokio::test]
async fn a_database_that_is_not_there_is_none() {
    use DbKind::{Cluster, Instance};
    for code in ["DBInstanceNotFound", "DBInstanceNotFoundFault"] {
        let c = clients(&[refuse("rds:DescribeDBInstances", 404, code)]);
        assert_eq!(c.rds.describe(Instance, DB).await, Ok(None), "{code}");
        let m = c.rds.member_statuses(&[GREEN_ARN.into()]).await.unwrap();
        assert_eq!(m[0].status, "missing", "{code}");
    }
    for code in ["DBClusterNotFoundFault", "DBClusterNotFound"] {
        let c = clients(&[refuse("rds:DescribeDBClusters", 404, code)]);
        assert_eq!(c.rds.describe(Cluster, "ledger").await, Ok(None), "{code}");
        let m = c
            .rds
            .member_statuses(&[cluster_arn_of("ledger-green")])
            .await
            .unwrap();
        assert_eq!(m[0].status, "missing", "{code}");
    }
}

#[tokio::test]
async fn a_name_that_is_neither_an_instance_nor_a_cluster_is_source_not_found() {
    let c = clients(&[
        refuse("rds:DescribeDBInstances", 404, "DBInstanceNotFound"),
        refuse("rds:DescribeDBClusters", 404, "DBClusterNotFoundFault"),
    ]);
    let e = c.rds.find_source(&name(DB)).await.unwrap_err();
    assert_eq!(e.name(), "SourceNotFound");
    assert!(e.to_string().contains("`orders-pg`"), "{e}");
}

#[tokio::test]
async fn a_parameter_group_that_is_not_there_is_none_and_has_no_parameters() {
    for code in ["DBParameterGroupNotFound", "DBParameterGroupNotFoundFault"] {
        let c = clients(&[
            refuse("rds:DescribeDBParameters", 404, code),
            refuse("rds:DescribeDBClusterParameters", 404, code),
        ]);
        assert_eq!(
            c.rds.parameters("default.postgres16", false).await,
            Ok(BTreeMap::new())
        );
        assert_eq!(
            c.rds.parameters("ledger-apg16", true).await,
            Ok(BTreeMap::new())
        );
    }
    let c = clients(&[
        refuse(
            "rds:DescribeDBParameterGroups",
            404,
            "DBParameterGroupNotFound",
        ),
        refuse(
            "rds:DescribeDBClusterParameterGroups",
            404,
            "DBParameterGroupNotFound",
        ),
    ]);
    assert_eq!(c.rds.parameter_group("orders-pg16", false).await, Ok(None));
    assert_eq!(c.rds.parameter_group("ledger-apg16", true).await, Ok(None));
}

#[tokio::test]
async fn creating_a_deployment_whose_name_exists_is_none_for_the_caller_to_adopt() {
    let c = clients(&[refuse(
        "rds:CreateBlueGreenDeployment",
        400,
        "BlueGreenDeploymentAlreadyExistsFault",
    )]);
    assert_eq!(c.rds.create_deployment(&plan()).await, Ok(None));
}

#[tokio::test]
async fn deleting_a_deployment_already_gone_is_false() {
    let c = clients(&[refuse(
        "rds:DeleteBlueGreenDeployment",
        404,
        "BlueGreenDeploymentNotFoundFault",
    )]);
    assert_eq!(
        c.rds.delete_deployment(DEPLOYMENT_ID, false).await,
        Ok(false)
    );
}

#[tokio::test]
async fn a_snapshot_already_there_is_false_and_one_not_there_is_none() {
    use DbKind::{Cluster, Instance};
    let c = clients(&[
        refuse("rds:CreateDBSnapshot", 400, "DBSnapshotAlreadyExists"),
        refuse(
            "rds:CreateDBClusterSnapshot",
            400,
            "DBClusterSnapshotAlreadyExistsFault",
        ),
        refuse("rds:DescribeDBSnapshots", 404, "DBSnapshotNotFound"),
        refuse(
            "rds:DescribeDBClusterSnapshots",
            404,
            "DBClusterSnapshotNotFoundFault",
        ),
    ]);
    let tags = marker();
    assert_eq!(
        c.rds
            .create_snapshot(Instance, "orders-pg-old1", "s", &tags)
            .await,
        Ok(false)
    );
    assert_eq!(
        c.rds
            .create_snapshot(Cluster, "ledger-old1", "s", &tags)
            .await,
        Ok(false)
    );
    assert_eq!(c.rds.snapshot_status(Instance, "s").await, Ok(None));
    assert_eq!(c.rds.snapshot_status(Cluster, "s").await, Ok(None));
}

#[tokio::test]
async fn deleting_a_database_already_gone_is_false() {
    use DbKind::{Cluster, Instance};
    for code in ["DBInstanceNotFound", "DBInstanceNotFoundFault"] {
        let c = clients(&[refuse("rds:DeleteDBInstance", 404, code)]);
        assert_eq!(c.rds.delete_db(Instance, "orders-pg-old1").await, Ok(false));
    }
    let c = clients(&[refuse("rds:DeleteDBCluster", 404, "DBClusterNotFoundFault")]);
    assert_eq!(c.rds.delete_db(Cluster, "ledger-old1").await, Ok(false));
}

/// The SDK retries a delete whose answer was lost; RDS, which started it, refuses the second
/// with `InvalidDBInstanceState`. That is the delete we asked for, not a refusal; the same
/// refusal for a database that is not being deleted stays an error.
#[tokio::test]
async fn deleting_a_database_already_being_deleted_is_done_not_refused() {
    let describe = |status: &'static str| {
        mock!(aws_sdk_rds::Client::describe_db_instances).then_output(move || {
            let mut db = instance("orders-pg-old1", "13.15", BLUE_RID);
            db.db_instance_status = Some(status.into());
            DescribeDbInstancesOutput::builder()
                .db_instances(db)
                .build()
        })
    };
    let c = clients(&[delete_already_started().remove(0), describe("deleting")]);
    assert_eq!(
        c.rds.delete_db(DbKind::Instance, "orders-pg-old1").await,
        Ok(false),
        "this call did not start the delete"
    );
    let c = clients(&[delete_already_started().remove(0), describe("available")]);
    let e = c
        .rds
        .delete_db(DbKind::Instance, "orders-pg-old1")
        .await
        .unwrap_err();
    assert_eq!(e.name(), "AwsRequestFailed");
    assert!(e.to_string().contains("InvalidDBInstanceState"), "{e}");

    let describe_cluster = |status: &'static str| {
        mock!(aws_sdk_rds::Client::describe_db_clusters).then_output(move || {
            let mut c = cluster("ledger-old1", "13.15", &[]);
            c.status = Some(status.into());
            DescribeDbClustersOutput::builder().db_clusters(c).build()
        })
    };
    let c = clients(&[
        cluster_delete_already_started().remove(0),
        describe_cluster("deleting"),
    ]);
    assert_eq!(
        c.rds.delete_db(DbKind::Cluster, "ledger-old1").await,
        Ok(false)
    );
    let c = clients(&[
        cluster_delete_already_started().remove(0),
        describe_cluster("available"),
    ]);
    assert_eq!(
        c.rds
            .delete_db(DbKind::Cluster, "ledger-old1")
            .await
            .unwrap_err()
            .name(),
        "AwsRequestFailed"
    );
    // A delete that works is true.
    let c = clients(&[mock!(aws_sdk_rds::Client::delete_db_instance)
        .then_output(|| DeleteDbInstanceOutput::builder().build())]);
    assert_eq!(
        c.rds.delete_db(DbKind::Instance, "orders-pg-old1").await,
        Ok(true)
    );
}

#[tokio::test]
async fn starting_an_execution_whose_name_exists_is_that_execution() {
    let x = executions(&[refuse(
        "states:StartExecution",
        400,
        "ExecutionAlreadyExists",
    )]);
    assert_eq!(
        x.start(MACHINE, "wave-1-u0001", "{}").await,
        Ok(bluegreen_aws::sfn::execution_arn(MACHINE, "wave-1-u0001"))
    );
    assert_eq!(
        bluegreen_aws::sfn::execution_arn(MACHINE, "wave-1-u0001"),
        "arn:aws:states:us-east-1:123456789012:execution:rds-bluegreen-upgrade:wave-1-u0001"
    );
}

#[tokio::test]
async fn a_deployment_not_there_by_its_id_is_none() {
    let c = clients(&[refuse(
        "rds:DescribeBlueGreenDeployments",
        404,
        "BlueGreenDeploymentNotFoundFault",
    )]);
    assert_eq!(c.rds.deployment(DEPLOYMENT_ID).await, Ok(None));
}

#[tokio::test]
async fn a_stack_that_is_not_there_is_none_and_another_validation_error_is_an_error() {
    let s = stacks(&[respond("cloudformation:DescribeStacks", || {
        error_response(
            Proto::Query,
            400,
            Some("ValidationError"),
            "Stack with id not-deployed does not exist",
        )
    })]);
    assert_eq!(s.outputs("not-deployed").await, Ok(None));
    let s = stacks(&[refuse(
        "cloudformation:DescribeStacks",
        400,
        "ValidationError",
    )]);
    let e = s.outputs("rds-bluegreen").await.unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"));
    assert_eq!(e.operation, "cloudformation:DescribeStacks");
}

// ---------------------------------------------------------------- as rbg reads them

/// The calls rbg makes, each keeping the `AwsError` it read.
const OPERATOR_OPS: [&str; 10] = [
    "rds:DescribeDBInstances",
    "rds:DescribeBlueGreenDeployments",
    "states:StartExecution",
    "states:DescribeExecution",
    "states:GetExecutionHistory",
    "states:ListExecutions",
    "states:SendTaskSuccess",
    "states:SendTaskFailure",
    "cloudformation:DescribeStacks",
    "secretsmanager:GetSecretValue",
];

async fn operator_call(op: &str, a: Adapters) -> Result<(), AwsError> {
    match op {
        "rds:DescribeDBInstances" => a.clients.rds.describe(DbKind::Instance, DB).await.map(drop),
        "rds:DescribeBlueGreenDeployments" => a.clients.rds.all_deployments().await.map(drop),
        "states:StartExecution" => a
            .executions
            .start_execution(MACHINE, Some("wave-1-u0001"), "{}")
            .await
            .map(drop),
        "states:DescribeExecution" => a.executions.describe(EXECUTION).await.map(drop),
        "states:GetExecutionHistory" => a
            .executions
            .history(EXECUTION, history_page())
            .await
            .map(drop),
        "states:ListExecutions" => a.executions.list(MACHINE, false, 1).await.map(drop),
        "states:SendTaskSuccess" => a.executions.send_task_success("token", "{}").await,
        "states:SendTaskFailure" => {
            a.executions
                .send_task_failure("token", "Rejected", "no")
                .await
        }
        "cloudformation:DescribeStacks" => a.stacks.outputs("rds-bluegreen").await.map(drop),
        "secretsmanager:GetSecretValue" => a.secrets.secret_string(SECRET_ARN).await.map(drop),
        other => panic!("no operator call for {other}"),
    }
}

#[tokio::test]
async fn rbg_reads_trouble_on_the_way_as_out_of_reach_and_an_answer_as_its_code() {
    for op in OPERATOR_OPS {
        for f in [
            WireFault::ConnectionReset,
            WireFault::ConnectTimeout,
            WireFault::NoAnswer,
        ] {
            let e = operator_call(op, Adapters::over(&[fault(op, f)]))
                .await
                .unwrap_err();
            assert_eq!(e.operation, op);
            assert!(
                matches!(e.fault(), Fault::Unreachable(_)),
                "{op} {f:?}: {:?}",
                e.fault()
            );
        }
        let e = operator_call(op, Adapters::over(&[fault(op, WireFault::Http503)]))
            .await
            .unwrap_err();
        assert_eq!(e.fault().code(), Some("ServiceUnavailable"), "{op}");
        let e = operator_call(
            op,
            Adapters::over(&[refuse(op, 400, "AccessDeniedException")]),
        )
        .await
        .unwrap_err();
        assert_eq!(
            e.fault(),
            Fault::Service {
                code: "AccessDeniedException".into(),
                message: "refused by the test".into()
            },
            "{op}"
        );
    }
}
