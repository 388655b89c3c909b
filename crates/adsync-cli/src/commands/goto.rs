//! `adsync goto login`: signs in to GoTo in a browser (authorization code with PKCE through a
//! loopback redirect) and stores the refresh token in a file only its owner can read.
//!
//! The URL goes to stderr (it is for the person at the terminal, not data); stdout stays empty.

use std::path::PathBuf;
use std::time::Duration;

use adsync_core::adapter::AdapterError;
use adsync_core::secret::Secret;
use adsync_goto::login::{LoginSettings, start_login};
use adsync_goto::{OAuthClient, RetryPolicy, TokenFile};

use crate::cli::{Global, GotoArgs, GotoCommand, GotoLoginArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::output;

pub(crate) async fn run(global: &Global, args: &GotoArgs) -> Result<ExitStatus, Error> {
    match &args.command {
        GotoCommand::Login(login) => self::login(global, login).await,
    }
}

async fn login(global: &Global, args: &GotoLoginArgs) -> Result<ExitStatus, Error> {
    let client = OAuthClient {
        client_id: args.client_id.clone(),
        client_secret: client_secret(args)?,
        token_url: args.token_url.clone(),
    };
    let settings = LoginSettings {
        client,
        authorize_url: args.authorize_url.clone(),
        port: args.port,
        wait: Duration::from_secs(args.wait),
        retry: RetryPolicy::default(),
    };
    let pending = start_login(settings).await.map_err(failed)?;
    // Verbatim: the address carries the sign-in's `state` (a secret of this login only), and
    // the person at the terminal must open it as it is.
    output::note_verbatim(
        global.quiet,
        &format!(
            "open this address in a browser and sign in to GoTo as an account administrator:\n\n  \
             {}\n\nwaiting up to {} s for the redirect to {} (the oauth client must list this \
             redirect uri)",
            pending.authorize_url(),
            args.wait,
            pending.redirect_uri()
        ),
    );
    let file = TokenFile::new(&args.token_file);
    pending.finish(&file).await.map_err(failed)?;
    output::note(
        global.quiet,
        &format!(
            "signed in; the refresh token is stored in `{}`, readable by its owner only",
            args.token_file.display()
        ),
    );
    Ok(ExitStatus::Success)
}

fn failed(error: adsync_goto::Error) -> Error {
    Error::GotoLogin(AdapterError::from(error))
}

/// The client secret from the environment variable or file the flags name.
fn client_secret(args: &GotoLoginArgs) -> Result<Secret, Error> {
    if let Some(path) = &args.client_secret_file {
        return read_secret_file(path);
    }
    let name = &args.client_secret_env;
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(Secret::new(value)),
        _ => Err(Error::Secret {
            key: "--client-secret-env".to_owned(),
            what: format!("the environment variable `{name}` is not set or empty"),
            hint: format!(
                "export {name} with the goto oauth client's secret, or pass \
                 --client-secret-file FILE"
            ),
        }),
    }
}

fn read_secret_file(path: &PathBuf) -> Result<Secret, Error> {
    match std::fs::read_to_string(path) {
        Ok(value) if !value.trim().is_empty() => Ok(Secret::new(value)),
        Ok(_) => Err(Error::Secret {
            key: "--client-secret-file".to_owned(),
            what: format!("the file `{}` is empty", path.display()),
            hint: "write the goto oauth client's secret into the file".to_owned(),
        }),
        Err(error) => Err(Error::Secret {
            key: "--client-secret-file".to_owned(),
            what: format!("the file `{}` cannot be read ({error})", path.display()),
            hint: "check the path and its permissions".to_owned(),
        }),
    }
}
