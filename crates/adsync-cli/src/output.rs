//! Writing data to stdout. Everything else goes to stderr through `tracing` or `eprint`.

use std::io::Write;

use crate::error::Error;

/// The `format_version` of every JSON document the CLI prints besides the plan (which carries
/// core's). Additive changes only within a major version.
pub(crate) const FORMAT_VERSION: &str = "1.0";

/// Writes `text` to stdout. A closed pipe (`adsync plan | head`) is not an error.
pub(crate) fn stdout(text: &str) -> Result<(), Error> {
    let text = redact(text);
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Err(Error::BrokenPipe),
        Err(error) => Err(Error::Write {
            path: "<stdout>".into(),
            source: error,
        }),
    }
}

/// Writes a line to stderr (warnings, notes), unless quiet.
#[expect(
    clippy::print_stderr,
    reason = "the one place that writes notes to stderr"
)]
pub(crate) fn note(quiet: bool, text: &str) {
    if !quiet {
        eprintln!("{}", redact(text));
    }
}

/// Writes `text` to stderr unredacted, unless quiet: only for text that must carry a secret
/// of its own to the person at the terminal (the sign-in address with its `state`).
#[expect(
    clippy::print_stderr,
    reason = "the one place that writes an address with its state to stderr"
)]
pub(crate) fn note_verbatim(quiet: bool, text: &str) {
    if !quiet {
        eprintln!("{text}");
    }
}

/// Writes `warning: <text>` to stderr, unless quiet; `warning:` in colour where stderr has it.
pub(crate) fn warning(global: &crate::cli::Global, text: &str) {
    note(
        global.quiet,
        &crate::render::warning_line(crate::style::Paint::stderr(global), text),
    );
}

/// `error` as the JSON document a `--json` command prints when it fails.
pub(crate) fn error_document(error: &Error) -> serde_json::Value {
    serde_json::json!({
        "format_version": FORMAT_VERSION,
        "error": {
            "message": error.to_string(),
            "causes": crate::error::causes(error),
            "hint": error.hint(),
        },
    })
}

/// Serializes `value` as pretty JSON with a trailing newline.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> String {
    // Serializing our own data types to JSON cannot fail: no maps with non-string keys.
    let mut text = redact(&serde_json::to_string_pretty(value).unwrap_or_default()).into_owned();
    text.push('\n');
    text
}

/// `text` with every secret value in play masked (the client secret, the API token, the
/// default password, tokens and authcodes issued during the run): for everything adsync
/// writes that may quote an answer verbatim.
pub(crate) fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    adsync_core::secret::redact(text)
}

/// stderr for `tracing`, with every line redacted.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RedactedStderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactedStderr {
    type Writer = RedactedStderr;

    fn make_writer(&'a self) -> RedactedStderr {
        RedactedStderr
    }
}

impl Write for RedactedStderr {
    /// One call per formatted event: the line is redacted whole.
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(bytes);
        std::io::stderr().write_all(redact(&text).as_bytes())?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename. The file is
/// its owner's only (0600 on Unix), whatever the mode of a file it replaces.
pub(crate) fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        private_dir_builder().create(dir)?;
        let mut file = private_options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    result.map_err(|source| {
        let _ = std::fs::remove_file(&temp);
        Error::Write {
            path: path.to_owned(),
            source,
        }
    })
}

/// Options that create a file readable and writable by its owner only (0600 on Unix).
pub(crate) fn private_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Creates `dir` (and its parents) if needed; a directory adsync creates is its owner's only
/// (0700 on Unix).
pub(crate) fn create_private_dir(dir: &std::path::Path) -> Result<(), Error> {
    private_dir_builder()
        .create(dir)
        .map_err(|source| Error::Write {
            path: dir.to_owned(),
            source,
        })
}

fn private_dir_builder() -> std::fs::DirBuilder {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
}

/// Asks on the terminal whether to apply `actions` changes; `true` for yes.
#[expect(
    clippy::print_stderr,
    reason = "the confirmation prompt belongs on stderr"
)]
pub(crate) fn confirm(actions: usize) -> Result<bool, Error> {
    eprint!("apply these {actions} changes? [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|source| Error::Write {
            path: "<stdin>".into(),
            source,
        })?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
