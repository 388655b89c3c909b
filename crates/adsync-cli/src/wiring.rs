//! Builds the source and the target the configuration asks for: the Graph and LDAP sources and
//! the Rescue target with their secrets resolved, or the snapshot files `load` reads.

use std::path::{Path, PathBuf};
use std::time::Duration;

use adsync_core::adapter::{Source, Target};
use adsync_core::config::{
    GraphSourceConfig, LdapSourceConfig, RescueAuthMode, RescueTargetConfig, SourceConfig,
    TargetConfig,
};
use adsync_core::memory::{MemoryTarget, SnapshotSource};
use adsync_core::model::{DirectorySnapshot, RescueSnapshot};
use adsync_graph::{GraphSettings, GraphSource};
use adsync_ldap::{LdapSettings, LdapSource};
use adsync_rescue::{RescueCredentials, RescueSettings, RescueTarget};

use crate::error::Error;
use crate::load::{self, Loaded};

/// The Graph source, with its client secret resolved.
pub(crate) fn graph(loaded: &Loaded, graph: &GraphSourceConfig) -> Result<GraphSource, Error> {
    let secret = load::secret(loaded, &graph.client_secret, "source.client_secret")?;
    let mut settings = GraphSettings::from_config(graph, secret);
    let retry = &graph.retry;
    let policy = &mut settings.retry;
    override_with(&mut policy.max_attempts, retry.max_attempts);
    override_with(
        &mut policy.base_delay,
        retry.initial_backoff_ms.map(Duration::from_millis),
    );
    override_with(
        &mut policy.max_delay,
        retry.max_backoff_ms.map(Duration::from_millis),
    );
    override_with(
        &mut policy.max_elapsed,
        retry.max_elapsed_s.map(Duration::from_secs),
    );
    override_with(
        &mut policy.timeout,
        retry.request_timeout_s.map(Duration::from_secs),
    );
    let source = GraphSource::new(settings)
        .map_err(|error| Error::Setup(format!("cannot set up Microsoft Graph: {error}")))?
        .with_read_budget(Duration::from_secs(loaded.config.sync.read_budget_s));
    Ok(match &loaded.observer {
        Some(observer) => source.with_request_observer(observer.clone()),
        None => source,
    })
}

pub(crate) fn graph_source(
    loaded: &Loaded,
    config: &GraphSourceConfig,
) -> Result<Box<dyn Source>, Error> {
    Ok(Box::new(graph(loaded, config)?))
}

/// The LDAP source, with its password resolved and its CA file read.
pub(crate) fn ldap(loaded: &Loaded, ldap: &LdapSourceConfig) -> Result<LdapSource, Error> {
    let password = load::secret(loaded, &ldap.password, "source.password")?;
    let ca_pem = match &ldap.ca_file {
        Some(file) => {
            let path = loaded.resolve(file);
            Some(std::fs::read(&path).map_err(|error| Error::DataFile {
                path: path.clone(),
                message: format!("source.ca_file cannot be read: {error}"),
            })?)
        }
        None => None,
    };
    LdapSource::new(LdapSettings::from_config(ldap, password, ca_pem))
        .map_err(|error| Error::Setup(format!("cannot set up the LDAP source: {error}")))
}

pub(crate) fn ldap_source(
    loaded: &Loaded,
    config: &LdapSourceConfig,
) -> Result<Box<dyn Source>, Error> {
    Ok(Box::new(ldap(loaded, config)?))
}

/// The Rescue target, with its credentials and default password resolved.
pub(crate) fn rescue(loaded: &Loaded, rescue: &RescueTargetConfig) -> Result<RescueTarget, Error> {
    let auth = match rescue.auth.mode() {
        Some(RescueAuthMode::Token(token)) => {
            RescueCredentials::Token(load::secret(loaded, token, "target.auth.api_token")?)
        }
        Some(RescueAuthMode::Password { email, password }) => RescueCredentials::Password {
            email: email.to_owned(),
            password: load::secret(loaded, password, "target.auth.password")?,
        },
        // validate() refuses a configuration without a sign-in mode.
        None => return Err(Error::Setup("target.auth names no sign-in mode".into())),
    };
    let default_password = rescue
        .default_password
        .as_ref()
        .map(|reference| load::secret(loaded, reference, "target.default_password"))
        .transpose()?;
    let mut settings = RescueSettings::from_config(rescue, auth, default_password);
    let retry = &rescue.retry;
    let policy = &mut settings.retry;
    override_with(&mut policy.max_attempts, retry.max_attempts);
    override_with(
        &mut policy.initial_backoff,
        retry.initial_backoff_ms.map(Duration::from_millis),
    );
    override_with(
        &mut policy.max_backoff,
        retry.max_backoff_ms.map(Duration::from_millis),
    );
    override_with(
        &mut policy.max_elapsed,
        retry.max_elapsed_s.map(Duration::from_secs),
    );
    override_with(
        &mut policy.request_timeout,
        retry.request_timeout_s.map(Duration::from_secs),
    );
    let target = RescueTarget::new(settings)
        .map_err(|error| Error::Setup(format!("cannot set up LogMeIn Rescue: {error}")))?;
    Ok(match &loaded.observer {
        Some(observer) => target.with_request_observer(observer.clone()),
        None => target,
    })
}

pub(crate) fn rescue_target(
    loaded: &Loaded,
    config: &RescueTargetConfig,
) -> Result<Box<dyn Target>, Error> {
    let path = loaded.state_dir().join(adsync_rescue::ORPHANS_FILE);
    set_aside_if_corrupt(&path);
    let target = rescue(loaded, config)?
        .with_orphan_file(path)
        .map_err(|error| Error::Setup(error.to_string()))?;
    Ok(Box::new(target))
}

/// Renames a corrupt orphans file to `<name>.corrupt` (never deletes it): it only lists empty
/// nodes for adsync to clean up, so a run without it is safe, and a create under the same
/// parent still takes such a node.
fn set_aside_if_corrupt(path: &Path) {
    if let Err(error @ adsync_rescue::OrphanFileError::Corrupt { .. }) =
        adsync_rescue::load_orphans(path)
    {
        let aside = path.with_extension("json.corrupt");
        match std::fs::rename(path, &aside) {
            Ok(()) => tracing::warn!("{error}: moved to {}", aside.display()),
            Err(rename) => tracing::warn!("{error}; moving it aside failed: {rename}"),
        }
    }
}

/// The source the configuration asks for.
pub(crate) fn source(loaded: &Loaded) -> Result<Box<dyn Source>, Error> {
    match &loaded.config.source {
        SourceConfig::Snapshot(snapshot) => {
            let directory: DirectorySnapshot = load::read_data(&loaded.resolve(&snapshot.path))?;
            Ok(Box::new(SnapshotSource::new(directory)))
        }
        SourceConfig::Graph(graph) => graph_source(loaded, graph),
        SourceConfig::Ldap(ldap) => ldap_source(loaded, ldap),
    }
}

/// The target the configuration asks for.
pub(crate) fn target(loaded: &Loaded) -> Result<TargetHandle, Error> {
    match &loaded.config.target {
        TargetConfig::Snapshot(snapshot) => {
            let path = loaded.resolve(&snapshot.path);
            let rescue: RescueSnapshot = load::read_data(&path)?;
            Ok(TargetHandle::Snapshot {
                target: MemoryTarget::new(rescue, snapshot.concurrency),
                path,
            })
        }
        TargetConfig::Rescue(rescue) => Ok(TargetHandle::Remote(rescue_target(loaded, rescue)?)),
        TargetConfig::Goto(_) => Err(Error::Setup(
            "this command does not work with a goto target yet; `plan`, `apply`, `run`, \
             `dry-run`, `tree`, `explain`, `validate` and `status` do"
                .into(),
        )),
    }
}

/// A target, and for the snapshot target the file to write back after an apply.
pub(crate) enum TargetHandle {
    /// A Rescue snapshot file held in memory.
    Snapshot {
        /// The in-memory tree.
        target: MemoryTarget,
        /// The file it came from.
        path: PathBuf,
    },
    /// A remote API.
    Remote(Box<dyn Target>),
}

impl TargetHandle {
    /// The target as a trait object.
    pub(crate) fn as_target(&self) -> &dyn Target {
        match self {
            TargetHandle::Snapshot { target, .. } => target,
            TargetHandle::Remote(target) => target.as_ref(),
        }
    }
}

fn override_with<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}
