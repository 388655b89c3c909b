//! wiremock tests of adsync-rescue, one server per test: every method and every documented
//! return code, retries and their bounds, ambiguous writes, signing in, and secrets.

mod ambiguity;
mod auth;
mod codes;
mod hostile;
mod injection;
mod methods;
mod retry;
mod rollback;
mod secrets;
mod support;
