"""Bad input, each run through the real state machine on the emulator: every one ends with a
named error whose message names the field and what is accepted, and changes nothing in RDS."""

import json

import pytest

from harness import ROOT, seed_postgres_instance

EVENTS = ROOT / "tests" / "fixtures" / "events"
GOOD = {"db_identifier": "orders-pg", "target_engine_version": "16.4",
        "target_db_parameter_group_name": "orders-pg-pg16"}


def with_(**fields):
    return {**GOOD, **fields}


def without(field):
    return {k: v for k, v in GOOD.items() if k != field}


def alarm(mutate):
    event = json.loads((EVENTS / "alarm-state-change.json").read_text())
    mutate(event)
    return event


def composite(e):
    e["detail"]["configuration"] = {"alarmRule": "ALARM(a) OR ALARM(b)", "description": "composite"}


def no_rds_dimension(e):
    e["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] = {"QueueName": "jobs"}


# (case, input, expected error, words the message must contain)
CASES = [
    ("array input", [], "InvalidRequest", ["JSON object", "array"]),
    ("string input", "orders-pg", "InvalidRequest", ["JSON object", "string"]),
    ("number input", 42, "InvalidRequest", ["JSON object", "number"]),
    ("empty object", {}, "InvalidRequest", ["db_identifier"]),
    ("missing database", without("db_identifier"), "InvalidRequest", ["db_identifier"]),
    ("missing target", without("target_engine_version"), "InvalidRequest", ["target_engine_version"]),
    ("database as number", with_(db_identifier=42), "InvalidRequest", ["db_identifier", "string"]),
    ("empty database", with_(db_identifier=""), "InvalidRequest", ["db_identifier", "1-63"]),
    ("database too long", with_(db_identifier="a" * 64), "InvalidRequest", ["db_identifier", "1-63"]),
    ("underscore in database", with_(db_identifier="orders_pg"), "InvalidRequest", ["db_identifier", "hyphens"]),
    ("double hyphen", with_(db_identifier="orders--pg"), "InvalidRequest", ["db_identifier", "two hyphens"]),
    ("trailing hyphen", with_(db_identifier="orders-pg-"), "InvalidRequest", ["db_identifier", "trailing hyphen"]),
    ("leading digit", with_(db_identifier="1orders"), "InvalidRequest", ["db_identifier", "starting with a letter"]),
    ("control character", with_(db_identifier="orders\u0000pg"), "InvalidRequest", ["db_identifier", "orders\\0pg"]),
    ("ARN of another account", with_(db_identifier="arn:aws:rds:us-east-1:999999999999:db:orders-pg"),
     "InvalidRequest", ["999999999999", "account"]),
    ("ARN of another Region", with_(db_identifier="arn:aws:rds:eu-west-1:123456789012:db:orders-pg"),
     "InvalidRequest", ["eu-west-1", "Region"]),
    ("malformed ARN", with_(db_identifier="arn:aws:rds:us-east-1:123:db:orders-pg"), "InvalidRequest",
     ["arn:aws:rds:REGION:ACCOUNT:db:NAME"]),
    ("unknown field", with_(colour="blue"), "InvalidRequest", ["colour", "expected one of"]),
    ("misspelt field", {**without("target_engine_version"), "target_engine_verison": "16.4"}, "InvalidRequest",
     ["target_engine_verison"]),
    ("unknown action", with_(action="yolo"), "InvalidRequest", ["action", "plan, prepare, upgrade"]),
    ("action in capitals", with_(action="UPGRADE"), "InvalidRequest", ["action", "plan, prepare, upgrade"]),
    ("switchover timeout too short", with_(switchover_timeout_seconds=29), "InvalidRequest",
     ["switchover_timeout_seconds", "30 to 3600"]),
    ("switchover timeout too long", with_(switchover_timeout_seconds=3601), "InvalidRequest",
     ["switchover_timeout_seconds", "30 to 3600"]),
    ("timeout as string", with_(switchover_timeout_seconds="300"), "InvalidRequest",
     ["switchover_timeout_seconds", "integer from 30 to 3600"]),
    ("negative soak", with_(soak_hours=-1), "InvalidRequest", ["soak_hours", "0 to 168"]),
    ("soak too long", with_(soak_hours=1000), "InvalidRequest", ["soak_hours", "0 to 168"]),
    ("fractional lag", with_(max_replica_lag_seconds=1.5), "InvalidRequest", ["max_replica_lag_seconds"]),
    ("boolean as string", with_(final_snapshot="yes"), "InvalidRequest", ["final_snapshot", "true or false"]),
    ("short account id", with_(expected_account_id="12345"), "InvalidRequest", ["expected_account_id", "12 digits"]),
    ("version word", with_(target_engine_version="latest"), "InvalidRequest", ["target_engine_version", "16.4"]),
    ("bad topic", with_(notification_topic_arn="alerts"), "InvalidRequest", ["notification_topic_arn", "arn:aws:sns"]),
    ("provisioning bound too short", with_(max_provisioning_minutes=5), "InvalidRequest",
     ["max_provisioning_minutes", "10 to 1440"]),
    ("instance class without db.", with_(target_db_instance_class="r6g.large"), "InvalidRequest",
     ["target_db_instance_class", "db.r6g.large"]),
    ("near the 256 KB input limit", with_(padding="x" * 250_000), "InvalidRequest", ["padding"]),
    # A Scheduled Event with no input is a fleet run of the opted-in databases (test_fleet.py).
    ("fleet selector without tags", {"selector": {"engine": "postgres"}}, "InvalidRequest",
     ["selector.tags", "at least one tag"]),
    ("fleet selector and db_identifier", {**GOOD, "selector": {"tags": {"bluegreen:wave": "1"}}}, "InvalidRequest",
     ["db_identifier", "selector", "give one of them"]),
    ("fleet engine unknown", {"selector": {"tags": {"bluegreen:wave": "1"}, "engine": "oracle-ee"}},
     "InvalidRequest", ["selector.engine", "aurora-postgresql"]),
    ("fleet concurrency out of range", {"selector": {"tags": {"bluegreen:wave": "1"}}, "max_concurrency": 50},
     "InvalidRequest", ["max_concurrency", "1 to 25"]),
    ("switchover window in local time", with_(switchover_window="Sun 03:00-05:00 CET"), "InvalidRequest",
     ["switchover_window", "UTC", "Sun 03:00-05:00 UTC"]),
    ("composite alarm", alarm(composite), "InvalidRequest", ["composite", "DBInstanceIdentifier"]),
    ("alarm without RDS dimension", alarm(no_rds_dimension), "InvalidRequest", ["DBClusterIdentifier dimension"]),
    ("unknown database", with_(db_identifier="ghost-db"), "SourceNotFound", ["ghost-db"]),
    ("target lower than current", with_(target_engine_version="12.22", action="upgrade"), "PrecheckFailed",
     ["upgrade-target", "lower"]),
    ("target equal to current", with_(target_engine_version="13.15", action="upgrade"), "PrecheckFailed",
     ["upgrade-target", "already runs"]),
    ("nonexistent target", with_(target_engine_version="16.99", action="upgrade"), "PrecheckFailed",
     ["upgrade-target", "16.4"]),
    ("parameter group of the wrong family", with_(target_db_parameter_group_name="orders-pg-pg13", action="upgrade"),
     "PrecheckFailed", ["target-parameter-group", "postgres13", "postgres16"]),
]


@pytest.fixture
def seeded(stack):
    seed_postgres_instance(stack.client("rds"))
    stack.control("reset", {"counters_only": True})
    return stack


@pytest.mark.parametrize("case,request_input,error,words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_by_name_and_changes_nothing(seeded, case, request_input, error, words):
    rc, out, err = seeded.execute(json.dumps(request_input))
    assert rc == 1, f"{case}: {err}"
    assert out["Error"] == error, out
    message = json.loads(out["Cause"])["errorMessage"]
    for word in words:
        assert word in message, f"{case}: {word!r} not in {message!r}"
    rds_calls = seeded.state()["calls"].get("rds", {})
    assert not [a for a in rds_calls if not a.startswith(("Describe", "List"))], rds_calls
    assert seeded.client("rds").describe_blue_green_deployments()["BlueGreenDeployments"] == []
    db = seeded.client("rds").describe_db_instances(DBInstanceIdentifier="orders-pg")["DBInstances"][0]
    assert db["EngineVersion"] == "13.15" and db["DBInstanceStatus"] == "available"
    # Every failed run is visible: a failed notification and metric.
    assert [n["milestone"] for n in seeded.notifications()] == ["failed"]


def test_input_that_is_not_json_is_refused_before_any_step(stack):
    rc, out, err = stack.execute("{not json")
    assert rc == 2 and "input" in err.lower()
    assert stack.state()["calls"].get("rds", {}) == {}
