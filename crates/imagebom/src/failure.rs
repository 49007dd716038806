//! Exit codes and the error type that carries one.

/// Success.
pub const EXIT_OK: u8 = 0;
/// A policy or drift finding (the run worked; the result fails a gate).
pub const EXIT_FINDING: u8 = 1;
/// Bad input or usage: recipe, manifests, lock, command line.
pub const EXIT_INPUT: u8 = 2;
/// Registry or network failure.
pub const EXIT_REGISTRY: u8 = 3;

/// An error with the exit code it maps to.
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    /// `error` with [`EXIT_REGISTRY`] when it is a network failure (`network`), else
    /// [`EXIT_INPUT`].
    pub fn network_or_input(network: bool, error: impl Into<anyhow::Error>) -> Failure {
        Failure {
            code: if network { EXIT_REGISTRY } else { EXIT_INPUT },
            error: error.into(),
        }
    }
}

/// Attaches an exit code to a library error.
pub trait WithCode<T> {
    /// Maps the error to a [`Failure`] with `code`.
    fn code(self, code: u8) -> Result<T, Failure>;
}

impl<T, E: Into<anyhow::Error>> WithCode<T> for Result<T, E> {
    fn code(self, code: u8) -> Result<T, Failure> {
        self.map_err(|e| Failure {
            code,
            error: e.into(),
        })
    }
}
