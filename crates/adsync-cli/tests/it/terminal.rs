//! adsync as an operator's terminal shows it: the real binary in a pseudo-terminal
//! (portable-pty, wezterm's maintained pty crate), against the emulators. Progress labels and
//! colours appear on a terminal, and never in a pipe or with `NO_COLOR`.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

use crate::emulated::Emulated;

/// What a run in a pseudo-terminal printed (stdout and stderr together, as a terminal shows
/// them) and its exit code.
struct Screen {
    code: u32,
    output: String,
}

/// Runs `adsync args` in a fresh 200-column pseudo-terminal in `dir` with `env`, typing `input`
/// once `prompt` appears (when given). Bounded: killed after a minute.
fn in_terminal(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    answer: Option<(&str, &str)>,
) -> Screen {
    in_terminal_of(200, dir, args, env, answer)
}

/// [`in_terminal`] in a terminal `cols` columns wide.
fn in_terminal_of(
    cols: u16,
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    answer: Option<(&str, &str)>,
) -> Screen {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 50,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pseudo-terminal");
    let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_adsync"));
    command.args(args);
    command.cwd(dir);
    command.env_clear();
    command.env("TERM", "xterm-256color");
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = pty.slave.spawn_command(command).expect("adsync starts");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("a reader");
    let mut writer = pty.master.take_writer().expect("a writer");
    let (sender, received) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        // A pty's master reads EIO once the child has gone: the end of the output.
        while let Ok(read) = reader.read(&mut buffer) {
            if read == 0 || sender.send(buffer[..read].to_vec()).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut output = Vec::new();
    let mut answered = answer.is_none();
    let code = loop {
        while let Ok(bytes) = received.recv_timeout(Duration::from_millis(20)) {
            output.extend(bytes);
        }
        if let Some((prompt, input)) = answer
            && !answered
            && String::from_utf8_lossy(&output).contains(prompt)
        {
            writer.write_all(input.as_bytes()).expect("typed");
            writer.flush().expect("flushed");
            answered = true;
        }
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break status.exit_code();
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!(
                "adsync did not finish within a minute: {}",
                String::from_utf8_lossy(&output)
            );
        }
    };
    // What is still in flight after the exit.
    while let Ok(bytes) = received.recv_timeout(Duration::from_millis(200)) {
        output.extend(bytes);
    }
    Screen {
        code,
        output: String::from_utf8_lossy(&output).into_owned(),
    }
}

/// The SGR (colour and style) escape sequences in `text`: `ESC [ digits;... m`. Cursor moves
/// and line erases (progress redraws) are not colour and are not counted.
fn colours(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("\u{1b}[") {
        let tail = &rest[at + 2..];
        let end = tail
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(tail.len());
        if tail[end..].starts_with('m') {
            found.push(format!("ESC[{}m", &tail[..end]));
        }
        rest = &tail[end..];
    }
    found
}

/// The demo behind emulators slow enough for a read to be seen: every Graph answer takes
/// 150 ms, every Rescue answer 20 ms.
fn slow_demo(name: &str) -> Emulated {
    let emulated = Emulated::start("demo", name);
    emulated.graph.set_latency(Duration::from_millis(150));
    emulated.rescue.set_latency(Duration::from_millis(20));
    emulated
}

#[test]
fn a_terminal_shows_the_read_progress_and_the_plan_in_colour() {
    let emulated = slow_demo("pty-colour");
    let screen = in_terminal(
        &emulated.dir,
        &["plan", "--color", "always"],
        &emulated.env(),
        None,
    );
    assert_eq!(screen.code, 0, "{}", screen.output);
    // The read phase says what it reads and how far it has come.
    assert!(
        screen
            .output
            .contains("reading Entra groups: 0 of 4 groups"),
        "{}",
        screen.output
    );
    assert!(
        screen
            .output
            .contains("reading Entra groups: 4 of 4 groups, "),
        "{}",
        screen.output
    );
    assert!(
        screen.output.contains(" users"),
        "users counted: {}",
        screen.output
    );
    assert!(
        screen.output.contains("reading the Rescue organization"),
        "{}",
        screen.output
    );
    // The plan in colour: green creates, red disables, a bold summary, a yellow warning.
    for (what, coloured) in [
        ("create", "\u{1b}[32m+ create"),
        ("disable", "\u{1b}[31m- disable"),
        ("move", "\u{1b}[36m> move"),
        ("summary", "\u{1b}[1m4 to create"),
        ("warning", "\u{1b}[1m\u{1b}[33mwarning:"),
    ] {
        assert!(
            screen.output.contains(coloured),
            "{what} in colour: {:?}",
            screen.output
        );
    }
}

#[test]
fn no_color_and_pipes_get_no_colour() {
    let emulated = slow_demo("pty-no-colour");
    let mut env = emulated.env();
    env.push(("NO_COLOR", "1"));
    let screen = in_terminal(&emulated.dir, &["plan"], &env, None);
    assert_eq!(screen.code, 0, "{}", screen.output);
    assert!(
        screen.output.contains("reading Entra groups"),
        "progress is not colour: it still shows: {}",
        screen.output
    );
    assert!(
        screen
            .output
            .contains("+ create technician bruno.costa@contoso.com"),
        "{}",
        screen.output
    );
    assert_eq!(
        colours(&screen.output),
        Vec::<String>::new(),
        "{:?}",
        screen.output
    );

    // A pipe, with colour left to adsync (no NO_COLOR): neither colour nor progress.
    let output = Command::new(env!("CARGO_BIN_EXE_adsync"))
        .args(["plan"])
        .current_dir(&emulated.dir)
        .env_clear()
        .envs(emulated.env())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .output()
        .expect("adsync runs");
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains('\u{1b}'),
            "no escape sequence at all: {text:?}"
        );
        assert!(
            !text.contains("reading Entra groups"),
            "no progress: {text}"
        );
    }
    assert!(stdout.contains("+ create technician bruno.costa@contoso.com"));
}

/// Declining the confirmation exits 1 and applies nothing; accepting it shows the apply bar
/// with a phase's name and the time left.
#[test]
fn declining_the_confirmation_exits_1_and_accepting_shows_the_apply_bar() {
    let emulated = slow_demo("pty-confirm");
    let screen = in_terminal(
        &emulated.dir,
        &["apply"],
        &emulated.env(),
        Some(("apply these 13 changes? [y/N]", "n\r")),
    );
    assert_eq!(screen.code, 1, "{}", screen.output);
    assert!(
        screen
            .output
            .contains("apply cancelled: nothing was applied"),
        "{}",
        screen.output
    );
    assert_eq!(emulated.read(".adsync/audit.jsonl"), "", "nothing applied");

    let screen = in_terminal(
        &emulated.dir,
        &["apply"],
        &emulated.env(),
        Some(("apply these 13 changes? [y/N]", "y\r")),
    );
    assert_eq!(screen.code, 0, "{}", screen.output);
    assert!(
        ["creating users", "disabling users", "updating users"]
            .iter()
            .any(|label| screen.output.contains(label)),
        "a phase's name: {}",
        screen.output
    );
    assert!(
        screen.output.contains(" left)"),
        "an estimate: {}",
        screen.output
    );
    assert!(
        screen.output.contains("applied 13, failed 0"),
        "{}",
        screen.output
    );
}

/// On a narrow terminal an update too wide for it lists its changes on lines of their own; in
/// a pipe the line stays whole, whatever the width.
#[test]
fn a_narrow_terminal_gets_wrapped_updates() {
    let emulated = Emulated::start("demo", "pty-narrow");
    let mut env = emulated.env();
    env.push(("NO_COLOR", "1"));
    let screen = in_terminal_of(60, &emulated.dir, &["plan", "--no-progress"], &env, None);
    assert_eq!(screen.code, 0, "{}", screen.output);
    assert!(
        screen.output.contains(
            "~ update technician fatima.zahra@contoso.com:\r\n    name \"Fatima Z.\" -> \"Fatima Zahra\""
        ),
        "{:?}",
        screen.output
    );
    let piped = emulated.run(&["plan"]);
    assert!(
        piped.stdout.contains(
            "~ update technician fatima.zahra@contoso.com: name \"Fatima Z.\" -> \"Fatima Zahra\"\n"
        ),
        "{}",
        piped.stdout
    );
}
