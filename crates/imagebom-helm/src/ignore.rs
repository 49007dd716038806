//! `.helmignore` rules (Helm's `pkg/ignore`) and Go's `path.Match` / gobwas `glob` matchers.

/// One parsed `.helmignore` rule.
#[derive(Debug, Clone)]
struct Rule {
    pattern: String,
    /// The pattern's literal head (up to its first metacharacter): a name that does not start
    /// with it cannot match, which settles most rules without running the matcher.
    head: String,
    negate: bool,
    must_dir: bool,
    kind: RuleKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleKind {
    /// Leading `/`: matched against the whole path.
    Rooted,
    /// Contains `/`: matched against the whole path.
    Structural,
    /// No `/`: matched against the base name only.
    Base,
}

/// A set of `.helmignore` rules, evaluated as Helm does.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    rules: Vec<Rule>,
}

impl IgnoreRules {
    /// Helm's defaults (`templates/.?*`).
    pub fn with_defaults() -> Self {
        let mut r = IgnoreRules::default();
        // The default rule is well formed.
        let _ = r.add_rule("templates/.?*");
        r
    }

    /// Parses the text of a `.helmignore` file and appends its rules.
    pub fn parse(&mut self, text: &str) -> Result<(), String> {
        for line in text.lines() {
            self.add_rule(line)?;
        }
        Ok(())
    }

    fn add_rule(&mut self, rule: &str) -> Result<(), String> {
        let rule = rule.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".into());
        }
        if go_match(rule, "abc").is_err() {
            return Err(format!("syntax error in pattern {rule:?}"));
        }
        let mut r = rule;
        let negate = r.starts_with('!');
        if negate {
            r = &r[1..];
        }
        let must_dir = r.ends_with('/');
        if must_dir {
            r = &r[..r.len() - 1];
        }
        let kind = if let Some(rest) = r.strip_prefix('/') {
            r = rest;
            RuleKind::Rooted
        } else if r.contains('/') {
            RuleKind::Structural
        } else {
            RuleKind::Base
        };
        let head_len = r.find(['*', '?', '[', '\\']).unwrap_or(r.len());
        self.rules.push(Rule {
            pattern: r.to_string(),
            head: r[..head_len].to_string(),
            negate,
            must_dir,
            kind,
        });
        Ok(())
    }

    /// Whether `path` (relative, `/`-separated) is ignored.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for r in &self.rules {
            let matched = || {
                let name = match r.kind {
                    RuleKind::Base => path.rsplit('/').next().unwrap_or(path),
                    _ => path,
                };
                // Rules are validated when added, so a failed head is a plain mismatch.
                name.starts_with(r.head.as_str()) && go_match(&r.pattern, name).unwrap_or(false)
            };
            if r.negate {
                if r.must_dir && !is_dir {
                    return true;
                }
                if !matched() {
                    return true;
                }
                continue;
            }
            if r.must_dir && !is_dir {
                continue;
            }
            if matched() {
                return true;
            }
        }
        false
    }
}

/// Go's `path.Match`: `*` (no `/`), `?`, `[...]` classes with `^` negation and ranges, `\`
/// escapes. Errors on a malformed pattern.
pub fn go_match(pattern: &str, name: &str) -> Result<bool, ()> {
    // Fast paths for the common .helmignore forms (`.git`, `*.bak`): a literal, or `*`
    // and a literal. Anything with another metacharacter takes the general matcher.
    let meta = |c: char| matches!(c, '*' | '?' | '[' | '\\');
    if !pattern.contains(meta) {
        return Ok(pattern == name);
    }
    if let Some(lit) = pattern.strip_prefix('*') {
        if !lit.contains(meta) {
            return Ok(name.len() >= lit.len()
                && name.ends_with(lit)
                && !name[..name.len() - lit.len()].contains('/'));
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n, false)
}

/// gobwas/glob with `/` as the separator, as Helm's `.Files.Glob` uses: `*` (no `/`), `**`
/// (anything), `?`, `[...]`, `{a,b}` alternatives.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    for alt in expand_braces(pattern) {
        let p: Vec<char> = alt.chars().collect();
        let n: Vec<char> = name.chars().collect();
        if match_from(&p, &n, true).unwrap_or(false) {
            return true;
        }
    }
    false
}

fn expand_braces(pattern: &str) -> Vec<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut depth = 0;
    let mut start = None;
    for (i, c) in chars.iter().enumerate() {
        match c {
            '{' => {
                if depth == 0 {
                    start = Some(i);
                }
                depth += 1;
            }
            '}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    let s = start.unwrap_or(0);
                    let prefix: String = chars[..s].iter().collect();
                    let suffix: String = chars[i + 1..].iter().collect();
                    let inner: String = chars[s + 1..i].iter().collect();
                    let mut out = Vec::new();
                    for part in split_top_commas(&inner) {
                        for rest in expand_braces(&format!("{prefix}{part}{suffix}")) {
                            out.push(rest);
                        }
                    }
                    return out;
                }
            }
            _ => {}
        }
    }
    vec![pattern.to_string()]
}

fn split_top_commas(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '{' => {
                depth += 1;
                cur.push(c);
            }
            '}' => {
                depth -= 1;
                cur.push(c);
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn match_from(p: &[char], n: &[char], super_star: bool) -> Result<bool, ()> {
    if p.is_empty() {
        return Ok(n.is_empty());
    }
    match p[0] {
        '*' => {
            let any = super_star && p.get(1) == Some(&'*');
            let rest = if any { &p[2..] } else { &p[1..] };
            // Validate the rest of the pattern once so errors surface even without a match.
            let mut i = 0;
            loop {
                if match_from(rest, &n[i..], super_star)? {
                    return Ok(true);
                }
                if i >= n.len() || (!any && n[i] == '/') {
                    return Ok(false);
                }
                i += 1;
            }
        }
        '?' => {
            if n.is_empty() || n[0] == '/' {
                check_pattern(&p[1..])?;
                return Ok(false);
            }
            match_from(&p[1..], &n[1..], super_star)
        }
        '[' => {
            let (matched, consumed) = match_class(&p[1..], n.first().copied())?;
            if n.is_empty() || !matched || n[0] == '/' {
                check_pattern(&p[1 + consumed..])?;
                return Ok(false);
            }
            match_from(&p[1 + consumed..], &n[1..], super_star)
        }
        '\\' => {
            let c = *p.get(1).ok_or(())?;
            if n.first() == Some(&c) {
                match_from(&p[2..], &n[1..], super_star)
            } else {
                check_pattern(&p[2..])?;
                Ok(false)
            }
        }
        c => {
            if n.first() == Some(&c) {
                match_from(&p[1..], &n[1..], super_star)
            } else {
                check_pattern(&p[1..])?;
                Ok(false)
            }
        }
    }
}

fn check_pattern(p: &[char]) -> Result<(), ()> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '[' => {
                let (_, consumed) = match_class(&p[i + 1..], None)?;
                i += 1 + consumed;
            }
            '\\' => {
                if i + 1 >= p.len() {
                    return Err(());
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Matches a character class body (after `[`); returns (matched, chars consumed incl. `]`).
fn match_class(p: &[char], c: Option<char>) -> Result<(bool, usize), ()> {
    let mut i = 0;
    let negate = p.first() == Some(&'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let ch = *p.get(i).ok_or(())?;
        if ch == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let lo = if ch == '\\' {
            i += 1;
            *p.get(i).ok_or(())?
        } else {
            ch
        };
        i += 1;
        let mut hi = lo;
        if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|c| *c != ']') {
            i += 1;
            let h = *p.get(i).ok_or(())?;
            hi = if h == '\\' {
                i += 1;
                *p.get(i).ok_or(())?
            } else {
                h
            };
            i += 1;
        }
        if let Some(c) = c {
            if lo <= c && c <= hi {
                matched = true;
            }
        }
    }
    Ok((matched != negate, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_match() {
        assert_eq!(go_match("*.txt", "a.txt"), Ok(true));
        assert_eq!(go_match("*.txt", "d/a.txt"), Ok(false));
        assert_eq!(go_match("a?c", "abc"), Ok(true));
        assert_eq!(go_match("[a-c]x", "bx"), Ok(true));
        assert_eq!(go_match("[^a-c]x", "bx"), Ok(false));
        assert!(go_match("[", "a").is_err());
    }

    #[test]
    fn helmignore_rules() {
        let mut r = IgnoreRules::with_defaults();
        r.parse("# comment\n*.bak\n/secret.txt\ndocs/\nsub/*.md\n")
            .unwrap();
        assert!(r.ignore("x/y.bak", false));
        assert!(r.ignore("secret.txt", false));
        assert!(!r.ignore("x/secret.txt", false));
        assert!(r.ignore("docs", true));
        assert!(!r.ignore("docs", false));
        assert!(r.ignore("sub/a.md", false));
        assert!(r.ignore("templates/.hidden", false));
        assert!(!r.ignore("templates/x.yaml", false));
        assert!(IgnoreRules::default().parse("a/**/b").is_err());
    }

    #[test]
    fn gobwas_glob() {
        assert!(glob_match("crds/*.yaml", "crds/a.yaml"));
        assert!(!glob_match("crds/*.yaml", "crds/x/a.yaml"));
        assert!(glob_match("crds/**.yaml", "crds/x/a.yaml"));
        assert!(glob_match("files/{a,b}.txt", "files/b.txt"));
        assert!(glob_match("**", "any/thing"));
    }
}
