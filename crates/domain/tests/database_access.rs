//! The ways into the database, as a request (or its `bluegreen:` tags) names them: exactly
//! one of a Secrets Manager secret or an IAM database user, validated with the request; and
//! whether the run goes into the database at all (`database::admission`).

use bluegreen_domain::database::admission::{admit, Admission};
use bluegreen_domain::database::credentials::{
    login_from_secret, DatabaseAccess, SecretArn, SecretShapeError,
};
use bluegreen_domain::model::check::{id, Verdict};
use bluegreen_domain::model::error::WorkerError;
use bluegreen_domain::model::request::Request;
use bluegreen_domain::precheck::intake::{parse_request, tag_fields};
use serde_json::json;

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders/check-AbCdEf";

fn request(extra: serde_json::Value) -> Result<Request, WorkerError> {
    let mut input = json!({"db_identifier": "orders-pg", "target_engine_version": "16.4"});
    input
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    parse_request(&input)
}

#[test]
fn no_way_in_is_today_s_request() {
    let r = request(json!({})).unwrap();
    assert_eq!(DatabaseAccess::from_request(&r), None);
    let out = serde_json::to_value(&r).unwrap();
    for field in [
        "database_secret_arn",
        "database_iam_user",
        "update_extensions",
        "smoke_query",
    ] {
        assert!(
            out.get(field).is_none(),
            "{field} must not appear in the run document"
        );
    }
}

#[test]
fn a_secret_or_an_iam_user() {
    let r = request(json!({"database_secret_arn": ARN})).unwrap();
    let access = DatabaseAccess::from_request(&r).unwrap();
    assert_eq!(access.record().secret_arn.as_deref(), Some(ARN));
    let r = request(json!({"database_iam_user": "bluegreen_check"})).unwrap();
    assert_eq!(
        DatabaseAccess::from_request(&r),
        Some(DatabaseAccess::Iam {
            user: "bluegreen_check".into()
        })
    );
}

#[test]
fn both_ways_in_are_refused() {
    let e = request(json!({"database_secret_arn": ARN, "database_iam_user": "x"})).unwrap_err();
    assert!(e.to_string().contains("not both"), "{e}");
}

#[test]
fn malformed_secret_arns_and_users_are_refused() {
    for arn in [
        "orders/check",
        "arn:aws:secretsmanager:us-east-1:123456789012:parameter:x",
        "arn:aws:ssm:us-east-1:123456789012:secret:x",
        "arn:aws:secretsmanager:us-east-1:12345:secret:x",
        "arn:aws:secretsmanager::123456789012:secret:x",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:a b",
    ] {
        let e = request(json!({ "database_secret_arn": arn })).unwrap_err();
        assert_eq!(e.name(), "InvalidRequest");
        assert!(e.to_string().contains("database_secret_arn"), "{e}");
    }
    for user in ["", "1abc", "a b", "x;drop", &"u".repeat(64)] {
        let e = request(json!({ "database_iam_user": user })).unwrap_err();
        assert!(e.to_string().contains("database_iam_user"), "{user}: {e}");
    }
}

#[test]
fn a_secret_of_another_account_or_region_is_refused() {
    let e = request(json!({
        "db_identifier": "arn:aws:rds:us-east-1:210987654321:db:orders-pg",
        "database_secret_arn": ARN,
    }))
    .unwrap_err();
    assert!(e.to_string().contains("account 123456789012"), "{e}");
    let arn = SecretArn::parse(ARN).unwrap();
    assert!(arn
        .check_local(Some("123456789012"), Some("us-east-1"))
        .is_ok());
    assert!(arn.check_local(None, None).is_ok());
    let e = arn
        .check_local(Some("123456789012"), Some("eu-west-1"))
        .unwrap_err();
    assert!(e.to_string().contains("Region us-east-1"), "{e}");
    assert!(arn.check_local(Some("999999999999"), None).is_err());
}

#[test]
fn options_that_need_a_way_in_are_refused_without_one() {
    let e = request(json!({"update_extensions": true})).unwrap_err();
    assert!(e.to_string().contains("update_extensions needs"), "{e}");
    let e = request(json!({"smoke_query": "SELECT 1"})).unwrap_err();
    assert!(e.to_string().contains("smoke_query needs"), "{e}");
    assert!(request(json!({"update_extensions": false})).is_ok());
    let r = request(json!({"database_iam_user": "u", "update_extensions": true, "smoke_query": "SELECT count(*) FROM orders"})).unwrap();
    assert!(r.update_extensions);
    let e = request(json!({"database_iam_user": "u", "smoke_query": "DELETE FROM orders"}))
        .unwrap_err();
    assert!(e.to_string().contains("smoke_query"), "{e}");
}

#[test]
fn the_fields_work_as_bluegreen_tags_too() {
    let tags = [
        ("bluegreen:target-engine-version", "16.4"),
        ("bluegreen:database-secret-arn", ARN),
        ("bluegreen:update-extensions", "true"),
        ("bluegreen:smoke-query", "SELECT 1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let fields = tag_fields("orders-pg", &tags).unwrap();
    assert_eq!(fields["update_extensions"], json!(true));
    let mut fields = serde_json::Value::Object(fields);
    fields["db_identifier"] = json!("orders-pg");
    let r = parse_request(&fields).unwrap();
    assert_eq!(r.database_secret_arn.as_deref(), Some(ARN));
    let bad = [("bluegreen:update-extensions".to_string(), "yes".to_string())]
        .into_iter()
        .collect();
    assert!(tag_fields("orders-pg", &bad).is_err());
}

#[test]
fn the_rds_secret_shape() {
    let login = login_from_secret(
        r#"{"username":"app","password":"s3cr3t","engine":"postgres","host":"x","port":5432}"#,
    )
    .unwrap();
    assert_eq!(login.username, "app");
    assert_eq!(login.password.expose(), "s3cr3t");
    assert_eq!(
        login_from_secret("s3cr3t").unwrap_err(),
        SecretShapeError::NotJson
    );
    assert_eq!(
        login_from_secret(r#"{"username":"app"}"#).unwrap_err(),
        SecretShapeError::Missing("password")
    );
    assert_eq!(
        login_from_secret(r#"{"user":"app","password":"p"}"#).unwrap_err(),
        SecretShapeError::Missing("username")
    );
}

#[test]
fn passwords_never_print() {
    let login = login_from_secret(r#"{"username":"app","password":"s3cr3t"}"#).unwrap();
    let shown = format!("{login:?} {}", login.password);
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(!SecretShapeError::Missing("password")
        .to_string()
        .contains("s3cr3t"));
}

// ---------------------------------------------------------------- admission

fn upgrade(extra: serde_json::Value) -> Request {
    let mut v =
        json!({"db_identifier": "orders-pg", "target_engine_version": "16.4", "action": "upgrade"});
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    parse_request(&v).unwrap()
}

#[test]
fn no_way_in_means_no_database_step_and_no_check() {
    let a = admit(&upgrade(json!({})), true);
    assert_eq!(
        a,
        Admission {
            database: None,
            check: None
        }
    );
    assert_eq!(admit(&upgrade(json!({})), false).check, None);
}

#[test]
fn a_way_in_with_the_worker_deployed_is_recorded_by_name_only() {
    let a = admit(
        &upgrade(json!({"database_iam_user": "bluegreen_check"})),
        true,
    );
    let db = a.database.unwrap();
    assert_eq!(db.access.iam_user.as_deref(), Some("bluegreen_check"));
    assert!(db.precheck.is_none() && a.check.is_none());
}

#[test]
fn a_way_in_without_the_worker_is_one_failing_check_naming_both_fixes() {
    let a = admit(
        &upgrade(json!({"database_iam_user": "bluegreen_check"})),
        false,
    );
    assert!(a.database.is_none());
    let c = a.check.unwrap();
    assert_eq!(
        (c.id.as_str(), c.verdict),
        (id::DATABASE_ACCESS, Verdict::Fail)
    );
    assert!(c.observed.contains("bluegreen_check"), "{}", c.observed);
    let fix = c.fix;
    assert!(fix.contains("DatabaseSubnetIds") && fix.contains("remove database_secret_arn"));
}
