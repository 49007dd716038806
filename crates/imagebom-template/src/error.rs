//! Error types for the template engine.
//!
//! All fallible operations return [`Result<T>`], an alias for
//! `std::result::Result<T, TemplateError>`. Variants are split by phase
//! (lexing, parsing, execution) so callers can pattern-match for targeted
//! diagnostics.

use alloc::format;
use alloc::string::String;
use thiserror::Error;

/// Shared formatter for source-location errors (parse and lex). With a name,
/// the format matches Go: `template: foo.tmpl:12:5: msg`. Without a name, the
/// name segment is dropped but the rest of the format stays the same.
fn fmt_src_err(name: &Option<String>, line: usize, _col: usize, message: &str) -> String {
    // Go's parse and lex errors give the line only: `template: NAME:LINE: MSG`.
    match name {
        Some(n) => format!("template: {n}:{line}: {message}"),
        None => format!("template: :{line}: {message}"),
    }
}

/// The error type returned by all template operations.
///
/// Variants group by phase: lexing ([`Lex`](Self::Lex)), parsing
/// ([`Parse`](Self::Parse)), execution (several structured variants, plus
/// [`Exec`](Self::Exec) as a catch-all string for rare cases), and I/O
/// ([`Io`](Self::Io), [`ReadFile`](Self::ReadFile)). Prefer matching on the
/// structured variants when available rather than parsing [`Exec`](Self::Exec)
/// strings.
///
/// # Examples
///
/// ```
/// use imagebom_template::Template;
///
/// let result = Template::new("t").parse("{{.X");
/// assert!(result.is_err());
/// let err = result.err().unwrap();
/// assert!(err.to_string().contains("unclosed action"));
/// ```
#[derive(Debug, Error)]
pub enum TemplateError {
    /// A syntax error found during parsing, with source location.
    ///
    /// The optional `name` tags the template's origin (e.g. the file name
    /// when parsing via [`parse_files`](crate::Template::parse_files)). It is
    /// prefixed Go-style in the `Display` output:
    /// `template: <name>:<line>:<col>: <message>`.
    #[error("{}", fmt_src_err(name, *line, *col, message))]
    Parse {
        /// Source of the template (e.g. file name) if known.
        name: Option<String>,
        /// 1-based line number in the template source.
        line: usize,
        /// 1-based column number in the template source.
        col: usize,
        /// Human-readable description of the parse error.
        message: String,
    },

    /// An error found during lexical scanning.
    ///
    /// Shares the `Parse` variant's shape and `Display` format. The message
    /// itself describes the lex-specific failure, so no extra preamble is
    /// added.
    #[error("{}", fmt_src_err(name, *line, *col, message))]
    Lex {
        /// Source of the template (e.g. file name) if known.
        name: Option<String>,
        /// 1-based line number in the template source.
        line: usize,
        /// 1-based column number in the template source.
        col: usize,
        /// Human-readable description of the lex error.
        message: String,
    },

    /// A general execution error (type mismatch, invalid operation, etc.).
    ///
    /// Functions return it for their own failures; the executor wraps it into
    /// [`Execution`](Self::Execution) (`error calling NAME: MSG`) with the location.
    #[error("execution error: {0}")]
    Exec(String),

    /// An error raised while executing a template, located the way Go's
    /// `text/template.ExecError` is. `Display` gives Go's text exactly:
    /// `template: FILE:LINE:COL: executing "NAME" at <NODE>: MESSAGE`.
    #[error("{0}")]
    Execution(alloc::boxed::Box<ExecError>),

    /// A function rejected its argument number `index` (0-based, the piped value
    /// counting last) with Go's type-check text — `wrong type for value;
    /// expected T; got U` or `invalid value; expected T`. Go checks argument
    /// types before the call, so the executor reports this at that argument,
    /// unwrapped, and words it for literal arguments as Go does
    /// (`expected string; found 3`).
    #[error("{message}")]
    BadArg {
        /// Which argument (0-based; the piped value is the last one).
        index: usize,
        /// Go's message.
        message: String,
    },

    /// A resource limit of the engine was reached (output size, call depth,
    /// source size, …). The message names the limit.
    #[error("{0}")]
    Limit(String),

    /// An index or slice bound was outside the sequence it addressed (Go's
    /// `index out of range: N`).
    #[error("index out of range: {index}")]
    IndexOutOfRange {
        /// The offending index as supplied (may be negative).
        index: i128,
    },

    /// `len` or `index` of a nil value (Go's `len of nil pointer`, `index of nil pointer`).
    #[error("{0} of nil pointer")]
    NilPointer(&'static str),

    /// `fail MSG`, or `required MSG` of an empty value: the function's message as it is.
    #[error("{0}")]
    Fail(String),

    /// Helm's `tpl` of a text that does not parse (`cannot parse template "TEXT": CAUSE`).
    #[error("cannot parse template {}: {cause}", crate::go::go_quote(text))]
    TplParse {
        /// The text given to `tpl`.
        text: String,
        /// The parse error.
        cause: alloc::boxed::Box<TemplateError>,
    },

    /// Helm's `tpl` of a text whose execution failed
    /// (`error during tpl function execution for "TEXT": CAUSE`).
    #[error(
        "error during tpl function execution for {}: {cause}",
        crate::go::go_quote(text)
    )]
    Tpl {
        /// The text given to `tpl`.
        text: String,
        /// The execution error.
        cause: alloc::boxed::Box<TemplateError>,
    },

    /// Helm's `include` of a name already being included too many times.
    #[error("rendering template has a nested reference name: {0}: unable to execute template")]
    IncludeRecursion(String),

    /// A user-registered template function panicked.
    #[cfg(feature = "std")]
    #[error("function {name} panicked: {message}")]
    FuncPanic {
        /// Name of the function that panicked.
        name: String,
        /// Best-effort description of the panic payload.
        message: String,
    },

    /// No template of that name is in the set (Go's `ExecuteTemplate` and Helm's
    /// `include` text: `template: no template "NAME" associated with template "SET"`).
    #[error(
        "template: no template {} associated with template {}",
        crate::go::go_quote(name),
        crate::go::go_quote(set)
    )]
    UndefinedTemplate {
        /// The name asked for.
        name: String,
        /// The set's name.
        set: String,
    },

    /// A function was called with the wrong number of arguments; `Display` is
    /// Go's text: `wrong number of args for NAME: want [at least ]N got M`.
    #[error(
        "wrong number of args for {name}: want {}{expected} got {got}",
        if *at_least { "at least " } else { "" }
    )]
    ArgCount {
        /// Name of the function that was called.
        name: String,
        /// Whether the function is variadic (`expected` is then the minimum).
        at_least: bool,
        /// Number of arguments expected (the fixed ones of a variadic function).
        expected: usize,
        /// Actual number of arguments provided.
        got: usize,
    },

    /// Failed to read a template file passed to
    /// [`Template::parse_files`](crate::Template::parse_files).
    #[cfg(feature = "std")]
    #[error("failed to read template file {path}")]
    ReadFile {
        /// The path that failed to open.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// [`Template::parse_files`](crate::Template::parse_files) was called
    /// with an empty slice of filenames.
    #[cfg(feature = "std")]
    #[error("no files named in call to parse_files")]
    NoFiles,

    /// An I/O error occurred while writing template output.
    #[cfg(feature = "std")]
    #[error("writing the template output")]
    Io(#[from] std::io::Error),

    /// A formatting/write error occurred while writing template output.
    #[error("write error")]
    Write,
}

/// Where an execution error happened, as Go's `Tree.ErrorContext` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorLocation {
    /// Name the failing tree was parsed under (Helm: the chart file path).
    pub parse_name: String,
    /// 1-based line.
    pub line: usize,
    /// Byte offset of the node within its line, counted from 0 (Go's convention).
    pub col: usize,
    /// Go's `String()` of the node being evaluated, e.g. `.Values.x` or `include "a" .`.
    pub context: String,
}

/// A template execution error with Go's location and message parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecError {
    /// The template being executed (a `define` name or a file name).
    pub template: String,
    /// The node being evaluated, when known.
    pub location: Option<ErrorLocation>,
    /// The message after the location, e.g. `error calling fail: boom` or
    /// `nil pointer evaluating interface {}.enabled`.
    pub message: String,
    /// The function call that failed, when the message is Go's `error calling NAME: …`.
    pub call: Option<FailedCall>,
}

/// A function's own error, as Go's `evalCall` wraps it (`error calling NAME: CAUSE`).
#[derive(Debug, Clone)]
pub struct FailedCall {
    /// The function's name.
    pub function: String,
    /// What the function returned (for `include`, the included template's located error;
    /// for `tpl`, [`TemplateError::Tpl`]; for `fail`/`required`, [`TemplateError::Fail`]).
    pub cause: alloc::sync::Arc<TemplateError>,
}

impl PartialEq for FailedCall {
    fn eq(&self, other: &Self) -> bool {
        self.function == other.function
            && alloc::string::ToString::to_string(&self.cause)
                == alloc::string::ToString::to_string(&other.cause)
    }
}

impl Eq for FailedCall {}

impl ExecError {
    /// Go's location text of the error: `FILE:LINE:COL`, or the template's name when the
    /// node is unknown.
    pub fn location_text(&self) -> String {
        match &self.location {
            Some(l) => format!("{}:{}:{}", l.parse_name, l.line, l.col),
            None => self.template.clone(),
        }
    }
    /// Go's `executing "NAME" at <NODE>` part, when the node is known.
    pub fn executing(&self) -> Option<String> {
        let l = self.location.as_ref()?;
        Some(format!(
            "executing {} at <{}>",
            crate::go::go_quote(&self.template),
            l.context
        ))
    }
}

impl core::fmt::Display for ExecError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.location {
            None => write!(f, "template: {}: {}", self.template, self.message),
            Some(loc) => write!(
                f,
                "template: {}:{}:{}: executing {} at <{}>: {}",
                loc.parse_name,
                loc.line,
                loc.col,
                crate::go::go_quote(&self.template),
                loc.context,
                self.message
            ),
        }
    }
}

impl TemplateError {
    /// The text a function's error contributes after `error calling NAME: `.
    /// [`Exec`](Self::Exec) gives its bare message; other errors their `Display`.
    pub fn function_message(&self) -> String {
        match self {
            TemplateError::Exec(m) => m.clone(),
            TemplateError::BadArg { message, .. } => message.clone(),
            other => alloc::string::ToString::to_string(other),
        }
    }

    /// The located execution error, if this is one.
    pub fn exec_error(&self) -> Option<&ExecError> {
        match self {
            TemplateError::Execution(e) => Some(e),
            _ => None,
        }
    }

    /// The error this one wraps: a failed call's cause, or the error inside `tpl`.
    pub fn cause(&self) -> Option<&TemplateError> {
        match self {
            TemplateError::Execution(e) => e.call.as_ref().map(|c| &*c.cause),
            TemplateError::Tpl { cause, .. } | TemplateError::TplParse { cause, .. } => Some(cause),
            _ => None,
        }
    }

    /// The message of the innermost `fail`/`required` ([`Fail`](Self::Fail)) this error
    /// wraps, through `include` and `tpl`, if any.
    pub fn fail_message(&self) -> Option<&str> {
        let mut e = self;
        loop {
            if let TemplateError::Fail(m) = e {
                return Some(m);
            }
            e = e.cause()?;
        }
    }
}

impl From<core::fmt::Error> for TemplateError {
    fn from(_: core::fmt::Error) -> Self {
        TemplateError::Write
    }
}

/// Alias for `Result<T, TemplateError>`, the return type of every fallible
/// operation in this crate.
pub type Result<T> = core::result::Result<T, TemplateError>;
