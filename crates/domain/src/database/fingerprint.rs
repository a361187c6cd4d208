//! The schema fingerprint: one hash per database over its user-visible schema (tables and
//! their kinds and persistence, columns with types and nullability, constraints, indexes,
//! sequences, views, functions, types), extension-owned objects left out. It is taken when
//! the deployment is created and compared right before the switchover: logical replication
//! carries no DDL, so a schema that changed on blue since create means green's replication is
//! likely degraded, and the only fix is to delete green and create it again.
//!
//! DML changes no line of it (no row counts, no statistics, no sequence values). The lines
//! are portable across major versions (names and `format_type` spellings, no OIDs, no
//! deparsed expressions), so blue and green can also be compared with each other when the
//! fingerprint at create is not in the run (a `switchover` run of a deployment prepared by
//! another execution).
//!
//! DCL is not replicated either (RDS User Guide: GRANT and REVOKE are not replicated by
//! logical replication): a GRANT, a REVOKE or a role changed on blue after create is missing
//! on green after the switchover. The privileges get their own hash (`privileges`), over the
//! lines that start with `acl `, `role ` or `member ` (the ACLs of relations, schemas and
//! functions, the roles' attributes and memberships; never a password), so the watch reports
//! them like DDL and says which it was.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One database's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseFingerprint {
    pub database: String,
    /// FNV-1a 64 of the sorted schema lines, 16 hex digits.
    pub hash: String,
    /// How many schema objects (lines) it covers.
    pub objects: u64,
    /// FNV-1a 64 of the sorted privilege lines (`PRIVILEGE_PREFIXES`); `None` in a
    /// fingerprint taken before privileges were fingerprinted (then not compared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileges: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privilege_entries: Option<u64>,
}

/// The lines that describe privileges rather than schema objects.
pub const PRIVILEGE_PREFIXES: &[&str] = &["acl ", "role ", "member "];
/// How a privilege change starts in `compare`'s sentences.
pub const PRIVILEGES_CHANGED: &str = "the privileges of ";

fn is_privilege_line(line: &str) -> bool {
    PRIVILEGE_PREFIXES.iter().any(|p| line.starts_with(p))
}

/// What `run.database.fingerprint` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FingerprintRecord {
    pub taken_at: String,
    /// Whose schema: `blue NAME` (at create).
    pub of: String,
    pub databases: Vec<DatabaseFingerprint>,
    /// Why no fingerprint could be taken (the way in failed): the watch then compares blue
    /// with green instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(hash, |h, b| (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME))
}

/// The fingerprint of one database from its schema lines, in any order (the adapter's
/// queries emit one line per object, e.g. `column public.orders.id integer not null`).
/// Stable across processes, versions of this crate and machines: it is kept in the run
/// document between invocations.
pub fn fingerprint(database: &str, lines: &[String]) -> DatabaseFingerprint {
    let (privileges, schema): (Vec<&str>, Vec<&str>) = lines
        .iter()
        .map(String::as_str)
        .partition(|l| is_privilege_line(l));
    let (hash, objects) = hash_of(schema);
    let (privileges, entries) = hash_of(privileges);
    DatabaseFingerprint {
        database: database.to_string(),
        hash,
        objects,
        privileges: Some(privileges),
        privilege_entries: Some(entries),
    }
}

fn hash_of(mut sorted: Vec<&str>) -> (String, u64) {
    sorted.sort_unstable();
    sorted.dedup();
    let hash = sorted.iter().fold(FNV_OFFSET, |h, line| {
        fnv1a(fnv1a(h, line.as_bytes()), b"\n")
    });
    (format!("{hash:016x}"), sorted.len() as u64)
}

/// What changed between two sets of fingerprints, one sentence per database; empty when
/// the schemas match. A database created or dropped since is a change too (CREATE DATABASE
/// is not replicated either).
pub fn compare(before: &[DatabaseFingerprint], now: &[DatabaseFingerprint]) -> Vec<String> {
    let before: BTreeMap<&str, &DatabaseFingerprint> =
        before.iter().map(|f| (f.database.as_str(), f)).collect();
    let now: BTreeMap<&str, &DatabaseFingerprint> =
        now.iter().map(|f| (f.database.as_str(), f)).collect();
    let mut changes = Vec::new();
    for (db, b) in &before {
        match now.get(db) {
            None => changes.push(format!("database {db} is gone")),
            Some(n) => {
                if n.hash != b.hash {
                    changes.push(format!(
                        "the schema of {db} changed ({} objects, now {})",
                        b.objects, n.objects
                    ));
                }
                if let (Some(bp), Some(np)) = (&b.privileges, &n.privileges) {
                    if bp != np {
                        changes.push(format!(
                            "{PRIVILEGES_CHANGED}{db} changed (GRANT, REVOKE or a role: {} \
                             entries, now {})",
                            b.privilege_entries.unwrap_or(0),
                            n.privilege_entries.unwrap_or(0)
                        ));
                    }
                }
            }
        }
    }
    for db in now.keys().filter(|db| !before.contains_key(*db)) {
        changes.push(format!("database {db} was created"));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_order_of_lines_does_not_matter_and_the_hash_is_stable() {
        let a = fingerprint(
            "app",
            &lines(&[
                "table public.orders r p",
                "column public.orders.id integer not null",
            ]),
        );
        let b = fingerprint(
            "app",
            &lines(&[
                "column public.orders.id integer not null",
                "table public.orders r p",
            ]),
        );
        assert_eq!(a, b);
        assert_eq!(a.objects, 2);
        // Pinned: a fingerprint taken by one build is compared by another.
        assert_eq!(fingerprint("x", &[]).hash, "cbf29ce484222325");
        assert_eq!(fingerprint("x", &lines(&["a"])).hash, "089bdc07b544e7b2");
    }

    #[test]
    fn ddl_changes_it() {
        let before = fingerprint("app", &lines(&["table public.orders r p"]));
        let after = fingerprint(
            "app",
            &lines(&[
                "table public.orders r p",
                "column public.orders.note text null",
            ]),
        );
        assert_ne!(before.hash, after.hash);
        let changes = compare(std::slice::from_ref(&before), &[after]);
        assert_eq!(changes, ["the schema of app changed (1 objects, now 2)"]);
        let same = std::slice::from_ref(&before);
        assert!(compare(same, same).is_empty());
    }

    #[test]
    fn a_grant_changes_the_privileges_not_the_schema() {
        let schema = ["relation public.orders r p"];
        let before = fingerprint("app", &lines(&schema));
        assert_eq!(
            before.hash,
            fingerprint("app", &lines(&["relation public.orders r p"])).hash
        );
        let mut granted = schema.to_vec();
        granted.push("acl relation public.orders reporting SELECT");
        let after = fingerprint("app", &lines(&granted));
        assert_eq!(before.hash, after.hash, "the schema hash is unchanged");
        assert_eq!(after.objects, 1);
        assert_eq!(
            compare(std::slice::from_ref(&before), std::slice::from_ref(&after)),
            ["the privileges of app changed (GRANT, REVOKE or a role: 0 entries, now 1)"]
        );
        // A fingerprint recorded before privileges were fingerprinted: not compared.
        let old = DatabaseFingerprint {
            privileges: None,
            privilege_entries: None,
            ..before
        };
        assert!(compare(&[old], &[after]).is_empty());
    }

    #[test]
    fn created_and_dropped_databases_are_changes() {
        let a = fingerprint("a", &lines(&["x"]));
        let b = fingerprint("b", &lines(&["y"]));
        assert_eq!(
            compare(std::slice::from_ref(&a), std::slice::from_ref(&b)),
            ["database a is gone", "database b was created"]
        );
        assert!(compare(&[a.clone(), b.clone()], &[b, a]).is_empty());
    }
}
