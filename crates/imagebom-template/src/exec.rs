//! Template execution engine: walks the AST and writes output, following Go's
//! `text/template/exec.go` step by step (including which node an error is
//! reported at). Functions that need the template set (Helm's `include` and `tpl`) are
//! registered `StateFunc`s, called with the execution's `State` (`crate::function`).
//!
//! # Execution model
//!
//! - **dot**: the current context value (changes inside `range`/`with`).
//! - **variables**: one flat stack with marks, as in Go (a variable declared in
//!   an `if` body lives until that `if`'s `{{end}}`).
//! - **the current node**: updated where Go calls `state.at(node)`, so errors
//!   name the same node and `line:col` as Go.
//! - **limits**: output size, range iterations, call depth, built values (see [`Limits`]).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::parse::SmolStr;

#[cfg(feature = "std")]
use std::any::Any;
#[cfg(feature = "std")]
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::{ErrorLocation, ExecError, Result, TemplateError};
use crate::go::type_name as go_type_name;
use crate::parse::{
    BranchNode, CommandNode, DefineNode, Expr, ListNode, Node, Number, PipeNode, TemplateNode,
};
use crate::value::ValueFunc;
use crate::value::{Dict, Value};

/// Controls behavior when accessing a missing key on a [`Value::Map`]. Set via
/// [`Template::missing_key`](crate::Template::missing_key).
///
/// Parseable from strings through [`FromStr`](core::str::FromStr): `"invalid"`,
/// `"default"`, `"zero"`, and `"error"`.
///
/// ```
/// use imagebom_template::MissingKey;
///
/// let mk: MissingKey = "error".parse().unwrap();
/// assert_eq!(mk, MissingKey::Error);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum MissingKey {
    /// Go's default: a missing key yields "no value"; a further field access on
    /// it yields "no value" again.
    #[default]
    Invalid,
    /// Go's `missingkey=zero` (what Helm uses): a missing key of a
    /// `map[string]interface{}` yields a nil interface, printed `<no value>`;
    /// a further field access on it fails with
    /// `nil pointer evaluating interface {}.NAME`.
    ZeroValue,
    /// Go's `missingkey=error`: `map has no entry for key "NAME"`.
    Error,
}

impl core::fmt::Display for MissingKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MissingKey::Invalid => f.write_str("invalid"),
            MissingKey::ZeroValue => f.write_str("zero"),
            MissingKey::Error => f.write_str("error"),
        }
    }
}

impl core::str::FromStr for MissingKey {
    type Err = TemplateError;

    fn from_str(s: &str) -> core::result::Result<Self, Self::Err> {
        match s {
            "invalid" | "default" => Ok(MissingKey::Invalid),
            "zero" => Ok(MissingKey::ZeroValue),
            "error" => Ok(MissingKey::Error),
            _ => Err(TemplateError::Exec(format!(
                "unrecognized missingkey value: {s:?}"
            ))),
        }
    }
}

/// Which Go release's `text/template` messages to reproduce where they changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GoSemantics {
    /// Go 1.19 (the default): `incompatible types for comparison`,
    /// `non-function of type T`.
    #[default]
    Go119,
    /// The current Go that Helm v4 is built with: comparison errors name the
    /// types (`incompatible types for comparison: float64 and int`) and `call`
    /// names its callee (`non-function .Values.f of type float64`). Use it for
    /// Helm rendering.
    Helm,
}

/// Resource limits of one execution (and of parsing). Every limit, when hit,
/// fails with a [`TemplateError::Limit`] (or a Go-formatted execution error)
/// that names the limit and the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes one execution may produce, counting the output of `include`
    /// and `tpl` as they are built. Default 64 MiB.
    pub max_output_bytes: usize,
    /// Most `{{range}}` iterations in one execution, all loops together.
    /// Default 10,000,000; 0 disables the limit.
    pub max_range_iters: u64,
    /// Deepest nesting of `{{template}}` calls (Go allows 100,000; this engine
    /// keeps its stack bounded). Default 10,000.
    pub max_template_depth: usize,
    /// Deepest nesting of `template`, `include` and `tpl` calls together.
    /// Default 20,000.
    pub max_call_depth: usize,
    /// Deepest nesting of `tpl` calls. Helm has no limit (a self-recursive
    /// `tpl` overflows Go's stack); default 1,000.
    pub max_tpl_depth: usize,
    /// Largest template source accepted by the parser. Default 16 MiB.
    pub max_source_bytes: usize,
    /// Longest string a function may return. Default 64 MiB.
    pub max_string_bytes: usize,
    /// Most elements of a list, or entries of a map, a function may return.
    /// Default 1,000,000.
    pub max_collection_len: usize,
    /// Most bytes the values functions return may add up to in one execution
    /// (string bytes, 16 per list element, 64 per map entry; a value passed on
    /// unchanged counts again). Default 256 MiB.
    pub max_alloc_bytes: u64,
    /// Deepest nesting of maps and lists in a value a function returns.
    /// Default 1,000 (values files are bounded at 128 by the YAML reader).
    pub max_value_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_output_bytes: 64 * 1024 * 1024,
            max_range_iters: DEFAULT_MAX_RANGE_ITERS,
            max_template_depth: 10_000,
            max_call_depth: 20_000,
            max_tpl_depth: 1_000,
            max_source_bytes: 16 * 1024 * 1024,
            max_string_bytes: crate::sprig::MAX_STRING_BYTES,
            max_collection_len: crate::sprig::MAX_LIST_LEN,
            max_alloc_bytes: 256 << 20,
            max_value_depth: crate::value::MAX_VALUE_DEPTH,
        }
    }
}

/// Default per-execution iteration budget across all `{{range}}` loops.
pub(crate) const DEFAULT_MAX_RANGE_ITERS: u64 = 10_000_000;

/// Helm's `recursionMaxNums`: an `include` of a name already being included
/// more than this many times fails.
pub(crate) const HELM_INCLUDE_RECURSION_MAX: usize = 1000;

/// One parsed template of a set: its body and where it came from (for errors).
#[derive(Debug)]
pub(crate) struct Tree {
    /// The template's name (a `define` name or the file name).
    pub(crate) name: Arc<str>,
    /// The name of the source it was parsed from (Go's `ParseName`).
    pub(crate) parse_name: Arc<str>,
    /// The whole source text it was parsed from (for `line:col` of errors).
    pub(crate) src: Arc<str>,
    /// The body.
    pub(crate) root: ListNode,
}

impl Tree {
    pub(crate) fn new(name: &str, parse_name: &Arc<str>, src: &Arc<str>, root: ListNode) -> Self {
        Tree {
            name: Arc::from(name),
            parse_name: parse_name.clone(),
            src: src.clone(),
            root,
        }
    }
}

/// Named templates of a set.
pub(crate) type TreeSet = BTreeMap<String, Arc<Tree>>;

/// A parsed source: its top-level tree and its `define`d trees, in order.
pub(crate) type ParsedSource = (Arc<Tree>, Vec<(String, Arc<Tree>)>);

/// Read-only configuration of one execution.
pub(crate) struct Config<'a> {
    pub(crate) funcs: &'a BTreeMap<String, ValueFunc>,
    pub(crate) templates: &'a TreeSet,
    /// The set's own name: Helm names `tpl` templates after it (`gotpl`).
    pub(crate) set_name: &'a str,
    pub(crate) left_delim: &'a str,
    pub(crate) right_delim: &'a str,
    pub(crate) missing_key: MissingKey,
    pub(crate) limits: Limits,
    pub(crate) go: GoSemantics,
}

// Internal control-flow signaling

/// Either a real error or a `{{break}}`/`{{continue}}` signal.
enum ExecSignal {
    Err(Box<TemplateError>),
    Break,
    Continue,
}

impl From<TemplateError> for ExecSignal {
    fn from(e: TemplateError) -> Self {
        ExecSignal::Err(Box::new(e))
    }
}

impl From<core::fmt::Error> for ExecSignal {
    fn from(_: core::fmt::Error) -> Self {
        ExecSignal::Err(Box::new(TemplateError::Write))
    }
}

type ExecResult<T> = core::result::Result<T, ExecSignal>;

/// Kinds of nodes Go's executor points its errors at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nk {
    Action,
    If,
    Range,
    With,
    Template,
    Pipe,
    Command,
    Field,
    Variable,
    Chain,
    Identifier,
    Dot,
    Nil,
    Bool,
    Number,
    String,
    Text,
    Break,
    Continue,
}

fn expr_kind(e: &Expr) -> Nk {
    match e {
        Expr::Dot(_) => Nk::Dot,
        Expr::Field(..) => Nk::Field,
        Expr::Variable(..) => Nk::Variable,
        Expr::Identifier(..) => Nk::Identifier,
        Expr::String(..) => Nk::String,
        Expr::Number(..) => Nk::Number,
        Expr::Bool(..) => Nk::Bool,
        Expr::Nil(_) => Nk::Nil,
        Expr::Pipe(..) => Nk::Pipe,
        Expr::Chain(..) => Nk::Chain,
    }
}

/// A value flowing through a field chain: Go distinguishes a nil interface
/// (a map entry or list element holding nil, or a missing key under
/// `missingkey=zero`) from "no value" (a missing key by default, or nil data).
#[derive(Clone)]
struct Recv {
    val: Value,
    /// The value sits in an `interface{}` (it came out of a map or list).
    iface: bool,
}

/// The template execution context.
pub(crate) struct Executor<'a> {
    cfg: &'a Config<'a>,
    /// Template layers added by `tpl` (innermost last), searched before the set.
    overlays: Vec<Arc<TreeSet>>,
    vars: Vec<(SmolStr, Value, bool)>,
    /// The template being executed (for error context).
    tmpl: Arc<Tree>,
    /// Go's `state.node`.
    node: Option<(Nk, usize)>,
    /// Whether dot is an element taken out of a list or map (an `interface{}`).
    dot_iface: bool,
    /// Go's per-state template depth.
    template_depth: usize,
    /// Nesting of template, include and tpl calls together.
    call_depth: usize,
    tpl_depth: usize,
    included: BTreeMap<String, usize>,
    range_iters_remaining: u64,
    output_remaining: usize,
    alloc_remaining: u64,
    /// Whether the last field chain ended on a nil held in an `interface{}`.
    last_nil_iface: bool,
    /// Per evaluated argument of the current call: whether it is a nil held in an
    /// `interface{}` (Go's `len of nil pointer`, `got interface {}`).
    arg_nil_iface: Vec<bool>,
    /// Per evaluated argument of the current call: the node evaluation stopped at
    /// (inside a parenthesised pipeline, where Go reports its type error).
    arg_end: Vec<Option<(Nk, usize)>>,
}

/// The frame state saved around a call into another template.
struct Frame {
    vars: Vec<(SmolStr, Value, bool)>,
    tmpl: Arc<Tree>,
    node: Option<(Nk, usize)>,
    dot_iface: bool,
    template_depth: usize,
}

const STACK_RED_ZONE: usize = 128 * 1024;
const STACK_SEGMENT: usize = 4 * 1024 * 1024;

/// Runs `f` with enough stack for one more level of template nesting.
fn with_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, f)
}

impl<'a> Executor<'a> {
    pub(crate) fn new(cfg: &'a Config<'a>, tmpl: Arc<Tree>) -> Self {
        let limits = cfg.limits;
        Executor {
            cfg,
            overlays: Vec::new(),
            vars: Vec::new(),
            tmpl,
            node: None,
            dot_iface: false,
            template_depth: 0,
            call_depth: 0,
            tpl_depth: 0,
            included: BTreeMap::new(),
            range_iters_remaining: if limits.max_range_iters == 0 {
                u64::MAX
            } else {
                limits.max_range_iters
            },
            output_remaining: limits.max_output_bytes,
            alloc_remaining: limits.max_alloc_bytes,
            last_nil_iface: false,
            arg_nil_iface: Vec::new(),
            arg_end: Vec::new(),
        }
    }

    /// Executes the executor's template with `data` as dot and `$`.
    pub(crate) fn execute<W: Write>(&mut self, w: &mut W, data: &Value) -> Result<()> {
        let tree = self.tmpl.clone();
        self.vars
            .push((SmolStr::new_static("$"), data.clone(), false));
        let r = self.walk(w, &tree.root, data);
        self.finish(r)
    }

    fn finish(&self, r: ExecResult<()>) -> Result<()> {
        match r {
            Ok(()) => Ok(()),
            Err(ExecSignal::Err(e)) => Err(*e),
            Err(ExecSignal::Break) | Err(ExecSignal::Continue) => Err(TemplateError::Exec(
                "unexpected break or continue outside of range".into(),
            )),
        }
    }

    // ----- errors -----

    fn at(&mut self, kind: Nk, offset: usize) {
        self.node = Some((kind, offset));
    }

    fn at_expr(&mut self, e: &Expr) {
        self.node = Some((expr_kind(e), e.pos().offset));
    }

    /// Go's `state.errorf`: an error located at the current node.
    fn errorf(&self, message: impl Into<String>) -> ExecSignal {
        self.error_at(message.into(), None)
    }

    /// Go's `error calling NAME: MSG` at the current node, keeping the function's error.
    fn call_error(&self, name: &str, msg: &str, cause: TemplateError) -> ExecSignal {
        let call = crate::error::FailedCall {
            function: name.to_string(),
            cause: Arc::new(cause),
        };
        self.error_at(format!("error calling {name}: {msg}"), Some(call))
    }

    fn error_at(&self, message: String, call: Option<crate::error::FailedCall>) -> ExecSignal {
        let tmpl = &self.tmpl;
        let location = self.node.map(|(kind, offset)| {
            let (line, col) = line_col(&tmpl.src, offset);
            let context = find_context(&tmpl.root, kind, offset, &tmpl.src).unwrap_or_default();
            ErrorLocation {
                parse_name: tmpl.parse_name.to_string(),
                line,
                col,
                context,
            }
        });
        ExecSignal::Err(Box::new(TemplateError::Execution(Box::new(ExecError {
            template: tmpl.name.to_string(),
            location,
            message,
            call,
        }))))
    }

    fn limit_error(&self, what: String) -> ExecSignal {
        ExecSignal::Err(Box::new(TemplateError::Limit(format!(
            "template {}: {what}",
            crate::go::go_quote(&self.tmpl.name)
        ))))
    }

    /// A limit error that also names the line and column of the current node.
    fn limit_error_at(&self, what: String) -> ExecSignal {
        match self.node {
            Some((_, offset)) => {
                let (line, col) = line_col(&self.tmpl.src, offset);
                let at = format!("{}:{line}:{col}", self.tmpl.parse_name);
                self.limit_error(format!("{at}: {what}"))
            }
            None => self.limit_error(what),
        }
    }

    // ----- output -----

    fn emit<W: Write>(&mut self, w: &mut W, s: &str) -> ExecResult<()> {
        if s.len() > self.output_remaining {
            return Err(self.limit_error(format!(
                "output exceeds the limit of {} bytes (max_output_bytes)",
                self.cfg.limits.max_output_bytes
            )));
        }
        self.output_remaining -= s.len();
        w.write_str(s)?;
        Ok(())
    }

    /// Checks a value function `name` returned against the size limits and
    /// counts it against the allocation budget (lengths only: no walk).
    fn count_built(&mut self, name: &str, v: &mut Value) -> core::result::Result<(), String> {
        let l = &self.cfg.limits;
        let depth = match v {
            Value::Map(d) => d.renew_nesting(),
            Value::List(_) | Value::Typed(_) => crate::value::nesting(v),
            _ => 0,
        } as usize;
        if depth > l.max_value_depth {
            return Err(format!(
                "{name} built a value nested {depth} deep, over the limit of {} (max_value_depth)",
                l.max_value_depth
            ));
        }
        let (what, len, max, bytes, field) = match v.untyped() {
            Value::String(s) => (
                "string of",
                s.len(),
                l.max_string_bytes,
                s.len(),
                "max_string_bytes",
            ),
            Value::List(x) => (
                "list of",
                x.len(),
                l.max_collection_len,
                x.len() * 16,
                "max_collection_len",
            ),
            Value::Map(m) => (
                "map of",
                m.len(),
                l.max_collection_len,
                m.len() * 64,
                "max_collection_len",
            ),
            _ => return Ok(()),
        };
        if len > max {
            let unit = if what == "string of" {
                "bytes"
            } else {
                "elements"
            };
            return Err(format!(
                "{name} built a {what} {len} {unit}, over the limit of {max} ({field})"
            ));
        }
        let bytes = bytes as u64;
        if bytes > self.alloc_remaining {
            return Err(format!(
                "values built exceed the limit of {} bytes (max_alloc_bytes) at {name}",
                l.max_alloc_bytes
            ));
        }
        self.alloc_remaining -= bytes;
        Ok(())
    }

    // ----- lookup -----

    fn lookup(&self, name: &str) -> Option<Arc<Tree>> {
        for layer in self.overlays.iter().rev() {
            if let Some(t) = layer.get(name) {
                return Some(t.clone());
            }
        }
        self.cfg.templates.get(name).cloned()
    }

    // ----- variables -----

    /// A variable's value and whether it holds an element taken out of a list or
    /// map (an `interface{}`: a nil there fails on field access, as in Go).
    fn var_value(&self, name: &str) -> ExecResult<(Value, bool)> {
        for (n, v, iface) in self.vars.iter().rev() {
            if n.as_str() == name {
                return Ok((v.clone(), *iface));
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    fn set_var(&mut self, name: &str, value: Value) -> ExecResult<()> {
        for (n, v, iface) in self.vars.iter_mut().rev() {
            if n.as_str() == name {
                *v = value;
                *iface = false;
                return Ok(());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    fn set_top_var(&mut self, n: usize, value: Value, iface: bool) {
        let len = self.vars.len();
        if n <= len {
            self.vars[len - n].1 = value;
            self.vars[len - n].2 = iface;
        }
    }

    // ----- walking -----

    fn walk<W: Write>(&mut self, w: &mut W, list: &ListNode, dot: &Value) -> ExecResult<()> {
        for node in &list.nodes {
            self.walk_node(w, node, dot)?;
        }
        Ok(())
    }

    fn walk_node<W: Write>(&mut self, w: &mut W, node: &Node, dot: &Value) -> ExecResult<()> {
        match node {
            Node::Text(text) => self.emit(w, &text.text),
            Node::Action(action) => {
                self.at(Nk::Action, action.pos.offset);
                let val = self.eval_pipeline(dot, &action.pipe)?;
                if action.pipe.decl.is_empty() {
                    self.at(Nk::Action, action.pos.offset);
                    self.print_value(w, &val)?;
                }
                Ok(())
            }
            Node::If(branch) => {
                self.at(Nk::If, branch.pos.offset);
                self.walk_if_or_with(w, branch, dot, false)
            }
            Node::With(branch) => {
                self.at(Nk::With, branch.pos.offset);
                self.walk_if_or_with(w, branch, dot, true)
            }
            Node::Range(branch) => self.walk_range(w, branch, dot),
            Node::Template(t) => self.walk_template(w, t, dot),
            Node::Define(_) => Ok(()),
            Node::List(list) => self.walk(w, list, dot),
            Node::Break(_) => Err(ExecSignal::Break),
            Node::Continue(_) => Err(ExecSignal::Continue),
        }
    }

    fn print_value<W: Write>(&mut self, w: &mut W, val: &Value) -> ExecResult<()> {
        match val {
            Value::Nil => self.emit(w, "<no value>"),
            Value::String(s) => self.emit(w, s),
            other => {
                let s = other.to_string();
                self.emit(w, &s)
            }
        }
    }

    fn walk_if_or_with<W: Write>(
        &mut self,
        w: &mut W,
        branch: &BranchNode,
        dot: &Value,
        with: bool,
    ) -> ExecResult<()> {
        let mark = self.vars.len();
        let r = (|| {
            let val = self.eval_pipeline(dot, &branch.pipe)?;
            if val.is_truthy() {
                if with {
                    let saved = core::mem::replace(&mut self.dot_iface, false);
                    let r = self.walk(w, &branch.body, &val);
                    self.dot_iface = saved;
                    r
                } else {
                    self.walk(w, &branch.body, dot)
                }
            } else if let Some(else_body) = &branch.else_body {
                self.walk(w, else_body, dot)
            } else {
                Ok(())
            }
        })();
        self.vars.truncate(mark);
        r
    }

    fn walk_range<W: Write>(&mut self, w: &mut W, r: &BranchNode, dot: &Value) -> ExecResult<()> {
        self.at(Nk::Range, r.pos.offset);
        let mark = self.vars.len();
        let res = self.walk_range_inner(w, r, dot);
        self.vars.truncate(mark);
        match res {
            Err(ExecSignal::Break) => Ok(()),
            other => other,
        }
    }

    fn one_iteration<W: Write>(
        &mut self,
        w: &mut W,
        r: &BranchNode,
        index: Value,
        elem: &Value,
        iface: bool,
    ) -> ExecResult<()> {
        if self.range_iters_remaining == 0 {
            return Err(self.limit_error(format!(
                "range iterations exceed the limit of {} (max_range_iters)",
                self.cfg.limits.max_range_iters
            )));
        }
        self.range_iters_remaining -= 1;
        let decl = &r.pipe.decl;
        if !decl.is_empty() {
            if r.pipe.is_assign {
                if decl.len() > 1 {
                    self.set_var(&decl[0], index)?;
                    self.set_var(&decl[1], elem.clone())?;
                } else {
                    self.set_var(&decl[0], elem.clone())?;
                }
            } else {
                self.set_top_var(1, elem.clone(), iface);
                if decl.len() > 1 {
                    self.set_top_var(2, index, false);
                }
            }
        }
        let mark = self.vars.len();
        let saved = core::mem::replace(&mut self.dot_iface, iface);
        let res = self.walk(w, &r.body, elem);
        self.dot_iface = saved;
        self.vars.truncate(mark);
        match res {
            Err(ExecSignal::Continue) => Ok(()),
            other => other,
        }
    }

    fn walk_range_inner<W: Write>(
        &mut self,
        w: &mut W,
        r: &BranchNode,
        dot: &Value,
    ) -> ExecResult<()> {
        let val = self.eval_pipeline(dot, &r.pipe)?;
        match val.untyped() {
            Value::List(items) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    self.one_iteration(w, r, Value::Int(i as i64), item, true)?;
                }
                return Ok(());
            }
            Value::Map(map) if !map.is_empty() => {
                for (k, v) in map.entries() {
                    self.one_iteration(w, r, Value::String(k), &v, true)?;
                }
                return Ok(());
            }
            Value::List(_) | Value::Map(_) | Value::Nil => {}
            Value::Int(n) => {
                // Go 1.22+: range over an integer.
                if r.pipe.decl.len() > 1 {
                    return Err(self.errorf(format!(
                        "can't use {n} to iterate over more than one variable"
                    )));
                }
                if *n > 0 {
                    for i in 0..*n {
                        let v = Value::Int(i);
                        self.one_iteration(w, r, v.clone(), &v, false)?;
                    }
                    return Ok(());
                }
            }
            Value::Uint(n) => {
                if r.pipe.decl.len() > 1 {
                    return Err(self.errorf(format!(
                        "can't use {n} to iterate over more than one variable"
                    )));
                }
                if *n > 0 {
                    for i in 0..*n {
                        let v = Value::Uint(i);
                        self.one_iteration(w, r, v.clone(), &v, false)?;
                    }
                    return Ok(());
                }
            }
            other => {
                return Err(self.errorf(format!("range can't iterate over {other}")));
            }
        }
        if let Some(else_body) = &r.else_body {
            self.walk(w, else_body, dot)?;
        }
        Ok(())
    }

    fn enter_call(&mut self) -> ExecResult<()> {
        if self.call_depth >= self.cfg.limits.max_call_depth {
            return Err(self.limit_error(format!(
                "template, include and tpl calls nest deeper than the limit of {} (max_call_depth)",
                self.cfg.limits.max_call_depth
            )));
        }
        self.call_depth += 1;
        Ok(())
    }

    fn save_frame(&mut self, tmpl: Arc<Tree>, dot: &Value, depth: usize) -> Frame {
        let vars = core::mem::replace(
            &mut self.vars,
            alloc::vec![(SmolStr::new_static("$"), dot.clone(), false)],
        );
        Frame {
            vars,
            tmpl: core::mem::replace(&mut self.tmpl, tmpl),
            node: self.node.take(),
            dot_iface: core::mem::replace(&mut self.dot_iface, false),
            template_depth: core::mem::replace(&mut self.template_depth, depth),
        }
    }

    fn restore_frame(&mut self, f: Frame) {
        self.vars = f.vars;
        self.tmpl = f.tmpl;
        self.node = f.node;
        self.dot_iface = f.dot_iface;
        self.template_depth = f.template_depth;
    }

    fn walk_template<W: Write>(
        &mut self,
        w: &mut W,
        t: &TemplateNode,
        dot: &Value,
    ) -> ExecResult<()> {
        self.at(Nk::Template, t.pos.offset);
        let Some(tree) = self.lookup(&t.name) else {
            return Err(self.errorf(format!(
                "template {} not defined",
                crate::go::go_quote(&t.name)
            )));
        };
        if self.template_depth >= self.cfg.limits.max_template_depth {
            return Err(self.errorf(format!(
                "exceeded maximum template depth ({})",
                self.cfg.limits.max_template_depth
            )));
        }
        let new_dot = match &t.pipe {
            Some(pipe) => self.eval_pipeline(dot, pipe)?,
            None => Value::Nil,
        };
        self.enter_call()?;
        let depth = self.template_depth + 1;
        let frame = self.save_frame(tree.clone(), &new_dot, depth);
        let r = with_stack(|| self.walk(w, &tree.root, &new_dot));
        self.restore_frame(frame);
        self.call_depth -= 1;
        r
    }

    // ----- evaluation -----

    fn eval_pipeline(&mut self, dot: &Value, pipe: &PipeNode) -> ExecResult<Value> {
        self.at(Nk::Pipe, pipe.pos.offset);
        let mut value: Option<Value> = None;
        for cmd in &pipe.commands {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Value::Nil);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name.clone(), value.clone(), false));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Expr], has_final: bool) -> ExecResult<()> {
        if args.len() > 1 || has_final {
            let src = self.tmpl.src.clone();
            return Err(self.errorf(format!(
                "can't give argument to non-function {}",
                expr_string(&args[0], &src)
            )));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &Value,
        cmd: &CommandNode,
        fin: Option<Value>,
    ) -> ExecResult<Value> {
        let first = &cmd.args[0];
        match first {
            Expr::Field(pos, fields) => {
                return self.eval_field_node(dot, pos.offset, fields, &cmd.args, fin);
            }
            Expr::Chain(pos, inner, fields) => {
                return self.eval_chain_node(dot, pos.offset, inner, fields, &cmd.args, fin);
            }
            Expr::Identifier(pos, name) => {
                return self.eval_function(dot, pos.offset, name, Some(cmd), &cmd.args, fin);
            }
            Expr::Pipe(_, pipe) => {
                self.not_a_function(&cmd.args, fin.is_some())?;
                return self.eval_pipeline(dot, pipe);
            }
            Expr::Variable(pos, name, fields) => {
                return self.eval_variable_node(dot, pos.offset, name, fields, &cmd.args, fin);
            }
            _ => {}
        }
        self.at_expr(first);
        self.not_a_function(&cmd.args, fin.is_some())?;
        match first {
            Expr::Bool(_, b) => Ok(Value::Bool(*b)),
            Expr::Dot(_) => Ok(dot.clone()),
            Expr::Nil(_) => Err(self.errorf("nil is not a command")),
            Expr::Number(pos, n) => self.ideal_constant(pos.offset, *n),
            Expr::String(_, s) => Ok(Value::String(s.clone())),
            _ => Err(self.errorf("can't evaluate command")),
        }
    }

    fn ideal_constant(&mut self, offset: usize, n: Number) -> ExecResult<Value> {
        self.at(Nk::Number, offset);
        match n {
            Number::Int(i) => Ok(Value::Int(i)),
            Number::Float(f) => Ok(Value::Float(f)),
            Number::Complex(re, im) => Ok(complex_value(re, im)),
            Number::Uint(_) => {
                let text = token_text(&self.tmpl.src, offset).to_string();
                Err(self.errorf(format!("{text} overflows int")))
            }
        }
    }

    fn eval_field_node(
        &mut self,
        dot: &Value,
        offset: usize,
        fields: &[SmolStr],
        args: &[Expr],
        fin: Option<Value>,
    ) -> ExecResult<Value> {
        self.at(Nk::Field, offset);
        let recv = Recv {
            val: dot.clone(),
            iface: self.dot_iface,
        };
        self.eval_field_chain(dot, recv, (Nk::Field, offset), fields, args, fin)
    }

    fn eval_chain_node(
        &mut self,
        dot: &Value,
        offset: usize,
        inner: &Expr,
        fields: &[SmolStr],
        args: &[Expr],
        fin: Option<Value>,
    ) -> ExecResult<Value> {
        self.at(Nk::Chain, offset);
        if matches!(inner, Expr::Nil(_)) {
            let src = self.tmpl.src.clone();
            let s = chain_string(inner, fields, &src);
            return Err(self.errorf(format!("indirection through explicit nil in {s}")));
        }
        let pipe = self.eval_arg(dot, inner)?;
        let recv = Recv {
            val: pipe,
            iface: false,
        };
        self.eval_field_chain(dot, recv, (Nk::Chain, offset), fields, args, fin)
    }

    fn eval_variable_node(
        &mut self,
        dot: &Value,
        offset: usize,
        name: &str,
        fields: &[SmolStr],
        args: &[Expr],
        fin: Option<Value>,
    ) -> ExecResult<Value> {
        self.at(Nk::Variable, offset);
        let (value, iface) = self.var_value(name)?;
        if fields.is_empty() {
            self.not_a_function(args, fin.is_some())?;
            self.last_nil_iface = iface && matches!(value, Value::Nil);
            return Ok(value);
        }
        let recv = Recv { val: value, iface };
        self.eval_field_chain(dot, recv, (Nk::Variable, offset), fields, args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Value,
        mut recv: Recv,
        node: (Nk, usize),
        idents: &[SmolStr],
        args: &[Expr],
        fin: Option<Value>,
    ) -> ExecResult<Value> {
        let n = idents.len();
        for ident in &idents[..n.saturating_sub(1)] {
            recv = self.eval_field(dot, ident, node, &[], None, recv)?;
        }
        let end = match idents.last() {
            Some(last) => self.eval_field(dot, last, node, args, fin, recv)?,
            None => recv,
        };
        self.last_nil_iface = end.iface && matches!(end.val, Value::Nil);
        Ok(end.val)
    }

    /// Go's `evalField` for maps (fields are keys; a function stored in a map is a
    /// method: called with the arguments that follow, or with none).
    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        node: (Nk, usize),
        args: &[Expr],
        fin: Option<Value>,
        recv: Recv,
    ) -> ExecResult<Recv> {
        // A named type's method (Helm's `VersionSet.Has`).
        if let Some(f) = match &recv.val {
            Value::Typed(t) => t.method(name),
            _ => None,
        } {
            let val = self.eval_call(dot, &f, node, node, name, args, fin)?;
            return Ok(Recv { val, iface: false });
        }
        // A named map type (a Go struct carried as a map) has its fields.
        let recv = match &recv.val {
            Value::Typed(t) if matches!(t.value, Value::Map(_)) => Recv {
                val: t.value.clone(),
                iface: recv.iface,
            },
            _ => recv,
        };
        match &recv.val {
            Value::Nil if !recv.iface => {
                if self.cfg.missing_key == MissingKey::Error {
                    return Err(self.errorf(format!(
                        "nil data; no entry for key {}",
                        crate::go::go_quote(name)
                    )));
                }
                Ok(Recv {
                    val: Value::Nil,
                    iface: false,
                })
            }
            Value::Nil => Err(self.errorf(format!("nil pointer evaluating interface {{}}.{name}"))),
            Value::Map(m) => {
                // Go looks for a method before a map key.
                if let Some(f) = m.method(name) {
                    let v = self.eval_call(dot, &f, node, node, name, args, fin)?;
                    return Ok(Recv {
                        val: v,
                        iface: false,
                    });
                }
                let found = m.get(name);
                if let Some(Value::Function(f)) = &found {
                    let f = f.clone();
                    let v = self.eval_call(dot, &f, node, node, name, args, fin)?;
                    return Ok(Recv {
                        val: v,
                        iface: false,
                    });
                }
                let has_args = args.len() > 1 || fin.is_some();
                if has_args {
                    return Err(self.errorf(format!("{name} is not a method but has arguments")));
                }
                match found {
                    Some(v) => Ok(Recv {
                        val: v,
                        iface: true,
                    }),
                    None => match self.cfg.missing_key {
                        MissingKey::Invalid => Ok(Recv {
                            val: Value::Nil,
                            iface: false,
                        }),
                        MissingKey::ZeroValue => Ok(Recv {
                            val: Value::Nil,
                            iface: true,
                        }),
                        MissingKey::Error => Err(self.errorf(format!(
                            "map has no entry for key {}",
                            crate::go::go_quote(name)
                        ))),
                    },
                }
            }
            other => {
                let typ = if recv.iface {
                    "interface {}"
                } else {
                    go_type_name(other)
                };
                Err(self.errorf(format!("can't evaluate field {name} in type {typ}")))
            }
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        offset: usize,
        name: &str,
        cmd: Option<&CommandNode>,
        args: &[Expr],
        fin: Option<Value>,
    ) -> ExecResult<Value> {
        self.at(Nk::Identifier, offset);
        let node = match cmd {
            Some(c) => (Nk::Command, c.pos.offset),
            None => (Nk::Identifier, offset),
        };
        if let Some(sf) = crate::function::state_func(name) {
            self.check_arity(name, sf.arity, args, fin.is_some())?;
            return self.eval_state_call(dot, sf, node, (Nk::Identifier, offset), name, args, fin);
        }
        if let Some(f) = self.cfg.funcs.get(name) {
            let f = f.clone();
            if (name == "and" || name == "or") && self.cfg.funcs_are_builtin(name) {
                return self.eval_and_or(dot, name, args, fin);
            }
            if let Some(arity) = builtin_arity(name)
                && self.cfg.funcs_are_builtin(name)
            {
                self.check_arity(name, arity, args, fin.is_some())?;
            }
            return self.eval_call(dot, &f, node, (Nk::Identifier, offset), name, args, fin);
        }
        Err(self.errorf(format!(
            "{} is not a defined function",
            crate::go::go_quote(name)
        )))
    }

    /// [`eval_call`](Self::eval_call) for a function that sees the execution's state
    /// (`include`, `tpl`): its output counts against the output limit as it is built, and
    /// a limit it hits stops the execution unwrapped.
    #[allow(clippy::too_many_arguments)]
    fn eval_state_call(
        &mut self,
        dot: &Value,
        sf: &crate::function::StateFunc,
        node: (Nk, usize),
        ident: (Nk, usize),
        name: &str,
        args: &[Expr],
        fin: Option<Value>,
    ) -> ExecResult<Value> {
        let has_final = fin.is_some();
        let argv = self.eval_args(dot, args, fin)?;
        let result = (sf.call)(&mut crate::function::State { ex: self }, &argv);
        let e = match result {
            Ok(v) => return Ok(v),
            Err(e @ TemplateError::Limit(_)) => return Err(e.into()),
            Err(e) => e,
        };
        let msg = e.function_message();
        if let TemplateError::BadArg { index, .. } = &e
            && let Some(located) =
                self.locate_type_error(&msg, &argv, args, has_final, ident, Some(*index))
        {
            return Err(located);
        }
        self.node = Some(node);
        Err(self.call_error(name, &msg, e))
    }

    fn check_arity(
        &self,
        name: &str,
        (min, max): (usize, Option<usize>),
        args: &[Expr],
        has_final: bool,
    ) -> ExecResult<()> {
        let given = args.len().saturating_sub(1);
        let num_in = given + usize::from(has_final);
        match max {
            None if num_in < min => Err(self.errorf(format!(
                "wrong number of args for {name}: want at least {min} got {given}"
            ))),
            Some(max) if num_in != max => Err(self.errorf(format!(
                "wrong number of args for {name}: want {max} got {num_in}"
            ))),
            _ => Ok(()),
        }
    }

    fn eval_and_or(
        &mut self,
        dot: &Value,
        name: &str,
        args: &[Expr],
        fin: Option<Value>,
    ) -> ExecResult<Value> {
        self.check_arity(name, (1, None), args, fin.is_some())?;
        let is_or = name == "or";
        let mut v = Value::Nil;
        for arg in args.iter().skip(1) {
            v = self.eval_arg(dot, arg)?;
            if v.is_truthy() == is_or {
                return Ok(v);
            }
        }
        if let Some(f) = fin {
            v = f;
        }
        Ok(v)
    }

    fn eval_args(
        &mut self,
        dot: &Value,
        args: &[Expr],
        fin: Option<Value>,
    ) -> ExecResult<Vec<Value>> {
        let mut argv = Vec::with_capacity(args.len() + 1);
        let mut flags = Vec::with_capacity(args.len());
        let mut ends = Vec::with_capacity(args.len());
        for arg in args.iter().skip(1) {
            self.last_nil_iface = false;
            let v = self.eval_arg(dot, arg)?;
            // Go's evalPipeline takes the value out of its interface: a nil from a
            // parenthesised pipeline is "no value"; dot keeps what it was given.
            flags.push(match arg {
                Expr::Pipe(..) => false,
                Expr::Dot(_) => self.dot_iface && matches!(v, Value::Nil),
                _ => self.last_nil_iface,
            });
            ends.push(self.node);
            argv.push(v);
        }
        self.arg_nil_iface = flags;
        self.arg_end = ends;
        if let Some(f) = fin {
            argv.push(f);
        }
        Ok(argv)
    }

    /// Go's `evalCall`: evaluate the arguments, call, wrap a failure as
    /// `error calling NAME: MSG` located at `node`.
    #[allow(clippy::too_many_arguments)]
    fn eval_call(
        &mut self,
        dot: &Value,
        f: &ValueFunc,
        node: (Nk, usize),
        ident: (Nk, usize),
        name: &str,
        args: &[Expr],
        fin: Option<Value>,
    ) -> ExecResult<Value> {
        let has_final = fin.is_some();
        let mut argv = self.eval_args(dot, args, fin)?;
        let typed_argv = untype_args(name, &mut argv);
        self.check_text_size(name, &argv, node)?;
        let mut result = invoke_func(name, f, &argv);
        while let Err(e) = &result {
            if !self.zero_invalid_nil(e, &mut argv, args) {
                break;
            }
            result = invoke_func(name, f, &argv);
        }
        match result {
            Ok(mut v) => match self.count_built(name, &mut v) {
                Ok(()) => Ok(v),
                Err(what) => {
                    self.node = Some(node);
                    Err(self.limit_error_at(what))
                }
            },
            Err(e) => {
                if matches!(e, TemplateError::Limit(_)) {
                    return Err(e.into());
                }
                let mut msg = e.function_message();
                // Go's len of "no value" (not a nil held in an interface) hits a
                // reflect panic; only a nil interface reads "len of nil pointer".
                if name == "len"
                    && matches!(e, TemplateError::NilPointer("len"))
                    && self.cfg.funcs_are_builtin("len")
                    && !self.arg_nil_iface.first().copied().unwrap_or(false)
                {
                    msg = "reflect: call of reflect.Value.Type on zero Value".into();
                }
                // Go checks the argument count and types in the executor, before
                // the call: such errors are not "error calling", and they are
                // located at the function (count) or at the argument (type).
                if msg.starts_with("wrong number of args for ") {
                    self.node = Some(ident);
                    return Err(self.errorf(msg));
                }
                if self.cfg.go == GoSemantics::Helm && self.cfg.funcs_are_builtin(name) {
                    // Go names the arguments' own types (int64, not int).
                    let shown = typed_argv.as_deref().unwrap_or(&argv);
                    msg = newer_go_message(name, msg, shown, args, &self.tmpl.src);
                }
                let index = match &e {
                    TemplateError::BadArg { index, .. } => Some(*index),
                    _ => None,
                };
                if let Some(located) =
                    self.locate_type_error(&msg, &argv, args, has_final, ident, index)
                {
                    return Err(located);
                }
                self.node = Some(node);
                Err(self.call_error(name, &msg, e))
            }
        }
    }

    /// Go has no such check: a function that builds text from its arguments
    /// (`printf`, `join`, …) fails when the text would exceed `max_string_bytes`.
    fn check_text_size(&mut self, name: &str, argv: &[Value], node: (Nk, usize)) -> ExecResult<()> {
        if !builds_text(name) {
            return Ok(());
        }
        let cap = self.cfg.limits.max_string_bytes;
        let mut size = TextSize {
            bytes: 0,
            nodes: 0,
            cap,
        };
        let over = argv.iter().any(|a| !size.add(a, name != "printf", 0));
        if over {
            self.node = Some(node);
            return Err(self.limit_error_at(format!(
                "{name} would build a string of more than {cap} bytes (max_string_bytes)"
            )));
        }
        Ok(())
    }

    /// Go's `validateType` of a nil that is not held in an interface (a variable, a
    /// parenthesised pipeline, the piped value, `nil`) for a map or slice parameter: the
    /// parameter's zero value, not an error. When the function rejected such an argument
    /// (`…; got interface {}`), it is replaced by a nil map or slice to call again.
    fn zero_invalid_nil(&self, e: &TemplateError, argv: &mut [Value], args: &[Expr]) -> bool {
        let msg = e.function_message();
        let Some(expected) = msg
            .strip_prefix("wrong type for value; expected ")
            .and_then(|r| r.strip_suffix("; got interface {}"))
        else {
            return false;
        };
        let j = match e {
            TemplateError::BadArg { index, .. } if *index < argv.len() => *index,
            _ => match argv.iter().position(|v| matches!(v, Value::Nil)) {
                Some(j) => j,
                None => return false,
            },
        };
        if !matches!(argv[j], Value::Nil) {
            return false;
        }
        let invalid = match args.get(j + 1) {
            None => true,
            Some(Expr::Pipe(..) | Expr::Nil(_)) => true,
            Some(Expr::Dot(_)) => !self.dot_iface,
            Some(Expr::Identifier(..)) => false,
            Some(_) => !self.arg_nil_iface.get(j).copied().unwrap_or(false),
        };
        argv[j] = match expected {
            _ if !invalid => return false,
            m if m.starts_with("map[") => Value::Map(Dict::nil_map()),
            l if l.starts_with("[]") => {
                Value::typed("[]interface {}", "slice", Value::List(Arc::from([])))
            }
            _ => return false,
        };
        true
    }

    /// Go's `validateType`/`evalString`… errors: find the argument whose type is
    /// named in `wrong type for value; expected T; got U` (or the nil one for
    /// `invalid value; expected T`) and report the error there, worded as Go
    /// words it for that kind of argument node.
    fn locate_type_error(
        &mut self,
        msg: &str,
        argv: &[Value],
        args: &[Expr],
        has_final: bool,
        ident: (Nk, usize),
        index: Option<usize>,
    ) -> Option<ExecSignal> {
        let (expected, got) =
            if let Some(rest) = msg.strip_prefix("wrong type for value; expected ") {
                let (e, g) = rest.split_once("; got ")?;
                (e, Some(g))
            } else {
                (msg.strip_prefix("invalid value; expected ")?, None)
            };
        let j = match index {
            Some(i) if i < argv.len() => i,
            _ => argv.iter().position(|v| match got {
                Some(g) => v.type_name() == g || (g == "uint64" && matches!(v, Value::Uint(_))),
                None => matches!(v, Value::Nil),
            })?,
        };
        let explicit = args.len().saturating_sub(1);
        if j >= explicit {
            // The piped value: Go reports it where evaluation stopped.
            if has_final && explicit == 0 {
                self.node = Some(ident);
            }
            return Some(self.errorf(msg.to_string()));
        }
        let arg = &args[j + 1];
        match arg {
            // Go validates a pipeline's value where its evaluation stopped.
            Expr::Pipe(..) => self.node = self.arg_end.get(j).copied().flatten(),
            _ => self.at_expr(arg),
        }
        let src = self.tmpl.src.clone();
        let nil_iface = self.arg_nil_iface.get(j).copied().unwrap_or(false);
        let literal_kind = match expected {
            "string" => Some("string"),
            "bool" => Some("bool"),
            "int" | "int64" | "int32" | "int8" | "int16" => Some("integer"),
            "uint" | "uint64" | "uint32" | "uint8" | "uint16" => Some("unsigned integer"),
            "float64" | "float32" => Some("float"),
            _ => None,
        };
        let text = match arg {
            Expr::Nil(_) => format!("cannot assign nil to {expected}"),
            Expr::String(..) | Expr::Number(..) | Expr::Bool(..) => match literal_kind {
                Some(k) => format!("expected {k}; found {}", expr_string(arg, &src)),
                None => format!(
                    "can't handle {} for arg of type {expected}",
                    expr_string(arg, &src)
                ),
            },
            _ if got.is_none() && nil_iface => {
                format!("wrong type for value; expected {expected}; got interface {{}}")
            }
            _ => msg.to_string(),
        };
        Some(self.errorf(text))
    }

    /// Go's `evalArg` for an `interface{}` parameter.
    fn eval_arg(&mut self, dot: &Value, n: &Expr) -> ExecResult<Value> {
        self.at_expr(n);
        match n {
            Expr::Dot(_) => Ok(dot.clone()),
            Expr::Nil(_) => Ok(Value::Nil),
            Expr::Field(pos, fields) => {
                self.eval_field_node(dot, pos.offset, fields, core::slice::from_ref(n), None)
            }
            Expr::Variable(pos, name, fields) => {
                self.eval_variable_node(dot, pos.offset, name, fields, &[], None)
            }
            Expr::Pipe(_, pipe) => self.eval_pipeline(dot, pipe),
            Expr::Identifier(pos, name) => {
                self.eval_function(dot, pos.offset, name, None, &[], None)
            }
            Expr::Chain(pos, inner, fields) => {
                self.eval_chain_node(dot, pos.offset, inner, fields, &[], None)
            }
            Expr::Bool(_, b) => Ok(Value::Bool(*b)),
            Expr::Number(pos, num) => self.ideal_constant(pos.offset, *num),
            Expr::String(_, s) => Ok(Value::String(s.clone())),
        }
    }

    // ----- Helm's include and tpl -----

    /// Helm's `include NAME DATA`.
    fn include(&mut self, name: &str, data: &Value) -> ExecResult<Value> {
        // The key is allocated only the first time a name is included.
        match self.included.get_mut(name) {
            Some(v) if *v > HELM_INCLUDE_RECURSION_MAX => {
                return Err(TemplateError::IncludeRecursion(name.to_string()).into());
            }
            Some(v) => *v += 1,
            None => {
                self.included.insert(name.to_string(), 1);
            }
        }
        let r = self.include_inner(name, data);
        if let Some(c) = self.included.get_mut(name) {
            *c = c.saturating_sub(1);
        }
        r
    }

    fn include_inner(&mut self, name: &str, data: &Value) -> ExecResult<Value> {
        let Some(tree) = self.lookup(name) else {
            return Err(TemplateError::UndefinedTemplate {
                name: name.into(),
                set: self.cfg.set_name.into(),
            }
            .into());
        };
        self.enter_call()?;
        let frame = self.save_frame(tree.clone(), data, 0);
        let mut buf = String::new();
        let r = with_stack(|| self.walk(&mut buf, &tree.root, data));
        self.restore_frame(frame);
        self.call_depth -= 1;
        match r {
            Ok(()) => Ok(Value::String(Arc::from(buf))),
            Err(ExecSignal::Break) | Err(ExecSignal::Continue) => Ok(Value::String(Arc::from(buf))),
            Err(e) => Err(e),
        }
    }

    /// Helm's `tpl TEXT DATA`: TEXT is parsed as a template named after the set
    /// in a copy of the current set (its defines do not leak out), then run.
    fn tpl(&mut self, text: &str, data: &Value) -> ExecResult<Value> {
        if self.tpl_depth >= self.cfg.limits.max_tpl_depth {
            return Err(self.limit_error(format!(
                "tpl calls nest deeper than the limit of {} (max_tpl_depth)",
                self.cfg.limits.max_tpl_depth
            )));
        }
        let set_name = self.cfg.set_name;
        let parse_name: Arc<str> = Arc::from(set_name);
        let src: Arc<str> = Arc::from(text);
        let parsed = parse_source(
            set_name,
            &parse_name,
            &src,
            self.cfg.left_delim,
            self.cfg.right_delim,
            self.cfg.limits.max_source_bytes,
            self.cfg.funcs,
        );
        let (root, defines) = match parsed {
            Ok(p) => p,
            Err(e) => {
                return Err(TemplateError::TplParse {
                    text: text.to_string(),
                    cause: Box::new(e),
                }
                .into());
            }
        };
        let mut layer = TreeSet::new();
        for (name, tree) in defines {
            if tree.root.is_empty_tree() && self.lookup(&name).is_some() {
                continue;
            }
            layer.insert(name, tree);
        }
        layer.insert(set_name.to_string(), root.clone());
        self.overlays.push(Arc::new(layer));
        self.tpl_depth += 1;
        let r = self.enter_call().and_then(|()| {
            let frame = self.save_frame(root.clone(), data, 0);
            let mut buf = String::new();
            let r = with_stack(|| self.walk(&mut buf, &root.root, data));
            self.restore_frame(frame);
            self.call_depth -= 1;
            r.map(|()| buf)
        });
        self.tpl_depth -= 1;
        self.overlays.pop();
        match r {
            Ok(buf) => Ok(Value::String(Arc::from(buf.replace("<no value>", "")))),
            Err(ExecSignal::Err(e)) => {
                if matches!(*e, TemplateError::Limit(_)) {
                    return Err(ExecSignal::Err(e));
                }
                Err(TemplateError::Tpl {
                    text: text.to_string(),
                    cause: e,
                }
                .into())
            }
            Err(other) => Err(other),
        }
    }
}

impl crate::function::State<'_, '_> {
    /// Helm's `include`: the output of template `name` run with `data`.
    pub(crate) fn include(&mut self, name: &str, data: &Value) -> Result<Value> {
        self.ex.include(name, data).map_err(signal_error)
    }

    /// Helm's `tpl`: `text` parsed in a layer over the set and run with `data`.
    pub(crate) fn tpl(&mut self, text: &str, data: &Value) -> Result<Value> {
        self.ex.tpl(text, data).map_err(signal_error)
    }
}

/// The error a function returns for a signal out of the template it ran.
fn signal_error(s: ExecSignal) -> TemplateError {
    match s {
        ExecSignal::Err(e) => *e,
        ExecSignal::Break | ExecSignal::Continue => {
            TemplateError::Exec("unexpected break or continue outside of range".into())
        }
    }
}

impl Config<'_> {
    /// Whether `name` still refers to Go's builtin (not replaced by a user function).
    fn funcs_are_builtin(&self, name: &str) -> bool {
        match (self.funcs.get(name), crate::funcs::builtin_ptr(name)) {
            (Some(f), Some(b)) => Arc::ptr_eq(f, &b),
            _ => false,
        }
    }
}

/// Go's nil `[]interface {}` (as Sprig's `concat` or `rest` of empty lists give it).
fn is_nil_slice(t: &crate::value::Typed) -> bool {
    t.go_type == "[]interface {}" && matches!(&t.value, Value::List(l) if l.is_empty())
}

/// Whether Sprig stores argument `i` of `name` as it is into a dict or list (the value of
/// `set`, the items of `list` and `append`…; `dict` keeps every type anyway): a nil slice
/// stays nil there.
fn stores_argument(name: &str, i: usize) -> bool {
    match name {
        "set" => i == 2,
        "list" | "tuple" => true,
        "append" | "push" | "prepend" | "mustAppend" | "mustPush" | "mustPrepend" => i == 1,
        _ => false,
    }
}

/// The newer Go wording of two builtin errors (see [`GoSemantics::Helm`]).
fn newer_go_message(name: &str, msg: String, argv: &[Value], args: &[Expr], src: &str) -> String {
    match name {
        "eq" | "ne" | "lt" | "le" | "gt" | "ge" if msg == "incompatible types for comparison" => {
            let first = argv.first();
            let other = match name {
                "eq" => argv.iter().skip(1).find(|v| {
                    !matches!(v, Value::Nil)
                        && first.is_some_and(|f| {
                            core::mem::discriminant(f.untyped())
                                != core::mem::discriminant(v.untyped())
                        })
                }),
                _ => argv.get(1),
            };
            match (first, other) {
                (Some(a), Some(b)) => format!("{msg}: {} and {}", a.type_name(), b.type_name()),
                _ => msg,
            }
        }
        "call" => match (msg.strip_prefix("non-function of type "), args.get(1)) {
            (Some(t), Some(callee)) => {
                format!("non-function {} of type {t}", expr_string(callee, src))
            }
            _ => msg,
        },
        _ => msg,
    }
}

/// Functions whose text result holds at least the text of their arguments (the
/// strings and map keys in them): checked against `max_string_bytes` before the
/// call, so a list holding one large string many times is not serialised first.
fn builds_text(name: &str) -> bool {
    matches!(
        name,
        "printf"
            | "print"
            | "println"
            | "cat"
            | "join"
            | "quote"
            | "squote"
            | "toString"
            | "toStrings"
            | "toYaml"
            | "mustToYaml"
            | "toYamlPretty"
            | "toJson"
            | "mustToJson"
            | "toPrettyJson"
            | "mustToPrettyJson"
            | "toRawJson"
            | "mustToRawJson"
            | "toToml"
    )
}

/// Most values [`TextSize`] visits before it counts the text as too large.
const TEXT_SIZE_MAX_NODES: usize = 10_000_000;

/// A lower bound of the text in values, counted until it passes `cap` bytes.
struct TextSize {
    bytes: usize,
    nodes: usize,
    cap: usize,
}

impl TextSize {
    /// Adds `v`'s strings and keys (scalar strings only when `scalars`); false once
    /// over the cap. Stops at nesting the encoders refuse anyway.
    fn add(&mut self, v: &Value, scalars: bool, depth: usize) -> bool {
        self.nodes += 1;
        if self.nodes > TEXT_SIZE_MAX_NODES {
            return false;
        }
        if depth > crate::value::MAX_VALUE_DEPTH {
            return true;
        }
        match v {
            Value::String(s) if scalars || depth > 0 => self.bytes += s.len(),
            Value::List(l) => {
                for x in l.iter() {
                    if !self.add(x, scalars, depth + 1) {
                        return false;
                    }
                }
            }
            Value::Map(m) => {
                for (k, x) in m.entries() {
                    self.bytes += k.len();
                    if !self.add(&x, scalars, depth + 1) {
                        return false;
                    }
                }
            }
            Value::Typed(t) => return self.add(&t.value, scalars, depth),
            _ => {}
        }
        self.bytes <= self.cap
    }
}

/// Whether function `name` gets a named Go type's value as it is. Functions see
/// a named Go type's plain value; only the ones that show types (printf for %T;
/// the JSON/YAML encoders: a []uint8 is base64; Sprig's date formatters: a
/// time.Time given for the layout or zone string is Go's type error;
/// duration/durationRound read an int64 or a time.Time; `dict` keeps its
/// values' types) get it as it is.
fn sees_named_types(name: &str) -> bool {
    matches!(
        name,
        "typeOf"
            | "dict"
            | "typeIs"
            | "typeIsLike"
            | "kindOf"
            | "kindIs"
            | "printf"
            | "toJson"
            | "mustToJson"
            | "toPrettyJson"
            | "mustToPrettyJson"
            | "toRawJson"
            | "mustToRawJson"
            | "toYaml"
            | "mustToYaml"
            | "toYamlPretty"
            | "date"
            | "dateInZone"
            | "date_in_zone"
            | "htmlDate"
            | "htmlDateInZone"
            | "duration"
            | "durationRound"
    )
}

/// Replaces the named-type arguments by their plain values unless function
/// `name` sees them; returns the arguments as they were when any changed.
fn untype_args(name: &str, argv: &mut [Value]) -> Option<Vec<Value>> {
    if sees_named_types(name) || !argv.iter().any(|a| matches!(a, Value::Typed(_))) {
        return None;
    }
    let typed = argv.to_vec();
    for (i, a) in argv.iter_mut().enumerate() {
        if let Value::Typed(t) = a
            && !(is_nil_slice(t) && stores_argument(name, i))
        {
            *a = t.value.clone();
        }
    }
    Some(typed)
}

/// Go builtins' parameter counts: `(min, Some(exact))` or `(min, None)` for
/// variadic ones. Checked before arguments are evaluated, as Go does.
fn builtin_arity(name: &str) -> Option<(usize, Option<usize>)> {
    Some(match name {
        "and" | "or" | "call" | "eq" | "index" | "slice" | "printf" => (1, None),
        "ge" | "gt" | "le" | "lt" | "ne" => (2, Some(2)),
        "len" | "not" => (1, Some(1)),
        _ => return None,
    })
}

#[cfg(feature = "std")]
fn invoke_func(name: &str, func: &ValueFunc, args: &[Value]) -> Result<Value> {
    match catch_unwind(AssertUnwindSafe(|| func(args))) {
        Ok(result) => result,
        Err(payload) => Err(TemplateError::FuncPanic {
            name: name.to_string(),
            message: panic_payload_to_string(payload),
        }),
    }
}

#[cfg(not(feature = "std"))]
fn invoke_func(_name: &str, func: &ValueFunc, args: &[Value]) -> Result<Value> {
    func(args)
}

#[cfg(feature = "std")]
fn panic_payload_to_string(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

// ----- parsing a source into trees (shared by Template and tpl) -----

/// Parses `src` as template `name` (Go's `t.New(name).Parse(src)`): returns
/// the top-level tree and the `define`d ones, applying Go's rule that a second
/// non-empty definition of a name in one source is an error.
pub(crate) fn parse_source(
    name: &str,
    parse_name: &Arc<str>,
    src: &Arc<str>,
    left: &str,
    right: &str,
    max_source_bytes: usize,
    funcs: &BTreeMap<String, ValueFunc>,
) -> Result<ParsedSource> {
    if src.len() > max_source_bytes {
        return Err(TemplateError::Limit(format!(
            "template {}: source of {} bytes exceeds the limit of {} bytes (max_source_bytes)",
            crate::go::go_quote(name),
            src.len(),
            max_source_bytes
        )));
    }
    let pn = (!parse_name.is_empty()).then_some(&**parse_name);
    let parser = crate::parse::Parser::with_shared_source(pn, src, left, right)?;
    let (root, defines) = parser.parse()?;
    check_functions(&root, &defines, funcs, parse_name)?;
    check_variables(&root, &defines, parse_name)?;
    let mut out: Vec<(String, Arc<Tree>)> = Vec::with_capacity(defines.len());
    let top_empty = root.is_empty_tree();
    for def in defines {
        let DefineNode {
            pos,
            name: dname,
            body,
        } = def;
        let empty = body.is_empty_tree();
        let clash_top = dname.as_str() == name && !top_empty;
        if let Some(i) = out.iter().position(|(n, _)| n.as_str() == dname.as_str()) {
            if empty {
                continue;
            }
            if !out[i].1.root.is_empty_tree() {
                return Err(multiple_definition(parse_name, src, pos.offset, &dname));
            }
            out[i] = (
                dname.to_string(),
                Arc::new(Tree::new(&dname, parse_name, src, body)),
            );
            continue;
        }
        if clash_top {
            if empty {
                continue;
            }
            return Err(multiple_definition(parse_name, src, pos.offset, &dname));
        }
        out.push((
            dname.to_string(),
            Arc::new(Tree::new(&dname, parse_name, src, body)),
        ));
    }
    // A non-empty `define NAME` where NAME is the file's own name replaces its
    // (empty) top level, as in Go.
    let root = match out.iter().position(|(n, _)| n == name) {
        Some(i) => out.remove(i).1,
        None => Arc::new(Tree::new(name, parse_name, src, root)),
    };
    Ok((root, out))
}

fn multiple_definition(parse_name: &str, src: &str, offset: usize, name: &str) -> TemplateError {
    let (line, _) = line_col(src, offset);
    TemplateError::Parse {
        name: Some(parse_name.to_string()),
        line,
        col: 0,
        message: format!(
            "template: multiple definition of template {}",
            crate::go::go_quote(name)
        ),
    }
}

/// Go checks at parse time that every function named exists.
fn check_functions<'a>(
    root: &'a ListNode,
    defines: &'a [DefineNode],
    funcs: &BTreeMap<String, ValueFunc>,
    parse_name: &str,
) -> Result<()> {
    let mut missing: Option<(String, usize)> = None;
    // Each distinct name is looked up in `funcs` once: a template names the same few
    // functions over and over.
    let mut known: std::collections::HashSet<&'a str, core::hash::BuildHasherDefault<NameHasher>> =
        std::collections::HashSet::default();
    let mut visit = |name: &'a str, line: usize| {
        if missing.is_some() || known.contains(name) {
            return;
        }
        if funcs.contains_key(name) || crate::function::state_func(name).is_some() {
            known.insert(name);
        } else {
            missing = Some((name.to_string(), line));
        }
    };
    walk_idents_list(root, &mut visit);
    for d in defines {
        walk_idents_list(&d.body, &mut visit);
    }
    match missing {
        None => Ok(()),
        Some((name, line)) => Err(TemplateError::Parse {
            name: Some(parse_name.to_string()),
            line,
            col: 0,
            message: format!("function {} not defined", crate::go::go_quote(&name)),
        }),
    }
}

/// Go's parser rejects a variable used outside the scope that declares it.
fn check_variables(root: &ListNode, defines: &[DefineNode], parse_name: &str) -> Result<()> {
    type Found = (String, usize);
    fn list<'a>(
        l: &'a ListNode,
        vars: &mut Vec<&'a str>,
        in_range: bool,
    ) -> core::result::Result<(), Found> {
        for n in &l.nodes {
            match n {
                Node::Action(a) => pipe(&a.pipe, vars)?,
                Node::If(b) | Node::With(b) | Node::Range(b) => {
                    let mark = vars.len();
                    pipe(&b.pipe, vars)?;
                    let body_in_range = in_range || matches!(n, Node::Range(_));
                    list(&b.body, vars, body_in_range)?;
                    if let Some(e) = &b.else_body {
                        list(e, vars, in_range)?;
                    }
                    vars.truncate(mark);
                }
                Node::Template(t) => {
                    if let Some(p) = &t.pipe {
                        pipe(p, vars)?;
                    }
                }
                Node::List(l) => list(l, vars, in_range)?,
                Node::Break(p) if !in_range => {
                    return Err(("{{break}} outside {{range}}".into(), p.line));
                }
                Node::Continue(p) if !in_range => {
                    return Err(("{{continue}} outside {{range}}".into(), p.line));
                }
                _ => {}
            }
        }
        Ok(())
    }
    fn pipe<'a>(p: &'a PipeNode, vars: &mut Vec<&'a str>) -> core::result::Result<(), Found> {
        vars.extend(p.decl.iter().map(SmolStr::as_str));
        for c in &p.commands {
            for a in &c.args {
                expr(a, vars)?;
            }
        }
        Ok(())
    }
    fn expr<'a>(e: &'a Expr, vars: &mut Vec<&'a str>) -> core::result::Result<(), Found> {
        match e {
            Expr::Variable(pos, name, _) => {
                if !vars.iter().any(|v| *v == name.as_str()) {
                    let msg = format!("undefined variable {}", crate::go::go_quote(name));
                    return Err((msg, pos.line));
                }
                Ok(())
            }
            Expr::Pipe(_, p) => pipe(p, vars),
            Expr::Chain(_, inner, _) => expr(inner, vars),
            _ => Ok(()),
        }
    }
    let check = |l: &ListNode| {
        let mut vars: Vec<&str> = alloc::vec!["$"];
        list(l, &mut vars, false)
    };
    let mut r = check(root);
    for d in defines {
        if r.is_err() {
            break;
        }
        r = check(&d.body);
    }
    r.map_err(|(message, line)| TemplateError::Parse {
        name: (!parse_name.is_empty()).then(|| parse_name.to_string()),
        line,
        col: 0,
        message,
    })
}

/// FNV-1a over a function name, for [`check_functions`]'s set of names already found.
#[derive(Default)]
struct NameHasher(u64);

impl core::hash::Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

fn walk_idents_list<'a>(list: &'a ListNode, f: &mut dyn FnMut(&'a str, usize)) {
    for n in &list.nodes {
        match n {
            Node::Action(a) => walk_idents_pipe(&a.pipe, f),
            Node::If(b) | Node::With(b) | Node::Range(b) => {
                walk_idents_pipe(&b.pipe, f);
                walk_idents_list(&b.body, f);
                if let Some(e) = &b.else_body {
                    walk_idents_list(e, f);
                }
            }
            Node::Template(t) => {
                if let Some(p) = &t.pipe {
                    walk_idents_pipe(p, f);
                }
            }
            Node::List(l) => walk_idents_list(l, f),
            Node::Define(d) => walk_idents_list(&d.body, f),
            _ => {}
        }
    }
}

fn walk_idents_pipe<'a>(p: &'a PipeNode, f: &mut dyn FnMut(&'a str, usize)) {
    for c in &p.commands {
        for a in &c.args {
            walk_idents_expr(a, f);
        }
    }
}

fn walk_idents_expr<'a>(e: &'a Expr, f: &mut dyn FnMut(&'a str, usize)) {
    match e {
        Expr::Identifier(pos, name) => f(name, pos.line),
        Expr::Pipe(_, p) => walk_idents_pipe(p, f),
        Expr::Chain(_, inner, _) => walk_idents_expr(inner, f),
        _ => {}
    }
}

// ----- error context: Go's Node.String() of the node at an offset -----

/// Go's `ErrorContext` position: 1-based line, 0-based byte column.
pub(crate) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let end = offset.min(src.len());
    let text = &src.as_bytes()[..end];
    let line = 1 + text.iter().filter(|&&b| b == b'\n').count();
    let col = match text.iter().rposition(|&b| b == b'\n') {
        Some(i) => end - (i + 1),
        None => end,
    };
    (line, col)
}

/// The source text of the literal token at the start of `src`.
pub(crate) fn token_text_pub(src: &str) -> &str {
    token_text(src, 0)
}

/// A Go `complex128`: printed as Go prints it (`(0+1i)`, `(1.5-2i)`), typed
/// `complex128` for `printf "%T"`, compared by value by `eq`/`ne` (see
/// [`complex_parts`]); carried as an entry-less map with a type name and a
/// `String` method, as template data has no complex numbers otherwise.
pub(crate) fn complex_value(re: f64, im: f64) -> Value {
    let mut text = String::from("(");
    crate::go::write_g_default(&mut text, re, false);
    if !(im.is_sign_negative() || im.is_nan()) {
        text.push('+');
    }
    crate::go::write_g_default(&mut text, im, false);
    text.push_str("i)");
    let text: Value = Value::String(Arc::from(text));
    let parts = Value::List(Arc::from([Value::Float(re), Value::Float(im)]));
    let methods: BTreeMap<String, ValueFunc> = BTreeMap::from([
        (
            "String".to_string(),
            Arc::new(move |_: &[Value]| Ok(text.clone())) as ValueFunc,
        ),
        (
            COMPLEX_PARTS.to_string(),
            Arc::new(move |_: &[Value]| Ok(parts.clone())) as ValueFunc,
        ),
    ]);
    Value::Map(
        crate::value::Dict::new()
            .with_type_name("complex128")
            .with_methods(methods),
    )
}

/// The hidden method holding a complex value's parts (not a Go identifier, so
/// templates cannot reach it).
const COMPLEX_PARTS: &str = "complex parts";

/// The real and imaginary parts of a [`complex_value`].
pub(crate) fn complex_parts(v: &Value) -> Option<(f64, f64)> {
    let Value::Map(m) = v else { return None };
    if m.go_type_name() != Some("complex128") {
        return None;
    }
    match m.method(COMPLEX_PARTS).map(|f| f(&[])) {
        Some(Ok(Value::List(l))) => match (l.first(), l.get(1)) {
            (Some(Value::Float(a)), Some(Value::Float(b))) => Some((*a, *b)),
            _ => None,
        },
        _ => None,
    }
}

/// The source text of the string, char or number literal at `offset`.
fn token_text(src: &str, offset: usize) -> &str {
    let b = src.as_bytes();
    if offset >= b.len() {
        return "";
    }
    let start = offset;
    let mut i = offset;
    match b[i] {
        q @ (b'"' | b'\'') => {
            i += 1;
            while i < b.len() && b[i] != q {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
        }
        b'`' => {
            i += 1;
            while i < b.len() && b[i] != b'`' {
                i += 1;
            }
            i = (i + 1).min(b.len());
        }
        _ => {
            if b[i] == b'+' || b[i] == b'-' {
                i += 1;
            }
            let hex = b.len() > i + 1 && b[i] == b'0' && (b[i + 1] | 0x20) == b'x';
            while i < b.len() {
                let c = b[i];
                let sign_ok = i > start
                    && (c == b'+' || c == b'-')
                    && if hex {
                        (b[i - 1] | 0x20) == b'p'
                    } else {
                        (b[i - 1] | 0x20) == b'e' || (b[i - 1] | 0x20) == b'p'
                    };
                if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || sign_ok {
                    i += 1;
                } else if i > start && (c == b'+' || c == b'-') {
                    // A complex constant `1+2i`: the sign joins two numbers.
                    let mut j = i + 1;
                    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.') {
                        j += 1;
                    }
                    if j > i + 1 && b[j - 1] == b'i' {
                        i = j;
                    }
                    break;
                } else {
                    break;
                }
            }
        }
    }
    src.get(start..i).unwrap_or("")
}

fn find_context(list: &ListNode, kind: Nk, off: usize, src: &str) -> Option<String> {
    for n in &list.nodes {
        if let Some(s) = find_in_node(n, kind, off, src) {
            return Some(s);
        }
    }
    None
}

fn find_in_node(n: &Node, kind: Nk, off: usize, src: &str) -> Option<String> {
    match n {
        Node::Action(a) => {
            if kind == Nk::Action && a.pos.offset == off {
                return Some(node_string(n, src));
            }
            find_in_pipe(&a.pipe, kind, off, src)
        }
        Node::If(b) | Node::With(b) | Node::Range(b) => {
            let my = match n {
                Node::If(_) => Nk::If,
                Node::With(_) => Nk::With,
                _ => Nk::Range,
            };
            if kind == my && b.pos.offset == off {
                return Some(node_string(n, src));
            }
            find_in_pipe(&b.pipe, kind, off, src)
                .or_else(|| find_context(&b.body, kind, off, src))
                .or_else(|| {
                    b.else_body
                        .as_ref()
                        .and_then(|e| find_context(e, kind, off, src))
                })
        }
        Node::Template(t) => {
            if kind == Nk::Template && t.pos.offset == off {
                return Some(node_string(n, src));
            }
            t.pipe
                .as_ref()
                .and_then(|p| find_in_pipe(p, kind, off, src))
        }
        Node::List(l) => find_context(l, kind, off, src),
        Node::Text(t) if kind == Nk::Text && t.pos.offset == off => Some(t.text.to_string()),
        Node::Break(p) if kind == Nk::Break && p.offset == off => Some("{{break}}".into()),
        Node::Continue(p) if kind == Nk::Continue && p.offset == off => Some("{{continue}}".into()),
        _ => None,
    }
}

fn find_in_pipe(p: &PipeNode, kind: Nk, off: usize, src: &str) -> Option<String> {
    if kind == Nk::Pipe && p.pos.offset == off {
        return Some(pipe_string(p, src));
    }
    for c in &p.commands {
        if kind == Nk::Command && c.pos.offset == off {
            return Some(cmd_string(c, src));
        }
        for a in &c.args {
            if let Some(s) = find_in_expr(a, kind, off, src) {
                return Some(s);
            }
        }
    }
    None
}

fn find_in_expr(e: &Expr, kind: Nk, off: usize, src: &str) -> Option<String> {
    if expr_kind(e) == kind && e.pos().offset == off {
        return Some(expr_string(e, src));
    }
    match e {
        Expr::Pipe(_, p) => find_in_pipe(p, kind, off, src),
        Expr::Chain(_, inner, _) => find_in_expr(inner, kind, off, src),
        _ => None,
    }
}

fn list_string(l: &ListNode, src: &str) -> String {
    let mut s = String::new();
    for n in &l.nodes {
        s.push_str(&node_string(n, src));
    }
    s
}

fn node_string(n: &Node, src: &str) -> String {
    match n {
        Node::Text(t) => t.text.to_string(),
        Node::Action(a) => format!("{{{{{}}}}}", pipe_string(&a.pipe, src)),
        Node::If(b) | Node::With(b) | Node::Range(b) => {
            let kw = match n {
                Node::If(_) => "if",
                Node::With(_) => "with",
                _ => "range",
            };
            let mut s = format!(
                "{{{{{kw} {}}}}}{}",
                pipe_string(&b.pipe, src),
                list_string(&b.body, src)
            );
            if let Some(e) = &b.else_body {
                s.push_str("{{else}}");
                s.push_str(&list_string(e, src));
            }
            s.push_str("{{end}}");
            s
        }
        Node::Template(t) => match &t.pipe {
            None => format!("{{{{template {}}}}}", crate::go::go_quote(&t.name)),
            Some(p) => format!(
                "{{{{template {} {}}}}}",
                crate::go::go_quote(&t.name),
                pipe_string(p, src)
            ),
        },
        Node::Define(d) => format!(
            "{{{{define {}}}}}{}{{{{end}}}}",
            crate::go::go_quote(&d.name),
            list_string(&d.body, src)
        ),
        Node::List(l) => list_string(l, src),
        Node::Break(_) => "{{break}}".into(),
        Node::Continue(_) => "{{continue}}".into(),
    }
}

fn pipe_string(p: &PipeNode, src: &str) -> String {
    let mut s = String::new();
    if !p.decl.is_empty() {
        for (i, d) in p.decl.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(d);
        }
        s.push_str(" := ");
    }
    for (i, c) in p.commands.iter().enumerate() {
        if i > 0 {
            s.push_str(" | ");
        }
        s.push_str(&cmd_string(c, src));
    }
    s
}

fn cmd_string(c: &CommandNode, src: &str) -> String {
    let mut s = String::new();
    for (i, a) in c.args.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        if let Expr::Pipe(_, p) = a {
            s.push('(');
            s.push_str(&pipe_string(p, src));
            s.push(')');
        } else {
            s.push_str(&expr_string(a, src));
        }
    }
    s
}

fn chain_string(inner: &Expr, fields: &[SmolStr], src: &str) -> String {
    let mut s = match inner {
        Expr::Pipe(_, p) => format!("({})", pipe_string(p, src)),
        other => expr_string(other, src),
    };
    for f in fields {
        s.push('.');
        s.push_str(f);
    }
    s
}

fn expr_string(e: &Expr, src: &str) -> String {
    match e {
        Expr::Dot(_) => ".".into(),
        Expr::Field(_, fields) => {
            let mut s = String::new();
            for f in fields {
                s.push('.');
                s.push_str(f);
            }
            s
        }
        Expr::Variable(_, name, fields) => {
            let mut s = name.to_string();
            for f in fields {
                s.push('.');
                s.push_str(f);
            }
            s
        }
        Expr::Identifier(_, name) => name.to_string(),
        Expr::String(p, _) | Expr::Number(p, _) => token_text(src, p.offset).to_string(),
        Expr::Bool(_, b) => if *b { "true" } else { "false" }.into(),
        Expr::Nil(_) => "nil".into(),
        Expr::Pipe(_, p) => pipe_string(p, src),
        Expr::Chain(_, inner, fields) => chain_string(inner, fields, src),
    }
}
