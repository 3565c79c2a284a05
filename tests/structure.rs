//! The shape of the code, checked on every test run: no file in a crate's
//! `src/` longer than 500 lines and no function longer than 80 (tests
//! excluded), every module opening with a `//!` line, no use of a
//! dependency's doc-hidden API (`__private`), and
//! no import cycle between the server's modules (a module using an item of
//! another, through `crate::`, `super::` or a child's name, depends on it).
//! The parser is deliberately plain: it skips strings, characters and
//! comments and counts braces, which the project's code style keeps honest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 500;
const MAX_FN_LINES: usize = 80;
const CRATES: &[&str] = &["watchme-core", "watchme-adapters", "watchme-server", "."];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn sources() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for krate in CRATES {
        rust_files(&root.join(krate).join("src"), &mut files);
    }
    files.sort();
    files.into_iter().map(|p| (p.clone(), std::fs::read_to_string(&p).expect("read source"))).collect()
}

/// The code of `src` with strings, characters and comments blanked out
/// (lengths and line breaks kept), so braces and words can be counted.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, c: u8| out.push(if c == b'\n' { b'\n' } else { b' ' });
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                blank(&mut out, b[i]);
                i += 1;
            }
        } else if rest.starts_with(b"/*") {
            while i < b.len() && !b[i..].starts_with(b"*/") {
                blank(&mut out, b[i]);
                i += 1;
            }
            for _ in 0..2.min(b.len() - i) {
                blank(&mut out, b[i]);
                i += 1;
            }
        } else if rest.starts_with(b"r\"") || rest.starts_with(b"r#") {
            let hashes = rest[1..].iter().take_while(|&&c| c == b'#').count();
            if rest.get(1 + hashes) != Some(&b'"') {
                out.push(b[i]);
                i += 1;
                continue;
            }
            let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
            let start = i + 2 + hashes;
            let end = b[start..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(b.len(), |p| start + p + close.len());
            for &c in &b[i..end] {
                blank(&mut out, c);
            }
            i = end;
        } else if b[i] == b'"' {
            blank(&mut out, b[i]);
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    blank(&mut out, b[i]);
                    i += 1;
                }
                blank(&mut out, b[i]);
                i += 1;
            }
            if i < b.len() {
                blank(&mut out, b[i]);
                i += 1;
            }
        } else if b[i] == b'\'' && (rest.get(2) == Some(&b'\'') || (rest.get(1) == Some(&b'\\') && rest.len() > 3)) {
            // A character literal ('x', '\n', '\''), not a lifetime.
            let len =
                if rest[1] == b'\\' { rest[2..].iter().position(|&c| c == b'\'').map_or(1, |p| p + 3) } else { 3 };
            for &c in &rest[..len.min(rest.len())] {
                blank(&mut out, c);
            }
            i += len;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The line where the block opening on `start` (at its first `{`) closes.
fn block_end(lines: &[&str], start: usize) -> usize {
    let mut depth = 0i64;
    let mut opened = false;
    for (n, line) in lines.iter().enumerate().skip(start) {
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                ';' if !opened && depth == 0 => return n,
                _ => {}
            }
            if opened && depth == 0 {
                return n;
            }
        }
    }
    lines.len() - 1
}

/// Line ranges of `#[cfg(test)]` items (test modules).
fn test_ranges(lines: &[&str]) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if line.trim() == "#[cfg(test)]" {
            ranges.push((n, block_end(lines, n + 1)));
        }
    }
    ranges
}

fn is_fn_start(line: &str) -> Option<String> {
    let t = line.trim_start();
    let t = t
        .strip_prefix("pub(crate) ")
        .or_else(|| t.strip_prefix("pub(super) "))
        .or_else(|| t.strip_prefix("pub "))
        .unwrap_or(t);
    let t = t.strip_prefix("const ").unwrap_or(t);
    let t = t.strip_prefix("async ").unwrap_or(t);
    let name = t.strip_prefix("fn ")?;
    Some(name.split(['(', '<']).next().unwrap_or(name).trim().to_owned())
}

#[test]
fn no_file_over_500_lines_and_no_function_over_80() {
    let mut problems = Vec::new();
    for (path, src) in sources() {
        let code = code_only(&src);
        let lines: Vec<&str> = code.lines().collect();
        let tests = test_ranges(&lines);
        let in_tests = |n: usize| tests.iter().any(|&(a, b)| n >= a && n <= b);
        let counted = (0..lines.len()).filter(|&n| !in_tests(n)).count();
        if counted > MAX_FILE_LINES {
            problems.push(format!("{}: {counted} lines outside tests", path.display()));
        }
        for (n, line) in lines.iter().enumerate() {
            let Some(name) = is_fn_start(line) else { continue };
            if in_tests(n) {
                continue;
            }
            let end = block_end(&lines, n);
            if end - n + 1 > MAX_FN_LINES {
                problems.push(format!("{}:{}: fn {name} is {} lines", path.display(), n + 1, end - n + 1));
            }
        }
    }
    assert!(problems.is_empty(), "too long:\n{}", problems.join("\n"));
}

#[test]
fn no_doc_hidden_api_of_a_dependency() {
    let used: Vec<String> = sources()
        .into_iter()
        .filter(|(_, src)| code_only(src).contains("__private"))
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(used.is_empty(), "doc-hidden API used in {used:?}");
}

#[test]
fn every_module_opens_with_a_line_saying_its_role() {
    let silent: Vec<String> = sources()
        .into_iter()
        .filter(|(_, src)| !src.trim_start().starts_with("//!"))
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(silent.is_empty(), "modules without a `//!` line: {silent:?}");
}

/// Every path the code names: each `use` tree expanded (`a::{b, c::d}`
/// gives `a::b` and `a::c::d`), and every other `x::y` in the code.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before_ok = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric() && rest.as_bytes()[at - 1] != b'_';
        let end = rest[at..].find(';').map_or(rest.len(), |e| at + e);
        if before_ok {
            expand("", rest[at + 4..end].trim(), &mut out);
        }
        rest = &rest[end.min(rest.len())..];
        if rest.starts_with(';') {
            rest = &rest[1..];
        }
    }
    let words = code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'));
    out.extend(words.filter(|w| w.contains("::") && !w.ends_with("::")).map(str::to_owned));
    out
}

/// Expands one `use` tree under `prefix` into full paths.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim().trim_start_matches("pub ").trim();
    let join = |p: &str, s: &str| if p.is_empty() { s.to_owned() } else { format!("{p}::{s}") };
    match tree.find('{') {
        None => {
            let path = tree.split(" as ").next().unwrap_or(tree).trim();
            if !path.is_empty() {
                out.push(join(prefix, path));
            }
        }
        Some(open) => {
            let head = tree[..open].trim_end_matches("::");
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let (mut depth, mut start) = (0, 0);
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&join(prefix, head), &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            expand(&join(prefix, head), &inner[start..], out);
        }
    }
}

/// The server's modules (`app::wiring`, `api`, ...) and what each depends on.
fn server_modules() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("watchme-server/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let module_of = |p: &Path| {
        let rel = p.strip_prefix(&src).expect("under src").with_extension("");
        let parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
        match parts.as_slice() {
            [only] if only == "lib" => String::new(),
            [dirs @ .., last] if last == "mod" => dirs.join("::"),
            all => all.join("::"),
        }
    };
    let modules: BTreeSet<String> = files.iter().map(|p| module_of(p)).collect();
    // The longest known module a path names.
    let resolve = |path: &[&str]| -> Option<String> {
        (1..=path.len()).rev().map(|n| path[..n].join("::")).find(|m| modules.contains(m))
    };
    let mut deps = BTreeMap::new();
    for p in &files {
        let me = module_of(p);
        let mut mine = BTreeSet::new();
        let code = code_only(&std::fs::read_to_string(p).expect("read"));
        let lines: Vec<&str> = code.lines().collect();
        let tests = test_ranges(&lines);
        let kept: String = lines
            .iter()
            .enumerate()
            .filter(|(n, _)| !tests.iter().any(|&(a, b)| *n >= a && *n <= b))
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        let words = paths(&kept);
        let parent: Vec<&str> = if me.is_empty() {
            vec![]
        } else {
            me.split("::").collect::<Vec<_>>()[..me.split("::").count() - 1].to_vec()
        };
        for w in &words {
            let segs: Vec<&str> = w.split("::").filter(|s| !s.is_empty() && *s != "self").collect();
            let target = match segs.first() {
                Some(&"crate") => resolve(&segs[1..]),
                Some(&"super") => {
                    let full: Vec<&str> = parent.iter().copied().chain(segs[1..].iter().copied()).collect();
                    resolve(&full).or_else(|| Some(parent.join("::")))
                }
                Some(first) => {
                    // A child module of this one, named directly.
                    let mut full: Vec<&str> = if me.is_empty() { vec![] } else { me.split("::").collect() };
                    full.push(first);
                    let child = full.join("::");
                    modules.contains(&child).then_some(child)
                }
                None => None,
            };
            if let Some(t) = target.filter(|t| *t != me && !t.is_empty()) {
                mine.insert(t);
            }
        }
        deps.insert(me, mine);
    }
    deps
}

#[test]
fn the_servers_modules_form_no_import_cycle() {
    let deps = server_modules();
    assert!(deps.contains_key("app::wiring") && deps.contains_key("api::movies"), "modules found: {deps:?}");
    // Depth-first search for a back edge.
    fn visit(
        m: &str,
        deps: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|s| s == m) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(m.to_owned());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        stack.push(m.to_owned());
        for d in deps.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, deps, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(m.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for m in deps.keys() {
        if let Some(cycle) = visit(m, &deps, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}
