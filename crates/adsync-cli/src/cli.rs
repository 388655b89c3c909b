//! The command line (SPEC §8).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Keeps a LogMeIn Rescue organization in line with Microsoft Entra ID groups.
#[derive(Debug, Parser)]
#[command(name = "adsync", version, about, propagate_version = true)]
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
    /// More logging (-v info, -vv debug); RUST_LOG overrides
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
    Plan(PlanArgs),
    /// Apply a plan: plan now, or apply a saved plan file
    Apply(ApplyArgs),
    /// Write the plan as an Excel workbook for review
    DryRun(DryRunArgs),
    /// Service mode: plan and apply now, then every interval
    Run(RunArgs),
    /// Check the configuration (and with --online, both sign-ins and every pairing)
    Validate(ValidateArgs),
    /// Entra side: find groups, list a group's members
    Groups(GroupsArgs),
    /// The Rescue organization tree
    Tree(JsonArgs),
    /// Why the plan does what it does to one user
    Explain(ExplainArgs),
    /// The last run, from the state directory
    Status(JsonArgs),
    /// Write a commented starter adsync.yaml
    Init(InitArgs),
    /// Shell completions
    Completions(CompletionsArgs),
    /// GoTo accounts: sign in
    Goto(GotoArgs),
}

/// `adsync plan`.
#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// Also save the plan as JSON, for `adsync apply plan.json`
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Print the plan as one JSON document
    #[arg(long)]
    pub(crate) json: bool,
    /// Exit 2 when changes are pending (0: none, 1: error)
    #[arg(long)]
    pub(crate) detailed_exitcode: bool,
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
    /// Time between cycles: `30s`, `15m`, `1h30m`
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
}

/// `adsync dry-run`.
#[derive(Debug, Args)]
pub(crate) struct DryRunArgs {
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
