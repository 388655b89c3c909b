//! `adsync init`: a commented starter configuration.

use std::path::PathBuf;

use crate::cli::{Global, InitArgs, StarterSource};
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

/// The starter for an on-premises Active Directory. It validates as written.
pub(crate) const STARTER_LDAP: &str = r#"# adsync configuration. Reference: the README's "On-premises Active Directory" section.
# Secrets are never written here: they are references to environment variables or files.

source:
  type: ldap
  url: ldaps://dc1.corp.example:636  # LDAPS; or ldap://dc1.corp.example:389 with starttls: true
  # starttls: false
  # ca_file: corp-root-ca.pem        # trust only this CA (PEM), instead of the system's
  bind_dn: CN=svc-adsync,OU=Service Accounts,DC=corp,DC=example   # or svc-adsync@corp.example
  password: { env: ADSYNC_LDAP_PASSWORD }   # or { file: /run/secrets/ldap }; never empty
  base_dn: DC=corp,DC=example        # where users and groups are searched
  nested_groups: true                # members of nested groups count
  in_chain: auto                     # auto | always | never: expand nesting on the server
  page_size: 1000                    # Active Directory's largest page
  timeout_s: 60                      # per LDAP operation

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
    entra_group: SG-Rescue-Helpdesk  # cn or sAMAccountName, a DN, or { id: <objectGUID> }
    rescue_group: Helpdesk           # a Technician Group path, e.g. Helpdesk/L2
    role: technician
    mobile_license: false
    attributes: [name, email]        # name, nick, email, ssoid, description
  - name: admins
    entra_group: CN=SG-Rescue-Admins,OU=Groups,DC=corp,DC=example
    rescue_group: ""                 # "" is the Administrators container itself
    role: administrator
"#;

pub(crate) fn run(global: &Global, args: &InitArgs) -> Result<ExitStatus, Error> {
    let starter = match args.source {
        StarterSource::Graph => STARTER,
        StarterSource::Ldap => STARTER_LDAP,
    };
    if args.stdout {
        output::stdout(starter)?;
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
    output::write_atomic(&path, starter.as_bytes())?;
    // The next command names the file just written, unless it is the one adsync reads anyway.
    let next = if path == std::path::Path::new(load::DEFAULT_CONFIG) {
        "adsync validate".to_owned()
    } else {
        format!("adsync --config {} validate", path.display())
    };
    let fields = match args.source {
        StarterSource::Graph => "the tenant, client_id and pairings",
        StarterSource::Ldap => "the url, bind_dn, base_dn and pairings",
    };
    output::note(
        global.quiet,
        &format!("wrote {}; set {fields}, then run `{next}`", path.display()),
    );
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use adsync_core::config::SourceConfig;

    use super::{STARTER, STARTER_LDAP};

    #[test]
    fn both_starters_validate_as_written() {
        let graph = crate::load::parse_config(STARTER, Path::new("adsync.yaml")).expect("valid");
        assert!(matches!(graph.source, SourceConfig::Graph(_)));
        let ldap =
            crate::load::parse_config(STARTER_LDAP, Path::new("adsync.yaml")).expect("valid");
        let SourceConfig::Ldap(source) = ldap.source else {
            panic!("an ldap source");
        };
        assert_eq!(source.url, "ldaps://dc1.corp.example:636");
        assert_eq!(source.page_size, 1000);
    }
}
