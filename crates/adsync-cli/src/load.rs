//! Reading the configuration and the files it names, resolving secrets, and building the
//! source and target it asks for. The only module that knows where things live on disk.

use std::path::{Path, PathBuf};

use adsync_core::adapter::{Source, SourceRequest, Target};
use adsync_core::config::{Config, SourceConfig, TargetConfig};
use adsync_core::memory::{MemoryTarget, SnapshotSource};
use adsync_core::model::{DirectorySnapshot, RescueSnapshot};
use adsync_core::plan::Links;
use adsync_core::secret::{Secret, SecretRef};
use serde::de::DeserializeOwned;

use crate::error::Error;

/// The default configuration file name.
pub(crate) const DEFAULT_CONFIG: &str = "adsync.yaml";

/// A configuration and where it came from.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The file.
    pub(crate) path: PathBuf,
    /// The folder relative paths resolve against.
    pub(crate) base: PathBuf,
    /// The parsed, validated configuration.
    pub(crate) config: Config,
}

impl Loaded {
    /// `relative` resolved against the folder of the configuration file.
    pub(crate) fn resolve(&self, relative: &str) -> PathBuf {
        let path = Path::new(relative);
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.base.join(path)
        }
    }

    /// The state directory.
    pub(crate) fn state_dir(&self) -> PathBuf {
        self.resolve(&self.config.sync.state_dir)
    }

    /// The request the source gets: the pairings' groups, in order, once each.
    pub(crate) fn source_request(&self) -> SourceRequest {
        let mut groups = Vec::new();
        for pairing in &self.config.pairings {
            if !groups.contains(&pairing.entra_group) {
                groups.push(pairing.entra_group.clone());
            }
        }
        SourceRequest {
            groups,
            nested_groups: self.config.source.nested_groups(),
        }
    }
}

/// Reads, parses and validates the configuration.
pub(crate) fn load_config(path: &Path) -> Result<Loaded, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
        path: path.to_owned(),
        source,
    })?;
    let config = parse_config(&text, path)?;
    let base = path.parent().map(Path::to_owned).unwrap_or_default();
    let base = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    };
    Ok(Loaded {
        path: path.to_owned(),
        base,
        config,
    })
}

/// Parses and validates configuration text; errors name the file, the key path and, where
/// the YAML parser gives them, the line and column.
pub(crate) fn parse_config(text: &str, path: &Path) -> Result<Config, Error> {
    let config: Config = serde_yaml::from_str(text).map_err(|error| Error::ConfigSyntax {
        path: path.to_owned(),
        message: yaml_message(&error),
    })?;
    config.validate().map_err(|problems| Error::ConfigInvalid {
        path: path.to_owned(),
        problems: problems.iter().map(ToString::to_string).collect(),
    })?;
    Ok(config)
}

fn yaml_message(error: &serde_yaml::Error) -> String {
    let message = error.to_string();
    // serde_yaml's messages for untagged enums say nothing useful; say what was expected.
    if message.contains("untagged enum GroupRef") {
        return message.replace(
            "data did not match any variant of untagged enum GroupRef",
            "expected a group display name or `{ id: <guid> }`",
        );
    }
    if message.contains("untagged enum DestinationRef") {
        return message.replace(
            "data did not match any variant of untagged enum DestinationRef",
            "expected a group path (`Helpdesk/L2`) or `{ id: N }`",
        );
    }
    message
}

/// Resolves a secret reference; `key` names the configuration key for messages.
pub(crate) fn secret(loaded: &Loaded, reference: &SecretRef, key: &str) -> Result<Secret, Error> {
    match reference {
        SecretRef::Env(name) => match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(Secret::new(value)),
            Ok(_) => Err(Error::Secret {
                key: key.to_owned(),
                what: format!("environment variable `{name}` is empty"),
                hint: format!("set {name} to the secret before running adsync"),
            }),
            Err(_) => Err(Error::Secret {
                key: key.to_owned(),
                what: format!("environment variable `{name}` is not set"),
                hint: format!("set {name} to the secret before running adsync"),
            }),
        },
        SecretRef::File(file) => {
            let path = loaded.resolve(file);
            match std::fs::read_to_string(&path) {
                Ok(value) if !value.trim().is_empty() => Ok(Secret::new(value)),
                Ok(_) => Err(Error::Secret {
                    key: key.to_owned(),
                    what: format!("file `{}` is empty", path.display()),
                    hint: format!("write the secret to {}", path.display()),
                }),
                Err(error) => Err(Error::Secret {
                    key: key.to_owned(),
                    what: format!("file `{}`: {error}", path.display()),
                    hint: format!(
                        "write the secret to {} (readable by adsync only)",
                        path.display()
                    ),
                }),
            }
        }
    }
}

/// Reads a YAML or JSON data file.
pub(crate) fn read_data<T: DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::DataFile {
        path: path.to_owned(),
        message: error.to_string(),
    })?;
    let is_json = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    let parsed = if is_json {
        serde_json::from_str(&text).map_err(|error| error.to_string())
    } else {
        serde_yaml::from_str(&text).map_err(|error| error.to_string())
    };
    parsed.map_err(|message| Error::DataFile {
        path: path.to_owned(),
        message,
    })
}

/// Links from the state directory; none when the file does not exist.
pub(crate) fn read_links(loaded: &Loaded) -> Result<Links, Error> {
    let path = loaded.state_dir().join("links.json");
    if !path.exists() {
        return Ok(Links::default());
    }
    read_data(&path)
}

/// The source the configuration asks for.
pub(crate) fn source(loaded: &Loaded) -> Result<Box<dyn Source>, Error> {
    match &loaded.config.source {
        SourceConfig::Snapshot(snapshot) => {
            let directory: DirectorySnapshot = read_data(&loaded.resolve(&snapshot.path))?;
            Ok(Box::new(SnapshotSource::new(directory)))
        }
        SourceConfig::Graph(graph) => crate::wiring::graph_source(loaded, graph),
    }
}

/// The target the configuration asks for.
pub(crate) fn target(loaded: &Loaded) -> Result<TargetHandle, Error> {
    match &loaded.config.target {
        TargetConfig::Snapshot(snapshot) => {
            let path = loaded.resolve(&snapshot.path);
            let rescue: RescueSnapshot = read_data(&path)?;
            Ok(TargetHandle::Snapshot {
                target: MemoryTarget::new(rescue, snapshot.concurrency),
                path,
            })
        }
        TargetConfig::Rescue(rescue) => Ok(TargetHandle::Remote(crate::wiring::rescue_target(
            loaded, rescue,
        )?)),
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
