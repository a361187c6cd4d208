"""The `sql` worker's place in the state machine, applied to statemachine/upgrade.asl.json in
memory: the reference for wiring it in for real (crates/sql/README.md, "Wiring"). Nothing here
changes the definition on disk; tests/e2e/test_database.py runs the result end to end.

    wired = wire(json.loads(DEFINITION.read_text()))
"""

import copy


def _access(yes, no):
    """Only runs that name a way into the database go to the sql worker."""
    return {"Type": "Choice",
            "Comment": "Only when the request names a way into the database (a secret or an IAM user).",
            "Choices": [{"Or": [{"Variable": "$.request.database_secret_arn", "IsPresent": True},
                                {"Variable": "$.request.database_iam_user", "IsPresent": True}],
                         "Next": yes}],
            "Default": no}


def wire(definition):
    d = copy.deepcopy(definition)
    states = d["States"]["RunBatch"]["ItemProcessor"]["States"]
    like = states["Precheck"]

    def task(op, comment, next_state):
        return {"Type": "Task", "Comment": comment, "Resource": "${SqlFunctionArn}",
                "Parameters": {"op": op, "run.$": "$"}, "TimeoutSeconds": 90,
                "Retry": copy.deepcopy(like["Retry"]), "Catch": copy.deepcopy(like["Catch"]),
                "Next": next_state}

    # 1. In-database prechecks, before the route is taken (plan reports them, prepare/upgrade fail on them).
    assert states["Precheck"]["Next"] == "Route"
    states["Precheck"]["Next"] = "DatabaseAccess"
    states["DatabaseAccess"] = _access("DatabasePrecheck", "Route")
    states["DatabasePrecheck"] = task("precheck", "Read-only, on blue: every database's readiness for logical replication.",
                                      "Route")

    # 2. The schema fingerprint, as soon as the deployment exists.
    assert states["Created"]["Default"] == "WaitForGreen"
    states["Created"]["Default"] = "FingerprintAccess"
    states["FingerprintAccess"] = _access("DatabaseFingerprint", "WaitForGreen")
    states["DatabaseFingerprint"] = task("fingerprint", "Read-only, on blue: the schema of every database at create.",
                                         "WaitForGreen")

    # 3. The replication watch, right before the switchover.
    go = [c for c in states["GuardrailVerdict"]["Choices"] if c["Next"] == "Switchover"]
    assert len(go) == 1
    go[0]["Next"] = "WatchAccess"
    states["WatchAccess"] = _access("DatabaseWatch", "Switchover")
    states["DatabaseWatch"] = task("watch", "Read-only, on blue: no DDL since create, logical slots caught up.",
                                   "DatabaseWatchVerdict")
    states["DatabaseWatchVerdict"] = {
        "Type": "Choice",
        "Choices": [{"And": [{"Variable": "$.database.watch.verdict", "IsPresent": True},
                             {"Variable": "$.database.watch.verdict", "StringEquals": "hold"}],
                     "Next": "WaitForDatabaseWatch"}],
        "Default": "Switchover"}
    states["WaitForDatabaseWatch"] = {"Type": "Wait", "SecondsPath": "$.database.watch.next_delay_seconds",
                                      "Next": "CheckGuardrails"}

    # 4. The finish on the new production, before the milestone and the soak.
    assert states["Verify"]["Next"] == "NotifySwitchedOver"
    states["Verify"]["Next"] = "FinishAccess"
    states["FinishAccess"] = _access("DatabaseFinish", "NotifySwitchedOver")
    states["DatabaseFinish"] = task("finish", "On the new production: ANALYZE in a budget, extensions, sequences, smoke query.",
                                    "DatabaseFinishDone")
    states["DatabaseFinishDone"] = {
        "Type": "Choice",
        "Choices": [{"And": [{"Variable": "$.database.finish.done", "IsPresent": True},
                             {"Variable": "$.database.finish.done", "BooleanEquals": False}],
                     "Next": "WaitForDatabaseFinish"}],
        "Default": "NotifySwitchedOver"}
    states["WaitForDatabaseFinish"] = {"Type": "Wait", "SecondsPath": "$.database.finish.next_delay_seconds",
                                       "Next": "DatabaseFinish"}
    return d
