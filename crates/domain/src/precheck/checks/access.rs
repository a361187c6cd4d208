//! What the stack's own roles will be denied, said before anything changes.
//!
//! - The stack's IAM policies allow a change to a database only when the very resource acted
//!   on carries `bluegreen:managed=true`: IAM evaluates `aws:ResourceTag/...` per resource
//!   (each DB instance, each Aurora member instance, each read replica, each Aurora custom
//!   endpoint), never its cluster's or its primary's tags. RDS copies each resource's tags to
//!   its green, so an untagged member or replica is denied half-way through a run (cleanup
//!   deleting old members or replicas, abort deleting green members, the switchover renaming
//!   members).
//! - RDS asks the caller of CreateBlueGreenDeployment for `iam:PassRole` on the Enhanced
//!   Monitoring role of each instance (the source, each replica, each Aurora member), and for
//!   `kms:CreateGrant`/`kms:DescribeKey` on a customer managed key that encrypts the source
//!   (an AWS managed key, `aws/rds`, needs no grant: its key policy allows use through RDS).
//! - The functions publish only to the stack's topic and the topics its template lists.
//!
//! The stack grants these only for what its template parameters list (`model::grants`).

use crate::model::check::{id, Check};
use crate::model::db::DbKind;
use crate::model::grants::{
    KeyLookup, KeyManager, StackGrants, KMS_KEYS_PARAMETER, MONITORING_ROLES_PARAMETER,
    TOPICS_PARAMETER,
};
use crate::model::names::tags;
use crate::model::request::Request;
use crate::model::source::SourceDb;
use std::collections::BTreeMap;

/// The key the precheck must ask KMS about: the source's, when it is encrypted with a key
/// the stack's list does not name. A listed key needs no call.
pub fn key_to_look_up<'a>(src: &'a SourceDb, grants: &StackGrants) -> Option<&'a str> {
    src.kms_key_id
        .as_deref()
        .filter(|k| src.storage_encrypted && !k.is_empty() && !grants.lists_key(k))
}

/// The access prechecks, in report order.
pub fn checks(src: &SourceDb, req: &Request, grants: &StackGrants, key: &KeyLookup) -> Vec<Check> {
    vec![
        check_opt_in(src),
        check_monitoring_roles(src, grants),
        check_kms_key(src, grants, key),
        check_notification_topic(req, grants),
    ]
}

/// One resource IAM evaluates the opt-in tag on.
struct Tagged<'a> {
    name: &'a str,
    what: &'static str,
    arn: &'a str,
    tags: &'a BTreeMap<String, String>,
}

fn opted_in(tags: &BTreeMap<String, String>) -> bool {
    tags.get(tags::MANAGED)
        .is_some_and(|v| v == tags::MANAGED_VALUE)
}

/// `N thing(s)`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `opt-in`: the source, each Aurora member, each in-Region read replica and each custom
/// endpoint carries `bluegreen:managed=true` itself. A custom endpoint whose tags could not
/// be read is left to the `topology-read` warning that names it.
pub fn check_opt_in(src: &SourceDb) -> Check {
    const ID: &str = id::OPT_IN;
    let t = &src.topology;
    let mut all = vec![Tagged {
        name: &src.identifier,
        what: match src.kind {
            DbKind::Instance => "the DB instance",
            DbKind::Cluster => "the DB cluster",
        },
        arn: &src.arn,
        tags: &src.tags,
    }];
    all.extend(t.members.iter().map(|m| Tagged {
        name: &m.identifier,
        what: "Aurora member instance",
        arn: &m.arn,
        tags: &m.tags,
    }));
    let replicas: Vec<_> = t.replicas.iter().filter(|r| r.region.is_none()).collect();
    all.extend(replicas.iter().map(|r| Tagged {
        name: &r.identifier,
        what: "read replica",
        arn: &r.arn,
        tags: &r.tags,
    }));
    let endpoints: Vec<_> = t
        .custom_endpoints
        .iter()
        .filter(|e| !e.tags_unread)
        .collect();
    all.extend(endpoints.iter().map(|e| Tagged {
        name: &e.identifier,
        what: "custom endpoint",
        arn: &e.arn,
        tags: &e.tags,
    }));
    let missing: Vec<&Tagged> = all.iter().filter(|r| !opted_in(r.tags)).collect();
    let unread: Vec<&str> = t
        .custom_endpoints
        .iter()
        .filter(|e| e.tags_unread)
        .map(|e| e.identifier.as_str())
        .collect();
    let unread = if unread.is_empty() {
        String::new()
    } else {
        format!(
            " (not checked: the tags of custom endpoint {}, unread: see topology-read)",
            unread.join(", ")
        )
    };
    if missing.is_empty() {
        let mut around = Vec::new();
        for (n, one, many) in [
            (t.members.len(), "member instance", "member instances"),
            (replicas.len(), "read replica", "read replicas"),
            (endpoints.len(), "custom endpoint", "custom endpoints"),
        ] {
            if n > 0 {
                around.push(count(n, one, many));
            }
        }
        let carry = if around.is_empty() {
            format!(
                "{} carries {}={}",
                src.identifier,
                tags::MANAGED,
                tags::MANAGED_VALUE
            )
        } else {
            format!(
                "{} and its {} carry {}={}",
                src.identifier,
                around.join(", "),
                tags::MANAGED,
                tags::MANAGED_VALUE
            )
        };
        return Check::pass(ID, format!("{carry}{unread}"));
    }
    let named: Vec<String> = missing
        .iter()
        .map(|r| match r.tags.get(tags::MANAGED) {
            Some(v) => format!("{} ({}, {}={v})", r.name, r.what, tags::MANAGED),
            None => format!("{} ({})", r.name, r.what),
        })
        .collect();
    let commands: Vec<String> = missing
        .iter()
        .map(|r| {
            format!(
                "`aws rds add-tags-to-resource --resource-name {} --tags Key={},Value={}`",
                if r.arn.is_empty() { r.name } else { r.arn },
                tags::MANAGED,
                tags::MANAGED_VALUE
            )
        })
        .collect();
    Check::fail(
        ID,
        format!(
            "not tagged {}={}: {}{unread}",
            tags::MANAGED,
            tags::MANAGED_VALUE,
            named.join(", ")
        ),
        format!(
            "the stack may change only resources that themselves carry {tag}={value}: IAM \
             evaluates the tag on each resource acted on (each instance, Aurora member, read \
             replica and custom endpoint), never on its cluster or primary, and RDS copies each \
             resource's tags to its green; untagged, the run would be denied half-way (the \
             switchover renaming members, abort or cleanup deleting them). Tag each one, then \
             run again: {}",
            commands.join(" ; "),
            tag = tags::MANAGED,
            value = tags::MANAGED_VALUE
        ),
    )
}

/// `monitoring-role`: every Enhanced Monitoring role in use (source, members, in-Region
/// replicas) is one the stack may pass to RDS.
pub fn check_monitoring_roles(src: &SourceDb, grants: &StackGrants) -> Check {
    const ID: &str = id::MONITORING_ROLE;
    let t = &src.topology;
    // Each distinct role, with who uses it.
    let mut roles: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let users = std::iter::once((src.identifier.as_str(), src.monitoring_role_arn.as_deref()))
        .chain(
            t.members
                .iter()
                .map(|m| (m.identifier.as_str(), m.monitoring_role_arn.as_deref())),
        )
        .chain(
            t.replicas
                .iter()
                .filter(|r| r.region.is_none())
                .map(|r| (r.identifier.as_str(), r.monitoring_role_arn.as_deref())),
        );
    for (who, role) in users {
        if let Some(role) = role.filter(|r| !r.is_empty()) {
            roles.entry(role).or_default().push(who);
        }
    }
    if roles.is_empty() {
        return Check::pass(
            ID,
            "no Enhanced Monitoring role in use: nothing to pass to RDS",
        );
    }
    let unlisted: Vec<String> = roles
        .iter()
        .filter(|(role, _)| !grants.lists_role(role))
        .map(|(role, who)| format!("{role} (used by {})", who.join(", ")))
        .collect();
    if unlisted.is_empty() {
        return Check::pass(
            ID,
            format!(
                "Enhanced Monitoring role(s) {} listed in {MONITORING_ROLES_PARAMETER}",
                roles.keys().copied().collect::<Vec<_>>().join(", ")
            ),
        );
    }
    let arns: Vec<&str> = roles
        .keys()
        .copied()
        .filter(|r| !grants.lists_role(r))
        .collect();
    Check::fail(
        ID,
        format!(
            "Enhanced Monitoring role(s) the stack was not given ({MONITORING_ROLES_PARAMETER}): {}",
            unlisted.join("; ")
        ),
        format!(
            "deploy the stack with {MONITORING_ROLES_PARAMETER} including {}: RDS asks the \
             caller of CreateBlueGreenDeployment for iam:PassRole on each instance's monitoring \
             role, and the stack grants it only on the roles listed there; then run again",
            arns.join(", ")
        ),
    )
}

/// `kms-key`: green is created with the source's key; a customer managed one must be one the
/// stack was given. Unencrypted, AWS managed or listed keys pass.
pub fn check_kms_key(src: &SourceDb, grants: &StackGrants, key: &KeyLookup) -> Check {
    const ID: &str = id::KMS_KEY;
    if !src.storage_encrypted {
        return Check::pass(
            ID,
            format!("{} is not encrypted: no KMS key to use", src.identifier),
        );
    }
    let Some(arn) = src.kms_key_id.as_deref().filter(|k| !k.is_empty()) else {
        return Check::warn(
            ID,
            format!(
                "{} is encrypted but RDS reported no KmsKeyId: the precheck cannot tell which key \
                 green needs",
                src.identifier
            ),
            format!(
                "read the key with `aws rds describe-db-{} --db-{}-identifier {}` (KmsKeyId); if \
                 it is customer managed, deploy the stack with {KMS_KEYS_PARAMETER} including it",
                match src.kind {
                    DbKind::Instance => "instances",
                    DbKind::Cluster => "clusters",
                },
                match src.kind {
                    DbKind::Instance => "instance",
                    DbKind::Cluster => "cluster",
                },
                src.identifier
            ),
        );
    };
    if grants.lists_key(arn) {
        return Check::pass(
            ID,
            format!("encrypted with KMS key {arn}, listed in {KMS_KEYS_PARAMETER}"),
        );
    }
    let listed = format!(
        "deploy the stack with {KMS_KEYS_PARAMETER} including {arn}: creating green with a \
         customer managed key needs kms:CreateGrant and kms:DescribeKey on it (RDS User Guide, \
         \"AWS KMS key management\"), which the stack grants only on the keys listed there; \
         then run again"
    );
    match key {
        KeyLookup::Manager(KeyManager::Aws) => Check::pass(
            ID,
            format!(
                "encrypted with the AWS managed key {arn}: its key policy allows use through \
                 RDS, no grant needed"
            ),
        ),
        KeyLookup::Manager(KeyManager::Customer) => Check::fail(
            ID,
            format!(
                "encrypted with the customer managed KMS key {arn}, which the stack was not \
                 given ({KMS_KEYS_PARAMETER})"
            ),
            listed,
        ),
        KeyLookup::NotFound => Check::fail(
            ID,
            format!(
                "encrypted with KMS key {arn}, not listed in {KMS_KEYS_PARAMETER}, and KMS says \
                 no such key is visible to this account: the stack could not tell whether it is \
                 AWS managed"
            ),
            format!("if it is customer managed (in this or another account), {listed}"),
        ),
        KeyLookup::Unreadable(why) => Check::fail(
            ID,
            format!(
                "encrypted with KMS key {arn}, not listed in {KMS_KEYS_PARAMETER}, and the stack \
                 could not tell whether it is AWS managed: {why}"
            ),
            format!(
                "if it is customer managed, {listed}; if it is AWS managed (aws/rds), allow the \
                 precheck role kms:DescribeKey on it so the precheck can tell"
            ),
        ),
        KeyLookup::NotAsked => Check::fail(
            ID,
            format!(
                "encrypted with KMS key {arn}, not listed in {KMS_KEYS_PARAMETER}, and its \
                 manager was not read: the stack could not tell whether it is AWS managed"
            ),
            format!("if it is customer managed, {listed}"),
        ),
    }
}

/// `notification-topic`: the request's topic is one the stack may publish to (checked only
/// when the stack lists its topics).
pub fn check_notification_topic(req: &Request, grants: &StackGrants) -> Check {
    const ID: &str = id::NOTIFICATION_TOPIC;
    let Some(topic) = req.notification_topic_arn.as_deref() else {
        return Check::pass(ID, "notifications go to the stack's topic");
    };
    if grants.topics.is_empty() {
        return Check::pass(
            ID,
            format!("notifications go to {topic} (the stack does not list its topics)"),
        );
    }
    if grants.may_publish_to(topic) {
        return Check::pass(
            ID,
            format!("notifications go to {topic}, a topic of the stack"),
        );
    }
    Check::fail(
        ID,
        format!(
            "notification_topic_arn {topic} is not one this stack may publish to (it may publish \
             to {})",
            grants.topics.join(", ")
        ),
        format!(
            "deploy the stack with the template parameter {TOPICS_PARAMETER} including {topic} \
             (publishing is granted on the stack's topic and the listed ones only), or drop \
             notification_topic_arn from the request to use the stack's topic"
        ),
    )
}
