//! `adsync validate`: the configuration is read, parsed and checked; secrets are resolved.

use adsync_core::config::{RescueAuthMode, SourceConfig, TargetConfig};

use crate::cli::{Global, ValidateArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::load;
use crate::output;

pub(crate) fn run(global: &Global, args: &ValidateArgs) -> Result<ExitStatus, Error> {
    let loaded = super::config(global)?;
    let config = &loaded.config;
    // Every secret the configuration names must be readable; values are never printed.
    if let SourceConfig::Graph(graph) = &config.source {
        load::secret(&loaded, &graph.client_secret, "source.client_secret")?;
    }
    if let TargetConfig::Rescue(rescue) = &config.target {
        match rescue.auth.mode() {
            None => {}
            Some(RescueAuthMode::Token(api_token)) => {
                load::secret(&loaded, api_token, "target.auth.api_token")?;
            }
            Some(RescueAuthMode::Password { password, .. }) => {
                load::secret(&loaded, password, "target.auth.password")?;
                output::note(
                    global.quiet,
                    "warning: password sign-in uses requestAuthCode, which replaces the account's previous authcode; prefer an API token",
                );
            }
        }
        if let Some(default_password) = &rescue.default_password {
            load::secret(&loaded, default_password, "target.default_password")?;
        }
    }
    if args.json {
        output::stdout(&output::json(&serde_json::json!({
            "format_version": "1.0",
            "config": loaded.path.display().to_string(),
            "config_digest": config.digest(),
            "valid": true,
            "pairings": config.pairings.len(),
        })))?;
    } else {
        output::stdout(&format!(
            "{}: valid ({} pairings)\n",
            loaded.path.display(),
            config.pairings.len()
        ))?;
    }
    Ok(ExitStatus::Success)
}
