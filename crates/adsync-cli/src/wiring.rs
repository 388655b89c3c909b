//! Builds the Graph source and the Rescue target from the configuration.

use adsync_core::adapter::{Source, Target};
use adsync_core::config::{GraphSourceConfig, RescueTargetConfig};

use crate::error::Error;
use crate::load::Loaded;

pub(crate) fn graph_source(
    _loaded: &Loaded,
    _graph: &GraphSourceConfig,
) -> Result<Box<dyn Source>, Error> {
    Err(Error::Setup(
        "the graph source is being wired in; use `type: snapshot` meanwhile".into(),
    ))
}

pub(crate) fn rescue_target(
    _loaded: &Loaded,
    _rescue: &RescueTargetConfig,
) -> Result<Box<dyn Target>, Error> {
    Err(Error::Setup(
        "the rescue target is being wired in; use `type: snapshot` meanwhile".into(),
    ))
}
