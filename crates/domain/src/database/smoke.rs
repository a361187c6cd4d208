//! The smoke query run against the new production before the soak starts: the request's
//! `smoke_query`, or `SELECT 1`. Validated here as one read-only statement (it must start
//! with SELECT, WITH, VALUES, TABLE or SHOW, and hold no second statement); the worker runs
//! it in a READ ONLY transaction with the statement timeout anyway, so a function that writes,
//! `SELECT ... FOR UPDATE`, `nextval()` or a data-modifying CTE is refused by the server.

use crate::model::check::{id, Check, Verdict};
use crate::model::error::WorkerError;

pub const DEFAULT_SMOKE_QUERY: &str = "SELECT 1";
pub const MAX_SMOKE_QUERY_CHARS: usize = 4096;
const READ_KEYWORDS: &[&str] = &["SELECT", "WITH", "VALUES", "TABLE", "SHOW"];

fn invalid(why: &str) -> WorkerError {
    WorkerError::invalid(format!(
        "smoke_query {why}: give one read-only statement such as SELECT count(*) FROM orders \
         (it runs in a READ ONLY transaction on the new production)"
    ))
}

/// The statement without its trailing `;` and the comments and spaces around it, if the
/// query is exactly one statement that starts like a read.
pub fn validate(query: &str) -> Result<String, WorkerError> {
    if query.chars().count() > MAX_SMOKE_QUERY_CHARS {
        return Err(invalid(&format!(
            "is longer than {MAX_SMOKE_QUERY_CHARS} characters"
        )));
    }
    if query
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(invalid("holds control characters"));
    }
    let body = single_statement(query).map_err(invalid)?;
    let first: String = strip_leading_comments(&body)
        .trim_start_matches('(')
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase();
    if !READ_KEYWORDS.contains(&first.as_str()) {
        return Err(invalid(&format!(
            "starts with `{}`, not SELECT, WITH, VALUES, TABLE or SHOW",
            if first.is_empty() { "?" } else { &first }
        )));
    }
    Ok(body)
}

fn strip_leading_comments(s: &str) -> &str {
    let mut rest = s.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("--") {
            rest = r
                .split_once('\n')
                .map_or("", |(_, after)| after)
                .trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r
                .split_once("*/")
                .map_or("", |(_, after)| after)
                .trim_start();
        } else {
            return rest;
        }
    }
}

/// Scans quotes (`'...'`, `"..."`, `` `...` ``, `$tag$...$tag$`) and comments; a `;` outside
/// them may only end the query.
fn single_statement(query: &str) -> Result<String, &'static str> {
    let chars: Vec<char> = query.chars().collect();
    let mut i = 0;
    let mut end = None;
    while i < chars.len() {
        let c = chars[i];
        if end.is_some() && !c.is_whitespace() {
            // after the `;`: only comments may follow
            if c == '-' && chars.get(i + 1) == Some(&'-') {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            if c == '/' && chars.get(i + 1) == Some(&'*') {
                let close = find(&chars, i + 2, &['*', '/']).ok_or("has an unclosed comment")?;
                i = close + 2;
                continue;
            }
            return Err("holds more than one statement");
        }
        match c {
            '\'' | '"' | '`' => {
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err("has an unclosed quote"),
                        Some(&q) if q == c && chars.get(j + 1) == Some(&c) => j += 2,
                        Some(&q) if q == c => break,
                        Some('\\') if c != '"' => j += 2,
                        Some(_) => j += 1,
                    }
                }
                i = j + 1;
            }
            '$' => {
                // $tag$ ... $tag$ (PostgreSQL dollar quoting); a lone `$1` is a parameter.
                let tag_end = (i + 1..chars.len())
                    .find(|&k| !(chars[k].is_alphanumeric() || chars[k] == '_'));
                match tag_end {
                    Some(k) if chars[k] == '$' => {
                        let tag: Vec<char> = chars[i..=k].to_vec();
                        let close = find(&chars, k + 1, &tag).ok_or("has an unclosed $ quote")?;
                        i = close + tag.len();
                    }
                    _ => i += 1,
                }
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let close = find(&chars, i + 2, &['*', '/']).ok_or("has an unclosed comment")?;
                i = close + 2;
            }
            ';' => {
                end = Some(i);
                i += 1;
            }
            _ => i += 1,
        }
    }
    let body: String = chars[..end.unwrap_or(chars.len())].iter().collect();
    let body = body.trim().to_string();
    if strip_leading_comments(&body).is_empty() {
        return Err("is empty");
    }
    Ok(body)
}

fn find(chars: &[char], from: usize, needle: &[char]) -> Option<usize> {
    (from..chars.len().saturating_sub(needle.len() - 1)).find(|&k| chars[k..].starts_with(needle))
}

/// The smoke query's check from what the server answered.
pub fn smoke_check(query: &str, result: Result<u64, String>, target: &str) -> Check {
    let shown: String = query.chars().take(120).collect();
    match result {
        Ok(rows) => Check::new(
            id::SMOKE_QUERY,
            Verdict::Pass,
            format!("`{shown}` answered {rows} row(s) on {target} in a read-only transaction"),
            "",
        ),
        Err(e) => Check::new(
            id::SMOKE_QUERY,
            Verdict::Fail,
            format!("`{shown}` failed on {target}: {e}"),
            "look at the new production now (the old blue is kept as the fallback); a query that \
             writes is refused by design: the smoke query must only read",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_read_only_statement_is_accepted() {
        for q in [
            "SELECT 1",
            "select count(*) from orders;",
            "  -- how many\nSELECT count(*) FROM orders ; -- done",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "(SELECT 1) UNION (SELECT 2)",
            "VALUES (1)",
            "TABLE orders",
            "SHOW server_version",
            "SELECT 'a;b', \"we;ird\", $$x;y$$, $t$;$t$ FROM t /* ; */",
            "SELECT 'it''s'",
        ] {
            assert!(validate(q).is_ok(), "{q}: {:?}", validate(q));
        }
        assert_eq!(validate("SELECT 1;  ").unwrap(), "SELECT 1");
    }

    #[test]
    fn writes_and_second_statements_are_refused() {
        for q in [
            "DELETE FROM orders",
            "UPDATE orders SET x = 1",
            "SELECT 1; DROP TABLE orders",
            "SELECT 1;; ",
            "COMMIT; SELECT 1",
            "set transaction read write",
            "",
            "  -- nothing",
            "SELECT 'unclosed",
            "SELECT $x$ unclosed",
            "SELECT 1 /* unclosed",
            "SELECT \u{0}",
        ] {
            let e = validate(q).unwrap_err();
            assert_eq!(e.name(), "InvalidRequest", "{q}");
            assert!(e.to_string().starts_with("smoke_query"), "{e}");
        }
        assert!(validate(&format!("SELECT '{}'", "x".repeat(5000))).is_err());
    }

    #[test]
    fn the_check_says_what_the_server_answered() {
        let c = smoke_check("SELECT 1", Ok(1), "orders-pg");
        assert_eq!(c.verdict, Verdict::Pass);
        let c = smoke_check(
            "SELECT nextval('s')",
            Err("cannot execute nextval() in a read-only transaction".into()),
            "orders-pg",
        );
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.observed.contains("read-only"));
    }
}
