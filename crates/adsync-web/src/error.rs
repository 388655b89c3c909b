//! The web crate's errors.

/// What can stop the service page from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The access token is too short to resist guessing.
    #[error("the listen token is shorter than {min} characters")]
    ShortToken {
        /// The shortest length accepted.
        min: usize,
    },
    /// The system's random source failed.
    #[error("cannot draw random bytes for sessions: {0}")]
    Random(String),
    /// The server stopped with an error.
    #[error("the web server failed")]
    Serve(#[source] std::io::Error),
    /// A page could not be rendered.
    #[error("cannot render the page: {0}")]
    Render(String),
}
