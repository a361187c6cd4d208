"""Self-test of DescribeDBMajorEngineVersions (README "What the emulator models"): AWS's published standard and
Extended Support dates per engine major, from major_versions.json.

Run: .venv/bin/python -m pytest tests/emulator -q
"""
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from test_fidelity import unchecked
from test_launcher import endpoint, error_code, rds  # noqa: F401


def lifecycles(rds, engine, major):
    [v] = rds.describe_db_major_engine_versions(Engine=engine, MajorEngineVersion=major)["DBMajorEngineVersions"]
    return {life["LifecycleSupportName"]: (life["LifecycleSupportStartDate"], life["LifecycleSupportEndDate"])
            for life in v["SupportedEngineLifecycles"]}


def test_describe_db_major_engine_versions(endpoint, rds):
    """DescribeDBMajorEngineVersions (moto 5.2.1: not implemented), dates from AWS's release calendars
    (major_versions.json, `_source` per engine). postgres 17 equals the AWS CLI reference example of
    describe-db-major-engine-versions; MySQL 8.0's standard support ends 31 July 2026, PostgreSQL 14's
    28 February 2027 (bluegreen-facts.md). Engine / MajorEngineVersion filters, MaxRecords 20..100 + Marker."""
    utc = timezone.utc
    assert lifecycles(rds, "postgres", "17") == {
        "open-source-rds-standard-support": (datetime(2024, 11, 14, tzinfo=utc),
                                             datetime(2030, 2, 28, 23, 59, 59, 999000, tzinfo=utc)),
        "open-source-rds-extended-support": (datetime(2030, 3, 1, tzinfo=utc),
                                             datetime(2033, 2, 28, 23, 59, 59, 999000, tzinfo=utc))}
    assert lifecycles(rds, "mysql", "8.0")["open-source-rds-standard-support"][1].date().isoformat() == "2026-07-31"
    assert lifecycles(rds, "postgres", "14")["open-source-rds-standard-support"][1].date().isoformat() == "2027-02-28"
    assert lifecycles(rds, "aurora-mysql", "5.7")["open-source-rds-standard-support"][0].date().isoformat() == \
        "2018-02-06"
    for engine in ("postgres", "mysql", "aurora-postgresql", "aurora-mysql"):
        served = {v["MajorEngineVersion"] for v in rds.describe_db_engine_versions(Engine=engine, IncludeAll=True)
                  ["DBEngineVersions"]}
        majors = {v["MajorEngineVersion"] for v in rds.describe_db_major_engine_versions(Engine=engine)
                  ["DBMajorEngineVersions"]}
        assert served == majors, engine
        for m in majors - {"8.4"} if engine == "aurora-mysql" else majors:
            life = lifecycles(rds, engine, m)
            std, ext = life["open-source-rds-standard-support"], life["open-source-rds-extended-support"]
            assert std[0] < std[1] < ext[0] < ext[1] and ext[0] - std[1] < timedelta(seconds=1), (engine, m)
    assert lifecycles(rds, "aurora-mysql", "8.4") == {}  # no calendar at hand: no dates served
    assert lifecycles(rds, "aurora-postgresql", "17")["open-source-rds-standard-support"][1].date().isoformat() == \
        "2030-02-28"
    assert rds.describe_db_major_engine_versions(Engine="oracle-ee")["DBMajorEngineVersions"] == []
    everything = rds.describe_db_major_engine_versions()["DBMajorEngineVersions"]
    page = rds.describe_db_major_engine_versions(MaxRecords=20)
    assert "Marker" not in page or len(page["DBMajorEngineVersions"]) == 20
    pages = [page] + ([rds.describe_db_major_engine_versions(Marker=page["Marker"])] if "Marker" in page else [])
    assert sum(len(p["DBMajorEngineVersions"]) for p in pages) == len(everything) == 18
    with pytest.raises(ClientError) as e:
        unchecked(endpoint).describe_db_major_engine_versions(MaxRecords=10)
    assert error_code(e) == "InvalidParameterValue"
