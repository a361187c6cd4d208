//! What each adapter sends AWS and how it reads the answer: the exact requests of the
//! mutations, the queries behind each read (filters, IncludeAll, every page), and the domain
//! facts made of the SDK's shapes. The workers' tests run on the in-memory account and assert
//! on these calls in domain terms; this is where the domain terms meet the SDK.

mod wire;

use aws_sdk_cloudwatch::operation::get_metric_statistics::{
    GetMetricStatisticsInput, GetMetricStatisticsOutput,
};
use aws_sdk_cloudwatch::operation::put_metric_data::{PutMetricDataInput, PutMetricDataOutput};
use aws_sdk_cloudwatch::types::{Datapoint, Dimension, MetricDatum, StandardUnit, Statistic};
use aws_sdk_rds::operation::add_tags_to_resource::{
    AddTagsToResourceInput, AddTagsToResourceOutput,
};
use aws_sdk_rds::operation::create_blue_green_deployment::{
    CreateBlueGreenDeploymentInput, CreateBlueGreenDeploymentOutput,
};
use aws_sdk_rds::operation::create_db_cluster_snapshot::{
    CreateDbClusterSnapshotInput, CreateDbClusterSnapshotOutput,
};
use aws_sdk_rds::operation::create_db_snapshot::{CreateDbSnapshotInput, CreateDbSnapshotOutput};
use aws_sdk_rds::operation::delete_blue_green_deployment::{
    DeleteBlueGreenDeploymentInput, DeleteBlueGreenDeploymentOutput,
};
use aws_sdk_rds::operation::delete_db_cluster::{DeleteDbClusterInput, DeleteDbClusterOutput};
use aws_sdk_rds::operation::delete_db_instance::{DeleteDbInstanceInput, DeleteDbInstanceOutput};
use aws_sdk_rds::operation::describe_blue_green_deployments::{
    DescribeBlueGreenDeploymentsInput, DescribeBlueGreenDeploymentsOutput,
};
use aws_sdk_rds::operation::describe_db_cluster_parameters::DescribeDbClusterParametersOutput;
use aws_sdk_rds::operation::describe_db_clusters::{
    DescribeDbClustersInput, DescribeDbClustersOutput,
};
use aws_sdk_rds::operation::describe_db_engine_versions::{
    DescribeDbEngineVersionsInput, DescribeDbEngineVersionsOutput,
};
use aws_sdk_rds::operation::describe_db_instances::{
    DescribeDbInstancesInput, DescribeDbInstancesOutput,
};
use aws_sdk_rds::operation::describe_db_parameters::{
    DescribeDbParametersInput, DescribeDbParametersOutput,
};
use aws_sdk_rds::operation::describe_pending_maintenance_actions::DescribePendingMaintenanceActionsOutput;
use aws_sdk_rds::operation::modify_db_cluster::{ModifyDbClusterInput, ModifyDbClusterOutput};
use aws_sdk_rds::operation::modify_db_instance::{ModifyDbInstanceInput, ModifyDbInstanceOutput};
use aws_sdk_rds::operation::switchover_blue_green_deployment::{
    SwitchoverBlueGreenDeploymentInput, SwitchoverBlueGreenDeploymentOutput,
};
use aws_sdk_rds::types::{
    DbEngineVersion, Filter, Parameter, PendingMaintenanceAction, PendingModifiedValues,
    ResourcePendingMaintenanceActions, UpgradeTarget,
};
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::operation::start_execution::{StartExecutionInput, StartExecutionOutput};
use aws_sdk_sfn::types::ExecutionStatus;
use aws_sdk_sns::operation::publish::{PublishInput, PublishOutput};
use aws_sdk_sns::types::MessageAttributeValue;
use aws_smithy_types::DateTime;
use bluegreen_aws::ports::{Datum, Stat, Unit};
use bluegreen_domain::fleet::{Candidate, ChildStatus};
use bluegreen_domain::model::db::{DbKind, DbRef};
use bluegreen_domain::model::deployment::{
    DeploymentTask, DeploymentView, MemberStatus, SwitchoverDetail,
};
use bluegreen_domain::model::engine::Engine;
use bluegreen_domain::model::engine::{EngineVersionInfo, UpgradeTarget as Target};
use bluegreen_domain::model::plan::CreatePlan;
use bluegreen_domain::model::source::{Membership, SourceDb};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wire::mock::{mock, Rule};
use wire::*;

/// The requests a rule saw.
type Seen<I> = Arc<Mutex<Vec<I>>>;

fn seen<I>() -> Seen<I> {
    Arc::new(Mutex::new(Vec::new()))
}

fn taken<I: Clone>(s: &Seen<I>) -> Vec<I> {
    s.lock().unwrap().clone()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const NOW: u64 = 1_795_539_900;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

// ---------------------------------------------------------------- the mutations

#[tokio::test]
async fn create_deployment_sends_exactly_the_plan_and_reads_the_deployment() {
    let s: Seen<CreateBlueGreenDeploymentInput> = seen();
    let s2 = s.clone();
    let c = clients(&[mock!(aws_sdk_rds::Client::create_blue_green_deployment)
        .then_compute_output(move |req| {
            s2.lock().unwrap().push(req.clone());
            CreateBlueGreenDeploymentOutput::builder()
                .blue_green_deployment(deployment())
                .build()
        })]);
    let plan = CreatePlan {
        deployment_name: DEPLOYMENT_NAME.into(),
        source_arn: SOURCE_ARN.into(),
        target_engine_version: "16.4".into(),
        is_major_upgrade: true,
        target_db_parameter_group_name: Some("orders-pg16".into()),
        target_db_cluster_parameter_group_name: None,
        target_db_instance_class: Some("db.r7g.xlarge".into()),
        green_instance_class: None,
        tags: map(&[
            (
                "bluegreen:execution",
                "arn:aws:states:us-east-1:123456789012:execution:m:e",
            ),
            ("bluegreen:managed-by", "rds-bluegreen"),
        ]),
    };
    let view = c.rds.create_deployment(&plan).await.unwrap();
    assert_eq!(
        taken(&s),
        [CreateBlueGreenDeploymentInput::builder()
            .blue_green_deployment_name(DEPLOYMENT_NAME)
            .source(SOURCE_ARN)
            .target_engine_version("16.4")
            .target_db_parameter_group_name("orders-pg16")
            .target_db_instance_class("db.r7g.xlarge")
            .tags(tag(
                "bluegreen:execution",
                "arn:aws:states:us-east-1:123456789012:execution:m:e"
            ))
            .tags(tag("bluegreen:managed-by", "rds-bluegreen"))
            .build()
            .unwrap()]
    );
    assert_eq!(
        view,
        Some(DeploymentView {
            id: DEPLOYMENT_ID.into(),
            name: DEPLOYMENT_NAME.into(),
            source_arn: SOURCE_ARN.into(),
            target_arn: GREEN_ARN.into(),
            status: "AVAILABLE".into(),
            status_details: None,
            tasks: vec![DeploymentTask {
                name: "DB_ENGINE_VERSION_UPGRADE".into(),
                status: "COMPLETED".into()
            }],
            switchover_details: vec![SwitchoverDetail {
                source_member: SOURCE_ARN.into(),
                target_member: GREEN_ARN.into(),
                status: "AVAILABLE".into()
            }],
            tags: map(&[
                ("bluegreen:managed-by", "rds-bluegreen"),
                ("bluegreen:source-resource-id", BLUE_RID)
            ]),
        })
    );
}

#[tokio::test]
async fn switchover_sends_the_deployment_and_the_timeout() {
    let s: Seen<SwitchoverBlueGreenDeploymentInput> = seen();
    let s2 = s.clone();
    let c = clients(
        &[
            mock!(aws_sdk_rds::Client::switchover_blue_green_deployment).then_compute_output(
                move |req| {
                    s2.lock().unwrap().push(req.clone());
                    SwitchoverBlueGreenDeploymentOutput::builder().build()
                },
            ),
        ],
    );
    c.rds.switchover(DEPLOYMENT_ID, 600).await.unwrap();
    assert_eq!(
        taken(&s),
        [SwitchoverBlueGreenDeploymentInput::builder()
            .blue_green_deployment_identifier(DEPLOYMENT_ID)
            .switchover_timeout(600)
            .build()
            .unwrap()]
    );
}

#[tokio::test]
async fn a_switchover_is_asked_once_even_when_its_answer_is_lost() {
    // The workers' clients retry (config.rs): not this call, which a retry would send twice.
    use wire::mock::mock_client;
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    let rule = wire::respond("rds:SwitchoverBlueGreenDeployment", move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        wire::wire_response(wire::Proto::Query, wire::WireFault::Http500)
    });
    let rds = bluegreen_aws::Rds::new(mock_client!(aws_sdk_rds, &[rule], |c| c.retry_config(
        aws_sdk_rds::config::retry::RetryConfig::standard()
            .with_max_attempts(4)
            .with_initial_backoff(std::time::Duration::from_millis(1))
    )));
    let err = rds.switchover(DEPLOYMENT_ID, 300).await.unwrap_err();
    assert_eq!(
        sent.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one request, not a retry"
    );
    assert!(
        err.is_transient(),
        "{err}: the state machine retries the step, which describes first"
    );
}

#[tokio::test]
async fn a_deployment_is_deleted_with_delete_target_only_when_asked() {
    let s: Seen<DeleteBlueGreenDeploymentInput> = seen();
    let s2 = s.clone();
    let c = clients(&[mock!(aws_sdk_rds::Client::delete_blue_green_deployment)
        .then_compute_output(move |req| {
            s2.lock().unwrap().push(req.clone());
            DeleteBlueGreenDeploymentOutput::builder().build()
        })]);
    assert_eq!(
        c.rds.delete_deployment(DEPLOYMENT_ID, false).await,
        Ok(true)
    );
    assert_eq!(c.rds.delete_deployment(DEPLOYMENT_ID, true).await, Ok(true));
    let sent = taken(&s);
    assert_eq!(
        sent[0],
        DeleteBlueGreenDeploymentInput::builder()
            .blue_green_deployment_identifier(DEPLOYMENT_ID)
            .build()
            .unwrap()
    );
    assert_eq!(sent[0].delete_target(), None, "never false: absent");
    assert_eq!(sent[1].delete_target(), Some(true));
}

#[tokio::test]
async fn modifications_apply_immediately() {
    let si: Seen<ModifyDbInstanceInput> = seen();
    let sc: Seen<ModifyDbClusterInput> = seen();
    let (si2, sc2) = (si.clone(), sc.clone());
    let c = clients(&[
        mock!(aws_sdk_rds::Client::modify_db_instance).then_compute_output(move |req| {
            si2.lock().unwrap().push(req.clone());
            ModifyDbInstanceOutput::builder().build()
        }),
        mock!(aws_sdk_rds::Client::modify_db_cluster).then_compute_output(move |req| {
            sc2.lock().unwrap().push(req.clone());
            ModifyDbClusterOutput::builder().build()
        }),
    ]);
    c.rds
        .modify_instance_class("ledger-1-green-abc", "db.r6g.2xlarge")
        .await
        .unwrap();
    c.rds
        .disable_deletion_protection(DbKind::Instance, "orders-pg-old1")
        .await
        .unwrap();
    c.rds
        .disable_deletion_protection(DbKind::Cluster, "ledger-old1")
        .await
        .unwrap();
    assert_eq!(
        taken(&si),
        [
            ModifyDbInstanceInput::builder()
                .db_instance_identifier("ledger-1-green-abc")
                .db_instance_class("db.r6g.2xlarge")
                .apply_immediately(true)
                .build()
                .unwrap(),
            ModifyDbInstanceInput::builder()
                .db_instance_identifier("orders-pg-old1")
                .deletion_protection(false)
                .apply_immediately(true)
                .build()
                .unwrap(),
        ]
    );
    assert_eq!(
        taken(&sc),
        [ModifyDbClusterInput::builder()
            .db_cluster_identifier("ledger-old1")
            .deletion_protection(false)
            .apply_immediately(true)
            .build()
            .unwrap()]
    );
}

#[tokio::test]
async fn databases_are_deleted_without_a_final_snapshot_keeping_automated_backups() {
    let si: Seen<DeleteDbInstanceInput> = seen();
    let sc: Seen<DeleteDbClusterInput> = seen();
    let (si2, sc2) = (si.clone(), sc.clone());
    let c = clients(&[
        mock!(aws_sdk_rds::Client::delete_db_instance).then_compute_output(move |req| {
            si2.lock().unwrap().push(req.clone());
            DeleteDbInstanceOutput::builder().build()
        }),
        mock!(aws_sdk_rds::Client::delete_db_cluster).then_compute_output(move |req| {
            sc2.lock().unwrap().push(req.clone());
            DeleteDbClusterOutput::builder().build()
        }),
    ]);
    assert_eq!(
        c.rds.delete_db(DbKind::Instance, "orders-pg-old1").await,
        Ok(true)
    );
    assert_eq!(
        c.rds.delete_db(DbKind::Cluster, "ledger-old1").await,
        Ok(true)
    );
    assert_eq!(
        taken(&si),
        [DeleteDbInstanceInput::builder()
            .db_instance_identifier("orders-pg-old1")
            .skip_final_snapshot(true)
            .delete_automated_backups(false)
            .build()
            .unwrap()]
    );
    assert_eq!(
        taken(&sc),
        [DeleteDbClusterInput::builder()
            .db_cluster_identifier("ledger-old1")
            .skip_final_snapshot(true)
            .build()
            .unwrap()]
    );
}

#[tokio::test]
async fn snapshots_and_tags_carry_the_tags() {
    let si: Seen<CreateDbSnapshotInput> = seen();
    let sc: Seen<CreateDbClusterSnapshotInput> = seen();
    let st: Seen<AddTagsToResourceInput> = seen();
    let (si2, sc2, st2) = (si.clone(), sc.clone(), st.clone());
    let c = clients(&[
        mock!(aws_sdk_rds::Client::create_db_snapshot).then_compute_output(move |req| {
            si2.lock().unwrap().push(req.clone());
            CreateDbSnapshotOutput::builder().build()
        }),
        mock!(aws_sdk_rds::Client::create_db_cluster_snapshot).then_compute_output(move |req| {
            sc2.lock().unwrap().push(req.clone());
            CreateDbClusterSnapshotOutput::builder().build()
        }),
        mock!(aws_sdk_rds::Client::add_tags_to_resource).then_compute_output(move |req| {
            st2.lock().unwrap().push(req.clone());
            AddTagsToResourceOutput::builder().build()
        }),
    ]);
    let tags = map(&[
        ("bluegreen:managed-by", "rds-bluegreen"),
        ("bluegreen:old-blue-of", "orders-pg-old1"),
    ]);
    let id = "rbg-orders-pg-to-16-4-final";
    assert_eq!(
        c.rds
            .create_snapshot(DbKind::Instance, "orders-pg-old1", id, &tags)
            .await,
        Ok(true)
    );
    assert_eq!(
        c.rds
            .create_snapshot(DbKind::Cluster, "ledger-old1", id, &tags)
            .await,
        Ok(true)
    );
    c.rds
        .add_tags(
            &arn_of("orders-pg-old1"),
            &map(&[("bluegreen:old-blue-of", DB)]),
        )
        .await
        .unwrap();
    assert_eq!(
        taken(&si),
        [CreateDbSnapshotInput::builder()
            .db_instance_identifier("orders-pg-old1")
            .db_snapshot_identifier(id)
            .tags(tag("bluegreen:managed-by", "rds-bluegreen"))
            .tags(tag("bluegreen:old-blue-of", "orders-pg-old1"))
            .build()
            .unwrap()]
    );
    assert_eq!(
        taken(&sc),
        [CreateDbClusterSnapshotInput::builder()
            .db_cluster_identifier("ledger-old1")
            .db_cluster_snapshot_identifier(id)
            .tags(tag("bluegreen:managed-by", "rds-bluegreen"))
            .tags(tag("bluegreen:old-blue-of", "orders-pg-old1"))
            .build()
            .unwrap()]
    );
    assert_eq!(
        taken(&st),
        [AddTagsToResourceInput::builder()
            .resource_name(arn_of("orders-pg-old1"))
            .tags(tag("bluegreen:old-blue-of", DB))
            .build()
            .unwrap()]
    );
}

// ---------------------------------------------------------------- CloudWatch, SNS

#[tokio::test]
async fn a_statistic_is_asked_of_aws_rds_per_minute_over_the_lookback_and_reduced() {
    let s: Seen<GetMetricStatisticsInput> = seen();
    let s2 = s.clone();
    let c = clients(&[mock!(aws_sdk_cloudwatch::Client::get_metric_statistics)
        .then_compute_output(move |req| {
            s2.lock().unwrap().push(req.clone());
            let points = if req.metric_name() == Some("Empty") {
                vec![]
            } else {
                [(3.0, 9.0), (1.0, 4.0), (2.0, 7.0)]
                    .into_iter()
                    .map(|(min, max)| {
                        Datapoint::builder()
                            .minimum(min)
                            .maximum(max)
                            .average((min + max) / 2.0)
                            .build()
                    })
                    .collect()
            };
            GetMetricStatisticsOutput::builder()
                .set_datapoints(Some(points))
                .build()
        })]);
    let dims = [("DBClusterIdentifier", "ledger-green"), ("Role", "WRITER")];
    let lookback = Duration::from_secs(300);
    let max = c
        .metrics
        .rds_statistic(
            "AuroraBinlogReplicaLag",
            &dims,
            Stat::Maximum,
            lookback,
            now(),
        )
        .await;
    let min = c
        .metrics
        .rds_statistic(
            "FreeStorageSpace",
            &dims[..1],
            Stat::Minimum,
            lookback,
            now(),
        )
        .await;
    let none = c
        .metrics
        .rds_statistic("Empty", &dims, Stat::Maximum, lookback, now())
        .await;
    assert_eq!((max, min, none), (Ok(Some(9.0)), Ok(Some(1.0)), Ok(None)));
    let q = taken(&s);
    assert_eq!(
        q[0],
        GetMetricStatisticsInput::builder()
            .namespace("AWS/RDS")
            .metric_name("AuroraBinlogReplicaLag")
            .dimensions(
                Dimension::builder()
                    .name("DBClusterIdentifier")
                    .value("ledger-green")
                    .build()
            )
            .dimensions(Dimension::builder().name("Role").value("WRITER").build())
            .start_time(DateTime::from_secs(NOW as i64 - 300))
            .end_time(DateTime::from_secs(NOW as i64))
            .period(60)
            .statistics(Statistic::Maximum)
            .build()
            .unwrap()
    );
    assert_eq!(q[1].statistics(), [Statistic::Minimum]);
}

#[tokio::test]
async fn data_are_put_as_the_sdks_datums() {
    let s: Seen<PutMetricDataInput> = seen();
    let s2 = s.clone();
    let c = clients(&[
        mock!(aws_sdk_cloudwatch::Client::put_metric_data).then_compute_output(move |req| {
            s2.lock().unwrap().push(req.clone());
            PutMetricDataOutput::builder().build()
        }),
    ]);
    let dims = [
        ("DBIdentifier", DB),
        ("Trigger", "alarm"),
        ("Outcome", "failed"),
    ];
    c.metrics
        .put(
            "RdsBlueGreen",
            vec![
                Datum::new("Remediations", 1.0, Unit::Count, &dims, now()),
                Datum::new("UpgradeSeconds", 4200.0, Unit::Seconds, &dims[..1], now()),
            ],
        )
        .await
        .unwrap();
    let dim = |k: &str, v: &str| Dimension::builder().name(k).value(v).build();
    assert_eq!(
        taken(&s),
        [PutMetricDataInput::builder()
            .namespace("RdsBlueGreen")
            .metric_data(
                MetricDatum::builder()
                    .metric_name("Remediations")
                    .value(1.0)
                    .unit(StandardUnit::Count)
                    .timestamp(DateTime::from_secs(NOW as i64))
                    .dimensions(dim("DBIdentifier", DB))
                    .dimensions(dim("Trigger", "alarm"))
                    .dimensions(dim("Outcome", "failed"))
                    .build()
            )
            .metric_data(
                MetricDatum::builder()
                    .metric_name("UpgradeSeconds")
                    .value(4200.0)
                    .unit(StandardUnit::Seconds)
                    .timestamp(DateTime::from_secs(NOW as i64))
                    .dimensions(dim("DBIdentifier", DB))
                    .build()
            )
            .build()
            .unwrap()]
    );
}

#[tokio::test]
async fn a_notification_carries_its_attributes_as_strings() {
    let s: Seen<PublishInput> = seen();
    let s2 = s.clone();
    let c = clients(&[
        mock!(aws_sdk_sns::Client::publish).then_compute_output(move |req| {
            s2.lock().unwrap().push(req.clone());
            PublishOutput::builder().message_id("m-1").build()
        }),
    ]);
    let id = c
        .notifier
        .publish(
            TOPIC_ARN,
            "[rds-bluegreen] orders-pg 13.15 -> 16.4: succeeded",
            "{\"milestone\":\"succeeded\"}",
            &[("milestone", "succeeded"), ("db_identifier", DB)],
        )
        .await;
    assert_eq!(id.as_deref(), Ok("m-1"));
    let attr = |v: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .unwrap()
    };
    assert_eq!(
        taken(&s),
        [PublishInput::builder()
            .topic_arn(TOPIC_ARN)
            .subject("[rds-bluegreen] orders-pg 13.15 -> 16.4: succeeded")
            .message("{\"milestone\":\"succeeded\"}")
            .message_attributes("milestone", attr("succeeded"))
            .message_attributes("db_identifier", attr(DB))
            .build()
            .unwrap()]
    );
}

// ---------------------------------------------------------------- the reads

fn param(name: &str, value: Option<&str>) -> Parameter {
    Parameter::builder()
        .parameter_name(name)
        .set_parameter_value(value.map(str::to_string))
        .build()
}

/// DescribeDBParameters in pages of two, the marker the next index, like RDS.
fn paged_parameters(s: Seen<DescribeDbParametersInput>, all: Vec<Parameter>) -> Rule {
    mock!(aws_sdk_rds::Client::describe_db_parameters).then_compute_output(move |req| {
        s.lock().unwrap().push(req.clone());
        let from: usize = req.marker().map_or(0, |m| m.parse().unwrap());
        let page: Vec<Parameter> = all.iter().skip(from).take(2).cloned().collect();
        DescribeDbParametersOutput::builder()
            .set_parameters(Some(page))
            .set_marker((from + 2 < all.len()).then(|| (from + 2).to_string()))
            .build()
    })
}

fn orders_pg_parameters() -> Vec<Parameter> {
    vec![
        param("autovacuum", Some("1")),
        param("max_logical_replication_workers", Some("8")),
        param("max_replication_slots", Some("20")),
        param("max_wal_senders", Some("20")),
        param("max_worker_processes", Some("16")),
        param("rds.logical_replication", Some("1")),
        param("shared_preload_libraries", Some("pg_stat_statements")),
        param("work_mem", Some("8192")),
        // A parameter RDS lists without a value (engine default).
        param("wal_sender_timeout", None),
    ]
}

#[tokio::test]
async fn an_instance_is_exported_with_the_parameters_that_matter_read_across_every_page() {
    let (si, sp): (
        Seen<DescribeDbInstancesInput>,
        Seen<DescribeDbParametersInput>,
    ) = (seen(), seen());
    let si2 = si.clone();
    let c = clients(&[
        mock!(aws_sdk_rds::Client::describe_db_instances).then_compute_output(move |req| {
            si2.lock().unwrap().push(req.clone());
            DescribeDbInstancesOutput::builder()
                .db_instances(instance(DB, "13.15", BLUE_RID))
                .build()
        }),
        paged_parameters(sp.clone(), orders_pg_parameters()),
    ]);
    let source = c
        .rds
        .find_source(&DbRef::parse(SOURCE_ARN).unwrap())
        .await
        .unwrap();
    assert_eq!(
        source,
        SourceDb {
            kind: DbKind::Instance,
            identifier: DB.into(),
            arn: SOURCE_ARN.into(),
            resource_id: Some(BLUE_RID.into()),
            engine: Engine::Postgres,
            engine_version: "13.15".into(),
            status: "available".into(),
            instance_class: Some("db.r6g.large".into()),
            multi_az: true,
            multi_az_db_cluster: false,
            endpoint: Some("orders-pg.c9akciq32.us-east-1.rds.amazonaws.com".into()),
            port: Some(5432),
            backup_retention_days: 7,
            deletion_protection: true,
            storage_encrypted: true,
            kms_key_id: Some(KEY_ARN.into()),
            monitoring_role_arn: Some(MONITORING_ROLE_ARN.into()),
            allocated_storage_gib: Some(100),
            dedicated_log_volume: false,
            backtrack_window: None,
            parameter_groups: vec![Membership::new("orders-pg13", "in-sync")],
            cluster_parameter_group: None,
            option_groups: vec![Membership::new("default:postgres-13", "in-sync")],
            managed_master_password: false,
            read_replicas: vec![],
            topology: Default::default(),
            replica_source: None,
            members: vec![],
            tags: map(&[("team", "payments"), ("bluegreen:managed", "true")]),
            parameters: map(&[
                ("max_logical_replication_workers", "8"),
                ("max_replication_slots", "20"),
                ("max_wal_senders", "20"),
                ("max_worker_processes", "16"),
                ("rds.logical_replication", "1"),
                ("shared_preload_libraries", "pg_stat_statements"),
            ]),
        }
    );
    // The ARN named an instance: no cluster lookup (no rule answers one).
    assert_eq!(
        taken(&si)
            .iter()
            .map(|r| r.db_instance_identifier().unwrap().to_string())
            .collect::<Vec<_>>(),
        [DB]
    );
    let markers: Vec<Option<String>> = taken(&sp)
        .iter()
        .map(|r| r.marker().map(str::to_string))
        .collect();
    assert_eq!(
        markers,
        [
            None,
            Some("2".into()),
            Some("4".into()),
            Some("6".into()),
            Some("8".into())
        ],
        "every page"
    );
}

#[tokio::test]
async fn a_bare_name_that_is_no_instance_is_looked_up_as_a_cluster() {
    let s: Seen<DescribeDbClustersInput> = seen();
    let s2 = s.clone();
    let c = clients(&[
        refuse("rds:DescribeDBInstances", 404, "DBInstanceNotFound"),
        mock!(aws_sdk_rds::Client::describe_db_clusters).then_compute_output(move |req| {
            s2.lock().unwrap().push(req.clone());
            DescribeDbClustersOutput::builder()
                .db_clusters(cluster("ledger", "13.15", &[]))
                .build()
        }),
        mock!(aws_sdk_rds::Client::describe_db_cluster_parameters)
            .then_output(|| DescribeDbClusterParametersOutput::builder().build()),
    ]);
    let source = c
        .rds
        .find_source(&DbRef::parse("ledger").unwrap())
        .await
        .unwrap();
    assert_eq!(source.kind, DbKind::Cluster);
    assert_eq!(source.resource_id.as_deref(), Some("cluster-LEDGER"));
    assert_eq!(source.kms_key_id.as_deref(), Some(KEY_ARN));
    assert_eq!(
        source.monitoring_role_arn, None,
        "an Aurora cluster's monitoring roles are its members'"
    );
    assert_eq!(taken(&s)[0].db_cluster_identifier(), Some("ledger"));
}

#[tokio::test]
async fn a_cluster_member_named_alone_is_its_cluster_with_the_writers_groups_the_cluster_group_winning(
) {
    let mut member = instance("ledger-instance-2", "13.15", "db-LEDGER2");
    member.db_cluster_identifier = Some("ledger".into());
    let mut writer = instance("ledger-instance-1", "13.15", "db-LEDGER1");
    writer.db_cluster_identifier = Some("ledger".into());
    writer.db_parameter_groups = Some(vec![aws_sdk_rds::types::DbParameterGroupStatus::builder()
        .db_parameter_group_name("default.aurora-postgresql13")
        .parameter_apply_status("in-sync")
        .build()]);
    let c = clients(&[
        mock!(aws_sdk_rds::Client::describe_db_instances).then_compute_output(move |req| {
            let db = match req.db_instance_identifier() {
                Some("ledger-instance-1") => writer.clone(),
                _ => member.clone(),
            };
            DescribeDbInstancesOutput::builder()
                .db_instances(db)
                .build()
        }),
        mock!(aws_sdk_rds::Client::describe_db_clusters).then_output(|| {
            DescribeDbClustersOutput::builder()
                .db_clusters(cluster(
                    "ledger",
                    "13.15",
                    &["ledger-instance-1", "ledger-instance-2"],
                ))
                .build()
        }),
        mock!(aws_sdk_rds::Client::describe_db_cluster_parameters).then_output(|| {
            DescribeDbClusterParametersOutput::builder()
                .parameters(param("rds.logical_replication", Some("1")))
                .parameters(param("max_replication_slots", Some("20")))
                .build()
        }),
        paged_parameters(
            seen(),
            vec![
                param("max_worker_processes", Some("16")),
                param("rds.logical_replication", Some("0")),
            ],
        ),
    ]);
    let source = c
        .rds
        .find_source(&DbRef::parse("ledger-instance-2").unwrap())
        .await
        .unwrap();
    assert_eq!(source.identifier, "ledger");
    assert_eq!(source.kind, DbKind::Cluster);
    assert_eq!(source.members, ["ledger-instance-1", "ledger-instance-2"]);
    assert_eq!(
        source.cluster_parameter_group,
        Some(Membership::new("ledger-apg13", "in-sync"))
    );
    assert_eq!(
        source.parameter_groups,
        [Membership::new("default.aurora-postgresql13", "in-sync")]
    );
    assert_eq!(
        source.parameters,
        map(&[
            ("max_replication_slots", "20"),
            ("max_worker_processes", "16"),
            ("rds.logical_replication", "1"),
        ])
    );
}

#[tokio::test]
async fn engine_versions_are_asked_with_include_all_and_read_with_their_targets() {
    let s: Seen<DescribeDbEngineVersionsInput> = seen();
    let s2 = s.clone();
    let c = clients(&[mock!(aws_sdk_rds::Client::describe_db_engine_versions)
        .then_compute_output(move |req| {
            s2.lock().unwrap().push(req.clone());
            DescribeDbEngineVersionsOutput::builder()
                .db_engine_versions(
                    DbEngineVersion::builder()
                        .engine("postgres")
                        .engine_version("13.15")
                        .db_parameter_group_family("postgres13")
                        .status("deprecated")
                        .valid_upgrade_target(
                            UpgradeTarget::builder()
                                .engine_version("13.16")
                                .is_major_version_upgrade(false)
                                .build(),
                        )
                        .valid_upgrade_target(
                            UpgradeTarget::builder()
                                .engine_version("16.4")
                                .is_major_version_upgrade(true)
                                .build(),
                        )
                        .build(),
                )
                .build()
        })]);
    let v = c
        .rds
        .engine_version(&Engine::Postgres, "13.15")
        .await
        .unwrap();
    assert_eq!(
        v,
        Some(EngineVersionInfo {
            version: "13.15".into(),
            family: "postgres13".into(),
            status: "deprecated".into(),
            valid_upgrade_targets: vec![
                Target {
                    version: "13.16".into(),
                    is_major: false
                },
                Target {
                    version: "16.4".into(),
                    is_major: true
                },
            ],
        })
    );
    // A minor AWS has deprecated is listed only with IncludeAll.
    assert_eq!(
        taken(&s),
        [DescribeDbEngineVersionsInput::builder()
            .engine("postgres")
            .engine_version("13.15")
            .include_all(true)
            .build()
            .unwrap()]
    );
    // Another version than the one asked for is not taken for it.
    assert_eq!(
        c.rds.engine_version(&Engine::Postgres, "13.1").await,
        Ok(None)
    );
}

#[tokio::test]
async fn deployments_are_found_by_filter_across_every_page() {
    let s: Seen<DescribeBlueGreenDeploymentsInput> = seen();
    let s2 = s.clone();
    let c = clients(
        &[
            mock!(aws_sdk_rds::Client::describe_blue_green_deployments).then_compute_output(
                move |req| {
                    s2.lock().unwrap().push(req.clone());
                    let mut other = deployment();
                    other.blue_green_deployment_name = Some("rbg-orders-pg-to-16-4-copy".into());
                    match req.marker() {
                        None => DescribeBlueGreenDeploymentsOutput::builder()
                            .blue_green_deployments(other)
                            .marker("1")
                            .build(),
                        Some(_) => DescribeBlueGreenDeploymentsOutput::builder()
                            .blue_green_deployments(deployment())
                            .build(),
                    }
                },
            ),
        ],
    );
    assert_eq!(c.rds.all_deployments().await.unwrap().len(), 2);
    assert_eq!(
        c.rds
            .deployments_for_source(SOURCE_ARN)
            .await
            .unwrap()
            .len(),
        2
    );
    let ours = c.rds.deployment_by_name(DEPLOYMENT_NAME).await.unwrap();
    assert_eq!(
        ours.map(|d| d.name),
        Some(DEPLOYMENT_NAME.into()),
        "the exact name"
    );
    let filters: Vec<Vec<Filter>> = taken(&s)
        .iter()
        .filter(|r| r.marker().is_none())
        .map(|r| r.filters().to_vec())
        .collect();
    assert_eq!(
        filters,
        [
            vec![],
            vec![Filter::builder().name("source").values(SOURCE_ARN).build()],
            vec![Filter::builder()
                .name("blue-green-deployment-name")
                .values(DEPLOYMENT_NAME)
                .build()],
        ]
    );
    assert_eq!(taken(&s).len(), 6, "two pages each");
}

#[tokio::test]
async fn a_database_is_found_by_its_resource_id_whatever_its_name() {
    let si: Seen<DescribeDbInstancesInput> = seen();
    let sc: Seen<DescribeDbClustersInput> = seen();
    let (si2, sc2) = (si.clone(), sc.clone());
    let c = clients(&[
        mock!(aws_sdk_rds::Client::describe_db_instances).then_compute_output(move |req| {
            si2.lock().unwrap().push(req.clone());
            DescribeDbInstancesOutput::builder()
                .db_instances(instance("orders-pg-old2", "13.15", BLUE_RID))
                .build()
        }),
        mock!(aws_sdk_rds::Client::describe_db_clusters).then_compute_output(move |req| {
            sc2.lock().unwrap().push(req.clone());
            DescribeDbClustersOutput::builder()
                .db_clusters(cluster("ledger-old1", "13.15", &[]))
                .build()
        }),
    ]);
    let old = c
        .rds
        .describe_by_resource_id(DbKind::Instance, BLUE_RID)
        .await
        .unwrap();
    assert_eq!(old.map(|d| d.identifier), Some("orders-pg-old2".into()));
    let none = c
        .rds
        .describe_by_resource_id(DbKind::Instance, "db-SOMEONEELSE")
        .await;
    assert_eq!(none, Ok(None), "only the database that carries it");
    let old = c
        .rds
        .describe_by_resource_id(DbKind::Cluster, "cluster-LEDGER-OLD1")
        .await
        .unwrap();
    assert_eq!(old.map(|d| d.identifier), Some("ledger-old1".into()));
    assert_eq!(
        taken(&si)[0].filters(),
        [Filter::builder()
            .name("dbi-resource-id")
            .values(BLUE_RID)
            .build()]
    );
    assert_eq!(
        taken(&sc)[0].filters(),
        [Filter::builder()
            .name("db-cluster-resource-id")
            .values("cluster-LEDGER-OLD1")
            .build()]
    );
}

#[tokio::test]
async fn fleet_candidates_page_through_every_instance_and_cluster() {
    let si: Seen<DescribeDbInstancesInput> = seen();
    let sc: Seen<DescribeDbClustersInput> = seen();
    let (si2, sc2) = (si.clone(), sc.clone());
    let c = clients(&[
        mock!(aws_sdk_rds::Client::describe_db_instances).then_compute_output(move |req| {
            si2.lock().unwrap().push(req.clone());
            let mut member = instance("ledger-1", "13.12", "db-L1");
            member.engine = Some("aurora-postgresql".into());
            member.db_cluster_identifier = Some("ledger".into());
            let mut replica = instance("a-pg-replica", "13.15", "db-R");
            replica.read_replica_source_db_instance_identifier = Some("a-pg".into());
            match req.marker() {
                None => DescribeDbInstancesOutput::builder()
                    .db_instances(instance("a-pg", "13.15", "db-A"))
                    .db_instances(replica)
                    .marker("2")
                    .build(),
                Some(_) => DescribeDbInstancesOutput::builder()
                    .db_instances(member)
                    .build(),
            }
        }),
        mock!(aws_sdk_rds::Client::describe_db_clusters).then_compute_output(move |req| {
            sc2.lock().unwrap().push(req.clone());
            DescribeDbClustersOutput::builder()
                .db_clusters(cluster("ledger", "13.12", &["ledger-1"]))
                .build()
        }),
    ]);
    let all = c.rds.fleet_candidates().await.unwrap();
    let candidate = |id: &str, kind, engine: &str, version: &str| Candidate {
        identifier: id.into(),
        kind,
        engine: engine.into(),
        engine_version: version.into(),
        tags: map(&[("team", "payments"), ("bluegreen:managed", "true")]),
        replica_of: None,
        cluster: None,
    };
    assert_eq!(
        all,
        [
            candidate("a-pg", DbKind::Instance, "postgres", "13.15"),
            Candidate {
                replica_of: Some("a-pg".into()),
                ..candidate("a-pg-replica", DbKind::Instance, "postgres", "13.15")
            },
            Candidate {
                cluster: Some("ledger".into()),
                ..candidate("ledger-1", DbKind::Instance, "aurora-postgresql", "13.12")
            },
            Candidate {
                tags: map(&[("bluegreen:managed", "true")]),
                ..candidate("ledger", DbKind::Cluster, "aurora-postgresql", "13.12")
            },
        ]
    );
    let pages: Vec<(Option<i32>, Option<String>)> = taken(&si)
        .iter()
        .map(|r| (r.max_records(), r.marker().map(str::to_string)))
        .collect();
    assert_eq!(pages, [(Some(100), None), (Some(100), Some("2".into()))]);
    assert_eq!(taken(&sc)[0].max_records(), Some(100));
}

#[tokio::test]
async fn green_members_are_read_with_their_class_and_pending_class() {
    let c = clients(&[
        mock!(aws_sdk_rds::Client::describe_db_instances).then_output(|| {
            let mut green = instance(GREEN, "16.4", "db-G");
            green.db_instance_status = Some("modifying".into());
            green.pending_modified_values = Some(
                PendingModifiedValues::builder()
                    .db_instance_class("db.r6g.2xlarge")
                    .build(),
            );
            DescribeDbInstancesOutput::builder()
                .db_instances(green)
                .build()
        }),
        mock!(aws_sdk_rds::Client::describe_db_clusters).then_output(|| {
            DescribeDbClustersOutput::builder()
                .db_clusters(cluster("ledger-green", "16.4", &[]))
                .build()
        }),
    ]);
    let members = c
        .rds
        .member_statuses(&[
            GREEN_ARN.into(),
            cluster_arn_of("ledger-green"),
            "not an arn".into(),
        ])
        .await
        .unwrap();
    assert_eq!(
        members,
        [
            MemberStatus {
                arn: GREEN_ARN.into(),
                status: "modifying".into(),
                instance_class: Some("db.r6g.large".into()),
                pending_instance_class: Some("db.r6g.2xlarge".into()),
                ..MemberStatus::default()
            },
            MemberStatus {
                arn: cluster_arn_of("ledger-green"),
                status: "available".into(),
                ..MemberStatus::default()
            },
        ]
    );
}

#[tokio::test]
async fn green_members_loading_their_data_are_read_with_their_percentage() {
    // RDS User Guide, Creating a blue/green deployment, "Lazy loading and storage
    // initialization": Storage-initialization with PercentProgress (a string); the newer
    // StorageOperationStatus / StorageOperationPercentProgress (an integer) too.
    let c = clients(&[
        mock!(aws_sdk_rds::Client::describe_db_instances)
            .match_requests(|r| r.db_instance_identifier() == Some(GREEN))
            .then_output(|| {
                let mut green = instance(GREEN, "16.4", "db-G");
                green.db_instance_status = Some("storage-initialization".into());
                green.percent_progress = Some("42.5".into());
                DescribeDbInstancesOutput::builder()
                    .db_instances(green)
                    .build()
            }),
        mock!(aws_sdk_rds::Client::describe_db_instances).then_output(|| {
            let mut replica = instance("orders-pg-r1-green-abc", "16.4", "db-R");
            replica.storage_operation_status = Some("Initializing".into());
            replica.storage_operation_percent_progress = Some(80);
            DescribeDbInstancesOutput::builder()
                .db_instances(replica)
                .build()
        }),
    ]);
    let members = c
        .rds
        .member_statuses(&[GREEN_ARN.into(), arn_of("orders-pg-r1-green-abc")])
        .await
        .unwrap();
    assert_eq!(
        (members[0].status.as_str(), members[0].percent_progress),
        ("storage-initialization", Some(42.5))
    );
    assert!(members[0].is_loading());
    assert_eq!(members[1].percent_progress, Some(80.0));
    assert_eq!(
        members[1].storage_operation.as_deref(),
        Some("Initializing")
    );
    assert!(members[1].is_loading());
}

#[tokio::test]
async fn pending_maintenance_is_read_as_lines() {
    let c = clients(&[
        mock!(aws_sdk_rds::Client::describe_pending_maintenance_actions).then_output(|| {
            DescribePendingMaintenanceActionsOutput::builder()
                .pending_maintenance_actions(
                    ResourcePendingMaintenanceActions::builder()
                        .resource_identifier(SOURCE_ARN)
                        .pending_maintenance_action_details(
                            PendingMaintenanceAction::builder()
                                .action("system-update")
                                .description("New Operating System update is available")
                                .build(),
                        )
                        .pending_maintenance_action_details(
                            PendingMaintenanceAction::builder()
                                .action("db-upgrade")
                                .auto_applied_after_date(DateTime::from_secs(NOW as i64))
                                .build(),
                        )
                        .build(),
                )
                .build()
        }),
    ]);
    assert_eq!(
        c.rds.pending_maintenance(SOURCE_ARN).await.unwrap(),
        [
            "system-update (New Operating System update is available)".to_string(),
            "db-upgrade, auto-applied after 2026-11-24T17:05:00Z".to_string(),
        ]
    );
}

// ---------------------------------------------------------------- Step Functions

#[tokio::test]
async fn an_execution_is_started_by_name_and_read_as_it_stands() {
    let s: Seen<StartExecutionInput> = seen();
    let s2 = s.clone();
    let arn = bluegreen_aws::sfn::execution_arn(MACHINE, "wave-1-u0001");
    let described = |status: ExecutionStatus, output: Option<&'static str>| {
        let arn = arn.clone();
        mock!(aws_sdk_sfn::Client::describe_execution).then_output(move || {
            DescribeExecutionOutput::builder()
                .execution_arn(&arn)
                .state_machine_arn(MACHINE)
                .status(status.clone())
                .start_date(DateTime::from_secs(0))
                .set_output(output.map(str::to_string))
                .error("PrecheckFailed")
                .cause("1 precheck(s) failed")
                .build()
                .unwrap()
        })
    };
    let start = mock!(aws_sdk_sfn::Client::start_execution).then_compute_output(move |req| {
        s2.lock().unwrap().push(req.clone());
        StartExecutionOutput::builder()
            .execution_arn("arn:from:the:answer")
            .start_date(DateTime::from_secs(0))
            .build()
            .unwrap()
    });
    let x = executions(&[start]);
    assert_eq!(
        x.start(MACHINE, "wave-1-u0001", "{\"a\":1}")
            .await
            .as_deref(),
        Ok("arn:from:the:answer")
    );
    assert_eq!(
        taken(&s),
        [StartExecutionInput::builder()
            .state_machine_arn(MACHINE)
            .name("wave-1-u0001")
            .input("{\"a\":1}")
            .build()
            .unwrap()]
    );
    let status = |status: ExecutionStatus, output: Option<&'static str>| {
        let x = executions(&[described(status, output)]);
        let arn = arn.clone();
        async move { x.status(&arn).await.unwrap() }
    };
    assert_eq!(
        status(ExecutionStatus::Running, None).await,
        ChildStatus::Running
    );
    assert_eq!(
        status(ExecutionStatus::PendingRedrive, None).await,
        ChildStatus::Running
    );
    match status(
        ExecutionStatus::Succeeded,
        Some("{\"route\": \"prepare\", \"request\": {\"db_identifier\": \"x\", \"target_engine_version\": \"16.4\"}}"),
    )
    .await
    {
        ChildStatus::Succeeded(run) => assert_eq!(run.request.unwrap().db_identifier, "x"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        status(ExecutionStatus::Succeeded, Some("\"not a run\"")).await,
        ChildStatus::Unreadable(_)
    ));
    assert_eq!(
        status(ExecutionStatus::Failed, None).await,
        ChildStatus::Failed {
            error: "PrecheckFailed".into(),
            cause: "1 precheck(s) failed".into()
        }
    );
    assert_eq!(
        status(ExecutionStatus::Aborted, None).await,
        ChildStatus::Ended("ABORTED".into())
    );
}

// ---------------------------------------------------------------- the topology

use aws_sdk_rds::operation::describe_db_cluster_endpoints::{
    DescribeDbClusterEndpointsInput, DescribeDbClusterEndpointsOutput,
};
use aws_sdk_rds::operation::describe_db_major_engine_versions::{
    DescribeDbMajorEngineVersionsInput, DescribeDbMajorEngineVersionsOutput,
};
use aws_sdk_rds::operation::describe_db_proxies::{
    DescribeDbProxiesInput, DescribeDbProxiesOutput,
};
use aws_sdk_rds::operation::describe_db_proxy_targets::{
    DescribeDbProxyTargetsInput, DescribeDbProxyTargetsOutput,
};
use aws_sdk_rds::operation::describe_global_clusters::DescribeGlobalClustersOutput;
use aws_sdk_rds::operation::describe_integrations::DescribeIntegrationsOutput;
use bluegreen_domain::model::lifecycle::MajorLifecycle;
use bluegreen_domain::model::source::{CustomEndpoint, GlobalMembership, Integration, Proxy};

#[tokio::test]
async fn proxies_are_read_with_every_target_of_every_page() {
    use aws_sdk_rds::types::{
        DbProxy, DbProxyTarget, TargetHealth, TargetHealthReason, TargetRole, TargetState,
        TargetType,
    };
    let proxies: Seen<DescribeDbProxiesInput> = seen();
    let targets: Seen<DescribeDbProxyTargetsInput> = seen();
    let (p2, t2) = (proxies.clone(), targets.clone());
    let c = clients(&[
        mock!(aws_sdk_rds::Client::describe_db_proxies).then_compute_output(move |req| {
            p2.lock().unwrap().push(req.clone());
            match req.marker() {
                None => DescribeDbProxiesOutput::builder()
                    .db_proxies(
                        DbProxy::builder()
                            .db_proxy_name("orders-proxy")
                            .engine_family("POSTGRESQL")
                            .build(),
                    )
                    .marker("1")
                    .build(),
                Some(_) => DescribeDbProxiesOutput::builder()
                    .db_proxies(
                        DbProxy::builder()
                            .db_proxy_name("ledger-proxy")
                            .engine_family("POSTGRESQL")
                            .build(),
                    )
                    .build(),
            }
        }),
        mock!(aws_sdk_rds::Client::describe_db_proxy_targets).then_compute_output(move |req| {
            t2.lock().unwrap().push(req.clone());
            match req.db_proxy_name() {
                Some("orders-proxy") => DescribeDbProxyTargetsOutput::builder()
                    .targets(
                        DbProxyTarget::builder()
                            .rds_resource_id("orders-pg")
                            .endpoint("orders-pg.c9akciq32.us-east-1.rds.amazonaws.com")
                            .r#type(TargetType::RdsInstance)
                            .role(TargetRole::ReadWrite)
                            .target_health(
                                TargetHealth::builder()
                                    .state(TargetState::Unavailable)
                                    .reason(TargetHealthReason::AuthFailure)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
                // A cluster: its TRACKED_CLUSTER target reports no health; its writer does.
                _ => DescribeDbProxyTargetsOutput::builder()
                    .targets(
                        DbProxyTarget::builder()
                            .rds_resource_id("ledger")
                            .r#type(TargetType::TrackedCluster)
                            .build(),
                    )
                    .targets(
                        DbProxyTarget::builder()
                            .rds_resource_id("ledger-1")
                            .tracked_cluster_id("ledger")
                            .endpoint("ledger-1.c9akciq32.us-east-1.rds.amazonaws.com")
                            .r#type(TargetType::RdsInstance)
                            .role(TargetRole::ReadWrite)
                            .target_health(
                                TargetHealth::builder()
                                    .state(TargetState::Available)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            }
        }),
    ]);
    let all = c.rds.proxy_targets().await.unwrap();
    assert_eq!(
        all,
        [
            Proxy {
                name: "orders-proxy".into(),
                engine_family: "POSTGRESQL".into(),
                target: "orders-pg".into(),
                target_endpoint: Some("orders-pg.c9akciq32.us-east-1.rds.amazonaws.com".into()),
                state: "UNAVAILABLE".into(),
                reason: Some("AUTH_FAILURE".into()),
            },
            Proxy {
                name: "ledger-proxy".into(),
                engine_family: "POSTGRESQL".into(),
                target: "ledger".into(),
                target_endpoint: None,
                state: "AVAILABLE".into(),
                reason: None,
            },
            Proxy {
                name: "ledger-proxy".into(),
                engine_family: "POSTGRESQL".into(),
                target: "ledger-1".into(),
                target_endpoint: Some("ledger-1.c9akciq32.us-east-1.rds.amazonaws.com".into()),
                state: "AVAILABLE".into(),
                reason: None,
            },
        ]
    );
    assert_eq!(taken(&proxies).len(), 2, "every page of proxies");
    let asked: Vec<Option<String>> = taken(&targets)
        .iter()
        .map(|r| r.db_proxy_name().map(str::to_string))
        .collect();
    assert_eq!(
        asked,
        [Some("orders-proxy".into()), Some("ledger-proxy".into())]
    );
    assert!(taken(&targets)
        .iter()
        .all(|r| r.target_group_name().is_none()));
}

const REPORTING_ARN: &str = "arn:aws:rds:us-east-1:123456789012:cluster-endpoint:reporting";

#[tokio::test]
async fn custom_endpoints_are_asked_of_the_cluster_with_the_custom_filter() {
    use aws_sdk_rds::types::DbClusterEndpoint;
    let s: Seen<DescribeDbClusterEndpointsInput> = seen();
    let s2 = s.clone();
    let c = clients(&[mock!(aws_sdk_rds::Client::describe_db_cluster_endpoints)
        .then_compute_output(move |req| {
            s2.lock().unwrap().push(req.clone());
            DescribeDbClusterEndpointsOutput::builder()
                .db_cluster_endpoints(
                    DbClusterEndpoint::builder()
                        .db_cluster_endpoint_identifier("reporting")
                        .db_cluster_endpoint_arn(REPORTING_ARN)
                        .db_cluster_identifier("ledger")
                        .endpoint_type("CUSTOM")
                        .custom_endpoint_type("READER")
                        .static_members("ledger-2")
                        .build(),
                )
                .build()
        })]);
    assert_eq!(
        c.rds.custom_endpoints("ledger").await.unwrap(),
        [CustomEndpoint {
            identifier: "reporting".into(),
            endpoint_type: "READER".into(),
            static_members: vec!["ledger-2".into()],
            excluded_members: vec![],
            arn: REPORTING_ARN.into(),
            tags: BTreeMap::new(),
            tags_unread: false,
        }]
    );
    assert_eq!(
        taken(&s),
        [DescribeDbClusterEndpointsInput::builder()
            .db_cluster_identifier("ledger")
            .filters(
                Filter::builder()
                    .name("db-cluster-endpoint-type")
                    .values("custom")
                    .build()
            )
            .build()
            .unwrap()]
    );
}

#[tokio::test]
async fn a_global_membership_integrations_and_lifecycle_are_read() {
    use aws_sdk_rds::types::{
        DbMajorEngineVersion, GlobalCluster, GlobalClusterMember, IntegrationStatus,
        LifecycleSupportName, SupportedEngineLifecycle,
    };
    let ledger = cluster_arn_of("ledger");
    let eu = "arn:aws:rds:eu-west-1:123456789012:cluster:ledger-eu".to_string();
    let (l2, eu2) = (ledger.clone(), eu.clone());
    let majors: Seen<DescribeDbMajorEngineVersionsInput> = seen();
    let m2 = majors.clone();
    let c = clients(&[
        mock!(aws_sdk_rds::Client::describe_global_clusters).then_compute_output(move |req| {
            match req.marker() {
                None => DescribeGlobalClustersOutput::builder()
                    .global_clusters(
                        GlobalCluster::builder()
                            .global_cluster_identifier("other")
                            .build(),
                    )
                    .marker("1")
                    .build(),
                Some(_) => DescribeGlobalClustersOutput::builder()
                    .global_clusters(
                        GlobalCluster::builder()
                            .global_cluster_identifier("ledger-global")
                            .global_cluster_members(
                                GlobalClusterMember::builder()
                                    .db_cluster_arn(&l2)
                                    .is_writer(true)
                                    .build(),
                            )
                            .global_cluster_members(
                                GlobalClusterMember::builder()
                                    .db_cluster_arn(&eu2)
                                    .is_writer(false)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            }
        }),
        mock!(aws_sdk_rds::Client::describe_integrations).then_compute_output(|_| {
            DescribeIntegrationsOutput::builder()
                .integrations(
                    aws_sdk_rds::types::Integration::builder()
                        .integration_name("orders-to-redshift")
                        .source_arn(arn_of("orders-pg"))
                        .target_arn("arn:aws:redshift:us-east-1:123456789012:namespace:x")
                        .status(IntegrationStatus::Active)
                        .build(),
                )
                .integrations(
                    aws_sdk_rds::types::Integration::builder()
                        .integration_name("billing-to-redshift")
                        .source_arn(arn_of("billing"))
                        .target_arn("arn:aws:redshift:us-east-1:123456789012:namespace:y")
                        .build(),
                )
                .build()
        }),
        mock!(aws_sdk_rds::Client::describe_db_major_engine_versions).then_compute_output(
            move |req| {
                m2.lock().unwrap().push(req.clone());
                let life = |name, start: i64, end: i64| {
                    SupportedEngineLifecycle::builder()
                        .lifecycle_support_name(name)
                        .lifecycle_support_start_date(DateTime::from_secs(start))
                        .lifecycle_support_end_date(DateTime::from_secs(end))
                        .build()
                };
                DescribeDbMajorEngineVersionsOutput::builder()
                    .db_major_engine_versions(
                        DbMajorEngineVersion::builder()
                            .engine("postgres")
                            .major_engine_version("13")
                            // 2020-11-05 .. 2026-02-28T23:59:59Z; 2026-03-01 .. 2029-02-28
                            .supported_engine_lifecycles(life(
                                LifecycleSupportName::OpenSourceRdsStandardSupport,
                                1_604_534_400,
                                1_772_323_199,
                            ))
                            .supported_engine_lifecycles(life(
                                LifecycleSupportName::OpenSourceRdsExtendedSupport,
                                1_772_323_200,
                                1_867_017_599,
                            ))
                            .build(),
                    )
                    .build()
            },
        ),
    ]);
    assert_eq!(
        c.rds.global_membership(&ledger).await.unwrap(),
        Some(GlobalMembership {
            global_cluster: "ledger-global".into(),
            is_primary: true,
            members: vec![ledger.clone(), eu.clone()],
        })
    );
    assert_eq!(
        c.rds.global_membership(&cluster_arn_of("x")).await,
        Ok(None)
    );
    assert_eq!(
        c.rds.integrations(&arn_of("orders-pg")).await.unwrap(),
        [Integration {
            name: "orders-to-redshift".into(),
            target: "arn:aws:redshift:us-east-1:123456789012:namespace:x".into(),
            status: "active".into(),
        }],
        "only the integrations whose source is the database"
    );
    assert_eq!(
        c.rds
            .major_lifecycle(&Engine::Postgres, "13")
            .await
            .unwrap(),
        Some(MajorLifecycle {
            engine: "postgres".into(),
            major: "13".into(),
            standard_support_ends: Some("2026-02-28".into()),
            extended_support_starts: Some("2026-03-01".into()),
            extended_support_ends: Some("2029-02-28".into()),
        })
    );
    assert_eq!(
        taken(&majors),
        [DescribeDbMajorEngineVersionsInput::builder()
            .engine("postgres")
            .major_engine_version("13")
            .build()
            .unwrap()]
    );
}

#[tokio::test]
async fn a_resources_tags_are_listed_by_its_arn() {
    use aws_sdk_rds::operation::list_tags_for_resource::{
        ListTagsForResourceInput, ListTagsForResourceOutput,
    };
    let s: Seen<ListTagsForResourceInput> = seen();
    let s2 = s.clone();
    let c = clients(&[
        mock!(aws_sdk_rds::Client::list_tags_for_resource).then_compute_output(move |req| {
            s2.lock().unwrap().push(req.clone());
            ListTagsForResourceOutput::builder()
                .tag_list(tag("bluegreen:managed", "true"))
                .tag_list(tag("team", "ledger"))
                .build()
        }),
    ]);
    assert_eq!(
        c.rds.tags_of(REPORTING_ARN).await.unwrap(),
        map(&[("bluegreen:managed", "true"), ("team", "ledger")])
    );
    assert_eq!(
        taken(&s),
        [ListTagsForResourceInput::builder()
            .resource_name(REPORTING_ARN)
            .build()
            .unwrap()]
    );
    let denied = clients(&[refuse("rds:ListTagsForResource", 403, "AccessDenied")]);
    let e = denied.rds.tags_of(REPORTING_ARN).await.unwrap_err();
    assert!(!e.is_transient(), "{e}");
    assert!(
        e.to_string().contains("rds:ListTagsForResource was denied"),
        "{e}"
    );
}

#[tokio::test]
async fn a_denied_topology_read_names_the_action() {
    let c = clients(&[
        refuse("rds:DescribeDBProxies", 403, "AccessDenied"),
        refuse("rds:DescribeIntegrations", 403, "AccessDenied"),
        refuse("rds:DescribeDBMajorEngineVersions", 403, "AccessDenied"),
    ]);
    for (err, action) in [
        (
            c.rds.proxy_targets().await.unwrap_err(),
            "rds:DescribeDBProxies",
        ),
        (
            c.rds.integrations(&arn_of("orders-pg")).await.unwrap_err(),
            "rds:DescribeIntegrations",
        ),
        (
            c.rds
                .major_lifecycle(&Engine::Postgres, "13")
                .await
                .unwrap_err(),
            "rds:DescribeDBMajorEngineVersions",
        ),
    ] {
        assert!(!err.is_transient(), "{err}");
        assert!(
            err.to_string().contains(&format!("{action} was denied")),
            "{err}"
        );
    }
}

// ------------------------------------------------------------------ AWS DMS
use aws_sdk_databasemigration::operation::describe_endpoints::DescribeEndpointsOutput;
use aws_sdk_databasemigration::operation::describe_replication_tasks::{
    DescribeReplicationTasksError, DescribeReplicationTasksInput, DescribeReplicationTasksOutput,
};
use aws_sdk_databasemigration::types::error::ResourceNotFoundFault;
use bluegreen_domain::model::source::{DmsEndpoint, DmsTaskListing};

#[tokio::test]
async fn dms_endpoints_are_read_from_every_page() {
    use aws_sdk_databasemigration::types::Endpoint as DmsEp;
    let d = wire::dms(
        &[
            mock!(aws_sdk_databasemigration::Client::describe_endpoints).then_compute_output(
                |req| match req.marker() {
                    None => DescribeEndpointsOutput::builder()
                        .endpoints(
                            DmsEp::builder()
                                .endpoint_arn("arn:aws:dms:us-east-1:123456789012:endpoint:A")
                                .endpoint_identifier("orders-src")
                                .server_name("orders-pg.c9akciq32.us-east-1.rds.amazonaws.com")
                                .port(5432)
                                .build(),
                        )
                        .marker("1")
                        .build(),
                    Some(_) => DescribeEndpointsOutput::builder()
                        .endpoints(
                            DmsEp::builder()
                                .endpoint_arn("arn:aws:dms:us-east-1:123456789012:endpoint:B")
                                .endpoint_identifier("to-s3")
                                .build(),
                        )
                        .build(),
                },
            ),
        ],
    );
    assert_eq!(
        d.endpoints().await.unwrap(),
        vec![
            DmsEndpoint {
                arn: "arn:aws:dms:us-east-1:123456789012:endpoint:A".into(),
                identifier: "orders-src".into(),
                server_name: Some("orders-pg.c9akciq32.us-east-1.rds.amazonaws.com".into()),
                port: Some(5432),
            },
            DmsEndpoint {
                arn: "arn:aws:dms:us-east-1:123456789012:endpoint:B".into(),
                identifier: "to-s3".into(),
                server_name: None,
                port: None,
            },
        ]
    );
}

#[tokio::test]
async fn dms_tasks_are_asked_for_by_endpoint_arn_without_their_settings() {
    use aws_sdk_databasemigration::types::ReplicationTask;
    let s: Seen<DescribeReplicationTasksInput> = seen();
    let s2 = s.clone();
    let d = wire::dms(&[
        mock!(aws_sdk_databasemigration::Client::describe_replication_tasks).then_compute_output(
            move |req| {
                s2.lock().unwrap().push(req.clone());
                DescribeReplicationTasksOutput::builder()
                    .replication_tasks(
                        ReplicationTask::builder()
                            .replication_task_identifier("orders-cdc")
                            .status("running")
                            .source_endpoint_arn("arn:A")
                            .target_endpoint_arn("arn:K")
                            .build(),
                    )
                    .build()
            },
        ),
    ]);
    let tasks = d
        .tasks_using(&["arn:A".into(), "arn:B".into()])
        .await
        .unwrap();
    assert_eq!(
        tasks,
        vec![DmsTaskListing {
            identifier: "orders-cdc".into(),
            status: "running".into(),
            source_endpoint_arn: "arn:A".into(),
            target_endpoint_arn: "arn:K".into(),
        }]
    );
    let req = &taken(&s)[0];
    let f = &req.filters()[0];
    assert_eq!(f.name(), "endpoint-arn");
    assert_eq!(f.values(), ["arn:A", "arn:B"]);
    assert_eq!(req.without_settings(), Some(true));
}

/// Where DMS answers "no task matches" with ResourceNotFoundFault rather than an empty list,
/// that is no task, not an error; a denied read stays an error (the precheck warns).
#[tokio::test]
async fn dms_no_match_as_a_fault_is_none_and_a_denial_is_an_error() {
    let d = wire::dms(&[
        mock!(aws_sdk_databasemigration::Client::describe_replication_tasks).then_error(|| {
            DescribeReplicationTasksError::ResourceNotFoundFault(
                ResourceNotFoundFault::builder()
                    .message("No Tasks found matching provided filters")
                    .meta(
                        aws_sdk_databasemigration::error::ErrorMetadata::builder()
                            .code("ResourceNotFoundFault")
                            .build(),
                    )
                    .build(),
            )
        }),
    ]);
    assert_eq!(d.tasks_using(&["arn:A".into()]).await.unwrap(), vec![]);
    let denied = wire::dms(&[wire::refuse(
        "dms:DescribeEndpoints",
        400,
        "AccessDeniedException",
    )]);
    let e = denied.endpoints().await.unwrap_err();
    assert!(!e.is_transient(), "{e}");
    assert!(e.to_string().contains("dms:DescribeEndpoints"), "{e}");
}

/// An answer the SDK cannot read (here an ISO timestamp where AWS JSON 1.1 sends epoch
/// seconds) is said as such, never as a refusal with an unknown code.
#[tokio::test]
async fn an_unreadable_success_answer_is_not_a_refusal() {
    let d = wire::dms(&[wire::respond("dms:DescribeEndpoints", || {
        let mut r = aws_smithy_runtime_api::client::orchestrator::HttpResponse::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(200).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                r#"{"Endpoints":[{"EndpointIdentifier":"e","Port":"not a number"}]}"#,
            ),
        );
        r.headers_mut()
            .insert("content-type", "application/x-amz-json-1.1");
        r
    })]);
    let e = d.endpoints().await.unwrap_err();
    assert_eq!(e.name(), "AwsRequestFailed", "{e}");
    let text = e.to_string();
    assert!(
        text.contains("dms:DescribeEndpoints") && text.contains("could not read"),
        "{text}"
    );
    assert!(!text.contains("refused"), "{text}");
}

// ------------------------------------------------------------------ AWS KMS
use aws_sdk_kms::operation::describe_key::{DescribeKeyError, DescribeKeyInput, DescribeKeyOutput};
use aws_sdk_kms::types::{KeyManagerType, KeyMetadata};
use bluegreen_domain::model::grants::KeyManager;

fn key_metadata(manager: KeyManagerType) -> KeyMetadata {
    KeyMetadata::builder()
        .key_id("5e9c1f7a-2b4d-4c6e-8f0a-customer0001")
        .arn(KEY_ARN)
        .key_manager(manager)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_keys_manager_is_read_from_describe_key_by_its_arn() {
    let s: Seen<DescribeKeyInput> = seen();
    let s2 = s.clone();
    let k = wire::kms(&[
        mock!(aws_sdk_kms::Client::describe_key).then_compute_output(move |req| {
            s2.lock().unwrap().push(req.clone());
            let manager = if req.key_id() == Some(KEY_ARN) {
                KeyManagerType::Customer
            } else {
                KeyManagerType::Aws
            };
            DescribeKeyOutput::builder()
                .key_metadata(key_metadata(manager))
                .build()
        }),
    ]);
    assert_eq!(k.key_manager(KEY_ARN).await, Ok(Some(KeyManager::Customer)));
    let aws_rds = "arn:aws:kms:us-east-1:123456789012:key/0b7f5d2e-6c1a-4e8b-9a3d-aws0managed01";
    assert_eq!(k.key_manager(aws_rds).await, Ok(Some(KeyManager::Aws)));
    assert_eq!(
        taken(&s),
        [
            DescribeKeyInput::builder().key_id(KEY_ARN).build().unwrap(),
            DescribeKeyInput::builder().key_id(aws_rds).build().unwrap(),
        ]
    );
}

/// No such key is `None`; a denial is a refusal naming kms:DescribeKey, never retried.
#[tokio::test]
async fn a_key_that_is_not_there_is_none_and_a_denial_is_an_error() {
    let k = wire::kms(&[mock!(aws_sdk_kms::Client::describe_key).then_error(|| {
        DescribeKeyError::NotFoundException(
            aws_sdk_kms::types::error::NotFoundException::builder()
                .message("Key 'arn:aws:kms:...' does not exist")
                .meta(
                    aws_sdk_kms::error::ErrorMetadata::builder()
                        .code("NotFoundException")
                        .build(),
                )
                .build(),
        )
    })]);
    assert_eq!(k.key_manager(KEY_ARN).await, Ok(None));
    let denied = wire::kms(&[wire::refuse(
        "kms:DescribeKey",
        400,
        "AccessDeniedException",
    )]);
    let e = denied.key_manager(KEY_ARN).await.unwrap_err();
    assert_eq!(e.name(), "AwsRequestFailed", "{e}");
    assert!(!e.is_transient(), "{e}");
    assert!(e.to_string().contains("kms:DescribeKey was denied"), "{e}");
}

// ------------------------------------------------------------------ rbg's calls

use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksInput, DescribeStacksOutput,
};
use aws_sdk_cloudformation::types::{Output as StackOutput, Stack, StackStatus};
use aws_sdk_sfn::operation::get_execution_history::{
    GetExecutionHistoryInput, GetExecutionHistoryOutput,
};
use aws_sdk_sfn::operation::list_executions::{ListExecutionsInput, ListExecutionsOutput};
use aws_sdk_sfn::operation::send_task_failure::{SendTaskFailureInput, SendTaskFailureOutput};
use aws_sdk_sfn::operation::send_task_success::{SendTaskSuccessInput, SendTaskSuccessOutput};
use aws_sdk_sfn::types::{
    ExecutionListItem, HistoryEvent as SdkHistoryEvent, HistoryEventType, StateEnteredEventDetails,
    TaskFailedEventDetails, TaskScheduledEventDetails,
};
use bluegreen_aws::sfn::{ExecutionDescription, HistoryEvent, HistoryPage, HistoryQuery};

const EXECUTION: &str =
    "arn:aws:states:us-east-1:123456789012:execution:rds-bluegreen-upgrade:orders-pg-upgrade";

#[tokio::test]
async fn an_execution_is_started_named_or_not_and_described_as_it_stands() {
    let s: Seen<StartExecutionInput> = seen();
    let s2 = s.clone();
    let x = executions(&[
        mock!(aws_sdk_sfn::Client::start_execution).then_compute_output(move |req| {
            s2.lock().unwrap().push(req.clone());
            StartExecutionOutput::builder()
                .execution_arn(EXECUTION)
                .start_date(DateTime::from_secs(0))
                .build()
                .unwrap()
        }),
        mock!(aws_sdk_sfn::Client::describe_execution).then_output(|| {
            DescribeExecutionOutput::builder()
                .execution_arn(EXECUTION)
                .name("orders-pg-upgrade")
                .state_machine_arn(MACHINE)
                .status(ExecutionStatus::Failed)
                .start_date(DateTime::from_secs_f64(100.5))
                .stop_date(DateTime::from_secs(160))
                .input("{\"action\":\"plan\"}")
                .error("PrecheckFailed")
                .cause("1 precheck(s) failed")
                .build()
                .unwrap()
        }),
    ]);
    assert_eq!(
        x.start_execution(MACHINE, None, "{\"action\":\"plan\"}")
            .await,
        Ok(EXECUTION.to_string())
    );
    assert_eq!(
        x.start_execution(MACHINE, Some("mine"), "{}").await,
        Ok(EXECUTION.to_string())
    );
    assert_eq!(
        taken(&s),
        [
            StartExecutionInput::builder()
                .state_machine_arn(MACHINE)
                .input("{\"action\":\"plan\"}")
                .build()
                .unwrap(),
            StartExecutionInput::builder()
                .state_machine_arn(MACHINE)
                .name("mine")
                .input("{}")
                .build()
                .unwrap()
        ],
        "a name only when one is given"
    );
    assert_eq!(
        x.describe(EXECUTION).await.unwrap(),
        ExecutionDescription {
            arn: EXECUTION.into(),
            name: "orders-pg-upgrade".into(),
            status: "FAILED".into(),
            started: 100.5,
            stopped: Some(160.0),
            input: Some("{\"action\":\"plan\"}".into()),
            output: None,
            error: Some("PrecheckFailed".into()),
            cause: Some("1 precheck(s) failed".into()),
        }
    );
}

#[tokio::test]
async fn a_history_page_is_asked_as_queried_and_read_into_events() {
    let s: Seen<GetExecutionHistoryInput> = seen();
    let s2 = s.clone();
    let x = executions(&[
        mock!(aws_sdk_sfn::Client::get_execution_history).then_compute_output(move |req| {
            s2.lock().unwrap().push(req.clone());
            GetExecutionHistoryOutput::builder()
                .events(
                    SdkHistoryEvent::builder()
                        .id(7)
                        .previous_event_id(6)
                        .timestamp(DateTime::from_secs(1000))
                        .r#type(HistoryEventType::TaskStateEntered)
                        .state_entered_event_details(
                            StateEnteredEventDetails::builder()
                                .name("AwaitApproval")
                                .input("{\"a\":1}")
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .events(
                    SdkHistoryEvent::builder()
                        .id(8)
                        .previous_event_id(7)
                        .timestamp(DateTime::from_secs(1001))
                        .r#type(HistoryEventType::TaskScheduled)
                        .task_scheduled_event_details(
                            TaskScheduledEventDetails::builder()
                                .resource_type("lambda")
                                .resource("invoke.waitForTaskToken")
                                .region("us-east-1")
                                .parameters("{\"Payload\":{\"task_token\":\"t\"}}")
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .events(
                    SdkHistoryEvent::builder()
                        .id(9)
                        .previous_event_id(8)
                        .timestamp(DateTime::from_secs(1002))
                        .r#type(HistoryEventType::TaskFailed)
                        .task_failed_event_details(
                            TaskFailedEventDetails::builder()
                                .resource_type("lambda")
                                .resource("invoke.waitForTaskToken")
                                .error("Rejected")
                                .cause("no")
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .next_token("page-2")
                .build()
                .unwrap()
        }),
    ]);
    let page = x
        .history(
            EXECUTION,
            HistoryQuery {
                max_results: 100,
                newest_first: true,
                with_data: true,
                next_token: Some("page-1"),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page,
        HistoryPage {
            events: vec![
                HistoryEvent {
                    id: 7,
                    previous_id: 6,
                    kind: "TaskStateEntered".into(),
                    timestamp: 1000.0,
                    state: Some("AwaitApproval".into()),
                    data: Some("{\"a\":1}".into()),
                    ..HistoryEvent::default()
                },
                HistoryEvent {
                    id: 8,
                    previous_id: 7,
                    kind: "TaskScheduled".into(),
                    timestamp: 1001.0,
                    parameters: Some("{\"Payload\":{\"task_token\":\"t\"}}".into()),
                    resource: Some("invoke.waitForTaskToken".into()),
                    ..HistoryEvent::default()
                },
                HistoryEvent {
                    id: 9,
                    previous_id: 8,
                    kind: "TaskFailed".into(),
                    timestamp: 1002.0,
                    error: Some("Rejected".into()),
                    cause: Some("no".into()),
                    ..HistoryEvent::default()
                },
            ],
            next_token: Some("page-2".into()),
        }
    );
    assert!(page.events[0].entered() && !page.events[1].entered());
    x.history(
        EXECUTION,
        HistoryQuery {
            max_results: 1000,
            newest_first: false,
            with_data: false,
            next_token: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        taken(&s),
        [
            GetExecutionHistoryInput::builder()
                .execution_arn(EXECUTION)
                .max_results(100)
                .reverse_order(true)
                .include_execution_data(true)
                .next_token("page-1")
                .build()
                .unwrap(),
            GetExecutionHistoryInput::builder()
                .execution_arn(EXECUTION)
                .max_results(1000)
                .include_execution_data(false)
                .build()
                .unwrap()
        ],
        "reverseOrder only when asked, the data always said"
    );
}

#[tokio::test]
async fn executions_are_listed_the_running_ones_alone_when_asked() {
    let s: Seen<ListExecutionsInput> = seen();
    let s2 = s.clone();
    let x = executions(&[
        mock!(aws_sdk_sfn::Client::list_executions).then_compute_output(move |req| {
            s2.lock().unwrap().push(req.clone());
            ListExecutionsOutput::builder()
                .executions(
                    ExecutionListItem::builder()
                        .execution_arn(EXECUTION)
                        .state_machine_arn(MACHINE)
                        .name("orders-pg-upgrade")
                        .status(ExecutionStatus::Running)
                        .start_date(DateTime::from_secs(0))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        }),
    ]);
    assert_eq!(
        x.list(MACHINE, true, 100).await,
        Ok(vec![EXECUTION.to_string()])
    );
    assert_eq!(
        x.list(MACHINE, false, 1).await,
        Ok(vec![EXECUTION.to_string()])
    );
    assert_eq!(
        taken(&s),
        [
            ListExecutionsInput::builder()
                .state_machine_arn(MACHINE)
                .status_filter(ExecutionStatus::Running)
                .max_results(100)
                .build()
                .unwrap(),
            ListExecutionsInput::builder()
                .state_machine_arn(MACHINE)
                .max_results(1)
                .build()
                .unwrap()
        ]
    );
}

#[tokio::test]
async fn a_task_token_is_answered_with_the_output_or_the_error_and_cause() {
    let (ok, failed): (Seen<SendTaskSuccessInput>, Seen<SendTaskFailureInput>) = (seen(), seen());
    let (ok2, failed2) = (ok.clone(), failed.clone());
    let x = executions(&[
        mock!(aws_sdk_sfn::Client::send_task_success).then_compute_output(move |req| {
            ok2.lock().unwrap().push(req.clone());
            SendTaskSuccessOutput::builder().build()
        }),
        mock!(aws_sdk_sfn::Client::send_task_failure).then_compute_output(move |req| {
            failed2.lock().unwrap().push(req.clone());
            SendTaskFailureOutput::builder().build()
        }),
    ]);
    x.send_task_success("tok", "{\"approved_by\":\"ana\"}")
        .await
        .unwrap();
    x.send_task_failure("tok", "Rejected", "not tonight")
        .await
        .unwrap();
    assert_eq!(
        taken(&ok),
        [SendTaskSuccessInput::builder()
            .task_token("tok")
            .output("{\"approved_by\":\"ana\"}")
            .build()
            .unwrap()]
    );
    assert_eq!(
        taken(&failed),
        [SendTaskFailureInput::builder()
            .task_token("tok")
            .error("Rejected")
            .cause("not tonight")
            .build()
            .unwrap()]
    );
}

#[tokio::test]
async fn a_stacks_outputs_are_read_by_key() {
    let s: Seen<DescribeStacksInput> = seen();
    let s2 = s.clone();
    let output = |k: &str, v: &str| StackOutput::builder().output_key(k).output_value(v).build();
    let stacks = wire::stacks(&[mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .then_compute_output(move |req| {
            s2.lock().unwrap().push(req.clone());
            DescribeStacksOutput::builder()
                .stacks(
                    Stack::builder()
                        .stack_name("rds-bluegreen")
                        .stack_status(StackStatus::CreateComplete)
                        .creation_time(DateTime::from_secs(0))
                        .outputs(output("StateMachineArn", MACHINE))
                        .outputs(output("FleetStateMachineArn", "arn:fleet"))
                        // An output without a value is not one.
                        .outputs(StackOutput::builder().output_key("Empty").build())
                        .build(),
                )
                .build()
        })]);
    assert_eq!(
        stacks.outputs("rds-bluegreen").await,
        Ok(Some(map(&[
            ("FleetStateMachineArn", "arn:fleet"),
            ("StateMachineArn", MACHINE)
        ])))
    );
    assert_eq!(
        taken(&s),
        [DescribeStacksInput::builder()
            .stack_name("rds-bluegreen")
            .build()
            .unwrap()]
    );
}

#[tokio::test]
async fn a_secret_is_read_as_its_string_and_binary_data_is_none() {
    use aws_sdk_secretsmanager::operation::get_secret_value::{
        GetSecretValueInput, GetSecretValueOutput,
    };
    use aws_smithy_types::Blob;
    let s: Seen<GetSecretValueInput> = seen();
    let s2 = s.clone();
    let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-pg-AbCdEf";
    let text = wire::secrets(&[mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .then_compute_output(move |req| {
            s2.lock().unwrap().push(req.clone());
            GetSecretValueOutput::builder()
                .secret_string("{\"username\":\"u\",\"password\":\"p\"}")
                .build()
        })]);
    assert_eq!(
        text.secret_string(secret).await,
        Ok(Some("{\"username\":\"u\",\"password\":\"p\"}".into()))
    );
    assert_eq!(
        taken(&s),
        [GetSecretValueInput::builder()
            .secret_id(secret)
            .build()
            .unwrap()],
        "the current version, by the secret's id"
    );
    let binary = wire::secrets(&[mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .then_output(|| {
            GetSecretValueOutput::builder()
                .secret_binary(Blob::new(vec![1, 2]))
                .build()
        })]);
    assert_eq!(binary.secret_string(secret).await, Ok(None));
}

#[tokio::test]
async fn a_deployment_is_read_by_its_identifier() {
    let s: Seen<DescribeBlueGreenDeploymentsInput> = seen();
    let s2 = s.clone();
    let c = clients(
        &[
            mock!(aws_sdk_rds::Client::describe_blue_green_deployments).then_compute_output(
                move |req| {
                    s2.lock().unwrap().push(req.clone());
                    DescribeBlueGreenDeploymentsOutput::builder()
                        .blue_green_deployments(deployment())
                        .build()
                },
            ),
        ],
    );
    let d = c.rds.deployment(DEPLOYMENT_ID).await.unwrap().unwrap();
    assert_eq!(
        (d.id.as_str(), d.name.as_str()),
        (DEPLOYMENT_ID, DEPLOYMENT_NAME)
    );
    assert_eq!(
        d.tasks,
        [DeploymentTask {
            name: "DB_ENGINE_VERSION_UPGRADE".into(),
            status: "COMPLETED".into()
        }]
    );
    assert_eq!(
        taken(&s),
        [DescribeBlueGreenDeploymentsInput::builder()
            .blue_green_deployment_identifier(DEPLOYMENT_ID)
            .build()
            .unwrap()]
    );
}

#[tokio::test]
async fn a_database_is_described_with_what_connecting_to_it_needs() {
    let c = clients(&[
        mock!(aws_sdk_rds::Client::describe_db_instances).then_output(|| {
            let mut db = instance(DB, "13.15", BLUE_RID);
            db.db_name = Some("orders".into());
            db.iam_database_authentication_enabled = Some(true);
            DescribeDbInstancesOutput::builder()
                .db_instances(db)
                .build()
        }),
        mock!(aws_sdk_rds::Client::describe_db_clusters).then_output(|| {
            let mut c = cluster("ledger", "13.15", &["ledger-1"]);
            c.database_name = Some("ledger".into());
            DescribeDbClustersOutput::builder().db_clusters(c).build()
        }),
    ]);
    let (db, connection) = c
        .rds
        .describe_with_connection(DbKind::Instance, DB)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (db.endpoint.as_deref(), db.port),
        (
            Some("orders-pg.c9akciq32.us-east-1.rds.amazonaws.com"),
            Some(5432)
        )
    );
    assert_eq!(
        connection,
        bluegreen_aws::rds::Connection {
            database_name: Some("orders".into()),
            iam_auth_enabled: Some(true)
        }
    );
    assert_eq!(
        c.rds.describe(DbKind::Instance, DB).await.unwrap(),
        Some(db),
        "the same describe, without the connection"
    );
    let (c_db, c_connection) = c
        .rds
        .describe_with_connection(DbKind::Cluster, "ledger")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c_db.kind, DbKind::Cluster);
    assert_eq!(
        c_connection,
        bluegreen_aws::rds::Connection {
            database_name: Some("ledger".into()),
            iam_auth_enabled: None
        }
    );
}

// ---------------------------------------------------------------- the mock rules themselves

#[tokio::test]
async fn a_mock_rule_answers_every_attempt_of_a_retried_call() {
    use wire::mock::mock_client;
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    let rule = wire::respond("rds:DescribeDBInstances", move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        wire::wire_response(wire::Proto::Query, wire::WireFault::Http500)
    });
    let client = mock_client!(aws_sdk_rds, &[rule], |c| c.retry_config(
        aws_sdk_rds::config::retry::RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(std::time::Duration::from_millis(1))
    ));
    let err = client.describe_db_instances().send().await.unwrap_err();
    assert_eq!(sent.load(std::sync::atomic::Ordering::SeqCst), 3, "{err:?}");
}

#[tokio::test]
#[should_panic(expected = "no mock rule answers")]
async fn a_call_no_mock_rule_answers_panics() {
    use wire::mock::mock_client;
    let rule = mock!(aws_sdk_rds::Client::describe_db_instances)
        .match_requests(|r| r.db_instance_identifier() == Some("another"))
        .then_output(|| DescribeDbInstancesOutput::builder().build());
    let client = mock_client!(aws_sdk_rds, &[rule]);
    let _ = client
        .describe_db_instances()
        .db_instance_identifier(DB)
        .send()
        .await;
}
