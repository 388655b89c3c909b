//! adsync-core's integration tests: data-driven scenarios, properties and architecture checks.

mod architecture;
mod properties;
mod scenarios;
