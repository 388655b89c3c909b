//! wiremock tests of adsync-goto, one server per test: paging and complete reads, 429 and
//! Retry-After, token refresh, rotation and revocation, the token file, conflict and licence
//! refusals, malformed bodies, and that no request ever deletes.

mod errors;
mod logs;
mod no_delete;
mod paging;
mod planner;
mod retry;
mod saved;
mod support;
mod token;
