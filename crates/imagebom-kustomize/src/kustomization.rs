//! Reading a kustomization and accumulating its resources, generators and transformers in
//! Kustomize v5's order.

use crate::config::Config;
use crate::{fields, generate, patch, sort, KustomizeError, Object};
use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};

const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Fields this increment refuses rather than ignores (ignoring them would give wrong output).
const UNSUPPORTED: [&str; 2] = ["buildMetadata", "helmChartInflationGenerator"];

/// `kustomize build DIR`: the objects in Kustomize's output order.
pub fn build(dir: &Path) -> Result<Vec<Object>, KustomizeError> {
    crate::schema::set_custom(None);
    let built = build_inner(dir);
    crate::schema::set_custom(None);
    built
}

fn build_inner(dir: &Path) -> Result<Vec<Object>, KustomizeError> {
    let k = Kustomization::load(dir)?;
    if k.is_component() {
        return Err(KustomizeError::invalid(
            &k.file,
            "a Component cannot be built directly; list it under `components` of a Kustomization",
        ));
    }
    let mut cfg = Config::default();
    let mut objects = k.accumulate(Vec::new(), &mut cfg)?;
    generate::add_hashes(&mut objects);
    fields::fix_name_references(&mut objects, &cfg);
    crate::vars::resolve(&mut objects, &cfg.vars, &cfg.var_refs)?;
    objects.retain(|o| !is_local_config(&o.doc));
    // Kustomize prints its output through JSON: an integral float comes out an integer.
    for o in &mut objects {
        if let Some(message) = crate::scalars::json_unsupported(&o.doc) {
            return Err(KustomizeError::invalid(&o.source, message));
        }
        crate::scalars::json_numbers(&mut o.doc);
    }
    sort::order(&mut objects, k.value.get("sortOptions"), &k.file)?;
    Ok(objects)
}

fn is_local_config(doc: &Value) -> bool {
    crate::get_str(
        doc,
        &[
            "metadata",
            "annotations",
            "config.kubernetes.io/local-config",
        ],
    ) == Some("true")
}

/// A loaded kustomization file.
pub(crate) struct Kustomization {
    /// Its directory (canonical).
    pub dir: PathBuf,
    /// The file.
    pub file: PathBuf,
    /// Its parsed content.
    pub value: Value,
}

impl Kustomization {
    fn load(dir: &Path) -> Result<Self, KustomizeError> {
        let dir = dir.canonicalize().map_err(|source| KustomizeError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let Some(file) = FILE_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file()) else {
            return Err(KustomizeError::invalid(
                &dir,
                format!(
                    "unable to find one of 'kustomization.yaml', 'kustomization.yml' or \
                     'Kustomization' in directory '{}'",
                    dir.display()
                ),
            ));
        };
        let text = read(&file)?;
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        if text.trim().is_empty() {
            return Err(KustomizeError::invalid(&file, format!("{name} is empty")));
        }
        let value: Value = serde_yaml_ng::from_str(&text).map_err(|e| KustomizeError::Yaml {
            path: file.clone(),
            message: e.to_string(),
        })?;
        if !value.is_mapping() {
            return Err(KustomizeError::invalid(
                &file,
                format!("{name} is not a map"),
            ));
        }
        for f in UNSUPPORTED {
            if value.get(f).is_some_and(|v| !v.is_null()) {
                return Err(KustomizeError::Unsupported {
                    path: file,
                    feature: format!("`{f}`"),
                });
            }
        }
        let k = Kustomization { dir, file, value };
        k.load_openapi()?;
        Ok(k)
    }

    /// `openapi: {path: FILE}`: a schema (JSON or YAML) whose merge keys strategic merge
    /// patches use for the types it defines, for the rest of the build.
    fn load_openapi(&self) -> Result<(), KustomizeError> {
        let Some(openapi) = self.value.get("openapi").filter(|v| !v.is_null()) else {
            return Ok(());
        };
        let Some(path) = crate::get_str(openapi, &["path"]) else {
            return Err(KustomizeError::Unsupported {
                path: self.file.clone(),
                feature: "`openapi` without `path` (a built-in schema version)".into(),
            });
        };
        let (file, text) = self.read_restricted(path)?;
        let schema: Value = serde_yaml_ng::from_str(&text).map_err(|e| KustomizeError::Yaml {
            path: file.clone(),
            message: e.to_string(),
        })?;
        if schema.get("definitions").is_none() {
            return Err(KustomizeError::invalid(
                &file,
                "an OpenAPI schema needs `definitions`",
            ));
        }
        crate::schema::set_custom(Some(schema));
        Ok(())
    }

    fn is_component(&self) -> bool {
        crate::get_str(&self.value, &["kind"]) == Some("Component")
    }

    /// The strings of a list field.
    pub fn strings(&self, field: &str) -> Vec<String> {
        self.list(field)
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    }

    /// The items of a list field (empty when absent).
    pub fn list(&self, field: &str) -> Vec<Value> {
        match self.value.get(field) {
            Some(Value::Sequence(s)) => s.clone(),
            _ => Vec::new(),
        }
    }

    /// A string field.
    pub fn string(&self, field: &str) -> Option<String> {
        self.value.get(field)?.as_str().map(str::to_string)
    }

    /// Resources, generators, components, then transformers, on top of `objects` (empty for a
    /// Kustomization, the parent's objects for a Component).
    /// `cfg` gathers the transformer configurations of this kustomization and all it includes.
    fn accumulate(
        &self,
        mut objects: Vec<Object>,
        cfg: &mut Config,
    ) -> Result<Vec<Object>, KustomizeError> {
        cfg.merge(Config::load(self)?, &self.file)?;
        crate::plugins::crds(self)?;
        let mut entries = self.strings("bases");
        entries.extend(self.strings("resources"));
        for entry in entries {
            let found = self.resource(&entry, cfg)?;
            append(&mut objects, found, &self.file)?;
        }
        generate::run(self, &mut objects)?;
        let inflated = crate::helm::run(self)?;
        append(&mut objects, inflated, &self.file)?;
        crate::generators::run(self, &mut objects)?;
        for entry in self.strings("components") {
            let path = self.dir.join(&entry);
            let comp = Kustomization::load(&path)?;
            if !comp.is_component() {
                return Err(KustomizeError::invalid(
                    &comp.file,
                    format!(
                        "accumulating components: expected kind 'Component' for path '{}' but got '{}'",
                        path.display(),
                        comp.string("kind").unwrap_or_else(|| "Kustomization".into())
                    ),
                ));
            }
            objects = comp.accumulate(objects, cfg)?;
        }
        self.transform(&mut objects, cfg)?;
        crate::plugins::validators(self)?;
        // A `$patch: delete` leaves a null document behind.
        objects.retain(|o| !o.doc.is_null());
        let declared = crate::vars::declare(self, &mut objects)?;
        crate::vars::merge(&mut cfg.vars, declared, &self.file)?;
        Ok(objects)
    }

    fn transform(&self, objects: &mut [Object], cfg: &Config) -> Result<(), KustomizeError> {
        patch::strategic_merge_legacy(self, objects)?;
        patch::patches(self, objects)?;
        if let Some(ns) = self.string("namespace").filter(|s| !s.is_empty()) {
            fields::set_namespace(objects, &ns, &cfg.namespace);
        }
        let prefix = self.string("namePrefix").unwrap_or_default();
        let suffix = self.string("nameSuffix").unwrap_or_default();
        fields::prefix_suffix(objects, &prefix, &suffix);
        fields::labels(self, objects, cfg)?;
        fields::annotations(self, objects, cfg);
        patch::json6902_legacy(self, objects)?;
        fields::replicas(self, objects)?;
        fields::images(self, objects)?;
        crate::replace::run(self, objects)?;
        patch::transformers(self, objects)?;
        Ok(())
    }

    /// One `resources` entry: a file of documents or a kustomization directory.
    pub(crate) fn resource(
        &self,
        entry: &str,
        cfg: &mut Config,
    ) -> Result<Vec<Object>, KustomizeError> {
        let path = if crate::remote::is_remote(entry) {
            match crate::remote::resolve(entry).filter(|p| p.exists()) {
                Some(p) => p,
                None => return Err(crate::remote::missing("remote resource", entry, &self.file)),
            }
        } else {
            self.dir.join(entry)
        };
        if crate::remote::is_remote(entry) && path.is_file() {
            let text = read(&path)?;
            return parse_documents(&text, &path)?
                .into_iter()
                .map(|doc| Ok(self.object(doc, &path)))
                .collect();
        }
        if path.is_dir() {
            let sub = Kustomization::load(&path)?;
            if sub.is_component() {
                return Err(KustomizeError::invalid(
                    &sub.file,
                    format!(
                        "accumulating resources: expected kind != 'Component' for path '{}'",
                        path.display()
                    ),
                ));
            }
            let mut sub_cfg = Config::default();
            let found = sub.accumulate(Vec::new(), &mut sub_cfg)?;
            cfg.merge(sub_cfg, &self.file)?;
            return Ok(found);
        }
        let file = self.restricted(&path)?;
        let text = read(&file)?;
        parse_documents(&text, &file)?
            .into_iter()
            .map(|doc| Ok(self.object(doc, &file)))
            .collect()
    }

    /// `path` if it is in or below this kustomization's directory (Kustomize's default load
    /// restrictor), canonical.
    pub fn restricted(&self, path: &Path) -> Result<PathBuf, KustomizeError> {
        let real = path.canonicalize().map_err(|e| {
            KustomizeError::invalid(
                &self.file,
                format!(
                    "accumulating resources: accumulation err='accumulating resources from '{}': \
                     evalsymlink failure on '{}' : {e}'",
                    path.strip_prefix(&self.dir).unwrap_or(path).display(),
                    path.display()
                ),
            )
        })?;
        if !real.starts_with(&self.dir) {
            return Err(KustomizeError::invalid(
                &self.file,
                format!(
                    "security; file '{}' is not in or below '{}'",
                    real.display(),
                    self.dir.display()
                ),
            ));
        }
        Ok(real)
    }

    /// A file read through the load restrictor.
    pub fn read_restricted(&self, rel: &str) -> Result<(PathBuf, String), KustomizeError> {
        let file = self.restricted(&self.dir.join(rel))?;
        let text = read(&file)?;
        Ok((file, text))
    }

    pub fn object(&self, mut doc: Value, source: &Path) -> Object {
        // Kustomize drops empty or null `labels` and `annotations` from what it reads.
        if let Some(Value::Mapping(meta)) = doc.get_mut("metadata") {
            for f in ["labels", "annotations"] {
                let empty = match meta.get(f) {
                    Some(Value::Null) => true,
                    Some(Value::Mapping(m)) => m.is_empty(),
                    _ => false,
                };
                if empty {
                    meta.remove(f);
                }
            }
        }
        let id = crate::id(&doc);
        Object {
            doc,
            kustomization: self.file.clone(),
            source: source.to_path_buf(),
            original: (id.kind, id.name, id.namespace),
            hash: false,
            generated: false,
            vars: Vec::new(),
        }
    }
}

/// Appends `found` to `objects`, refusing a second object with the same id as Kustomize does.
pub(crate) fn append(
    objects: &mut Vec<Object>,
    found: Vec<Object>,
    file: &Path,
) -> Result<(), KustomizeError> {
    for o in found {
        let a = crate::id(&o.doc);
        if objects.iter().any(|p| {
            let b = crate::id(&p.doc);
            a.kind == b.kind && a.group == b.group && a.name == b.name && a.namespace == b.namespace
        }) {
            return Err(KustomizeError::invalid(
                file,
                format!(
                    "accumulating resources: may not add resource with an already registered id: {}",
                    describe(&a)
                ),
            ));
        }
        objects.push(o);
    }
    Ok(())
}

/// Kustomize's `Kind.version.group/name.namespace` rendering of an id.
pub(crate) fn describe(id: &crate::Id) -> String {
    let mut s = id.kind.clone();
    if !id.version.is_empty() {
        s.push('.');
        s.push_str(&id.version);
    }
    if !id.group.is_empty() {
        s.push('.');
        s.push_str(&id.group);
    }
    let ns = if id.namespace.is_empty() {
        "[noNs]"
    } else {
        &id.namespace
    };
    format!("{s}/{}.{ns}", id.name)
}

pub(crate) fn read(path: &Path) -> Result<String, KustomizeError> {
    std::fs::read_to_string(path).map_err(|source| KustomizeError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The non-empty documents of a YAML stream; a `List` is expanded into its items.
pub(crate) fn parse_documents(text: &str, file: &Path) -> Result<Vec<Value>, KustomizeError> {
    let separated = separators(text, file)?;
    let text: &str = &separated;
    let mut out = Vec::new();
    // Plain scalars such as `0755`, `[0644]`, `1_000` or `2002-12-14` are numbers and times
    // to Kustomize (kyaml's go-yaml v3: YAML 1.1, Go's base prefixes, underscores) but strings
    // to our parser, which also keeps merge keys (`<<`) and `!!binary` text as written: a
    // second, event parse, only when the text may hold one, tells plain scalars from quoted
    // ones and sees tags and aliases ([`read_as_kyaml`]).
    let events = KYAML_HINTS
        .get_or_init(|| {
            regex::Regex::new(
                r"(?m)(?:^|[\s\[{,:])(?:[-+]?(?:0[0-9_]|[0-9.][0-9.]*_)|[0-9]{4}-[0-9])",
            )
            .unwrap()
        })
        .is_match(text)
        .then_some(())
        .or_else(|| (text.contains("<<") || text.contains("!!binary")).then_some(()))
        .and_then(|_| plain_scalars(text));
    let docs: Result<Vec<Value>, _> = serde_yaml_ng::Deserializer::from_str(text)
        .map(Value::deserialize)
        .collect();
    let docs = match docs {
        Ok(docs) => docs,
        // Deeper than `serde_yaml_ng`'s recursion limit (128), or an integer beyond 64 bits
        // (which its `Value` cannot hold): Kustomize reads both (the integer as a float).
        Err(e)
            if e.to_string().starts_with("recursion limit exceeded")
                || [" as u128, ", " as i128, "]
                    .iter()
                    .any(|w| e.to_string().contains(w)) =>
        {
            deep_documents(text).ok_or_else(|| KustomizeError::Yaml {
                path: file.to_path_buf(),
                message: e.to_string(),
            })?
        }
        Err(e) => {
            return Err(KustomizeError::Yaml {
                path: file.to_path_buf(),
                message: e.to_string(),
            })
        }
    };
    for (n, mut doc) in docs.into_iter().enumerate() {
        if let Some(y) = events.as_ref().and_then(|docs| docs.get(n)) {
            read_as_kyaml(&mut doc, y).map_err(|m| KustomizeError::invalid(file, m))?;
        }
        match doc {
            Value::Null => {}
            Value::Mapping(_) => {
                let is_list = crate::get_str(&doc, &["kind"]).is_some_and(|k| {
                    k == "List" || k.ends_with("List") && doc.get("items").is_some()
                });
                if is_list {
                    if let Some(Value::Sequence(items)) = doc.get("items") {
                        out.extend(items.iter().cloned());
                        continue;
                    }
                }
                if doc.get("kind").is_none() {
                    return Err(KustomizeError::invalid(
                        file,
                        "missing Resource metadata: kind is required",
                    ));
                }
                out.push(doc);
            }
            _ => {
                return Err(KustomizeError::invalid(
                    file,
                    "a resource document must be a map",
                ))
            }
        }
    }
    Ok(out)
}

use serde::Deserialize as _;

static KYAML_HINTS: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();

/// `text` with its document separators as Kustomize (kyaml's `splitDocuments`) takes them:
/// every line after the first that starts with `---` separates documents, and may hold
/// nothing else but spaces and a comment (`---# comment` is a separator, written `--- #
/// comment` for our parser); anything else is Kustomize's error.
fn separators<'a>(text: &'a str, file: &Path) -> Result<std::borrow::Cow<'a, str>, KustomizeError> {
    use std::borrow::Cow;
    let odd = |line: &str| {
        line.strip_prefix("---")
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with([' ', '\t', '\r']))
            || line.strip_prefix("---").is_some_and(|rest| {
                let rest = rest.trim();
                !rest.is_empty() && !rest.starts_with('#')
            })
    };
    if !text.split('\n').skip(1).any(odd) {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len() + 8);
    for (n, line) in text.split_inclusive('\n').enumerate() {
        if n > 0 && odd(line.trim_end_matches('\n')) {
            let rest = line["---".len()..].trim();
            if !rest.starts_with('#') {
                let shown = line.trim();
                return Err(KustomizeError::invalid(
                    file,
                    format!("invalid document separator: {shown}"),
                ));
            }
            out.push_str("--- ");
            out.push_str(rest);
            out.push('\n');
            continue;
        }
        out.push_str(line);
    }
    Ok(Cow::Owned(out))
}

/// The documents of `text` read without recursion (the event parser and a stack), each
/// scalar typed as `serde_yaml_ng` types it alone: for documents nested deeper than its
/// recursion limit. `None` when the text does not parse.
fn deep_documents(text: &str) -> Option<Vec<Value>> {
    use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
    use yaml_rust2::scanner::{Marker, TScalarStyle};
    enum Frame {
        Seq(Vec<Value>, usize),
        Map(serde_yaml_ng::Mapping, Option<Value>, usize),
    }
    #[derive(Default)]
    struct Loader {
        docs: Vec<Value>,
        stack: Vec<Frame>,
        anchors: std::collections::HashMap<usize, Value>,
    }
    impl Loader {
        fn add(&mut self, v: Value, anchor: usize) {
            if anchor > 0 {
                self.anchors.insert(anchor, v.clone());
            }
            match self.stack.last_mut() {
                Some(Frame::Seq(items, _)) => items.push(v),
                Some(Frame::Map(m, key, _)) => match key.take() {
                    Some(k) => {
                        m.insert(k, v);
                    }
                    None => *key = Some(v),
                },
                None => self.docs.push(v),
            }
        }
    }
    fn scalar(text: String, style: TScalarStyle, tag: Option<&yaml_rust2::parser::Tag>) -> Value {
        let str_tag = tag.is_some_and(|t| t.suffix == "str");
        if style != TScalarStyle::Plain || str_tag {
            return Value::String(text);
        }
        match serde_yaml_ng::from_str::<Value>(&text) {
            Ok(v @ (Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_))) => v,
            // An integer beyond 64 bits: a float, as go-yaml v3 reads it.
            _ if text
                .trim_start_matches(['-', '+'])
                .bytes()
                .all(|b| b.is_ascii_digit()) =>
            {
                text.parse::<f64>().map_or(Value::String(text), Value::from)
            }
            _ => Value::String(text),
        }
    }
    impl MarkedEventReceiver for Loader {
        fn on_event(&mut self, ev: Event, _mark: Marker) {
            match ev {
                Event::Scalar(v, style, anchor, tag) => {
                    let value = scalar(v, style, tag.as_ref());
                    self.add(value, anchor);
                }
                Event::Alias(id) => {
                    let v = self.anchors.get(&id).cloned().unwrap_or(Value::Null);
                    self.add(v, 0);
                }
                Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(Vec::new(), anchor)),
                Event::MappingStart(anchor, _) => {
                    self.stack
                        .push(Frame::Map(serde_yaml_ng::Mapping::new(), None, anchor))
                }
                Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                    Some(Frame::Seq(items, anchor)) => self.add(Value::Sequence(items), anchor),
                    Some(Frame::Map(m, _, anchor)) => self.add(Value::Mapping(m), anchor),
                    None => {}
                },
                _ => {}
            }
        }
    }
    let mut loader = Loader::default();
    Parser::new_from_str(text).load(&mut loader, true).ok()?;
    Some(loader.docs)
}

/// A document as the event parser sees it: enough to tell plain scalars from the others
/// (an alias is a copy of what it names, as in `serde_yaml_ng`'s value).
#[derive(Clone)]
enum Node {
    /// A scalar: its text, whether it is plain and untagged, and whether it is in a flow
    /// collection.
    Scalar(String, bool, bool),
    /// A `!!binary` scalar.
    Binary,
    Other,
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// The documents of `text` as [`Node`]s; `None` when it does not parse.
fn plain_scalars(text: &str) -> Option<Vec<Node>> {
    use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
    use yaml_rust2::scanner::{Marker, TScalarStyle};
    enum Frame {
        Seq(Vec<Node>, bool, usize),
        Map(Vec<(Node, Node)>, Option<Node>, bool, usize),
    }
    struct Tree {
        chars: Vec<char>,
        docs: Vec<Node>,
        stack: Vec<Frame>,
        anchors: std::collections::HashMap<usize, Node>,
    }
    impl Tree {
        fn add(&mut self, node: Node, anchor: usize) {
            if anchor > 0 {
                self.anchors.insert(anchor, node.clone());
            }
            match self.stack.last_mut() {
                Some(Frame::Seq(items, ..)) => items.push(node),
                Some(Frame::Map(pairs, key, ..)) => match key.take() {
                    Some(k) => pairs.push((k, node)),
                    None => *key = Some(node),
                },
                None => self.docs.push(node),
            }
        }
    }
    impl MarkedEventReceiver for Tree {
        fn on_event(&mut self, ev: Event, mark: Marker) {
            // A flow collection starts at its bracket (the marker counts characters).
            let at = |c: char| self.chars.get(mark.index()) == Some(&c);
            match ev {
                Event::Scalar(_, _, anchor, Some(tag))
                    if tag.suffix == "binary"
                        && matches!(tag.handle.as_str(), "!!" | "tag:yaml.org,2002:") =>
                {
                    self.add(Node::Binary, anchor);
                }
                Event::Scalar(v, style, anchor, tag) => {
                    let plain = style == TScalarStyle::Plain && tag.is_none();
                    let flow = matches!(
                        self.stack.last(),
                        Some(Frame::Seq(_, true, _) | Frame::Map(_, _, true, _))
                    );
                    self.add(Node::Scalar(v, plain, flow), anchor);
                }
                Event::Alias(id) => {
                    let node = self.anchors.get(&id).cloned().unwrap_or(Node::Other);
                    self.add(node, 0);
                }
                Event::SequenceStart(anchor, _) => {
                    let flow = at('[');
                    self.stack.push(Frame::Seq(Vec::new(), flow, anchor));
                }
                Event::MappingStart(anchor, _) => {
                    let flow = at('{');
                    self.stack.push(Frame::Map(Vec::new(), None, flow, anchor));
                }
                Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                    Some(Frame::Seq(items, _, anchor)) => self.add(Node::Seq(items), anchor),
                    Some(Frame::Map(pairs, _, _, anchor)) => self.add(Node::Map(pairs), anchor),
                    None => {}
                },
                _ => {}
            }
        }
    }
    let mut tree = Tree {
        chars: text.chars().collect(),
        docs: Vec::new(),
        stack: Vec::new(),
        anchors: std::collections::HashMap::new(),
    };
    Parser::new_from_str(text).load(&mut tree, true).ok()?;
    Some(tree.docs)
}

/// Turns the strings that were plain scalars Kustomize reads as numbers (kyaml's go-yaml
/// v3: YAML 1.1 octal `0755`, Go's base prefixes, `_` between digits) into those numbers,
/// walking the event parse `node` alongside, and applies YAML merge keys as Kustomize does
/// (`<<: *base` or `<<: [*a, *b]`: keys the mapping lacks come from them, the first map
/// first; a quoted `"<<"` key is dropped).
fn read_as_kyaml(v: &mut Value, node: &Node) -> Result<(), String> {
    match (v, node) {
        (Value::Mapping(m), Node::Map(pairs)) => {
            if let Some(mut merge) = m.remove("<<") {
                let found = pairs
                    .iter()
                    .find(|(k, _)| matches!(k, Node::Scalar(t, true, _) if t == "<<"));
                if let Some((_, merge_node)) = found {
                    // What is merged in is read as Kustomize reads it first.
                    read_as_kyaml(&mut merge, merge_node)?;
                    let sources = match merge {
                        Value::Mapping(src) => vec![src],
                        Value::Sequence(items) => items
                            .into_iter()
                            .map(|i| match i {
                                Value::Mapping(src) => Some(src),
                                _ => None,
                            })
                            .collect::<Option<Vec<_>>>()
                            .ok_or(MERGE)?,
                        _ => return Err(MERGE.into()),
                    };
                    for src in sources {
                        for (k, v) in src {
                            if !m.contains_key(&k) {
                                m.insert(k, v);
                            }
                        }
                    }
                }
            }
            for (k, child) in m.iter_mut() {
                let Some(k) = k.as_str() else { continue };
                let found = pairs
                    .iter()
                    .find(|(nk, _)| matches!(nk, Node::Scalar(t, ..) if t == k));
                // A plain key Kustomize reads as a number or a time is no string: JSON, and
                // so Kustomize's printing, fails on it.
                if let Some((Node::Scalar(t, true, flow), _)) = found {
                    if go_yaml_number(t).is_some() || go_yaml_timestamp(t, *flow).is_some() {
                        return Err(crate::scalars::NOT_STRING_KEY.into());
                    }
                }
                if let Some((_, n)) = found {
                    read_as_kyaml(child, n)?;
                }
            }
        }
        (Value::Sequence(s), Node::Seq(items)) => {
            for (child, n) in s.iter_mut().zip(items) {
                read_as_kyaml(child, n)?;
            }
        }
        // Kustomize prints a `!!binary` scalar decoded.
        (v @ Value::String(_), Node::Binary) => {
            use base64::Engine as _;
            let text: String = v.as_str().unwrap_or_default().split_whitespace().collect();
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text) {
                *v = Value::String(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        (v @ Value::String(_), Node::Scalar(_, true, flow)) => {
            let text = v.as_str().unwrap_or_default();
            if let Some(n) = go_yaml_number(text) {
                *v = n;
            } else if let Some(t) = go_yaml_timestamp(text, *flow) {
                *v = Value::String(t);
            }
        }
        _ => {}
    }
    Ok(())
}

/// go-yaml v3's error for a merge key whose value is no map (Kustomize's too).
const MERGE: &str = "map merge requires map or sequence of maps as the value";

/// The number go-yaml v3 resolves a plain scalar to when YAML 1.2 reads it as a string:
/// underscores dropped, then Go's `ParseInt(s, 0, 64)` (`0755` octal, `0x`, `0o`, `0b`),
/// `ParseUint`, or a YAML-style float.
fn go_yaml_number(s: &str) -> Option<Value> {
    if !s.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) {
        return None;
    }
    // After a `.` go-yaml tries the float as written (`.5_` is a string).
    if s.starts_with('.') {
        return s.parse::<f64>().ok().map(Value::from);
    }
    let plain = s.replace('_', "");
    let (neg, body) = match plain.as_bytes().first() {
        Some(b'-') => (true, &plain[1..]),
        Some(b'+') => (false, &plain[1..]),
        _ => (false, &plain[..]),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, &lower[..])
    };
    let valid = !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
    if valid {
        if let Ok(u) = u64::from_str_radix(digits, radix) {
            if neg {
                if u <= i64::MAX as u64 + 1 {
                    return Some(Value::from((u as i64).wrapping_neg()));
                }
            } else {
                return Some(Value::from(u));
            }
        }
    }
    static FLOAT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let float = FLOAT.get_or_init(|| {
        regex::Regex::new(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$").unwrap()
    });
    if float.is_match(&plain) {
        return plain.parse::<f64>().ok().map(Value::from);
    }
    None
}

/// A plain timestamp as Kustomize prints it: kyaml's go-yaml v3 reads `2002-12-14`,
/// `2001-12-14t21:59:43.10-05:00` or `2001-12-14 21:59:43.10` (Go layouts
/// `2006-1-2T15:4:5.999999999Z07:00`, the same with `t`, `2006-1-2 15:4:5.999999999` in UTC,
/// `2006-1-2`) as a time, which JSON writes in RFC 3339 (`2002-12-14T00:00:00Z`, fraction
/// without trailing zeros). In a flow collection only the date alone is read so (as
/// `kubectl kustomize` does it).
pub(crate) fn go_yaml_timestamp(s: &str, flow: bool) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    // 1 or 2 digits (Go's `getnum` without a fixed width).
    fn num(s: &str) -> Option<(u32, &str)> {
        let n = s.bytes().take(2).take_while(u8::is_ascii_digit).count();
        (n > 0).then(|| (s[..n].parse().unwrap_or(0), &s[n..]))
    }
    let year: u32 = s[..4].parse().ok()?;
    let (month, rest) = num(&s[5..])?;
    let rest = rest.strip_prefix('-')?;
    let (day, rest) = num(rest)?;
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > days {
        return None;
    }
    let date = format!("{year:04}-{month:02}-{day:02}");
    if rest.is_empty() {
        return Some(format!("{date}T00:00:00Z"));
    }
    if flow {
        return None;
    }
    let (zoned, rest) = match rest.as_bytes()[0] {
        b'T' | b't' => (true, &rest[1..]),
        b' ' => (false, rest.trim_start_matches(' ')),
        _ => return None,
    };
    let (h, rest) = num(rest)?;
    let (m, rest) = num(rest.strip_prefix(':')?)?;
    let (sec, mut rest) = num(rest.strip_prefix(':')?)?;
    if h >= 24 || m >= 60 || sec >= 60 {
        return None;
    }
    let mut frac = String::new();
    if let Some(f) = rest.strip_prefix(['.', ',']) {
        let n = f.bytes().take_while(u8::is_ascii_digit).count();
        if n > 0 {
            frac = f[..n.min(9)].trim_end_matches('0').to_string();
            rest = &f[n..];
        }
    }
    let zone = if !zoned {
        "Z".to_string()
    } else if rest == "Z" {
        rest = "";
        "Z".to_string()
    } else {
        let z = rest.as_bytes();
        if z.len() != 6 || !matches!(z[0], b'+' | b'-') || z[3] != b':' {
            return None;
        }
        let (hh, mm): (u32, u32) = (rest[1..3].parse().ok()?, rest[4..6].parse().ok()?);
        if !rest[1..3]
            .bytes()
            .chain(rest[4..6].bytes())
            .all(|c| c.is_ascii_digit())
            || hh > 24
            || mm > 60
        {
            return None;
        }
        let zone = if hh == 0 && mm == 0 {
            "Z".to_string()
        } else {
            rest.to_string()
        };
        rest = "";
        zone
    };
    if !rest.is_empty() {
        return None;
    }
    let dot = if frac.is_empty() { "" } else { "." };
    Some(format!("{date}T{h:02}:{m:02}:{sec:02}{dot}{frac}{zone}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_timestamps_read_as_kustomize_prints_them() {
        // kubectl kustomize's output (tests/cases/yaml11-timestamps).
        for (text, want) in [
            ("2002-12-14", Some("2002-12-14T00:00:00Z")),
            ("2002-1-4", Some("2002-01-04T00:00:00Z")),
            ("2001-12-14 21:59:43.10", Some("2001-12-14T21:59:43.1Z")),
            (
                "2001-12-14t21:59:43.10-05:00",
                Some("2001-12-14T21:59:43.1-05:00"),
            ),
            (
                "2001-12-14T21:59:43.1234567891Z",
                Some("2001-12-14T21:59:43.123456789Z"),
            ),
            ("2001-12-14T1:2:3Z", Some("2001-12-14T01:02:03Z")),
            ("2001-12-14T21:59:43-00:00", Some("2001-12-14T21:59:43Z")),
            ("2001-12-14  21:59:43", Some("2001-12-14T21:59:43Z")),
            ("2001-12-14 21:59:43.10 -5", None),
            ("2001-12-14T21:59:43", None),
            ("2001-12-14 21:59:43Z", None),
            ("2001-02-30", None),
            ("10000-01-01", None),
        ] {
            assert_eq!(go_yaml_timestamp(text, false).as_deref(), want, "{text}");
        }
        assert_eq!(
            go_yaml_timestamp("2001-12-14T21:59:43.10-05:00", true),
            None
        );
        assert_eq!(
            go_yaml_timestamp("2002-12-14", true).as_deref(),
            Some("2002-12-14T00:00:00Z")
        );
    }

    #[test]
    fn the_deep_loader_types_scalars_as_serde_yaml_ng() {
        let text = "a: 1\nb: '1'\nc: [true, null, ~, 1.5, 0x1F, x, \"y\"]\nd: &x {e: !!str 2}\nf: *x\n---\n- |\n  block\n- 0755\n";
        let serde: Vec<Value> = serde_yaml_ng::Deserializer::from_str(text)
            .map(|d| Value::deserialize(d).unwrap())
            .collect();
        assert_eq!(deep_documents(text).unwrap(), serde);
    }

    #[test]
    fn flow_collections_are_told_from_block_ones() {
        let docs = plain_scalars("é: [a, {b: c}]\nd:\n- e\n").unwrap();
        let Node::Map(pairs) = &docs[0] else { panic!() };
        assert!(
            matches!(&pairs[0].1, Node::Seq(items) if matches!(items[0], Node::Scalar(_, true, true)))
        );
        assert!(
            matches!(&pairs[1].1, Node::Seq(items) if matches!(items[0], Node::Scalar(_, true, false)))
        );
    }
}
