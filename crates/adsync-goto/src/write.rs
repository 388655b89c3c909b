//! Single writes: create a user, replace its licences, set its role, move it to a user group,
//! suspend it by removing every licence. There is no delete, here or anywhere in the crate.

use std::collections::BTreeSet;

use reqwest::Method;

use crate::GotoTarget;
use crate::api::{self, CreateAnswer};
use crate::client::{Call, refused};
use crate::error::Error;
use crate::http::{Resend, encode_query_value};
use crate::model::{AdminRole, Key, Operation, Outcome};
use crate::wire;

impl GotoTarget {
    /// Carries out one operation.
    pub async fn apply_operation(&self, operation: &Operation) -> Result<Outcome, Error> {
        match operation {
            Operation::CreateUser {
                email,
                first_name,
                last_name,
                licences,
                role,
                group,
            } => {
                let key = self
                    .create_user(email, first_name, last_name, licences)
                    .await?;
                if *role != AdminRole::None {
                    self.set_role(&key, email, role).await?;
                }
                if let Some(group) = group {
                    self.put_user(&key, email, api::group_body(group), &BTreeSet::new())
                        .await?;
                }
                Ok(Outcome { created: Some(key) })
            }
            Operation::SetLicences {
                user,
                email,
                before,
                after,
            } => {
                let added = after.difference(before).cloned().collect();
                self.put_user(user, email, api::licences_body(after), &added)
                    .await?;
                Ok(Outcome::default())
            }
            Operation::SetRole {
                user, email, after, ..
            } => {
                self.set_role(user, email, after).await?;
                Ok(Outcome::default())
            }
            Operation::MoveToGroup {
                user, email, to, ..
            } => {
                self.put_user(user, email, api::group_body(to), &BTreeSet::new())
                    .await?;
                Ok(Outcome::default())
            }
            Operation::Suspend { user, email, .. } => {
                self.put_user(
                    user,
                    email,
                    api::licences_body(&BTreeSet::new()),
                    &BTreeSet::new(),
                )
                .await?;
                Ok(Outcome::default())
            }
        }
    }

    async fn set_role(&self, user: &Key, email: &str, role: &AdminRole) -> Result<(), Error> {
        let Some(body) = api::role_body(role) else {
            return Err(Error::Unwritable {
                email: email.to_owned(),
                what: "a custom admin role",
            });
        };
        self.put_user(user, email, body, &BTreeSet::new()).await
    }

    /// `PUT /accounts/{a}/users/{u}` with `body`; `added` are the licences the write adds, for
    /// telling "out of licences" from other refusals.
    async fn put_user(
        &self,
        user: &Key,
        email: &str,
        body: serde_json::Result<Vec<u8>>,
        added: &BTreeSet<Key>,
    ) -> Result<(), Error> {
        let account = self.account_key().await?;
        let path = api::path::user(&account, user);
        let call = Call {
            method: Method::PUT,
            path: &path,
            body: Some(encoded(body, &path)?),
            resend: Resend::Safe,
        };
        let reply = self.client.call(&call).await?;
        if reply.status.is_success() {
            return Ok(());
        }
        if !added.is_empty() && api::is_out_of_licences(reply.status.as_u16(), &reply.body) {
            return Err(out_of_licences(email, added));
        }
        Err(refused(call.describe(), &reply))
    }

    /// "Add Users" for one user; returns its key.
    async fn create_user(
        &self,
        email: &str,
        first_name: &str,
        last_name: &str,
        licences: &BTreeSet<Key>,
    ) -> Result<Key, Error> {
        if licences.is_empty() {
            return Err(Error::Unwritable {
                email: email.to_owned(),
                what: "a new user without any licence (goto requires one)",
            });
        }
        let account = self.account_key().await?;
        let users = api::path::users(&account);
        let path = format!("{users}?{}=true", api::param::ALL_OR_NOTHING);
        let body =
            api::create_user_body(email, first_name, last_name, licences, self.suppress_email);
        let call = Call {
            method: Method::POST,
            path: &path,
            body: Some(encoded(body, &users)?),
            resend: Resend::Once,
        };
        let reply = match self.client.call(&call).await {
            Ok(reply) => reply,
            Err(error @ (Error::Transport { .. } | Error::Unavailable { .. })) => {
                return self.resolve_ambiguous_create(email, &error).await;
            }
            Err(error) => return Err(error),
        };
        match reply.status.as_u16() {
            409 => Err(Error::ExistingAccount {
                email: email.to_owned(),
            }),
            200..=299 => match api::create_answer(&reply.body, email) {
                Ok(CreateAnswer::Created(key)) => Ok(key),
                Ok(CreateAnswer::ExistingAccount) => Err(Error::ExistingAccount {
                    email: email.to_owned(),
                }),
                Err(error) => Err(Error::Malformed {
                    request: call.describe(),
                    status: reply.status.as_u16(),
                    reason: error.to_string(),
                }),
            },
            status if api::is_out_of_licences(status, &reply.body) => {
                Err(out_of_licences(email, licences))
            }
            _ => Err(refused(call.describe(), &reply)),
        }
    }

    /// After a create whose answer was lost: the user is looked up by e-mail; found means the
    /// create happened, not found is reported (never sent again blindly).
    async fn resolve_ambiguous_create(&self, email: &str, cause: &Error) -> Result<Key, Error> {
        tracing::debug!(%email, %cause, "the create's outcome is unknown; looking the user up");
        match self.find_user_by_email(email).await? {
            Some(key) => Ok(key),
            None => Err(Error::Ambiguous {
                email: email.to_owned(),
                cause: cause.to_string(),
            }),
        }
    }

    /// The key of the account user with `email`, through the users filter.
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<Key>, Error> {
        let account = self.account_key().await?;
        let path = format!(
            "{}?{}={}",
            api::path::users(&account),
            api::param::FILTER,
            encode_query_value(&api::email_filter(email))
        );
        let page: wire::Page<wire::User> = self.client.get_json(&path).await?;
        let wanted = crate::model::normalize_email(email);
        Ok(page
            .results
            .into_iter()
            .find(|user| crate::model::normalize_email(&user.email) == wanted)
            .map(|user| user.key.0))
    }
}

fn encoded(body: serde_json::Result<Vec<u8>>, path: &str) -> Result<Vec<u8>, Error> {
    body.map_err(|error| Error::Malformed {
        request: format!("the body for {path}"),
        status: 0,
        reason: error.to_string(),
    })
}

fn out_of_licences(email: &str, licences: &BTreeSet<Key>) -> Error {
    Error::OutOfLicences {
        email: email.to_owned(),
        licences: licences
            .iter()
            .map(Key::as_str)
            .collect::<Vec<_>>()
            .join(", "),
    }
}
