//! Reading files with limits: a size cap per kind of file (a secret `{ file: /dev/zero }` or a
//! runaway snapshot must not eat the memory), and a nesting cap for YAML (the parser takes
//! quadratic time on deeply nested flow collections: 28 s for 200 KB of `[[[[...]]]]`).

use std::io::Read;
use std::path::Path;

/// The largest secret file: far above any token, password or key.
pub(crate) const SECRET_LIMIT: u64 = 64 * 1024;
/// The largest configuration file.
pub(crate) const CONFIG_LIMIT: u64 = 4 * 1024 * 1024;
/// The largest data file (directory and Rescue snapshots, saved plans, state files): a tenant
/// of several hundred thousand users fits.
pub(crate) const DATA_LIMIT: u64 = 512 * 1024 * 1024;
/// The deepest nesting of `[` and `{` a YAML file may have; adsync's files need a handful.
pub(crate) const MAX_YAML_DEPTH: usize = 64;

/// Why a bounded read failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("it is larger than {} (the limit for this kind of file)", size(*.0))]
    TooLarge(u64),
    #[error("it is not UTF-8 text")]
    NotText,
}

fn size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// The text of `path`, reading at most `limit` bytes (one more to tell that it is larger).
pub(crate) fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(limit));
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotText)
}

/// Refuses YAML whose flow collections (`[`, `{`) nest deeper than [`MAX_YAML_DEPTH`], before
/// the parser sees it. Brackets in comments and in quoted scalars do not count; one in a plain
/// scalar does, which can only make the check stricter.
pub(crate) fn check_yaml_depth(text: &str) -> Result<(), String> {
    let mut depth = 0usize;
    // A quoted scalar may run over several lines.
    let mut quote: Option<char> = None;
    for (number, line) in text.lines().enumerate() {
        let mut previous = ' ';
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (quote, c) {
                (Some('"'), '\\') => {
                    chars.next();
                }
                (Some(open), c) if c == open => {
                    // `''` inside single quotes is an escaped quote.
                    if open == '\'' && chars.peek() == Some(&'\'') {
                        chars.next();
                    } else {
                        quote = None;
                    }
                }
                (Some(_), _) => {}
                (None, '#') if previous.is_whitespace() => break,
                (None, '"' | '\'') if starts_scalar(previous) => quote = Some(c),
                (None, '[' | '{') => {
                    depth += 1;
                    if depth > MAX_YAML_DEPTH {
                        return Err(format!(
                            "line {}: collections nest deeper than {MAX_YAML_DEPTH} levels",
                            number + 1
                        ));
                    }
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
            previous = c;
        }
    }
    Ok(())
}

/// Whether a quote after `previous` opens a quoted scalar (rather than sitting inside a plain
/// one, as in `it's`).
fn starts_scalar(previous: char) -> bool {
    previous.is_whitespace() || matches!(previous, ':' | '[' | '{' | ',' | '-' | '?')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_flow_nesting_is_refused_in_linear_time() {
        for text in [
            format!("users: {}{}", "[".repeat(100_000), "]".repeat(100_000)),
            format!("users: {}1{}", "{a: ".repeat(100_000), "}".repeat(100_000)),
        ] {
            let started = std::time::Instant::now();
            let refused = check_yaml_depth(&text).expect_err("too deep");
            assert!(refused.contains("deeper than 64"), "{refused}");
            assert!(started.elapsed() < std::time::Duration::from_secs(1));
        }
    }

    #[test]
    fn ordinary_yaml_passes_whatever_its_brackets_in_quotes_and_comments() {
        let deep = "[".repeat(200);
        let text = format!(
            "pairings:\n  - {{ name: \"{deep}\", entra_group: '{deep}''s' }} # {deep}\n  - [a, [b, {{c: d}}]]\nname: it's [x]\n"
        );
        check_yaml_depth(&text).expect("shallow");
        check_yaml_depth(&format!("a: {}{}", "[".repeat(64), "]".repeat(64))).expect("64 is fine");
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_file_is_read_up_to_its_limit_only() {
        let refused = read_text(Path::new("/dev/zero"), SECRET_LIMIT).expect_err("endless");
        assert!(
            matches!(refused, ReadError::TooLarge(SECRET_LIMIT)),
            "{refused:?}"
        );
        assert_eq!(
            refused.to_string(),
            "it is larger than 64 KiB (the limit for this kind of file)"
        );
    }

    #[test]
    fn a_file_at_its_limit_is_read_and_one_byte_more_is_not() {
        let path = std::env::temp_dir().join(format!("adsync-bounded-{}", std::process::id()));
        std::fs::write(&path, "x".repeat(1024)).expect("written");
        assert_eq!(read_text(&path, 1024).expect("at the limit").len(), 1024);
        assert!(matches!(
            read_text(&path, 1023),
            Err(ReadError::TooLarge(1023))
        ));
        std::fs::write(&path, [0xff, 0xfe]).expect("written");
        assert!(matches!(read_text(&path, 1024), Err(ReadError::NotText)));
        let _ = std::fs::remove_file(&path);
    }
}
