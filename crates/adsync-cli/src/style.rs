//! Colour, decided once per stream: `--color always|never`, or on a terminal unless `NO_COLOR`
//! is set. Every rendering reads the same without it: colour only repeats what the text says
//! (`+`, `-`, `ok`, `FAIL`, `warning:`).

use std::io::IsTerminal;

use anstyle::{AnsiColor, Style};

use crate::cli::{Color, Global};

/// Whether one stream gets colour, and the styles adsync uses on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Paint {
    on: bool,
}

/// What a piece of text is, for its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tone {
    /// Something added: a create, an enable, a check that passed.
    Add,
    /// Something changed in place: an update, an add-on change.
    Change,
    /// Something moved.
    Move,
    /// Something taken away or failed: a disable, an error, a failed check.
    Remove,
    /// A warning.
    Warn,
    /// A hint or a marker worth seeing.
    Hint,
    /// A heading or a total.
    Strong,
    /// Less important: ids, disabled users.
    Dim,
}

impl Tone {
    fn style(self) -> Style {
        let colour = |c: AnsiColor| Style::new().fg_color(Some(c.into()));
        match self {
            Tone::Add => colour(AnsiColor::Green),
            Tone::Change => colour(AnsiColor::Yellow),
            Tone::Move => colour(AnsiColor::Cyan),
            Tone::Remove => colour(AnsiColor::Red),
            Tone::Warn => colour(AnsiColor::Yellow).bold(),
            Tone::Hint => colour(AnsiColor::Cyan).bold(),
            Tone::Strong => Style::new().bold(),
            Tone::Dim => Style::new().dimmed(),
        }
    }
}

impl Paint {
    /// No colour at all: tests, and text that leaves the terminal (the service page).
    pub(crate) const PLAIN: Paint = Paint { on: false };

    /// Colour for stdout.
    pub(crate) fn stdout(global: &Global) -> Paint {
        Paint::decide(global.color, std::io::stdout().is_terminal())
    }

    /// Colour for stderr.
    pub(crate) fn stderr(global: &Global) -> Paint {
        Paint::decide(global.color, std::io::stderr().is_terminal())
    }

    /// `--color`, then `NO_COLOR` (any non-empty value, per no-color.org) and whether the stream
    /// is a terminal.
    pub(crate) fn decide(color: Color, terminal: bool) -> Paint {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Paint {
            on: match color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => terminal && !no_color,
            },
        }
    }

    /// Whether this stream gets colour.
    pub(crate) fn is_on(self) -> bool {
        self.on
    }

    /// `text` in `tone`, or as it is when colour is off.
    pub(crate) fn paint(self, tone: Tone, text: &str) -> String {
        if !self.on || text.is_empty() {
            return text.to_owned();
        }
        let style = tone.style();
        format!("{}{text}{}", style.render(), style.render_reset())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_untouched_and_colour_wraps_it() {
        assert_eq!(Paint::PLAIN.paint(Tone::Add, "+ create"), "+ create");
        let on = Paint { on: true };
        let painted = on.paint(Tone::Remove, "- disable");
        assert!(painted.starts_with("\u{1b}["), "{painted:?}");
        assert!(painted.contains("- disable") && painted.ends_with("\u{1b}[0m"));
        assert!(Paint::decide(Color::Always, false).is_on());
        assert!(!Paint::decide(Color::Never, true).is_on());
        assert!(!Paint::decide(Color::Auto, false).is_on());
    }
}
