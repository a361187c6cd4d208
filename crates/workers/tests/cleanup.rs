//! `cleanup`: after the soak, one step per invocation: a final snapshot of the old blue,
//! then the deployment record (never with DeleteTarget), then, only if asked, the old blue.

mod common;

use bluegreen_domain::cleanup::CleanupState;
use bluegreen_domain::model::db::DbKind;
use bluegreen_domain::model::old_blue::OldBlue;
use bluegreen_domain::model::route::Route;
use bluegreen_domain::run::Run;
use bluegreen_workers::cleanup;
use common::*;
use serde_json::json;

/// After a 24-hour soak.
const NOW: u64 = 4200 + 24 * 3600;

fn soaked_run(extra: serde_json::Value) -> Run {
    let mut run = run_with_deployment(Route::Upgrade, request_with(extra), "SWITCHOVER_COMPLETED");
    run.mark("verified", &rfc(4200));
    run.old_blue = Some(old_blue_record());
    run
}

fn with_snapshot_available(mut run: Run) -> Run {
    run.cleanup = Some(CleanupState {
        snapshot_identifier: Some(SNAPSHOT_ID.into()),
        snapshot_status: Some("available".into()),
        steps: vec![format!("snapshot {SNAPSHOT_ID} available")],
        next_delay_seconds: 60,
        ..CleanupState::default()
    });
    run
}

/// The calls that delete or modify something.
fn deletions(world: &World) -> Vec<String> {
    world
        .log()
        .into_iter()
        .filter(|l| l.starts_with("delete") || l.starts_with("modify") || l.starts_with("disable"))
        .collect()
}

#[tokio::test]
async fn the_first_step_starts_a_tagged_snapshot_of_the_old_blue_and_deletes_nothing() {
    let world = World::switched_over();
    let run = cleanup::handle(world.deps(), soaked_run(json!({})), inv_at(NOW))
        .await
        .unwrap();

    let expected = Snapshot {
        kind: DbKind::Instance,
        of: OLD_BLUE.into(),
        id: SNAPSHOT_ID.into(),
        tags: tags(&[
            ("bluegreen:managed-by", "rds-bluegreen"),
            ("bluegreen:old-blue-of", OLD_BLUE),
        ]),
    };
    assert_eq!(world.with(|s| s.snapshots_created.clone()), [expected]);
    assert_eq!(
        run.cleanup,
        Some(CleanupState {
            snapshot_identifier: Some(SNAPSHOT_ID.into()),
            snapshot_status: Some("creating".into()),
            deployment_deleted: false,
            old_blue_deleted: false,
            done: false,
            next_delay_seconds: 60,
            steps: vec![format!("started snapshot {SNAPSHOT_ID} of {OLD_BLUE}")],
            snapshot_started_at: Some((T0 + NOW) as i64),
        })
    );
    assert!(deletions(&world).is_empty(), "{:?}", world.log());
    assert!(!run.timeline.contains_key("cleaned_up"));
}

#[tokio::test]
async fn a_snapshot_still_creating_keeps_waiting_without_a_second_snapshot() {
    let world = World::switched_over();
    world.with(|s| s.snapshots.insert(SNAPSHOT_ID.into(), "creating".into()));
    let run = cleanup::handle(world.deps(), soaked_run(json!({})), inv_at(NOW))
        .await
        .unwrap();
    let c = run.cleanup.unwrap();
    assert!(!c.done);
    assert_eq!(c.next_delay_seconds, 60);
    assert_eq!(c.snapshot_status.as_deref(), Some("creating"));
    assert!(world.with(|s| s.snapshots_created.is_empty()));
    assert!(deletions(&world).is_empty());
}

#[tokio::test]
async fn once_the_snapshot_is_available_the_record_is_deleted_without_delete_target() {
    let world = World::switched_over();
    world.with(|s| s.snapshots.insert(SNAPSHOT_ID.into(), "available".into()));
    let run = cleanup::handle(world.deps(), soaked_run(json!({})), inv_at(NOW))
        .await
        .unwrap();

    // Never with DeleteTarget: after the switchover the target is production.
    assert_eq!(
        world.with(|s| s.deleted_deployments.clone()),
        [(DEPLOYMENT_ID.to_string(), false)]
    );
    // Both databases are kept: delete_old_blue was not asked for.
    assert!(world.with(|s| s.modified.is_empty() && s.deleted_dbs.is_empty()));
    let c = run.cleanup.unwrap();
    assert!(c.done && c.deployment_deleted && !c.old_blue_deleted);
    assert_eq!(c.next_delay_seconds, 0);
    assert_eq!(
        c.steps,
        [
            format!("snapshot {SNAPSHOT_ID} available"),
            format!("deleted deployment record {DEPLOYMENT_NAME} (kept both databases)"),
        ]
    );
    assert_eq!(run.timeline.get("cleaned_up"), Some(&rfc(NOW)));
}

#[tokio::test]
async fn delete_old_blue_turns_off_protection_on_the_old_blue_alone_then_deletes_it() {
    let world = World::switched_over();
    let run = with_snapshot_available(soaked_run(json!({"delete_old_blue": true})));
    let run = cleanup::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();

    assert_eq!(
        world.with(|s| s.modified.clone()),
        [Modification::DeletionProtectionOff {
            kind: DbKind::Instance,
            id: OLD_BLUE.into()
        }]
    );
    assert_eq!(
        world.with(|s| s.deleted_dbs.clone()),
        [(DbKind::Instance, OLD_BLUE.to_string())]
    );
    assert_eq!(
        deletions(&world),
        [
            format!("delete_deployment {DEPLOYMENT_ID}"),
            format!("disable_deletion_protection instance {OLD_BLUE}"),
            format!("delete_db instance {OLD_BLUE}"),
        ]
    );
    assert_eq!(world.instance(OLD_BLUE).status, "deleting");
    // Production keeps its deletion protection.
    assert!(world.instance(DB).deletion_protection);
    let c = run.cleanup.unwrap();
    assert!(c.done && c.deployment_deleted && c.old_blue_deleted);
}

#[tokio::test]
async fn an_unprotected_old_blue_is_deleted_without_a_modify() {
    let world = World::switched_over();
    let mut old = old_blue_instance();
    old.deletion_protection = false;
    world.put_instance(old);
    let run = with_snapshot_available(soaked_run(json!({"delete_old_blue": true})));
    cleanup::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    assert!(world.with(|s| s.modified.is_empty()));
    assert_eq!(
        world.calls("delete_db"),
        [format!("delete_db instance {OLD_BLUE}")]
    );
}

#[tokio::test]
async fn the_whole_loop_snapshots_waits_then_deletes() {
    let world = World::switched_over();
    let deps = world.deps();
    let run = soaked_run(json!({"delete_old_blue": true}));

    let run = cleanup::handle(deps.clone(), run, inv_at(NOW))
        .await
        .unwrap();
    assert!(!run.cleanup.as_ref().unwrap().done);
    let run = cleanup::handle(deps.clone(), run, inv_at(NOW + 60))
        .await
        .unwrap();
    assert!(!run.cleanup.as_ref().unwrap().done);
    assert!(deletions(&world).is_empty());

    world.with(|s| s.snapshots.insert(SNAPSHOT_ID.into(), "available".into()));
    let run = cleanup::handle(deps, run, inv_at(NOW + 120)).await.unwrap();
    let c = run.cleanup.unwrap();
    assert!(c.done && c.deployment_deleted && c.old_blue_deleted);
    assert_eq!(world.with(|s| s.snapshots_created.len()), 1);
    assert_eq!(
        world.calls("delete_db"),
        [format!("delete_db instance {OLD_BLUE}")]
    );
}

#[tokio::test]
async fn an_old1_on_another_version_is_refused_and_nothing_is_touched() {
    let world = World::switched_over();
    world.put_instance(instance(OLD_BLUE, "16.4"));
    let run = with_snapshot_available(soaked_run(json!({"delete_old_blue": true})));
    let (name, msg) = err_of(cleanup::handle(world.deps(), run, inv_at(NOW)).await);
    assert_eq!(name, "Refused");
    assert_mentions(
        &msg,
        &[
            "orders-pg-old1 runs 16.4",
            "not the old blue found after the switchover (13.15",
            "nothing was deleted",
        ],
    );
    let mutations = world.mutations();
    assert!(mutations.is_empty(), "{mutations:?}");
}

#[tokio::test]
async fn cleanup_before_a_completed_switchover_is_refused() {
    let world = World::orders_pg();
    world.set_deployment(deployment("AVAILABLE"));
    let (name, msg) =
        err_of(cleanup::handle(world.deps(), soaked_run(json!({})), inv_at(NOW)).await);
    assert_eq!(name, "Refused");
    assert_mentions(&msg, &["AVAILABLE", "only after a completed switchover"]);
    assert!(world.mutations().is_empty());
}

#[tokio::test]
async fn a_failed_snapshot_is_refused_and_nothing_is_deleted() {
    let world = World::switched_over();
    world.with(|s| s.snapshots.insert(SNAPSHOT_ID.into(), "failed".into()));
    let (name, msg) =
        err_of(cleanup::handle(world.deps(), soaked_run(json!({})), inv_at(NOW)).await);
    assert_eq!(name, "Refused");
    assert_mentions(&msg, &[SNAPSHOT_ID, "`failed`", "nothing was deleted"]);
    assert!(deletions(&world).is_empty());
}

#[tokio::test]
async fn an_old_blue_gone_before_its_snapshot_is_refused() {
    let world = World::switched_over();
    world.remove_instance(OLD_BLUE);
    let (name, msg) =
        err_of(cleanup::handle(world.deps(), soaked_run(json!({})), inv_at(NOW)).await);
    assert_eq!(name, "Refused");
    assert_mentions(
        &msg,
        &[
            "orders-pg-old1 is gone before its final snapshot",
            "final_snapshot",
        ],
    );
    assert!(deletions(&world).is_empty());
}

#[tokio::test]
async fn without_a_final_snapshot_cleanup_goes_straight_to_deleting() {
    let world = World::switched_over();
    let run = soaked_run(json!({"final_snapshot": false, "delete_old_blue": true}));
    let run = cleanup::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    assert!(world.with(|s| s.snapshots_created.is_empty()));
    assert!(world.calls("snapshot_status").is_empty());
    assert!(run.cleanup.unwrap().done);
    assert_eq!(
        world.calls("delete_db"),
        [format!("delete_db instance {OLD_BLUE}")]
    );
}

#[tokio::test]
async fn a_deployment_record_already_gone_is_not_deleted_again() {
    let world = World::switched_over();
    world.with(|s| s.deployments.clear());
    let run = with_snapshot_available(soaked_run(json!({})));
    let run = cleanup::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    assert!(world.calls("delete_deployment").is_empty());
    let c = run.cleanup.unwrap();
    assert!(c.done && c.deployment_deleted);
}

#[tokio::test]
async fn a_retried_step_after_the_record_deletion_goes_on_without_deleting_it_again() {
    // The step deleted the record, then failed (throttled) before returning its state: the
    // retry sees the deployment DELETING and must finish the old blue, not refuse.
    let world = World::switched_over();
    world.with(|s| s.deployments[0].status = "DELETING".into());
    let run = with_snapshot_available(soaked_run(json!({"delete_old_blue": true})));
    let run = cleanup::handle(world.deps(), run, inv_at(NOW))
        .await
        .unwrap();
    assert!(world.calls("delete_deployment").is_empty());
    assert_eq!(
        world.calls("delete_db"),
        [format!("delete_db instance {OLD_BLUE}")]
    );
    let c = run.cleanup.unwrap();
    assert!(c.done && c.deployment_deleted && c.old_blue_deleted);
}

// ---------------------------------------------------------------- Aurora clusters

const OLD_CLUSTER: &str = "ledger-old1";
const OLD_MEMBERS: [&str; 2] = ["ledger-instance-1-old1", "ledger-instance-2-old1"];

/// `ledger` after its switchover: production on 16.4, the old blue cluster on 13.15 with
/// its two instances.
fn switched_cluster() -> World {
    let world = World::empty();
    world.put_db(aurora_cluster(
        CLUSTER,
        "16.4",
        &["ledger-instance-1", "ledger-instance-2"],
    ));
    world.put_db(aurora_cluster(OLD_CLUSTER, "13.15", &OLD_MEMBERS));
    for m in OLD_MEMBERS {
        world.put_instance(aurora_instance(m, "13.15"));
    }
    let mut d = deployment("SWITCHOVER_COMPLETED");
    d.name = "rbg-ledger-to-16-4".into();
    d.source_arn = cluster_arn_of(OLD_CLUSTER);
    d.target_arn = CLUSTER_ARN.into();
    world.set_deployment(d);
    world
}

fn cluster_run(extra: serde_json::Value) -> Run {
    let mut fields = json!({"db_identifier": CLUSTER, "target_db_parameter_group_name": null});
    for (k, v) in extra.as_object().unwrap() {
        fields[k] = v.clone();
    }
    let mut run = soaked_run(fields);
    let source = run.source.as_mut().unwrap();
    source.kind = bluegreen_domain::model::db::DbKind::Cluster;
    source.identifier = CLUSTER.into();
    source.arn = CLUSTER_ARN.into();
    source.engine = bluegreen_domain::model::engine::Engine::AuroraPostgresql;
    source.members = vec!["ledger-instance-1".into(), "ledger-instance-2".into()];
    run.deployment.as_mut().unwrap().name = "rbg-ledger-to-16-4".into();
    run.old_blue = Some(OldBlue {
        kind: DbKind::Cluster,
        identifier: OLD_CLUSTER.into(),
        arn: cluster_arn_of(OLD_CLUSTER),
        resource_id: None,
        engine_version: "13.15".into(),
        members: OLD_MEMBERS.iter().map(|m| m.to_string()).collect(),
        replicas: vec![],
    });
    run
}

#[tokio::test]
async fn a_cluster_final_snapshot_is_a_cluster_snapshot_of_the_old_blue() {
    let world = switched_cluster();
    let run = cleanup::handle(world.deps(), cluster_run(json!({})), inv_at(NOW))
        .await
        .unwrap();
    let created = world.with(|s| s.snapshots_created.clone());
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].kind, DbKind::Cluster);
    assert_eq!(created[0].of, OLD_CLUSTER);
    assert_eq!(created[0].id, "rbg-ledger-to-16-4-final");
    assert!(!run.cleanup.unwrap().done);
    assert!(deletions(&world).is_empty());
}

#[tokio::test]
async fn delete_old_blue_on_a_cluster_deletes_its_instances_once_then_the_cluster() {
    let world = switched_cluster();
    let deps = world.deps();
    let run = cluster_run(json!({"final_snapshot": false, "delete_old_blue": true}));

    // 1. Record deleted, protection off on the old cluster alone, its instances deleted.
    let run = cleanup::handle(deps.clone(), run, inv_at(NOW))
        .await
        .unwrap();
    assert_eq!(
        deletions(&world),
        [
            format!("delete_deployment {DEPLOYMENT_ID}"),
            format!("disable_deletion_protection cluster {OLD_CLUSTER}"),
            format!("delete_db instance {}", OLD_MEMBERS[0]),
            format!("delete_db instance {}", OLD_MEMBERS[1]),
        ]
    );
    let c = run.cleanup.clone().unwrap();
    assert!(!c.done && !c.old_blue_deleted);
    assert_eq!(c.next_delay_seconds, 60);

    // 2. The instances are still being deleted (RDS still lists them): wait, do not ask again.
    let run = cleanup::handle(deps.clone(), run, inv_at(NOW + 60))
        .await
        .expect("instances already being deleted are not deleted again");
    assert_eq!(world.calls("delete_db").len(), 2);
    assert!(!run.cleanup.as_ref().unwrap().done);

    // 3. The instances are gone (RDS finished deleting them): the empty cluster is deleted.
    world.finish_deletions();
    let run = cleanup::handle(deps, run, inv_at(NOW + 120)).await.unwrap();
    assert_eq!(
        world.with(|s| s.deleted_dbs.clone()),
        [
            (DbKind::Instance, OLD_MEMBERS[0].to_string()),
            (DbKind::Instance, OLD_MEMBERS[1].to_string()),
            (DbKind::Cluster, OLD_CLUSTER.to_string()),
        ]
    );
    let c = run.cleanup.unwrap();
    assert!(c.done && c.old_blue_deleted);
    // Production was never touched.
    assert!(world
        .mutations()
        .iter()
        .all(|l| l.contains("old1") || l.starts_with("delete_deployment")));
}
