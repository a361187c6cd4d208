//! Engines and versions: which engines blue/green supports, how versions compare, which
//! parameter group family a version belongs to.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    #[default]
    Postgres,
    Mysql,
    Mariadb,
    AuroraPostgresql,
    AuroraMysql,
    /// Any engine blue/green does not support (Oracle, SQL Server, Db2, Neptune, DocumentDB, ...).
    #[serde(untagged)]
    Other(String),
}

impl Engine {
    pub fn parse(name: &str) -> Self {
        match name.to_ascii_lowercase().as_str() {
            "postgres" => Self::Postgres,
            "mysql" => Self::Mysql,
            "mariadb" => Self::Mariadb,
            "aurora-postgresql" => Self::AuroraPostgresql,
            "aurora-mysql" => Self::AuroraMysql,
            other => Self::Other(other.to_string()),
        }
    }

    /// The name RDS uses.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Postgres => "postgres",
            Self::Mysql => "mysql",
            Self::Mariadb => "mariadb",
            Self::AuroraPostgresql => "aurora-postgresql",
            Self::AuroraMysql => "aurora-mysql",
            Self::Other(name) => name,
        }
    }

    /// RDS Blue/Green Deployments: RDS MySQL, MariaDB, PostgreSQL; Aurora MySQL, Aurora PostgreSQL.
    pub fn supports_blue_green(&self) -> bool {
        !matches!(self, Self::Other(_))
    }

    pub fn is_postgres_family(&self) -> bool {
        matches!(self, Self::Postgres | Self::AuroraPostgresql)
    }

    pub fn is_mysql_family(&self) -> bool {
        matches!(self, Self::Mysql | Self::Mariadb | Self::AuroraMysql)
    }

    pub fn is_aurora(&self) -> bool {
        matches!(self, Self::AuroraPostgresql | Self::AuroraMysql)
    }
}

/// Compares engine versions part by part, numerically where both parts are numbers:
/// "13.12" > "13.9", "8.0.mysql_aurora.3.05.2" > "8.0.mysql_aurora.3.04.1", "16.4" > "13.15".
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let split = |v: &str| -> Vec<String> {
        v.split(['.', '-', '_'])
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (pa, pb) = (split(a), split(b));
    for (x, y) in pa.iter().zip(pb.iter()) {
        let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(nx), Ok(ny)) => nx.cmp(&ny),
            _ => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    pa.len().cmp(&pb.len())
}

/// The major version as RDS counts it: "13" for PostgreSQL 13.x, "8.0" for MySQL 8.0.x,
/// "10.11" for MariaDB, "3" for Aurora MySQL 3 ("8.0.mysql_aurora.3.05.2").
pub fn major_version(engine: &Engine, version: &str) -> String {
    let parts: Vec<&str> = version.split('.').collect();
    match engine {
        Engine::Postgres | Engine::AuroraPostgresql => {
            let first = parts.first().copied().unwrap_or_default();
            // PostgreSQL 9.6 and older count two parts as the major.
            if first.parse::<u32>().map(|m| m < 10).unwrap_or(false) && parts.len() > 1 {
                format!("{}.{}", first, parts[1])
            } else {
                first.to_string()
            }
        }
        Engine::AuroraMysql => parts.get(..2).map(|p| p.join(".")).unwrap_or_default(),
        _ => parts
            .get(..2)
            .map(|p| p.join("."))
            .unwrap_or_else(|| version.to_string()),
    }
}

/// PostgreSQL minimum source minors for a major upgrade through blue/green
/// (Amazon RDS User Guide, "Limitations for blue/green deployments"): lower minors are
/// rejected by CreateBlueGreenDeployment. Returns the minimum for `version`'s major, if any.
pub fn postgres_minimum_minor_for_major_upgrade(version: &str) -> Option<&'static str> {
    let major = version.split('.').next()?;
    match major {
        "11" => Some("11.21"),
        "12" => Some("12.16"),
        "13" => Some("13.12"),
        "14" => Some("14.9"),
        "15" => Some("15.4"),
        "16" => Some("16.1"),
        _ => None,
    }
}

/// Aurora PostgreSQL's lowest version for any blue/green deployment, by major (Aurora User
/// Guide, "Supported Regions and Aurora DB engines for Blue/Green Deployments": 11.21, 12.16,
/// 13.12, 14.9, 15.4, 16.1 and 17.4 and higher). Unlike RDS for PostgreSQL's table above it
/// applies to every Aurora PostgreSQL blue/green, minor or none; `None` for a major it does
/// not list.
pub fn aurora_postgres_minimum_version(version: &str) -> Option<&'static str> {
    match version.split('.').next()? {
        "11" => Some("11.21"),
        "12" => Some("12.16"),
        "13" => Some("13.12"),
        "14" => Some("14.9"),
        "15" => Some("15.4"),
        "16" => Some("16.1"),
        "17" => Some("17.4"),
        _ => None,
    }
}

/// Whether Babelfish for Aurora PostgreSQL supports blue/green on `version` (Aurora User
/// Guide, blue/green limitations: 15.7 and higher, 16.3 and higher). A later major is taken
/// as supported; 14 and earlier are not.
pub fn babelfish_supports_blue_green(version: &str) -> bool {
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    match major {
        15 => compare_versions(version, "15.7") != Ordering::Less,
        16 => compare_versions(version, "16.3") != Ordering::Less,
        m => m > 16,
    }
}

/// An engine version as DescribeDBEngineVersions reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineVersionInfo {
    pub version: String,
    pub family: String,
    /// `available`, or `deprecated` for a version AWS has withdrawn (listed only with
    /// `IncludeAll=true`): a source may run one, a target may not be one.
    #[serde(default = "available")]
    pub status: String,
    pub valid_upgrade_targets: Vec<UpgradeTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeTarget {
    pub version: String,
    pub is_major: bool,
}

fn available() -> String {
    "available".into()
}

impl EngineVersionInfo {
    pub fn is_available(&self) -> bool {
        self.status.eq_ignore_ascii_case("available")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically_part_by_part() {
        assert_eq!(compare_versions("13.12", "13.9"), Ordering::Greater);
        assert_eq!(compare_versions("16.4", "13.15"), Ordering::Greater);
        assert_eq!(compare_versions("13.7", "13.7"), Ordering::Equal);
        assert_eq!(compare_versions("8.0.39", "8.0.4"), Ordering::Greater);
        assert_eq!(
            compare_versions("8.0.mysql_aurora.3.05.2", "8.0.mysql_aurora.3.04.1"),
            Ordering::Greater
        );
        assert_eq!(compare_versions("5.7.44", "8.0.11"), Ordering::Less);
    }

    #[test]
    fn major_versions_follow_each_engine_numbering() {
        assert_eq!(major_version(&Engine::Postgres, "13.12"), "13");
        assert_eq!(major_version(&Engine::Postgres, "9.6.24"), "9.6");
        assert_eq!(major_version(&Engine::Mysql, "5.7.44"), "5.7");
        assert_eq!(major_version(&Engine::Mariadb, "10.11.9"), "10.11");
        assert_eq!(
            major_version(&Engine::AuroraMysql, "8.0.mysql_aurora.3.05.2"),
            "8.0"
        );
    }

    #[test]
    fn engine_names_round_trip_and_unsupported_engines_are_named() {
        for name in [
            "postgres",
            "mysql",
            "mariadb",
            "aurora-postgresql",
            "aurora-mysql",
        ] {
            let e = Engine::parse(name);
            assert_eq!(e.as_str(), name);
            assert!(e.supports_blue_green());
        }
        let oracle = Engine::parse("oracle-ee");
        assert!(!oracle.supports_blue_green());
        assert_eq!(oracle.as_str(), "oracle-ee");
    }

    #[test]
    fn postgres_minimum_minors_match_the_aws_table() {
        assert_eq!(
            postgres_minimum_minor_for_major_upgrade("13.7"),
            Some("13.12")
        );
        assert_eq!(
            postgres_minimum_minor_for_major_upgrade("11.22"),
            Some("11.21")
        );
        assert_eq!(postgres_minimum_minor_for_major_upgrade("17.2"), None);
    }

    #[test]
    fn aurora_postgres_minimums_include_17_4() {
        assert_eq!(aurora_postgres_minimum_version("17.2"), Some("17.4"));
        assert_eq!(aurora_postgres_minimum_version("16.6"), Some("16.1"));
        assert_eq!(aurora_postgres_minimum_version("11.9"), Some("11.21"));
        assert_eq!(aurora_postgres_minimum_version("18.1"), None);
    }

    #[test]
    fn babelfish_blue_green_starts_at_15_7_and_16_3() {
        for (version, supported) in [
            ("14.12", false),
            ("15.6", false),
            ("15.7", true),
            ("15.10", true),
            ("16.2", false),
            ("16.3", true),
            ("17.4", true),
        ] {
            assert_eq!(
                babelfish_supports_blue_green(version),
                supported,
                "{version}"
            );
        }
    }
}
