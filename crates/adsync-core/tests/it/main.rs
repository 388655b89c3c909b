//! adsync-core's integration tests: data-driven scenarios, properties and architecture checks.

mod architecture;
mod execute;
mod properties;
mod scenarios;
