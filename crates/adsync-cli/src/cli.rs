//! The command line (SPEC §8).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Keeps a LogMeIn Rescue organization in line with Microsoft Entra ID or Active Directory groups.
#[derive(Debug, Parser)]
#[command(
    name = "adsync",
    version,
    about,
    propagate_version = true,
    after_help = EXAMPLES_TOP
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// The configuration file [default: adsync.yaml]
    #[arg(long, global = true, env = "ADSYNC_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// More logging: -v adsync's progress and each cycle's plan, -vv adsync's requests, -vvv
    /// everything (libraries too); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// When to use colour
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub(crate) color: Color,
    /// Never draw progress bars
    #[arg(long, global = true)]
    pub(crate) no_progress: bool,
}

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Color {
    /// Colour on terminals, unless NO_COLOR is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show what a sync would change, without changing anything
    #[command(after_help = EXAMPLES_PLAN)]
    Plan(PlanArgs),
    /// Apply a plan: plan now, or apply a saved plan file
    #[command(after_help = EXAMPLES_APPLY)]
    Apply(ApplyArgs),
    /// Write the plan as an Excel workbook for review
    #[command(after_help = EXAMPLES_DRY_RUN)]
    DryRun(DryRunArgs),
    /// Service mode: plan and apply now, then every interval
    #[command(after_help = EXAMPLES_RUN)]
    Run(RunArgs),
    /// Check the configuration (and with --online, both sign-ins and every pairing)
    #[command(after_help = EXAMPLES_VALIDATE)]
    Validate(ValidateArgs),
    /// Directory side (Entra ID or Active Directory): find groups, list a group's members
    #[command(after_help = EXAMPLES_GROUPS)]
    Groups(GroupsArgs),
    /// The Rescue organization tree, or the subtree at a group path
    #[command(after_help = EXAMPLES_TREE)]
    Tree(TreeArgs),
    /// Why the plan does what it does to one user
    #[command(after_help = EXAMPLES_EXPLAIN)]
    Explain(ExplainArgs),
    /// The last run, from the state directory
    #[command(after_help = EXAMPLES_STATUS)]
    Status(JsonArgs),
    /// Write a commented starter adsync.yaml
    #[command(after_help = EXAMPLES_INIT)]
    Init(InitArgs),
    /// Shell completions
    #[command(after_help = EXAMPLES_COMPLETIONS)]
    Completions(CompletionsArgs),
    /// GoTo accounts: sign in
    #[command(after_help = EXAMPLES_GOTO)]
    Goto(GotoArgs),
}

impl Command {
    /// Whether the command was asked for JSON on stdout (then a failure is JSON too).
    pub(crate) fn json(&self) -> bool {
        match self {
            Command::Plan(args) => args.json,
            Command::Apply(args) => args.json,
            Command::Validate(args) => args.json,
            Command::Groups(args) => args.json,
            Command::Tree(args) => args.json,
            Command::Explain(args) => args.json,
            Command::Status(args) => args.json,
            Command::DryRun(_)
            | Command::Run(_)
            | Command::Init(_)
            | Command::Completions(_)
            | Command::Goto(_) => false,
        }
    }
}

/// `adsync plan`.
#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// Read everything again (the directory and Rescue's details), refreshing the saved state
    #[arg(long)]
    pub(crate) full: bool,
    /// Also save the plan as JSON, for `adsync apply plan.json`
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Print the plan as one JSON document
    #[arg(long)]
    pub(crate) json: bool,
    /// Exit 2 when changes are pending (0: none, 1: error)
    #[arg(long)]
    pub(crate) detailed_exitcode: bool,
    /// List only these kinds: create, move, update, enable, addon, disable, group
    #[arg(
        long,
        value_name = "KINDS",
        value_delimiter = ',',
        conflicts_with = "json"
    )]
    pub(crate) only: Vec<String>,
    /// List only the changes of this pairing (its name, or its directory group's name)
    #[arg(long, value_name = "NAME", conflicts_with = "json")]
    pub(crate) pairing: Option<String>,
    /// List only the changes of this user (e-mail or directory object id)
    #[arg(long, value_name = "EMAIL", conflicts_with = "json")]
    pub(crate) user: Option<String>,
    /// Counts per kind and group instead of one line per change (for large plans)
    #[arg(long, conflicts_with = "json")]
    pub(crate) compact: bool,
}

/// `adsync tree`.
#[derive(Debug, Args)]
pub(crate) struct TreeArgs {
    /// A group path below a container (`Helpdesk/L2`), or a container's name (`Technicians`)
    #[arg(value_name = "PATH")]
    pub(crate) path: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

/// `adsync validate`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Also sign in to Graph and Rescue, resolve every group and find every destination
    #[arg(long)]
    pub(crate) online: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

/// Commands whose only flag is `--json`.
#[derive(Debug, Args)]
pub(crate) struct JsonArgs {
    /// Print the result as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

/// `adsync run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Read everything again (the directory and Rescue's details), refreshing the saved state
    #[arg(long)]
    pub(crate) full: bool,
    /// Time between cycles, with a unit: `30s`, `15m`, `1h30m`
    #[arg(long, value_name = "INTERVAL")]
    pub(crate) every: String,
    /// Write a dry-run workbook each cycle instead of applying
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Where `--dry-run` workbooks go
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) out_dir: PathBuf,
    /// Serve the service page on this address: `127.0.0.1:8787`, `[::1]:8787`, `localhost:8787`
    /// or a port alone (loopback); any other address needs --listen-token-file
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// A file holding the access token the page asks for (at least 16 characters)
    #[arg(long, value_name = "FILE", requires = "listen")]
    pub(crate) listen_token_file: Option<PathBuf>,
    /// Show the page without Retry sync
    #[arg(long, requires = "listen")]
    pub(crate) listen_read_only: bool,
}

/// `adsync groups`.
#[derive(Debug, Args)]
pub(crate) struct GroupsArgs {
    #[command(subcommand)]
    pub(crate) command: GroupsCommand,
    /// Print the result as JSON
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

/// `adsync groups ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum GroupsCommand {
    /// Groups whose name starts with or contains the term
    Search {
        /// A name prefix or words of the name
        term: String,
    },
    /// A group's members (transitive when nested groups are on) and their count
    Members {
        /// A display name or an object id
        group: String,
    },
}

/// `adsync explain`.
#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// An e-mail (or UPN, with use_upn_instead_of_email) or a directory object id
    pub(crate) user: String,
    /// Print the result as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

/// `adsync init`.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Overwrite an existing file
    #[arg(long)]
    pub(crate) force: bool,
    /// Print the starter configuration instead of writing it
    #[arg(long)]
    pub(crate) stdout: bool,
    /// The directory the starter reads: Microsoft Entra ID (graph) or on-premises Active
    /// Directory (ldap)
    #[arg(long, value_enum, default_value = "graph")]
    pub(crate) source: StarterSource,
}

/// The source kinds `adsync init` writes a starter for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum StarterSource {
    /// Microsoft Entra ID through Microsoft Graph.
    Graph,
    /// On-premises Active Directory over LDAP.
    Ldap,
}

/// `adsync completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

/// `adsync apply`.
#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// Read everything again (the directory and Rescue's details), refreshing the saved state
    #[arg(long)]
    pub(crate) full: bool,
    /// A plan saved with `adsync plan --out`; its drifted actions are skipped
    #[arg(value_name = "PLAN")]
    pub(crate) plan: Option<PathBuf>,
    /// Apply without asking
    #[arg(long)]
    pub(crate) yes: bool,
    /// Apply a plan blocked by the disable or move budget
    #[arg(long)]
    pub(crate) allow_destructive: bool,
    /// Apply a plan blocked by the empty-group guard
    #[arg(long)]
    pub(crate) allow_empty_groups: bool,
    /// Print the result as one JSON document
    #[arg(long)]
    pub(crate) json: bool,
    /// Warn when a saved plan is older than this: `30m`, `12h`, `2d`
    #[arg(long, value_name = "AGE", default_value = "24h")]
    pub(crate) max_plan_age: String,
}

/// `adsync dry-run`.
#[derive(Debug, Args)]
pub(crate) struct DryRunArgs {
    /// Read everything again (the directory and Rescue's details), refreshing the saved state
    #[arg(long)]
    pub(crate) full: bool,
    /// The workbook to write [default: adsync-dry-run-YYYYMMDD-HHMMSS.xlsx]
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Render a saved plan instead of planning again
    #[arg(long, value_name = "PLAN")]
    pub(crate) plan: Option<PathBuf>,
    /// Exit 2 when changes are pending (0: none, 1: error)
    #[arg(long)]
    pub(crate) detailed_exitcode: bool,
}

const EXAMPLES_TOP: &str = "\
Examples:
  adsync init                          write a starter adsync.yaml
  adsync validate --online             sign in to both sides, find every group
  adsync plan                          what a sync would change
  adsync plan --out plan.json          save the plan for review
  adsync apply plan.json               apply exactly the reviewed plan
  adsync run --every 15m               the service mode

Exit codes: 0 success (plan: no changes), 1 error, 2 changes pending (--detailed-exitcode),
3 apply refused by a safety guard, 4 apply finished with failed, skipped or drifted actions";

const EXAMPLES_PLAN: &str = "\
Examples:
  adsync plan
  adsync plan --only create,disable
  adsync plan --pairing helpdesk-l2
  adsync plan --user jane.doe@contoso.com
  adsync plan --compact                counts per kind and group
  adsync plan --out plan.json          then: adsync apply plan.json
  adsync plan --json | jq .summary
  adsync plan --detailed-exitcode      exit 2 when changes are pending (CI)";

const EXAMPLES_APPLY: &str = "\
Examples:
  adsync apply                         plan, show the plan, ask, apply
  adsync apply --yes                   without asking (scheduled tasks)
  adsync apply plan.json               a reviewed plan; drifted actions are skipped
  adsync apply --json --yes            the result as one JSON document

Exit codes:
  0  applied (or nothing to apply)
  1  error, nothing or part applied; also: the confirmation was declined
  3  refused by a safety guard (max_disables, max_moves, an empty group); nothing applied
  4  finished with failed, skipped or drifted actions; run it again to retry";

const EXAMPLES_DRY_RUN: &str = "\
Examples:
  adsync dry-run                       adsync-dry-run-YYYYMMDD-HHMMSS.xlsx here
  adsync dry-run --out review.xlsx
  adsync dry-run --plan plan.json      the workbook of a saved plan";

const EXAMPLES_RUN: &str = "\
Examples:
  adsync run --every 15m
  adsync run --every 1h --dry-run --out-dir reports
  adsync -v run --every 15m            also print each cycle's plan";

const EXAMPLES_VALIDATE: &str = "\
Examples:
  adsync validate                      the file and its secrets
  adsync validate --online             also sign in, find every group and destination
  adsync validate --online --json";

const EXAMPLES_GROUPS: &str = "\
Examples:
  adsync groups search helpdesk
  adsync groups members SG-Rescue-L2
  adsync groups members 5d7e2f0a-8b1c-4e3d-9f60-2a4b6c8d0e12 --json";

const EXAMPLES_TREE: &str = "\
Examples:
  adsync tree                          the whole organization
  adsync tree Helpdesk/L2              one Technician Group and what is below it
  adsync tree Administrators           one container
  adsync tree --json";

const EXAMPLES_EXPLAIN: &str = "\
Examples:
  adsync explain jane.doe@contoso.com
  adsync explain 0b6f6c3e-1d2a-4c55-9a51-3c1f0d3b7e11
  adsync explain jane.doe@contoso.com --json";

const EXAMPLES_STATUS: &str = "\
Examples:
  adsync status
  adsync status --json                 for monitoring: outcome, last_success, counts";

const EXAMPLES_INIT: &str = "\
Examples:
  adsync init
  adsync init --source ldap            a starter for an on-premises Active Directory
  adsync --config /etc/adsync/adsync.yaml init
  adsync init --stdout > adsync.yaml";

const EXAMPLES_GOTO: &str = "\
Examples:
  adsync goto login --client-id 0d3c...   sign in in a browser, store the refresh token
  adsync goto login --client-secret-file /run/secrets/goto --token-file /var/lib/adsync/goto-token.json";

const EXAMPLES_COMPLETIONS: &str = "\
Examples:
  adsync completions bash > /etc/bash_completion.d/adsync
  adsync completions zsh > \"${fpath[1]}/_adsync\"";

/// `adsync goto`.
#[derive(Debug, Args)]
pub(crate) struct GotoArgs {
    #[command(subcommand)]
    pub(crate) command: GotoCommand,
}

/// `adsync goto ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum GotoCommand {
    /// Sign in to GoTo in a browser and store the refresh token (owner-only file)
    Login(GotoLoginArgs),
}

/// `adsync goto login`.
#[derive(Debug, Args)]
pub(crate) struct GotoLoginArgs {
    /// The GoTo OAuth client id
    #[arg(long, env = "ADSYNC_GOTO_CLIENT_ID", value_name = "ID")]
    pub(crate) client_id: String,
    /// The environment variable holding the client secret
    #[arg(
        long,
        value_name = "VARIABLE",
        default_value = "ADSYNC_GOTO_CLIENT_SECRET"
    )]
    pub(crate) client_secret_env: String,
    /// A file holding the client secret (instead of the environment variable)
    #[arg(long, value_name = "FILE")]
    pub(crate) client_secret_file: Option<PathBuf>,
    /// Where to store the refresh token
    #[arg(long, value_name = "FILE", default_value = ".adsync/goto-token.json")]
    pub(crate) token_file: PathBuf,
    /// The loopback port of the redirect (0: any free port)
    #[arg(long, default_value_t = adsync_goto::login::DEFAULT_PORT)]
    pub(crate) port: u16,
    /// Seconds to wait for the browser
    #[arg(long, value_name = "SECONDS", default_value_t = adsync_goto::login::DEFAULT_WAIT.as_secs())]
    pub(crate) wait: u64,
    /// The authorization endpoint (tests and proxies; https, or http to loopback)
    #[arg(long, hide = true, default_value = adsync_goto::api::host::AUTHORIZE)]
    pub(crate) authorize_url: String,
    /// The token endpoint (tests and proxies; https, or http to loopback)
    #[arg(long, hide = true, default_value = adsync_goto::api::host::TOKEN)]
    pub(crate) token_url: String,
}
