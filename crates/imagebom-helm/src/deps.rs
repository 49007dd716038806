//! Dependency processing (Helm's `ProcessDependencies`): aliases, `condition`s, `tags`,
//! removal of disabled subcharts, then `import-values`.

use std::collections::BTreeSet;

use imagebom_template::{Dict, Value};

use crate::chart::Chart;
use crate::compat::is_compatible_range;
use crate::error::{HelmError, Result};
use crate::values::{coalesce_values, merge_tables, merge_values, path_value, table};

/// Helm's `ProcessDependencies`: enables/disables subcharts from the user values `vals`
/// (conditions, tags), renames aliased subcharts, drops disabled ones and imports values from
/// children into parents. Mutates `chart` (work on a [`Chart::deep_clone`]).
pub fn process_dependencies(chart: &mut Chart, vals: &Dict) -> Result<()> {
    process_dependency_enabled(chart, vals, "")?;
    process_dependency_import_values(chart);
    Ok(())
}

/// Helm's `CheckDependencies` (run by `helm template` on the chart it renders): every
/// dependency declared in its metadata, enabled or not, must be a loaded subchart of that
/// name (the name, not the alias; versions are not compared).
pub fn check_dependencies(chart: &Chart) -> Result<()> {
    let missing: Vec<String> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|r| !chart.dependencies.iter().any(|d| d.name() == r.name))
        .map(|r| r.name.clone())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(HelmError::MissingDependencies {
        chart: chart.name().to_string(),
        missing,
    })
}

fn get_alias_dependency(charts: &[Chart], dep: &crate::chart::Dependency) -> Option<Chart> {
    for c in charts {
        if c.name() != dep.name {
            continue;
        }
        if !is_compatible_range(&dep.version, &c.metadata.version) {
            continue;
        }
        let mut out = c.clone();
        if !dep.alias.is_empty() {
            out.metadata.name = dep.alias.clone();
        }
        return Some(out);
    }
    None
}

fn process_dependency_enabled(c: &mut Chart, v: &Dict, path: &str) -> Result<()> {
    if !c.metadata.dependencies_declared {
        return Ok(());
    }
    let mut chart_deps: Vec<Chart> = Vec::new();
    for existing in &c.dependencies {
        let listed = c.metadata.dependencies.iter().any(|req| {
            existing.name() == req.name
                && is_compatible_range(&req.version, &existing.metadata.version)
        });
        if !listed {
            chart_deps.push(existing.clone());
        }
    }
    for req in c.metadata.dependencies.iter_mut() {
        if let Some(cd) = get_alias_dependency(&c.dependencies, req) {
            chart_deps.push(cd);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    c.dependencies = chart_deps;
    for lr in c.metadata.dependencies.iter_mut() {
        lr.enabled = true;
    }
    let cvals = coalesce_values(c, v)?;
    process_dependency_tags(&mut c.metadata.dependencies, &cvals);
    process_dependency_conditions(&mut c.metadata.dependencies, &cvals, path);
    let rm: BTreeSet<String> = c
        .metadata
        .dependencies
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    c.dependencies.retain(|n| !rm.contains(n.name()));
    c.metadata.dependencies.retain(|n| !rm.contains(&n.name));
    for t in c.dependencies.iter_mut() {
        let subpath = format!("{path}{}.", t.name());
        process_dependency_enabled(t, &cvals, &subpath)?;
    }
    Ok(())
}

fn process_dependency_tags(reqs: &mut [crate::chart::Dependency], cvals: &Dict) {
    let Some(vt) = table(cvals, "tags") else {
        return;
    };
    for r in reqs.iter_mut() {
        let (mut has_true, mut has_false) = (false, false);
        for k in &r.tags {
            if let Some(b) = vt.get(k) {
                match b {
                    Value::Bool(true) => has_true = true,
                    Value::Bool(false) => has_false = true,
                    _ => tracing::warn!(tag = %k, chart = %r.name, "returned non-bool value"),
                }
            }
        }
        if !has_true && has_false {
            r.enabled = false;
        } else if has_true || !has_false {
            r.enabled = true;
        }
    }
}

fn process_dependency_conditions(reqs: &mut [crate::chart::Dependency], cvals: &Dict, cpath: &str) {
    for r in reqs.iter_mut() {
        let cond = r.condition.trim().to_string();
        for c in cond.split(',') {
            if c.is_empty() {
                continue;
            }
            if let Some(vv) = path_value(cvals, &format!("{cpath}{c}")) {
                if let Value::Bool(b) = vv {
                    r.enabled = b;
                    break;
                }
                tracing::warn!(path = %c, chart = %r.name, "returned non-bool value");
            }
        }
    }
}

fn path_to_map(path: &str, data: Dict) -> Dict {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for part in path.split('.').rev() {
        let d = Dict::new();
        d.insert(part, Value::Map(cur));
        cur = d;
    }
    cur
}

fn go_sprint(v: Option<Value>) -> String {
    match v {
        None | Some(Value::Nil) => "<nil>".into(),
        Some(Value::String(s)) => s.to_string(),
        Some(other) => other.to_string(),
    }
}

fn process_import_values(c: &mut Chart) {
    if !c.metadata.dependencies_declared {
        return;
    }
    let Ok(cvals) = merge_values(c, &Dict::new()) else {
        return;
    };
    let mut b = Dict::new();
    for r in c.metadata.dependencies.iter_mut() {
        let mut outiv = Vec::new();
        for riv in &r.import_values {
            match riv {
                Value::Map(iv) => {
                    let child = go_sprint(iv.get("child"));
                    let parent = go_sprint(iv.get("parent"));
                    let m = Dict::new();
                    m.insert("child", Value::String(child.clone().into()));
                    m.insert("parent", Value::String(parent.clone().into()));
                    outiv.push(Value::Map(m));
                    let Some(vv) = table(&cvals, &format!("{}.{child}", r.name)) else {
                        tracing::warn!(chart = %r.name, "ImportValues missing table from chart");
                        continue;
                    };
                    b = merge_tables(&b, &path_to_map(&parent, vv.deep_copy()));
                }
                Value::String(iv) => {
                    let child = format!("exports.{iv}");
                    let m = Dict::new();
                    m.insert("child", Value::String(child.clone().into()));
                    m.insert("parent", Value::String(".".into()));
                    outiv.push(Value::Map(m));
                    let Some(vm) = table(&cvals, &format!("{}.{child}", r.name)) else {
                        tracing::warn!(chart = %r.name, "ImportValues missing table");
                        continue;
                    };
                    b = merge_tables(&b, &vm.deep_copy());
                }
                _ => {}
            }
        }
        r.import_values = outiv;
    }
    let cvals = cvals.deep_copy();
    c.values = merge_tables(&cvals, &b);
}

fn process_dependency_import_values(c: &mut Chart) {
    for d in c.dependencies.iter_mut() {
        process_dependency_import_values(d);
    }
    process_import_values(c);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::ChartFiles;
    use imagebom_template::convert::{from_yaml_str, to_json};

    fn y(text: &str) -> Dict {
        match from_yaml_str(text).unwrap() {
            Value::Map(m) => m,
            _ => Dict::new(),
        }
    }

    /// A parent with `deps` (Chart.yaml text) and subcharts `(name, values)`.
    fn parent(deps: &str, values: &str, subs: &[(&str, &str)]) -> Chart {
        let mut f = ChartFiles::new();
        f.insert(
            "Chart.yaml".into(),
            format!("apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies:\n{deps}")
                .into_bytes(),
        );
        f.insert("values.yaml".into(), values.as_bytes().to_vec());
        for (n, v) in subs {
            f.insert(
                format!("charts/{n}/Chart.yaml"),
                format!("apiVersion: v2\nname: {n}\nversion: 1.2.3\n").into_bytes(),
            );
            f.insert(format!("charts/{n}/values.yaml"), v.as_bytes().to_vec());
        }
        Chart::from_files(f).unwrap()
    }

    fn names(c: &Chart) -> Vec<String> {
        let mut v: Vec<String> = c
            .dependencies
            .iter()
            .map(|d| d.name().to_string())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn conditions_first_bool_path_wins() {
        let mut c = parent(
            "- {name: a, version: 1.x, condition: 'nope.enabled,a.enabled'}\n- {name: b, version: 1.x, condition: b.enabled}\n",
            "a: {enabled: false}\nb: {enabled: true}\n",
            &[("a", ""), ("b", "")],
        );
        process_dependencies(&mut c, &Dict::new()).unwrap();
        assert_eq!(names(&c), vec!["b"]);
        let mut c = parent(
            "- {name: a, version: 1.x, condition: 'a.enabled'}\n",
            "a: {enabled: false}\n",
            &[("a", "")],
        );
        process_dependencies(&mut c, &y("a: {enabled: true}")).unwrap();
        assert_eq!(names(&c), vec!["a"]);
    }

    #[test]
    fn tags_and_non_bool_condition() {
        let mut c = parent(
            "- {name: a, version: 1.x, tags: [front]}\n- {name: b, version: 1.x, tags: [back], condition: b.on}\n",
            "tags: {front: false, back: false}\nb: {on: yes-please}\n",
            &[("a", ""), ("b", "")],
        );
        process_dependencies(&mut c, &Dict::new()).unwrap();
        assert!(names(&c).is_empty());
    }

    #[test]
    fn alias_renames_and_version_must_match() {
        let mut c = parent(
            "- {name: a, version: 1.x, alias: first}\n- {name: a, version: 1.x, alias: second}\n- {name: a, version: '>=2', alias: third}\n",
            "",
            &[("a", "v: 1\n")],
        );
        process_dependencies(&mut c, &Dict::new()).unwrap();
        assert_eq!(names(&c), vec!["first", "second"]);
        let vals = coalesce_values(&c, &Dict::new()).unwrap();
        assert_eq!(
            to_json(&Value::Map(vals)).to_string(),
            r#"{"first":{"global":{},"v":1},"second":{"global":{},"v":1}}"#
        );
    }

    #[test]
    fn import_values_both_forms() {
        let mut c = parent(
            "- name: a\n  version: 1.x\n  import-values:\n  - data\n  - {child: deep.x, parent: imported.here}\n",
            "own: 1\nimported: {here: {keep: parent}}\n",
            &[("a", "exports: {data: {fromExports: yes}}\ndeep: {x: {keep: child, more: 2}}\n")],
        );
        process_dependencies(&mut c, &Dict::new()).unwrap();
        let vals = coalesce_values(&c, &Dict::new()).unwrap();
        assert_eq!(vals.get("fromExports"), Some(Value::Bool(true)));
        let here = table(&vals, "imported.here").unwrap();
        assert_eq!(here.get("keep"), Some(Value::String("parent".into())));
        assert_eq!(here.get("more"), Some(Value::Float(2.0)));
        assert_eq!(c.metadata.dependencies[0].import_values.len(), 2);
    }
}
