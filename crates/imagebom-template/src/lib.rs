//! Go `text/template` for Helm charts: the template language, Sprig's functions and Helm's own.
//!
//! The engine (lexer, parser, executor, `printf`) is forked from the MIT-licensed
//! [gotmpl](https://crates.io/crates/gotmpl) 0.6 crate (see `LICENSE-gotmpl`) and changed where
//! Helm needs Go semantics that gotmpl does not give: maps are shared by reference (Sprig's
//! `set` and `merge` write into their argument), and functions such as `include` and `tpl`
//! run templates of the set they are called from.
//!
//! # Rendering a Helm chart
//!
//! ```
//! use imagebom_template::{GoSemantics, Template, MissingKey, Value, tmap, helm_strip_no_value};
//!
//! // One set per render, named "gotpl" like Helm's (tpl templates take that name).
//! let mut set = Template::new("gotpl")
//!     .missing_key(MissingKey::ZeroValue)
//!     .go_semantics(GoSemantics::Helm);
//! // .funcs(helm_funcmap()) before adding templates: Go checks function names at parse.
//! // Add every file of the chart and its subcharts, in Helm's order (deepest paths first):
//! set.add_template("app/templates/_helpers.tpl", r#"{{ define "app.name" }}{{ .Chart.Name }}{{ end }}"#).unwrap();
//! set.add_template("app/templates/cm.yaml", "name: {{ include \"app.name\" . }}{{ .Values.x }}").unwrap();
//! let data = tmap! { "Chart" => tmap! { "Name" => "app" }, "Values" => tmap! {} };
//! let out = set.execute_template_to_string("app/templates/cm.yaml", &data).unwrap();
//! assert_eq!(helm_strip_no_value(&out), "name: app");
//! ```
//!
//! - [`Template::add_template`] parses a file into the set (`t.New(name).Parse(src)`),
//!   [`Template::execute_template_to_string`] runs one (`ExecuteTemplate`).
//! - `include NAME DATA` and `tpl TEXT DATA` are built into the executor (they need the
//!   set): `include` returns the output as a string (usable in pipelines) and fails after
//!   [`HELM_INCLUDE_RECURSION_MAX`] nested inclusions of one name with Helm's message;
//!   `tpl` parses TEXT as a template named after the set (`gotpl`) in a copy of the current
//!   set (its `define`s are visible inside it only), runs it, and drops `<no value>`.
//! - Errors: [`TemplateError::Execution`] prints Go's text
//!   (`template: FILE:LINE:COL: executing "NAME" at <NODE>: MSG`) and carries the parts
//!   ([`ExecError`], [`ErrorLocation`]; the column is Go's 0-based byte column), and a failed
//!   call keeps the function's own error ([`FailedCall`]: `include`'s located error, `tpl`'s
//!   [`TemplateError::Tpl`], `fail`/`required`'s [`TemplateError::Fail`]), so callers format
//!   it without re-parsing text. [`helm_cleanup_exec_error`] gives Helm's
//!   `execution error at (FILE:LINE:COL): MSG` for `fail`/`required`.
//! - Missing values: with [`MissingKey::ZeroValue`] (Helm) a missing key prints
//!   `<no value>` ([`helm_strip_no_value`] applies Helm's fix-up) and a field access on it
//!   fails with `nil pointer evaluating interface {}.NAME`, as in Helm.
//! - Limits: [`Limits`] (output bytes, range iterations, template/include/tpl depth,
//!   source size, and the size, nesting and total bytes of the values functions return);
//!   the stack grows on demand, so deep recursion ends in an error, never a stack overflow.
//!
//! # Methods on data (`.Files.Get`, `.Capabilities.APIVersions.Has`)
//!
//! A [`Value::Function`] stored in a map is a *method*: when a field chain reaches it, it
//! is called with the arguments that follow in the command (and the piped value last), or
//! with no arguments when it is in the middle of a chain or used as an argument. So build
//! `.Files` as a map `{"Get": fn, "Glob": fn, "Lines": fn, "AsConfig": fn, …}` and
//! `.Capabilities.APIVersions` as `{"Has": fn}`; `.Files.Get "a"`,
//! `(.Files.Glob "x/*").AsConfig` and `"a" | .Files.Get` then work as in Helm. A
//! method's error reads `error calling Get: MSG` at the field, as in Go.
//!
//! When the object is itself a map that `range`/`len` must see without its methods
//! (the result of `.Files.Glob`, a Go map type with `AsConfig`/`AsSecrets`), attach
//! the methods with [`Dict::with_methods`] instead of storing them as entries; a
//! `String` method is then also used to print the value (Go's `fmt.Stringer`, e.g.
//! `.Capabilities.KubeVersion` printing `v1.36.0`). Methods win over keys, as in Go.
//!
//! # Known differences from Go 1.19
//!
//! - `{{template}}` nesting stops at [`Limits::max_template_depth`] (10,000; Go: 100,000)
//!   with Go's message and that number.
//! - A [`ValueFunc`] takes `&[Value]`; Go's argument-count and argument-type errors are
//!   reproduced when a function returns them ([`TemplateError::ArgCount`],
//!   [`TemplateError::BadArg`]; the crate's own functions get them from typed
//!   signatures, `Fn(String, i64) -> Result<R>`): the executor then reports them
//!   unwrapped, at the function or at the argument, worded for literal arguments as Go
//!   does (`expected string; found 3`).
//! - Parse errors give Go's `template: NAME:LINE: MSG` shape, but the MSG of many syntax
//!   errors is worded differently from Go's parser.
//! - Imaginary number literals are rejected.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::todo,
    clippy::unimplemented,
    clippy::unreachable
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable
    )
)]

extern crate alloc;

/// Conversions between template values and JSON / YAML with Helm's semantics.
pub mod convert;
pub(crate) mod error;
pub(crate) mod exec;
pub(crate) mod funcs;
pub(crate) mod function;
pub(crate) mod go;
/// Helm's own pure template functions and the complete Helm function map.
pub(crate) mod helmfuncs;
/// Parser, lexer, and AST node types for the Go template language.
///
/// This module mirrors Go's `text/template/parse` package. Most users don't
/// need it directly; use [`Template::parse`] instead. The AST types are public
/// for advanced use cases like [`Template::add_parse_tree`].
pub mod parse;
/// Semantic versions and constraints with Masterminds/semver v3 rules.
pub mod semver;
/// Sprig's template functions, as Helm ships them.
pub(crate) mod sprig;
pub(crate) mod value;

// Public re-exports
// All user-facing types are available at the crate root.

pub use error::{Result, TemplateError};
use funcs::shared_builtins;
pub use helmfuncs::helm_funcmap;
pub use value::{Dict, Methods, ToValue, Typed, Value, ValueFunc};

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

#[cfg(feature = "std")]
use std::io::Write;

pub use error::{ErrorLocation, ExecError, FailedCall};
use exec::{Executor, Tree, TreeSet};
pub use exec::{GoSemantics, Limits, MissingKey};
use parse::ListNode;

/// A map from function names to template functions, equivalent to Go's
/// `template.FuncMap`. Pass one to [`Template::funcs`] to register several
/// functions at once.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use imagebom_template::{FuncMap, Value};
///
/// let mut fm = FuncMap::new();
/// fm.insert("double".into(), Arc::new(|args: &[Value]| {
///     let n = args.first().and_then(Value::as_int).unwrap_or(0);
///     Ok(Value::Int(n * 2))
/// }));
/// ```
pub type FuncMap = BTreeMap<String, ValueFunc>;

/// A parsed template, equivalent to Go's
/// [`template.Template`](https://pkg.go.dev/text/template#Template).
///
/// Configure, parse, and execute via the builder-style API:
///
/// ```
/// use imagebom_template::{Template, MissingKey, tmap};
///
/// let output = Template::new("greet")
///     .delims("<<", ">>")                        // optional: custom delimiters
///     .missing_key(MissingKey::Error)             // optional: error on missing keys
///     .func("shout", |args| {                     // optional: custom functions
///         let s = args.first().map(|v| v.to_string()).unwrap_or_default();
///         Ok(imagebom_template::Value::String(s.to_uppercase().into()))
///     })
///     .parse("Hello, << .Name | shout >>!")       // parse template source
///     .unwrap()
///     .execute_to_string(&tmap! { "Name" => "world" })
///     .unwrap();
///
/// assert_eq!(output, "Hello, WORLD!");
/// ```
pub struct Template {
    name: String,
    tree: Option<Arc<Tree>>,
    defines: TreeSet,
    funcs: Arc<BTreeMap<String, ValueFunc>>,
    left_delim: String,
    right_delim: String,
    missing_key: MissingKey,
    limits: Limits,
    go: GoSemantics,
}

/// Adapts a [`std::io::Write`] to [`core::fmt::Write`]. Any [`io::Error`](std::io::Error)
/// gets stashed, since [`fmt::Error`](core::fmt::Error) has no payload to carry it.
#[cfg(feature = "std")]
pub(crate) struct IoAdapter<'a, W> {
    inner: &'a mut W,
    error: Option<std::io::Error>,
}

#[cfg(feature = "std")]
impl<'a, W> IoAdapter<'a, W> {
    pub(crate) fn new(inner: &'a mut W) -> Self {
        IoAdapter { inner, error: None }
    }

    pub(crate) fn err_mapper(self) -> impl FnOnce(TemplateError) -> TemplateError {
        move |e| match e {
            error::TemplateError::Write => error::TemplateError::Io(
                self.error
                    .unwrap_or_else(|| std::io::Error::other("write error")),
            ),
            _ => e,
        }
    }
}

#[cfg(feature = "std")]
impl<W: std::io::Write> core::fmt::Write for IoAdapter<'_, W> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.inner.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            core::fmt::Error
        })
    }
}

/// Stack of the threads [`Template::add_templates`] parses on (the parser nests at most
/// `MAX_PARSE_DEPTH` blocks, well within this).
#[cfg(feature = "std")]
const PARSE_THREAD_STACK: usize = 8 << 20;

impl Template {
    /// Create a new, empty template with the given name.
    ///
    /// The name is used in error messages and when invoking templates via
    /// `{{template "name"}}`. Built-in functions are registered automatically.
    /// For a Helm template set, name it `gotpl` (Helm's name, which `tpl`
    /// templates inherit) and add the chart files with
    /// [`add_template`](Self::add_template).
    pub fn new(name: &str) -> Self {
        Template {
            name: name.to_string(),
            tree: None,
            defines: TreeSet::new(),
            funcs: shared_builtins(),
            left_delim: "{{".to_string(),
            right_delim: "}}".to_string(),
            missing_key: MissingKey::default(),
            limits: Limits::default(),
            go: GoSemantics::default(),
        }
    }

    /// Set the total number of `{{range}}` iterations allowed per execution
    /// (across all nested ranges). Defaults to 10,000,000. Set to `0` to
    /// disable the cap entirely (at your own risk with untrusted templates).
    #[must_use]
    pub fn max_range_iters(mut self, n: u64) -> Self {
        self.limits.max_range_iters = n;
        self
    }

    /// Choose which Go release's messages to reproduce where they changed
    /// (default [`GoSemantics::Go119`]; Helm rendering: [`GoSemantics::Helm`]).
    #[must_use]
    pub fn go_semantics(mut self, go: GoSemantics) -> Self {
        self.go = go;
        self
    }

    /// Set all resource limits at once (see [`Limits`]).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The resource limits in force.
    pub fn get_limits(&self) -> Limits {
        self.limits
    }

    /// Set custom action delimiters (default: `"{{"` and `"}}"`).
    ///
    /// Must be called **before** [`parse`](Self::parse).
    ///
    /// # Examples
    ///
    /// ```
    /// use imagebom_template::{Template, tmap};
    ///
    /// let result = Template::new("t")
    ///     .delims("<%", "%>")
    ///     .parse("Hello, <%.Name%>!")
    ///     .unwrap()
    ///     .execute_to_string(&tmap! { "Name" => "World" })
    ///     .unwrap();
    /// assert_eq!(result, "Hello, World!");
    /// ```
    #[must_use]
    pub fn delims(mut self, left: &str, right: &str) -> Self {
        self.left_delim = left.to_string();
        self.right_delim = right.to_string();
        self
    }

    /// Set the behavior for missing map keys (Helm: [`MissingKey::ZeroValue`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use imagebom_template::{Template, MissingKey, tmap};
    ///
    /// let result = Template::new("t")
    ///     .missing_key(MissingKey::Error)
    ///     .parse("{{.Y}}")
    ///     .unwrap()
    ///     .execute_to_string(&tmap! { "X" => 1i64 });
    /// assert!(result.is_err());
    /// ```
    #[must_use]
    pub fn missing_key(mut self, mk: MissingKey) -> Self {
        self.missing_key = mk;
        self
    }

    /// Register a custom template function.
    ///
    /// Must be called **before** [`parse`](Self::parse) (Go checks at parse
    /// time that every function named exists). Registering a name that matches
    /// a built-in replaces it.
    ///
    /// # Examples
    ///
    /// ```
    /// use imagebom_template::{Template, tmap, Value};
    ///
    /// let result = Template::new("t")
    ///     .func("double", |args| {
    ///         let n = args.first().and_then(Value::as_int).unwrap_or(0);
    ///         Ok(Value::Int(n * 2))
    ///     })
    ///     .parse("{{double 21}}")
    ///     .unwrap()
    ///     .execute_to_string(&tmap!{})
    ///     .unwrap();
    /// assert_eq!(result, "42");
    /// ```
    #[must_use]
    pub fn func(
        mut self,
        name: &str,
        f: impl Fn(&[Value]) -> Result<Value> + Send + Sync + 'static,
    ) -> Self {
        Arc::make_mut(&mut self.funcs).insert(name.to_string(), Arc::new(f));
        self
    }

    /// Register several template functions at once from a [`FuncMap`], the
    /// counterpart to Go's `template.Funcs()`. Must be called **before**
    /// [`parse`](Self::parse).
    #[must_use]
    pub fn funcs(mut self, func_map: FuncMap) -> Self {
        Arc::make_mut(&mut self.funcs).extend(func_map);
        self
    }

    /// This set's functions (builtins and registered ones), shareable with
    /// [`with_shared_funcs`](Self::with_shared_funcs).
    pub fn shared_funcs(&self) -> Arc<FuncMap> {
        self.funcs.clone()
    }

    /// Uses `funcs` (from [`shared_funcs`](Self::shared_funcs) of a configured set) as this
    /// set's functions, replacing the builtins and any registered before: a set built per
    /// render then costs no copy of a large function map.
    #[must_use]
    pub fn with_shared_funcs(mut self, funcs: Arc<FuncMap>) -> Self {
        self.funcs = funcs;
        self
    }

    /// Parse template source and associate it with this template.
    ///
    /// Mirrors Go's `(*Template).Parse`: named template definitions
    /// (`{{define}}` / `{{block}}`) in `src` join this template's set, and the
    /// top-level content becomes this template's body. A body that is empty
    /// (only whitespace and comments) does not replace an existing one.
    /// Within one call, two non-empty definitions of a name are an error
    /// (`template: multiple definition of template "x"`); across calls the
    /// later non-empty one wins.
    ///
    /// # Errors
    ///
    /// Lex/parse errors (Go's `template: NAME:LINE: MSG`), undefined functions
    /// (`function "x" not defined`), or the source size limit.
    pub fn parse(mut self, src: &str) -> Result<Self> {
        let name = self.name.clone();
        let (root, defines) = self.parse_src(&name, src)?;
        for (n, t) in defines {
            self.associate(n, t);
        }
        if name.is_empty() {
            if self.tree.is_none() || !root.root.is_empty_tree() {
                self.tree = Some(root);
            }
        } else {
            self.associate(name.clone(), root);
            self.tree = self.defines.get(&name).cloned();
        }
        Ok(self)
    }

    /// Parse `src` as the template `name` and add it, with its `define`s, to
    /// this set: Go's `t.New(name).Parse(src)`, which is how Helm loads every
    /// file of a chart and its subcharts into one set (names like
    /// `mychart/templates/_helpers.tpl`). Errors name `name` as the file.
    ///
    /// Later definitions replace earlier ones (Go's `AddParseTree`), except that
    /// an empty-bodied one (only whitespace and comments) never replaces an
    /// existing template.
    ///
    /// # Errors
    ///
    /// Lex/parse errors, undefined functions, or the source size limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use imagebom_template::{Template, MissingKey, tmap};
    ///
    /// let mut set = Template::new("gotpl")
    ///     .missing_key(MissingKey::ZeroValue)
    ///     .func("upper", |a| Ok(imagebom_template::Value::from(a[0].to_string().to_uppercase())));
    /// set.add_template("c/templates/_helpers.tpl", r#"{{define "c.name"}}{{.Values.name}}{{end}}"#).unwrap();
    /// set.add_template("c/templates/cm.yaml", r#"name: {{ include "c.name" . | upper }}"#).unwrap();
    /// let data = tmap! { "Values" => tmap! { "name" => "web" } };
    /// assert_eq!(set.execute_template_to_string("c/templates/cm.yaml", &data).unwrap(), "name: WEB");
    /// ```
    pub fn add_template(&mut self, name: &str, src: &str) -> Result<()> {
        let (root, defines) = self.parse_src(name, src)?;
        for (n, t) in defines {
            self.associate(n, t);
        }
        self.associate(name.to_string(), root);
        if name == self.name {
            self.tree = self.defines.get(name).cloned();
        }
        Ok(())
    }

    /// [`add_template`](Self::add_template) for each `(name, src)` in order, with the
    /// parsing spread over the machine's cores (parsing one file does not depend on
    /// another; the results join the set in the given order, so the outcome is exactly
    /// that of adding them one by one).
    ///
    /// # Errors
    ///
    /// The first item (in order) that fails to parse: its index and error.
    #[cfg(feature = "std")]
    pub fn add_templates(
        &mut self,
        items: &[(&str, &str)],
    ) -> core::result::Result<(), (usize, TemplateError)> {
        /// Below this much source, waking a second core (over a millisecond on a virtual
        /// machine whose other vCPU is idle) costs more than parsing on it saves.
        const PARALLEL_MIN_BYTES: usize = 256 << 10;
        let total: usize = items.iter().map(|(_, s)| s.len()).sum();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(items.len());
        let parsed: Vec<Result<exec::ParsedSource>> = if threads <= 1 || total < PARALLEL_MIN_BYTES
        {
            items
                .iter()
                .map(|(name, src)| self.parse_src(name, src))
                .collect()
        } else {
            let next = core::sync::atomic::AtomicUsize::new(0);
            let this = &*self;
            let mut slots: Vec<Option<Result<exec::ParsedSource>>> =
                (0..items.len()).map(|_| None).collect();
            std::thread::scope(|s| {
                let work = || {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
                        let Some((name, src)) = items.get(i) else {
                            return done;
                        };
                        done.push((i, this.parse_src(name, src)));
                    }
                };
                let helpers: Vec<_> = (1..threads)
                    .map(|_| {
                        std::thread::Builder::new()
                            .stack_size(PARSE_THREAD_STACK)
                            .spawn_scoped(s, work)
                    })
                    .collect();
                for (i, r) in work() {
                    slots[i] = Some(r);
                }
                // A helper that could not start leaves its items to the loop below.
                for h in helpers.into_iter().flatten() {
                    match h.join() {
                        Ok(done) => {
                            for (i, r) in done {
                                slots[i] = Some(r);
                            }
                        }
                        Err(panic) => std::panic::resume_unwind(panic),
                    }
                }
            });
            slots
                .into_iter()
                .zip(items)
                .map(|(r, (name, src))| r.unwrap_or_else(|| this.parse_src(name, src)))
                .collect()
        };
        for (i, (p, (name, _))) in parsed.into_iter().zip(items).enumerate() {
            let (root, defines) = p.map_err(|e| (i, e))?;
            for (n, t) in defines {
                self.associate(n, t);
            }
            self.associate((*name).to_string(), root);
            if *name == self.name {
                self.tree = self.defines.get(*name).cloned();
            }
        }
        Ok(())
    }

    fn parse_src(&self, name: &str, src: &str) -> Result<exec::ParsedSource> {
        let parse_name: Arc<str> = Arc::from(name);
        let src: Arc<str> = Arc::from(src);
        exec::parse_source(
            name,
            &parse_name,
            &src,
            &self.left_delim,
            &self.right_delim,
            self.limits.max_source_bytes,
            &self.funcs,
        )
    }

    /// Go's `associate`: an empty tree never replaces an existing one.
    fn associate(&mut self, name: String, tree: Arc<Tree>) {
        if tree.root.is_empty_tree() && self.defines.contains_key(&name) {
            return;
        }
        self.defines.insert(name, tree);
    }

    /// Parse one or more template files and associate them with this template.
    ///
    /// Mirrors Go's `(*Template).ParseFiles` method: each file is added under
    /// its basename (see [`add_template`](Self::add_template)); a file whose
    /// basename is this template's name becomes its body.
    ///
    /// # Errors
    ///
    /// [`TemplateError::NoFiles`] if `filenames` is empty, or a read/parse error
    /// for the first file that fails.
    #[cfg(feature = "std")]
    pub fn parse_files(mut self, filenames: &[&str]) -> Result<Self> {
        if filenames.is_empty() {
            return Err(error::TemplateError::NoFiles);
        }
        for filename in filenames {
            let content =
                std::fs::read_to_string(filename).map_err(|e| error::TemplateError::ReadFile {
                    path: filename.to_string(),
                    source: e,
                })?;
            let basename = std::path::Path::new(filename)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(filename);
            self.add_template(basename, &content)?;
        }
        Ok(self)
    }

    /// Add a pre-built parse tree as a named template definition, the
    /// counterpart to Go's `template.AddParseTree()`. Replaces any existing
    /// definition with the same `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// use imagebom_template::{Template, tmap};
    /// use imagebom_template::parse::{ListNode, Node, TextNode, Pos};
    ///
    /// let tree = ListNode {
    ///     pos: Pos::new(0, 1),
    ///     nodes: vec![Node::Text(TextNode {
    ///         pos: Pos::new(0, 1),
    ///         text: "injected".into(),
    ///     })],
    /// };
    ///
    /// let result = Template::new("t")
    ///     .parse(r#"{{template "my_tree"}}"#)
    ///     .unwrap()
    ///     .add_parse_tree("my_tree", tree)
    ///     .execute_to_string(&tmap!{})
    ///     .unwrap();
    /// assert_eq!(result, "injected");
    /// ```
    #[must_use]
    pub fn add_parse_tree(mut self, name: &str, tree: ListNode) -> Self {
        let pn: Arc<str> = Arc::from(name);
        let src: Arc<str> = Arc::from("");
        let t = Arc::new(Tree::new(name, &pn, &src, tree));
        if name == self.name {
            self.tree = Some(t.clone());
        }
        self.defines.insert(name.to_string(), t);
        self
    }

    fn run<W: core::fmt::Write>(
        &self,
        writer: &mut W,
        tree: &Arc<Tree>,
        data: &Value,
    ) -> Result<()> {
        let cfg = exec::Config {
            funcs: &self.funcs,
            templates: &self.defines,
            set_name: &self.name,
            left_delim: &self.left_delim,
            right_delim: &self.right_delim,
            missing_key: self.missing_key,
            limits: self.limits,
            go: self.go,
        };
        let mut executor = Executor::new(&cfg, tree.clone());
        executor.execute(writer, data)
    }

    /// Execute the template, writing output to the given [`fmt::Write`](core::fmt::Write) destination.
    ///
    /// The `data` argument becomes the initial dot (`.`) value inside the template.
    ///
    /// # Errors
    ///
    /// [`TemplateError::Execution`] (Go's `ExecError`, formatted exactly as Go
    /// formats it), [`TemplateError::Limit`] when a [`Limits`] bound is hit, or
    /// a write error.
    pub fn execute_fmt<W: core::fmt::Write>(&self, writer: &mut W, data: &Value) -> Result<()> {
        let tree = self.tree.as_ref().ok_or_else(|| {
            error::TemplateError::Exec(format!(
                "template: {}: {} is an incomplete or empty template",
                self.name,
                go::go_quote(&self.name)
            ))
        })?;
        self.run(writer, tree, data)
    }

    /// Execute a named template of the set (Go's `ExecuteTemplate`), writing to
    /// a [`fmt::Write`](core::fmt::Write) destination.
    ///
    /// # Errors
    ///
    /// [`TemplateError::UndefinedTemplate`] if no template has that name, plus
    /// all errors from [`execute_fmt`](Self::execute_fmt).
    pub fn execute_template_fmt<W: core::fmt::Write>(
        &self,
        writer: &mut W,
        name: &str,
        data: &Value,
    ) -> Result<()> {
        let tree =
            self.defines
                .get(name)
                .ok_or_else(|| error::TemplateError::UndefinedTemplate {
                    name: name.to_string(),
                    set: self.name.clone(),
                })?;
        self.run(writer, tree, data)
    }

    /// Execute the template, writing output to the given [`io::Write`](std::io::Write) destination.
    ///
    /// # Errors
    ///
    /// Same as [`execute_fmt`](Self::execute_fmt), plus I/O errors from the writer.
    #[cfg(feature = "std")]
    pub fn execute<W: Write>(&self, writer: &mut W, data: &Value) -> Result<()> {
        let mut adapter = IoAdapter::new(writer);
        self.execute_fmt(&mut adapter, data)
            .map_err(adapter.err_mapper())
    }

    /// Execute a named sub-template, writing output to an [`io::Write`](std::io::Write) destination.
    ///
    /// # Examples
    ///
    /// ```
    /// use imagebom_template::{Template, tmap};
    ///
    /// let tmpl = Template::new("root")
    ///     .parse(r#"{{define "header"}}Header: {{.Title}}{{end}}body"#)
    ///     .unwrap();
    ///
    /// let data = tmap! { "Title" => "Hello" };
    /// assert_eq!(tmpl.execute_to_string(&data).unwrap(), "body");
    /// let mut buf = Vec::new();
    /// tmpl.execute_template(&mut buf, "header", &data).unwrap();
    /// assert_eq!(String::from_utf8(buf).unwrap(), "Header: Hello");
    /// ```
    #[cfg(feature = "std")]
    pub fn execute_template<W: Write>(
        &self,
        writer: &mut W,
        name: &str,
        data: &Value,
    ) -> Result<()> {
        let mut adapter = IoAdapter::new(writer);
        self.execute_template_fmt(&mut adapter, name, data)
            .map_err(adapter.err_mapper())
    }

    /// Execute the template and return the result as a [`String`].
    ///
    /// # Errors
    ///
    /// Same as [`execute_fmt`](Self::execute_fmt).
    pub fn execute_to_string(&self, data: &Value) -> Result<String> {
        let mut buf = String::new();
        self.execute_fmt(&mut buf, data)?;
        Ok(buf)
    }

    /// Execute the named template of the set and return its output.
    ///
    /// # Errors
    ///
    /// Same as [`execute_template_fmt`](Self::execute_template_fmt).
    pub fn execute_template_to_string(&self, name: &str, data: &Value) -> Result<String> {
        let mut buf = String::new();
        self.execute_template_fmt(&mut buf, name, data)?;
        Ok(buf)
    }

    /// Returns the template name set in [`new`](Self::new).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Look up a named template definition, the counterpart to Go's
    /// `template.Lookup()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use imagebom_template::Template;
    ///
    /// let tmpl = Template::new("t")
    ///     .parse(r#"{{define "header"}}...{{end}}"#)
    ///     .unwrap();
    ///
    /// assert!(tmpl.lookup("header").is_some());
    /// assert!(tmpl.lookup("footer").is_none());
    /// ```
    pub fn lookup(&self, name: &str) -> Option<&ListNode> {
        self.defines.get(name).map(|t| &t.root)
    }

    /// Returns the names of all defined templates, in sorted order.
    ///
    /// # Examples
    ///
    /// ```
    /// use imagebom_template::Template;
    ///
    /// let tmpl = Template::new("t")
    ///     .parse(r#"{{define "a"}}...{{end}}{{define "b"}}...{{end}}"#)
    ///     .unwrap();
    ///
    /// assert_eq!(tmpl.templates(), vec!["a", "b", "t"]);
    /// ```
    pub fn templates(&self) -> Vec<&str> {
        self.defines.keys().map(|s| s.as_str()).collect()
    }

    /// Returns a human-readable string listing all defined templates, the
    /// counterpart to Go's `template.DefinedTemplates()`.
    pub fn defined_templates(&self) -> String {
        if self.defines.is_empty() {
            return String::new();
        }
        let quoted: Vec<String> = self.defines.keys().map(|n| go::go_quote(n)).collect();
        format!("; defined templates are: {}", quoted.join(", "))
    }
}

impl Clone for Template {
    /// An independent copy of the set (Go's `Clone`): trees are shared, the
    /// name → template map is copied.
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            tree: self.tree.clone(),
            defines: self.defines.clone(),
            funcs: self.funcs.clone(),
            left_delim: self.left_delim.clone(),
            right_delim: self.right_delim.clone(),
            missing_key: self.missing_key,
            limits: self.limits,
            go: self.go,
        }
    }
}

/// Helm's post-processing of a rendered file: every `<no value>` becomes ``
/// (Helm's `strings.ReplaceAll(out, "<no value>", "")`).
pub fn helm_strip_no_value(rendered: &str) -> String {
    rendered.replace("<no value>", "")
}

/// Helm's `cleanupExecError` (pkg/engine/engine.go): an execution error whose
/// cause is a `fail`/`required` message ([`TemplateError::Fail`], or wrapped in
/// `HELM_ERR_START…HELM_ERR_END` as Helm's own functions do, or simply the text
/// after the innermost `error calling fail: `/`error calling required: `) becomes
/// `execution error at (FILE:LINE:COL): MSG`, located at the outermost node;
/// any other execution error keeps Go's text.
pub fn helm_cleanup_exec_error(err: &TemplateError) -> String {
    let text = err.to_string();
    let Some(exec) = err.exec_error() else {
        return text;
    };
    let Some(loc) = &exec.location else {
        return text;
    };
    if let Some(msg) = err.fail_message() {
        return format!("execution error at ({}): {msg}", exec.location_text());
    }
    const START: &str = "HELM_ERR_START";
    const END: &str = "HELM_ERR_END";
    let at = |msg: &str| {
        format!(
            "execution error at ({}:{}:{}): {}",
            loc.parse_name, loc.line, loc.col, msg
        )
    };
    if let Some(s) = text.find(START) {
        let rest = &text[s + START.len()..];
        if let Some(e) = rest.rfind(END) {
            return at(&rest[..e]);
        }
    }
    // `fail`/`required` implemented without Helm's markers: their message is
    // what follows the innermost `error calling fail: ` (or `required`).
    let innermost = ["error calling fail: ", "error calling required: "]
        .iter()
        .filter_map(|p| text.rfind(p).map(|i| i + p.len()))
        .max();
    match innermost {
        Some(i) => at(&text[i..]),
        None => text,
    }
}

// Convenience constructors
/// Parse and execute a template in one shot.
///
/// Convenience for simple cases that don't need custom functions, delimiters,
/// or options.
///
/// # Examples
///
/// ```
/// use imagebom_template::{execute, tmap};
///
/// let result = execute("Hello, {{.Name}}!", &tmap! { "Name" => "World" }).unwrap();
/// assert_eq!(result, "Hello, World!");
/// ```
///
/// # Errors
///
/// Returns a parse or execution error if the template is invalid or
/// execution fails.
pub fn execute(template_src: &str, data: &Value) -> Result<String> {
    Template::new("")
        .parse(template_src)?
        .execute_to_string(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ToValue;
    use crate::go::{html_escape, js_escape, url_encode};
    use alloc::vec;

    #[test]
    fn test_simple_api() {
        let result = execute("Hello, {{.Name}}!", &tmap! { "Name" => "World" }).unwrap();
        assert_eq!(result, "Hello, World!");
    }

    #[test]
    fn test_custom_func() {
        let result = Template::new("test")
            .func("upper", |args| {
                if let Some(Value::String(s)) = args.first() {
                    Ok(Value::String(s.to_uppercase().into()))
                } else {
                    Ok(Value::Nil)
                }
            })
            .parse("{{.Name | upper}}")
            .unwrap()
            .execute_to_string(&tmap! { "Name" => "hello" })
            .unwrap();
        assert_eq!(result, "HELLO");
    }

    #[test]
    fn test_custom_delims() {
        let result = Template::new("test")
            .delims("<%", "%>")
            .parse("Hello, <%.Name%>!")
            .unwrap()
            .execute_to_string(&tmap! { "Name" => "World" })
            .unwrap();
        assert_eq!(result, "Hello, World!");
    }

    #[test]
    fn test_complex_template() {
        let data = tmap! {
            "Title" => "Users",
            "Users" => vec![
                tmap! { "Name" => "Alice", "Age" => 30i64 }.to_value(),
                tmap! { "Name" => "Bob", "Age" => 25i64 }.to_value(),
            ].to_value(),
        };

        let tmpl = r#"# {{.Title}}
{{range .Users}}- {{.Name}} ({{.Age}})
{{end}}"#;

        let result = execute(tmpl, &data).unwrap();
        assert_eq!(result, "# Users\n- Alice (30)\n- Bob (25)\n");
    }

    #[test]
    fn test_template_inheritance() {
        let data = tmap! { "Content" => "Hello!" };
        let result = Template::new("page")
            .parse(r#"{{define "base"}}<html>{{template "body" .}}</html>{{end}}{{define "body"}}<p>{{.Content}}</p>{{end}}{{template "base" .}}"#)
            .unwrap()
            .execute_to_string(&data)
            .unwrap();
        assert_eq!(result, "<html><p>Hello!</p></html>");
    }

    #[test]
    fn test_pipeline_chaining() {
        let data = tmap! {
            "Items" => vec!["a".to_string(), "bb".to_string(), "ccc".to_string()],
        };
        let result = execute("{{.Items | len | printf \"%d items\"}}", &data).unwrap();
        assert_eq!(result, "3 items");
    }

    #[test]
    fn test_comparison() {
        let data = tmap! { "Score" => 85i64 };
        let result = execute("{{if gt .Score 80}}pass{{else}}fail{{end}}", &data).unwrap();
        assert_eq!(result, "pass");
    }

    #[test]
    fn test_range_with_index() {
        let data = tmap! {
            "Items" => vec!["a".to_string(), "b".to_string()],
        };
        let result = execute("{{range $i, $v := .Items}}{{$i}}:{{$v}} {{end}}", &data);
        assert!(result.is_ok());
    }

    #[test]
    fn test_dollar_variable() {
        let data = tmap! {
            "Name" => "outer",
            "Items" => vec!["inner".to_string()],
        };
        let result = execute("{{range .Items}}{{$}} {{.}}{{end}}", &data);
        assert!(result.is_ok());
    }

    #[test]
    fn test_missingkey_error() {
        let data = tmap! { "X" => 1i64 };
        let result = Template::new("test")
            .missing_key(MissingKey::Error)
            .parse("{{.Missing}}")
            .unwrap()
            .execute_to_string(&data);
        assert!(result.is_err());
    }

    #[test]
    fn test_missingkey_default() {
        let data = tmap! { "X" => 1i64 };
        let result = Template::new("test")
            .parse("{{.Missing}}")
            .unwrap()
            .execute_to_string(&data)
            .unwrap();
        assert_eq!(result, "<no value>");
    }

    #[test]
    fn test_execute_template() {
        let tmpl = Template::new("root")
            .parse(r#"{{define "a"}}hello{{end}}{{define "b"}}world{{end}}main"#)
            .unwrap();

        assert_eq!(
            tmpl.execute_template_to_string("a", &Value::Nil).unwrap(),
            "hello"
        );
        assert_eq!(
            tmpl.execute_template_to_string("b", &Value::Nil).unwrap(),
            "world"
        );

        // Main template
        assert_eq!(tmpl.execute_to_string(&Value::Nil).unwrap(), "main");
    }

    #[test]
    fn test_execute_template_undefined() {
        let tmpl = Template::new("t").parse("hello").unwrap();
        let err = tmpl.execute_template_to_string("nope", &Value::Nil);
        assert!(err.is_err());
    }

    #[test]
    fn test_lookup() {
        let tmpl = Template::new("t")
            .parse(r#"{{define "x"}}...{{end}}"#)
            .unwrap();
        assert!(tmpl.lookup("x").is_some());
        assert!(tmpl.lookup("y").is_none());
    }

    #[test]
    fn test_templates_list() {
        let tmpl = Template::new("t")
            .parse(r#"{{define "b"}}...{{end}}{{define "a"}}...{{end}}"#)
            .unwrap();
        // Go's Templates() lists the receiver too once it is parsed (adapted from gotmpl).
        assert_eq!(tmpl.templates(), vec!["a", "b", "t"]);
    }

    #[test]
    fn test_defined_templates() {
        let tmpl = Template::new("t")
            .parse(r#"{{define "header"}}...{{end}}{{define "footer"}}...{{end}}"#)
            .unwrap();
        let s = tmpl.defined_templates();
        assert!(s.contains("\"header\""));
        assert!(s.contains("\"footer\""));
    }

    #[test]
    fn test_defined_templates_lists_receiver() {
        // Go parity: `Template::new("t").parse("hello")` seats the top-level
        // into `self.defines["t"]` (Go's `treeSet[t.Name] = topLevelTree`), so
        // `defined_templates()` names "t" itself, matching Go's
        // `DefinedTemplates` output `"; defined templates are: \"t\""`.
        let tmpl = Template::new("t").parse("hello").unwrap();
        assert_eq!(tmpl.defined_templates(), r#"; defined templates are: "t""#);
    }

    #[test]
    fn test_clone_template() {
        let original = Template::new("t")
            .parse(r#"{{define "x"}}original{{end}}{{template "x"}}"#)
            .unwrap();

        let cloned = original.clone().add_parse_tree(
            "x",
            ListNode {
                pos: parse::Pos::new(0, 1),
                nodes: vec![parse::Node::Text(parse::TextNode {
                    pos: parse::Pos::new(0, 1),
                    text: "cloned".into(),
                })],
            },
        );

        assert_eq!(original.execute_to_string(&Value::Nil).unwrap(), "original");
        assert_eq!(cloned.execute_to_string(&Value::Nil).unwrap(), "cloned");
    }

    #[test]
    fn test_add_parse_tree() {
        let tmpl = Template::new("t")
            .parse(r#"{{template "injected"}}"#)
            .unwrap()
            .add_parse_tree(
                "injected",
                ListNode {
                    pos: parse::Pos::new(0, 1),
                    nodes: vec![parse::Node::Text(parse::TextNode {
                        pos: parse::Pos::new(0, 1),
                        text: "works".into(),
                    })],
                },
            );
        assert_eq!(tmpl.execute_to_string(&Value::Nil).unwrap(), "works");
    }

    #[test]
    fn test_funcs_bulk() {
        let mut fm = FuncMap::new();
        fm.insert(
            "greet".into(),
            Arc::new(|args: &[Value]| Ok(Value::String(format!("Hi, {}!", args[0]).into()))),
        );
        let result = Template::new("t")
            .funcs(fm)
            .parse(r#"{{greet "World"}}"#)
            .unwrap()
            .execute_to_string(&tmap! {})
            .unwrap();
        assert_eq!(result, "Hi, World!");
    }

    #[test]
    #[cfg(feature = "std")]
    fn test_parse_files() {
        use std::io::Write as _;
        let dir = std::env::temp_dir().join("gotmpl_test_parse_files");
        let _ = std::fs::create_dir_all(&dir);

        let header = dir.join("header.html");
        let footer = dir.join("footer.html");
        std::fs::File::create(&header)
            .unwrap()
            .write_all(b"{{define \"header\"}}<h1>{{.Title}}</h1>{{end}}")
            .unwrap();
        std::fs::File::create(&footer)
            .unwrap()
            .write_all(b"{{define \"footer\"}}<footer>bye</footer>{{end}}")
            .unwrap();

        let h = header.to_str().unwrap();
        let f = footer.to_str().unwrap();

        let tmpl = Template::new("page")
            .parse(r#"{{template "header" .}}{{template "footer" .}}"#)
            .unwrap()
            .parse_files(&[h, f])
            .unwrap();

        let data = tmap! { "Title" => "Hello" };
        let result = tmpl.execute_to_string(&data).unwrap();
        assert_eq!(result, "<h1>Hello</h1><footer>bye</footer>");

        // Also verify the file basename is registered
        assert!(tmpl.lookup("header.html").is_some());
        assert!(tmpl.lookup("footer.html").is_some());

        // Cleanup
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    #[cfg(feature = "std")]
    fn test_parse_files_not_found() {
        let result = Template::new("t").parse_files(&["/nonexistent/file.html"]);
        let err = result.err().unwrap();
        assert!(
            matches!(
                err,
                error::TemplateError::ReadFile { ref path, .. }
                    if path == "/nonexistent/file.html"
            ),
            "expected ReadFile error, got {:?}",
            err
        );
    }

    #[test]
    #[cfg(feature = "std")]
    fn test_parse_files_basename_matches_receiver() {
        use std::io::Write as _;
        let dir = std::env::temp_dir().join("gotmpl_test_parse_files_basename");
        let _ = std::fs::create_dir_all(&dir);

        let path = dir.join("main.tmpl");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(b"Hi {{.Name}}")
            .unwrap();

        let tmpl = Template::new("main.tmpl")
            .parse_files(&[path.to_str().unwrap()])
            .unwrap();
        let data = tmap! { "Name" => "there" };
        assert_eq!(tmpl.execute_to_string(&data).unwrap(), "Hi there");

        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    #[cfg(feature = "std")]
    fn test_parse_files_error_cites_filename() {
        use std::io::Write as _;
        let dir = std::env::temp_dir().join("gotmpl_test_parse_files_error_name");
        let _ = std::fs::create_dir_all(&dir);

        let path = dir.join("broken.tmpl");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(b"ok\n{{if}}missing pipeline{{end}}")
            .unwrap();

        let err = Template::new("t")
            .parse_files(&[path.to_str().unwrap()])
            .err()
            .unwrap();

        match &err {
            error::TemplateError::Parse { name, line, .. } => {
                assert_eq!(name.as_deref(), Some("broken.tmpl"));
                assert_eq!(*line, 2);
            }
            other => panic!("expected Parse error, got {other:?}"),
        }
        // Display format matches Go's `template: <name>:<line>:<col>: <msg>` prefix.
        let s = err.to_string();
        assert!(
            s.starts_with("template: broken.tmpl:"),
            "unexpected display: {s}"
        );

        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn test_parse_error_without_name_drops_name_segment() {
        // Template::new("") -> empty name, so parse() leaves the error untagged
        // and the display format omits the name segment: `template: <line>:<col>: …`.
        // Adapted from gotmpl: Go 1.19 prints an empty name as `template: :LINE: …`.
        let err = Template::new("").parse("{{if}}").err().unwrap();
        let s = err.to_string();
        assert!(s.starts_with("template: :1: "), "got: {s}");
    }

    #[test]
    fn test_lex_error_without_name_drops_name_segment() {
        // Symmetric to the Parse case: an unnamed template should omit the
        // `<name>:` segment from lex-error display too (shared format).
        let err = Template::new("").parse("{{\"unterminated}}").err().unwrap();
        match &err {
            error::TemplateError::Lex { name, .. } => {
                assert!(name.is_none(), "expected name to be None, got {name:?}");
            }
            other => panic!("expected Lex error, got {other:?}"),
        }
        // Adapted: Go 1.19 prints `template: :1: unterminated quoted string`.
        let s = err.to_string();
        assert!(s.starts_with("template: :1: "), "got: {s}");
    }

    #[test]
    fn test_lex_error_carries_line_col_and_shared_format() {
        // Unterminated quoted string → lex error on the second line.
        let err = Template::new("t")
            .parse("ok\n{{\"unterminated}}")
            .err()
            .unwrap();
        match &err {
            error::TemplateError::Lex {
                name,
                line,
                col,
                message,
            } => {
                assert_eq!(name.as_deref(), Some("t"));
                assert_eq!(*line, 2);
                assert!(*col >= 1);
                assert!(!message.is_empty());
            }
            other => panic!("expected Lex error, got {other:?}"),
        }
        // Shares the Parse variant's `template: <name>:<line>:<col>:` prefix.
        assert!(err.to_string().starts_with("template: t:2:"));
    }

    #[test]
    fn test_parse_error_tagged_with_receiver_name() {
        let err = Template::new("greet.tmpl").parse("{{if}}").err().unwrap();
        match &err {
            error::TemplateError::Parse { name, .. } => {
                assert_eq!(name.as_deref(), Some("greet.tmpl"));
            }
            other => panic!("expected Parse error, got {other:?}"),
        }
        assert!(err.to_string().starts_with("template: greet.tmpl:"));
    }

    #[test]
    #[cfg(feature = "std")]
    fn test_parse_files_empty() {
        let result = Template::new("t").parse_files(&[]);
        let err = result.err().unwrap();
        assert!(
            matches!(err, error::TemplateError::NoFiles),
            "expected NoFiles error, got {:?}",
            err
        );
    }

    // Go parity: Two non-empty defines of the same name *within one file* go
    // through a single `Parse` call in Go and are rejected by `parse.(*Tree).add`.
    #[test]
    #[cfg(feature = "std")]
    fn test_parse_files_in_file_duplicate_define_errors() {
        use std::io::Write as _;
        let dir = std::env::temp_dir().join("gotmpl_test_parse_files_dup_in_file");
        let _ = std::fs::create_dir_all(&dir);

        let path = dir.join("dup.tmpl");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(br#"{{define "x"}}first{{end}}{{define "x"}}second{{end}}"#)
            .unwrap();

        let err = Template::new("t")
            .parse_files(&[path.to_str().unwrap()])
            .err()
            .expect("expected multiple-definition error");
        assert!(
            err.to_string()
                .contains(r#"multiple definition of template "x""#),
            "unexpected error message: {err}"
        );

        let _ = std::fs::remove_dir_all(&dir);
    }

    // Go parity: Each file is a separate Parse call, so a non-empty define in
    // a later file replaces an earlier one via `parse.associate` (across-call
    // rule). No error.
    #[test]
    #[cfg(feature = "std")]
    fn test_parse_files_across_files_non_empty_replaces() {
        use std::io::Write as _;
        let dir = std::env::temp_dir().join("gotmpl_test_parse_files_across_replace");
        let _ = std::fs::create_dir_all(&dir);

        let a = dir.join("a.tmpl");
        let b = dir.join("b.tmpl");
        std::fs::File::create(&a)
            .unwrap()
            .write_all(br#"{{define "x"}}first{{end}}"#)
            .unwrap();
        std::fs::File::create(&b)
            .unwrap()
            .write_all(br#"{{define "x"}}second{{end}}"#)
            .unwrap();

        let tmpl = Template::new("t")
            .parse(r#"{{template "x"}}"#)
            .unwrap()
            .parse_files(&[a.to_str().unwrap(), b.to_str().unwrap()])
            .unwrap();
        assert_eq!(tmpl.execute_to_string(&Value::Nil).unwrap(), "second");

        let _ = std::fs::remove_dir_all(&dir);
    }

    // Go parity: An empty define in a later file does not overwrite an existing
    // non-empty define (`parse.associate`'s IsEmptyTree guard).
    #[test]
    #[cfg(feature = "std")]
    fn test_parse_files_empty_define_does_not_clobber() {
        use std::io::Write as _;
        let dir = std::env::temp_dir().join("gotmpl_test_parse_files_empty_clobber");
        let _ = std::fs::create_dir_all(&dir);

        let a = dir.join("a.tmpl");
        let b = dir.join("b.tmpl");
        std::fs::File::create(&a)
            .unwrap()
            .write_all(br#"{{define "x"}}content{{end}}"#)
            .unwrap();
        std::fs::File::create(&b)
            .unwrap()
            .write_all(br#"{{define "x"}}{{end}}"#)
            .unwrap();

        let tmpl = Template::new("t")
            .parse(r#"{{template "x"}}"#)
            .unwrap()
            .parse_files(&[a.to_str().unwrap(), b.to_str().unwrap()])
            .unwrap();
        assert_eq!(tmpl.execute_to_string(&Value::Nil).unwrap(), "content");

        let _ = std::fs::remove_dir_all(&dir);
    }

    // Go parity: `Template::new("X").parse("{{define \"X\"}}body{{end}}")`
    // makes both `execute` and `execute_template("X")` render the define body.
    // Go's parse.(*Tree).add leaves the non-empty define in the treeSet slot,
    // and AddParseTree then syncs t.Tree with it.
    #[test]
    fn test_parse_define_name_matches_receiver_syncs_tree() {
        let tmpl = Template::new("X")
            .parse(r#"{{define "X"}}body{{end}}"#)
            .unwrap();
        assert_eq!(tmpl.execute_to_string(&Value::Nil).unwrap(), "body");
        assert_eq!(
            tmpl.execute_template_to_string("X", &Value::Nil).unwrap(),
            "body"
        );
    }

    // Go parity: a non-empty top-level plus an *empty* same-name `{{define}}`
    // is not a collision. Go's `parse.(*Tree).add` drops the empty define and
    // leaves the non-empty top-level in the treeSet slot. A regression here
    // (empty define clobbering the top-level tree via sync) would render "".
    #[test]
    fn test_parse_toplevel_and_empty_same_name_define_keeps_toplevel() {
        let tmpl = Template::new("X")
            .parse(r#"toplevel{{define "X"}}{{end}}"#)
            .unwrap();
        assert_eq!(tmpl.execute_to_string(&Value::Nil).unwrap(), "toplevel");
        assert_eq!(
            tmpl.execute_template_to_string("X", &Value::Nil).unwrap(),
            "toplevel"
        );
    }

    // Go parity: a later `Parse` call whose top-level name matches the receiver
    // replaces the prior body, even when an earlier `Parse` installed a
    // `{{define name}}` of the same name. A regression that unconditionally
    // re-syncs from `self.defines[self.name]` would resurrect the old body.
    #[test]
    fn test_parse_second_call_toplevel_replaces_prior_same_name_define() {
        let tmpl = Template::new("X")
            .parse(r#"{{define "X"}}body{{end}}"#)
            .unwrap()
            .parse("newtop")
            .unwrap();
        assert_eq!(tmpl.execute_to_string(&Value::Nil).unwrap(), "newtop");
        assert_eq!(
            tmpl.execute_template_to_string("X", &Value::Nil).unwrap(),
            "newtop"
        );
    }

    // Go parity: `ParseFiles` analogue of the non-empty-top + empty-same-name
    // define case. File "X" contains `toplevel{{define "X"}}{{end}}`, receiver
    // is "X". Go's treeSet["X"] keeps the top-level; the empty define is
    // dropped. A regression would render "".
    #[test]
    #[cfg(feature = "std")]
    fn test_parse_files_toplevel_and_empty_same_name_define_keeps_toplevel() {
        use std::io::Write as _;
        let dir =
            std::env::temp_dir().join("gotmpl_test_parse_files_toplevel_empty_define_keeps_top");
        let _ = std::fs::create_dir_all(&dir);

        let path = dir.join("X");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(br#"toplevel{{define "X"}}{{end}}"#)
            .unwrap();

        let tmpl = Template::new("X")
            .parse_files(&[path.to_str().unwrap()])
            .unwrap();
        assert_eq!(tmpl.execute_to_string(&Value::Nil).unwrap(), "toplevel");
        assert_eq!(
            tmpl.execute_template_to_string("X", &Value::Nil).unwrap(),
            "toplevel"
        );

        let _ = std::fs::remove_dir_all(&dir);
    }

    // Go parity: a non-empty top-level plus a non-empty `{{define name}}` where
    // name matches the receiver is `template: multiple definition of template`.
    #[test]
    fn test_parse_toplevel_and_same_name_define_errors() {
        let err = Template::new("X")
            .parse(r#"toplevel {{define "X"}}body{{end}}"#)
            .err()
            .expect("expected multiple-definition error");
        assert!(
            err.to_string()
                .contains(r#"multiple definition of template "X""#),
            "unexpected error message: {err}"
        );
    }

    // Go parity: `ParseFiles` on a file whose basename matches the receiver
    // and whose only content is `{{define basename}}body{{end}}` renders
    // `body` for both `execute` and `execute_template(basename)`.
    #[test]
    #[cfg(feature = "std")]
    fn test_parse_files_define_name_matches_basename_syncs_tree() {
        use std::io::Write as _;
        let dir = std::env::temp_dir().join("gotmpl_test_parse_files_basename_define_sync");
        let _ = std::fs::create_dir_all(&dir);

        let path = dir.join("X");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(br#"{{define "X"}}body{{end}}"#)
            .unwrap();

        let tmpl = Template::new("X")
            .parse_files(&[path.to_str().unwrap()])
            .unwrap();
        assert_eq!(tmpl.execute_to_string(&Value::Nil).unwrap(), "body");
        assert_eq!(
            tmpl.execute_template_to_string("X", &Value::Nil).unwrap(),
            "body"
        );

        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn test_html_escape() {
        assert_eq!(html_escape("<b>hi</b>"), "&lt;b&gt;hi&lt;/b&gt;");
        assert_eq!(html_escape("a&b"), "a&amp;b");
    }

    #[test]
    fn test_js_escape() {
        assert_eq!(js_escape("a'b"), "a\\'b");
    }

    #[test]
    fn test_url_encode() {
        // Form-encoding: space → '+', matching Go's url.QueryEscape.
        assert_eq!(url_encode("hello world"), "hello+world");
    }
}
