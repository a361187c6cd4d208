//! The crate's layout, checked from its source (`src/`, test modules included): the code map
//! in `lib.rs` is a rule, not a wish.
//!
//! 1. `model/` (the nouns) imports nothing else of the crate: only `crate::model::...`.
//! 2. No step folder imports `run`: the run document composes the steps' states, not the
//!    reverse (a rule that needs data held in `Run` takes it as an argument).
//! 3. No import cycle among the top-level modules.
//!
//! Dependencies are the `crate::<top>` paths of each file (in `use` lines, `crate::a::b`
//! expressions, grouped `use crate::{a, b}` and paths in attribute strings such as serde's
//! `skip_serializing_if = "crate::..."`), read by the small scanner below: comments are
//! skipped, string literals are read for paths only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules of the crate, in the order of `lib.rs`'s code map.
const TOP_LEVEL: &[&str] = &[
    "model",
    "precheck",
    "wait",
    "guardrails",
    "switchover",
    "verify",
    "cleanup",
    "database",
    "fleet",
    "run",
];

/// The step folders: each may use `model` and other steps (without a cycle), never `run`.
const STEPS: &[&str] = &[
    "precheck",
    "wait",
    "guardrails",
    "switchover",
    "verify",
    "cleanup",
    "database",
    "fleet",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `src/model/check.rs` -> `model`, `src/run.rs` ->
/// `run`; `None` for `lib.rs`, the crate root.
fn top_of(root: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(root).expect("a file under src/");
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    if rel.components().count() > 1 {
        return Some(first);
    }
    let stem = first.strip_suffix(".rs")?;
    (stem != "lib").then(|| stem.to_string())
}

/// The code of a file with comments removed and each string literal's contents kept apart
/// (so `"crate::x"` in an attribute counts, and `// crate::x` in prose does not).
fn code_and_strings(text: &str) -> (String, Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    let mut code = String::new();
    let mut strings = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            code.push(' ');
            continue;
        }
        // Raw strings: r"...", r#"..."#, br#"..."#.
        if c == 'r'
            && matches!(next, Some('"') | Some('#'))
            && !ident_char(chars.get(i.wrapping_sub(1)))
        {
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) == Some(&'"') {
                let mut s = String::new();
                j += 1;
                while j < chars.len() {
                    if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    s.push(chars[j]);
                    j += 1;
                }
                strings.push(s);
                code.push_str("\"\"");
                i = j;
                continue;
            }
        }
        if c == '"' {
            let mut s = String::new();
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                if chars[j] == '\\' {
                    j += 1;
                }
                if let Some(&x) = chars.get(j) {
                    s.push(x);
                }
                j += 1;
            }
            strings.push(s);
            code.push_str("\"\"");
            i = j + 1;
            continue;
        }
        if c == '\'' {
            // A char literal ('x', '\n', '\u{..}'), else a lifetime.
            if next == Some('\\') {
                let mut j = i + 2;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                code.push_str("' '");
                i = j + 1;
                continue;
            }
            if chars.get(i + 2) == Some(&'\'') {
                code.push_str("' '");
                i += 3;
                continue;
            }
        }
        code.push(c);
        i += 1;
    }
    (code, strings)
}

fn ident_char(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

/// The first segment of every `crate::` path in `text`: `crate::a::b` -> `a`, and each
/// item of a group, `crate::{a::x, b}` -> `a`, `b`.
fn crate_paths(text: &str, out: &mut BTreeSet<String>) {
    let chars: Vec<char> = text.chars().collect();
    let needle: Vec<char> = "crate::".chars().collect();
    let mut i = 0;
    while i + needle.len() <= chars.len() {
        let at_word = !ident_char(chars.get(i.wrapping_sub(1))) && (i == 0 || chars[i - 1] != '$');
        if at_word && chars[i..i + needle.len()] == needle[..] {
            let mut j = i + needle.len();
            while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                j += 1;
            }
            if chars.get(j) == Some(&'{') {
                group(&chars, j, out);
            } else {
                let ident: String = chars[j..]
                    .iter()
                    .take_while(|c| c.is_alphanumeric() || **c == '_')
                    .collect();
                if !ident.is_empty() {
                    out.insert(ident);
                }
            }
            i = j;
        } else {
            i += 1;
        }
    }
}

/// The first identifier of each comma-separated item of the `{...}` group opening at `open`.
fn group(chars: &[char], open: usize, out: &mut BTreeSet<String>) {
    let mut depth = 0;
    let mut expecting = true;
    let mut j = open;
    while j < chars.len() {
        let c = chars[j];
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    expecting = true;
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
            ',' if depth == 1 => expecting = true,
            c if depth == 1 && expecting && (c.is_alphanumeric() || c == '_') => {
                let ident: String = chars[j..]
                    .iter()
                    .take_while(|c| c.is_alphanumeric() || **c == '_')
                    .collect();
                j += ident.chars().count();
                if ident != "self" {
                    out.insert(ident);
                }
                expecting = false;
                continue;
            }
            _ => {}
        }
        j += 1;
    }
}

/// Each top-level module, the top-level modules its files name, and which file names each.
struct Graph {
    edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

fn graph() -> Graph {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(!files.is_empty(), "no source under {}", root.display());
    let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &files {
        let Some(top) = top_of(&root, file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a readable source file");
        let (code, strings) = code_and_strings(&text);
        let mut named = BTreeSet::new();
        crate_paths(&code, &mut named);
        for s in &strings {
            crate_paths(s, &mut named);
        }
        let entry = edges.entry(top.clone()).or_default();
        let shown = file.strip_prefix(&root).unwrap().display().to_string();
        for dep in named {
            if dep != top {
                entry.entry(dep).or_default().insert(shown.clone());
            }
        }
    }
    Graph { edges }
}

impl Graph {
    /// The modules caught in cycles, one group per strongly connected component (Tarjan),
    /// each with its shortest cycle through its first module.
    fn cycles(&self) -> Vec<(Vec<String>, Vec<String>)> {
        let nodes: BTreeSet<&String> = self
            .edges
            .iter()
            .flat_map(|(from, to)| std::iter::once(from).chain(to.keys()))
            .collect();
        let mut index: BTreeMap<&String, usize> = BTreeMap::new();
        let mut low: BTreeMap<&String, usize> = BTreeMap::new();
        let mut stack: Vec<&String> = Vec::new();
        let mut groups: Vec<Vec<String>> = Vec::new();
        for n in &nodes {
            if !index.contains_key(n) {
                self.strong(n, &mut index, &mut low, &mut stack, &mut groups);
            }
        }
        groups
            .into_iter()
            .filter(|g| g.len() > 1)
            .map(|mut g| {
                g.sort();
                let cycle = self.shortest_cycle(&g[0], &g);
                (g, cycle)
            })
            .collect()
    }

    fn strong<'a>(
        &'a self,
        n: &'a String,
        index: &mut BTreeMap<&'a String, usize>,
        low: &mut BTreeMap<&'a String, usize>,
        stack: &mut Vec<&'a String>,
        groups: &mut Vec<Vec<String>>,
    ) {
        let i = index.len();
        index.insert(n, i);
        low.insert(n, i);
        stack.push(n);
        for m in self.edges.get(n).into_iter().flat_map(|e| e.keys()) {
            if !index.contains_key(m) {
                self.strong(m, index, low, stack, groups);
                let l = low[m].min(low[n]);
                low.insert(n, l);
            } else if stack.contains(&m) {
                let l = index[m].min(low[n]);
                low.insert(n, l);
            }
        }
        if low[n] == index[n] {
            let mut group = Vec::new();
            while let Some(m) = stack.pop() {
                group.push(m.clone());
                if m == n {
                    break;
                }
            }
            groups.push(group);
        }
    }

    /// The shortest path from `start` back to itself inside `within` (breadth first).
    fn shortest_cycle(&self, start: &String, within: &[String]) -> Vec<String> {
        let mut previous: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.clone()]);
        while let Some(at) = queue.pop_front() {
            for next in self.edges.get(&at).into_iter().flat_map(|e| e.keys()) {
                if !within.contains(next) {
                    continue;
                }
                if next == start {
                    let mut cycle = vec![at.clone()];
                    let mut back = at.clone();
                    while &back != start {
                        back = previous[&back].clone();
                        cycle.push(back.clone());
                    }
                    cycle.reverse();
                    cycle.push(start.clone());
                    return cycle;
                }
                if !previous.contains_key(next) {
                    previous.insert(next.clone(), at.clone());
                    queue.push_back(next.clone());
                }
            }
        }
        vec![start.clone()]
    }

    /// `a -> b (a/x.rs, a/y.rs)`, for failure messages.
    fn why(&self, from: &str, to: &str) -> String {
        let files = self
            .edges
            .get(from)
            .and_then(|e| e.get(to))
            .map(|f| f.iter().cloned().collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        format!("{from} -> {to} ({files})")
    }

    fn describe(&self) -> String {
        self.edges
            .iter()
            .map(|(from, to)| {
                format!(
                    "  {from} -> {}",
                    to.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[test]
fn the_top_level_modules_are_the_code_maps() {
    let g = graph();
    let unknown: Vec<&String> = g
        .edges
        .keys()
        .filter(|m| !TOP_LEVEL.contains(&m.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "top-level modules outside the code map of lib.rs ({}): {unknown:?}; put a noun in \
         model/, a rule in its step's folder\nthe graph:\n{}",
        TOP_LEVEL.join(", "),
        g.describe()
    );
}

#[test]
fn model_imports_nothing_else_of_the_crate() {
    let g = graph();
    let Some(model) = g.edges.get("model") else {
        panic!(
            "no src/model/: the nouns live there\nthe graph:\n{}",
            g.describe()
        );
    };
    let outside: Vec<String> = model.keys().map(|to| g.why("model", to)).collect();
    assert!(
        outside.is_empty(),
        "model/ must name nothing but crate::model: {}",
        outside.join("; ")
    );
}

#[test]
fn no_step_imports_the_run_document() {
    let g = graph();
    let offending: Vec<String> = STEPS
        .iter()
        .filter(|step| g.edges.get(**step).is_some_and(|e| e.contains_key("run")))
        .map(|step| g.why(step, "run"))
        .collect();
    assert!(
        offending.is_empty(),
        "a step folder imports `run` (the run document composes the steps, not the reverse: \
         pass what a rule needs as an argument): {}",
        offending.join("; ")
    );
}

#[test]
fn the_top_level_modules_import_each_other_without_a_cycle() {
    let g = graph();
    // The graph itself, for `cargo test --test architecture -- --nocapture`.
    eprintln!(
        "the top-level modules and what each imports:\n{}",
        g.describe()
    );
    let cycles = g.cycles();
    let shown: Vec<String> = cycles
        .iter()
        .map(|(group, cycle)| {
            let hops: Vec<String> = cycle.windows(2).map(|w| g.why(&w[0], &w[1])).collect();
            format!(
                "{{{}}}, e.g. {}\n    {}",
                group.join(", "),
                cycle.join(" -> "),
                hops.join("\n    ")
            )
        })
        .collect();
    assert!(
        cycles.is_empty(),
        "{} group(s) of top-level modules import each other in a cycle:\n  {}\nthe graph:\n{}",
        cycles.len(),
        shown.join("\n  "),
        g.describe()
    );
}

#[test]
fn the_scanner_reads_paths_as_written() {
    let (code, strings) = code_and_strings(
        "use crate::model::check::Check; // crate::run is prose\n\
         use crate::{precheck::intake, wait};\n\
         #[serde(skip_serializing_if = \"crate::database::x\")]\n\
         /* crate::fleet */ let c = 'x'; fn f<'a>() {} let s = r#\"crate::cleanup\"#;\n\
         pub(crate) fn g() { crate::verify::v() }",
    );
    let mut named = BTreeSet::new();
    crate_paths(&code, &mut named);
    for s in &strings {
        crate_paths(s, &mut named);
    }
    let named: Vec<&str> = named.iter().map(String::as_str).collect();
    assert_eq!(
        named,
        ["cleanup", "database", "model", "precheck", "verify", "wait"]
    );
}
