//! `adsync init`: a commented starter configuration.

use std::path::PathBuf;

use crate::cli::{Global, InitArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load;
use crate::output;

/// The starter configuration. It validates as written (secrets are references).
pub(crate) const STARTER: &str = r#"# adsync configuration. Reference: the README's "Configuration" section.
# Secrets are never written here: they are references to environment variables or files.

source:
  type: graph                        # graph | snapshot
  tenant: contoso.onmicrosoft.com    # tenant id or verified domain
  client_id: 00000000-0000-0000-0000-000000000000   # the app registration's application id
  client_secret: { env: ADSYNC_GRAPH_CLIENT_SECRET } # or { file: /run/secrets/graph }
  cloud: global                      # global | usgov | usgov-dod | china
  nested_groups: true                # members of nested groups count

target:
  type: rescue                       # rescue | snapshot
  region: global                     # global | eu | enterprise (or base_url: https://...)
  auth:
    api_token: { env: ADSYNC_RESCUE_API_TOKEN }   # Rescue Admin Center > Global Settings > API token
  default_password: { env: ADSYNC_DEFAULT_PASSWORD }  # for new users; changed at first login
  concurrency: 4

sync:
  full_group_sync: true              # false: only enable/disable, never move or rename
  use_upn_instead_of_email: false
  email_as_ssoid: false
  create_missing_groups: false
  protected: []                      # e-mails adsync never touches, e.g. break-glass accounts
  safety: { max_disables: "10%", max_moves: "25%" }
  state_dir: .adsync

pairings:                            # order is priority: a user goes to the first pairing that holds them
  - name: helpdesk
    entra_group: SG-Rescue-Helpdesk  # display name, or { id: <guid> }
    rescue_group: Helpdesk           # a Technician Group path, e.g. Helpdesk/L2
    role: technician
    mobile_license: false
    attributes: [name, email]        # name, nick, email, ssoid, description
  - name: admins
    entra_group: SG-Rescue-Admins
    rescue_group: ""                 # "" is the Administrators container itself
    role: administrator
"#;

pub(crate) fn run(global: &Global, args: &InitArgs) -> Result<ExitStatus, Error> {
    if args.stdout {
        output::stdout(STARTER)?;
        return Ok(ExitStatus::Success);
    }
    let path = global
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(load::DEFAULT_CONFIG));
    if path.exists() && !args.force {
        return Err(Error::Setup(format!(
            "`{}` already exists; pass --force to overwrite it",
            path.display()
        )));
    }
    output::write_atomic(&path, STARTER.as_bytes())?;
    // The next command names the file just written, unless it is the one adsync reads anyway.
    let next = if path == std::path::Path::new(load::DEFAULT_CONFIG) {
        "adsync validate".to_owned()
    } else {
        format!("adsync --config {} validate", path.display())
    };
    output::note(
        global.quiet,
        &format!(
            "wrote {}; set the tenant, client_id and pairings, then run `{next}`",
            path.display()
        ),
    );
    Ok(ExitStatus::Success)
}
